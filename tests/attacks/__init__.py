"""The red team's attacks, rebuilt as data: each is a runbook text that must change nothing."""

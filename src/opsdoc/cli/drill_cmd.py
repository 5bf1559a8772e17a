"""`opsdoc drill`: prove a scenario clears its fault (being built)."""

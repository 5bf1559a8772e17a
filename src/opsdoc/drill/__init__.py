"""Drills: prove in a sandbox that a runbook's scenario clears the fault it is for.

A drill file is Markdown (``drills/*.md``) that names a scenario, injects
its fault into a fresh database (``{drill=setup}`` fences), runs the
scenario non-interactively and then asks ``{drill=check}`` fences whether
the fault is gone. ``spec`` holds the model, ``files`` reads drill files,
``sandbox`` gives each drill its own database, ``fences`` runs setup and
check code, ``driver`` runs one drill, ``junit`` writes the CI report.
"""

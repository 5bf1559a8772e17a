"""The server's routes, one module per thing served: search, runbooks, the journal."""

"""The index: sections stored in SQLite FTS5, and the postings and phrase
tables a big index adds so a query reads a bounded number of rows."""

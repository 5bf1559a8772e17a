"""`opsdoc lint`: static checks of runbooks (being built)."""

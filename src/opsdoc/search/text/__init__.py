"""Pasted text understood: the signals and words of a log, a trace or a sentence."""

from opsdoc.search.text.clean import normalize_line
from opsdoc.search.text.understand import understand

__all__ = ["normalize_line", "understand"]

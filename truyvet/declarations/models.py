"""Declarations, declaration QR codes, checkpoint passes (issue 14)."""

from truyvet.declarations.level_thresholds import LevelThreshold  # noqa: E402,F401

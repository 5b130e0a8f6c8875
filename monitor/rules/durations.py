"""Durations as analysts write them: ``90s``, ``15m``, ``6h``, ``2d``, ``1w``, ``1h30m``."""

from __future__ import annotations

import re
from datetime import timedelta

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_PART = re.compile(r"(\d+)([smhdw])")
_WHOLE = re.compile(r"(?:\d+[smhdw])+")


def parse_duration(text: object) -> timedelta:
    """Parse a duration; raise ValueError with a message fit for an analyst."""
    if isinstance(text, bool) or not isinstance(text, str | int):
        raise ValueError(f"expected a duration like 90s, 15m, 6h or 2d, got {text!r}")
    raw = str(text).strip().lower()
    if isinstance(text, int) or raw.isdigit():
        raise ValueError(f"duration {text!r} needs a unit: s, m, h, d or w (e.g. {raw}m)")
    if not _WHOLE.fullmatch(raw):
        raise ValueError(f"invalid duration {text!r} (write e.g. 90s, 15m, 6h, 2d)")
    seconds = sum(int(n) * _UNITS[u] for n, u in _PART.findall(raw))
    if seconds <= 0:
        raise ValueError(f"duration {text!r} must be longer than zero")
    return timedelta(seconds=seconds)


def format_duration(delta: timedelta | float) -> str:
    """The shortest readable form: 21600 s -> ``6h``; 5400 s -> ``1h30m``."""
    seconds = int(delta.total_seconds() if isinstance(delta, timedelta) else delta)
    if seconds <= 0:
        return "0s"
    parts = []
    for unit in ("w", "d", "h", "m", "s"):
        size = _UNITS[unit]
        if seconds >= size:
            parts.append(f"{seconds // size}{unit}")
            seconds %= size
    return "".join(parts)

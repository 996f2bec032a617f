"""Durations written the Go way ("24h", "30m", "90s", "1h30m", "7d") for certificate TTLs."""

from __future__ import annotations

import re
from datetime import timedelta

_PART = re.compile(r"([0-9]{1,9})([dhms])")
_UNITS = {"d": timedelta(days=1), "h": timedelta(hours=1), "m": timedelta(minutes=1), "s": timedelta(seconds=1)}


def parse_duration(text: str) -> timedelta:
    """Parse one or more `<integer><d|h|m|s>` parts into a positive timedelta."""
    parts = _PART.findall(text)
    if not text or "".join(n + u for n, u in parts) != text:
        raise ValueError(f"invalid duration {text!r}: use forms like 24h, 30m, 90s, 1h30m")
    try:
        total = sum((int(n) * _UNITS[u] for n, u in parts), timedelta(0))
    except OverflowError:
        raise ValueError(f"invalid duration {text!r}: too long") from None
    if total <= timedelta(0):
        raise ValueError(f"invalid duration {text!r}: must be positive")
    return total


def format_duration(value: timedelta) -> str:
    """The inverse of parse_duration for whole seconds (e.g. 1 day 30 s -> "1d30s")."""
    seconds = int(value.total_seconds())
    if seconds <= 0:
        return "0s"
    out = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        count, seconds = divmod(seconds, size)
        if count:
            out.append(f"{count}{unit}")
    return "".join(out)

"""When each config version was committed: the control plane logs `config_written` right
after its etcd transaction returns; its wall-clock timestamp, moved onto CLOCK_MONOTONIC,
is the commit time the propagation is measured from."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path


@dataclass(frozen=True, slots=True)
class ClockOffset:
    """time.time() - time.monotonic(), sampled twice; the drift says how far to trust it."""

    offset: float
    drift: float

    @staticmethod
    def sample() -> float:
        # Bracket one wall-clock read between two monotonic reads: error < their gap.
        before = time.monotonic()
        wall = time.time()
        after = time.monotonic()
        return wall - (before + after) / 2

    def to_monotonic(self, wall: float) -> float:
        return wall - self.offset


def commit_times(log_text: str, clock: ClockOffset) -> dict[int, float]:
    """config version → monotonic time its transaction returned, from the control plane's
    JSON log (lines that are not JSON, or other events, are skipped)."""
    found: dict[int, float] = {}
    for line in log_text.splitlines():
        if '"config_written"' not in line and '"config_resigned"' not in line:
            continue
        try:
            event = json.loads(line)
            version = int(event["version"])
            wall = datetime.fromisoformat(event["timestamp"]).timestamp()
        except (ValueError, KeyError, TypeError):
            continue
        found[version] = clock.to_monotonic(wall)
    return found


def read_commit_times(log_path: Path, clock: ClockOffset) -> dict[int, float]:
    try:
        return commit_times(log_path.read_text(errors="replace"), clock)
    except OSError:
        return {}

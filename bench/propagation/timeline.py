"""Per change, when it took effect where: from the recorded (index, version, time) events to
the time every index had that version or a later one, measured from the change's anchors."""

from __future__ import annotations

import bisect
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bench.distribution import percentile


@dataclass(frozen=True, slots=True)
class Change:
    """One config version written, in CLOCK_MONOTONIC: when its write was sent and returned,
    when it was committed in etcd and what showed it first (see `earliest`), and when the
    control plane logged it as written."""

    version: int
    sent: float
    returned: float
    committed: float | None = None
    committed_by: str = ""
    logged: float | None = None

    @property
    def anchor(self) -> float:
        """The commit time; failing that the control plane's log time, or the write's return."""
        for candidate in (self.committed, self.logged):
            if candidate is not None:
                return candidate
        return self.returned


def earliest(change: Change, observed: Mapping[str, Mapping[int, float]]) -> Change:
    """`change` with its commit time set to the first sign of it: every observation (a watch
    arrival, a log line, the write's return) comes after the commit, so the earliest one is
    the tightest bound. `observed` maps a source name to version → time."""
    candidates = [(change.returned, "returned") if change.committed is None
                  else (change.committed, change.committed_by or "txn_return")]
    candidates += [(times[change.version], source) for source, times in observed.items()
                   if change.version in times]
    at, source = min(candidates)
    return Change(change.version, change.sent, change.returned, at, source,
                  observed.get("cp_log", {}).get(change.version))


class Arrivals:
    """index → the versions it reached and when, in arrival order (never decreasing)."""

    def __init__(self, per_index: Mapping[int, Sequence[tuple[int, float]]], size: int) -> None:
        self.size = size
        self._versions = {i: [v for v, _ in seen] for i, seen in per_index.items()}
        self._times = {i: [t for _, t in seen] for i, seen in per_index.items()}

    def reached(self, version: int) -> list[float] | None:
        """Each index's first time at `version` or later; None unless all `size` got there."""
        found = []
        for index, versions in self._versions.items():
            at = bisect.bisect_left(versions, version)
            if at == len(versions):
                return None
            found.append(self._times[index][at])
        return found if len(found) == self.size else None

    def count(self, version: int) -> int:
        """How many indexes got to `version` or later."""
        return sum(1 for versions in self._versions.values() if versions and versions[-1] >= version)


def change_row(change: Change, arrivals: Arrivals) -> dict[str, Any]:
    """Milliseconds, for one change: the write, and until all / half / the first of the
    indexes had it (the first is what one sidecar with a CPU of its own would see)."""
    row: dict[str, Any] = {
        "version": change.version,
        "write_ms": _ms(change.returned - change.sent),
        "anchor": change.committed_by if change.committed is not None else "cp_log" if change.logged is not None else "returned",
    }
    if change.committed is not None and change.logged is not None:
        # How long after the commit the control plane got round to logging it.
        row["cp_log_lag_ms"] = _ms(change.logged - change.committed)
    times = arrivals.reached(change.version)
    if times is None:
        row.update(converged=False, reached=arrivals.count(change.version))
        return row
    last, median = max(times), statistics.median(times)
    row.update(converged=True,
               all_ms=_ms(last - change.anchor),
               median_ms=_ms(median - change.anchor),
               first_ms=_ms(min(times) - change.anchor),
               from_sent_ms=_ms(last - change.sent),
               from_returned_ms=_ms(last - change.returned))
    return row


def summary(rows: Sequence[dict[str, Any]], fields: Sequence[str] = (
        "all_ms", "median_ms", "first_ms", "from_sent_ms", "from_returned_ms", "write_ms",
        "cp_log_lag_ms")) -> dict[str, Any]:
    """p50/p99/max of each field over the converged changes."""
    done = [r for r in rows if r.get("converged")]
    out: dict[str, Any] = {"changes": len(rows), "converged": len(done)}
    for name in fields:
        values = sorted(r[name] for r in done if name in r)
        if values:
            out[name] = {"p50": percentile(values, 50), "p99": percentile(values, 99),
                         "max": values[-1]}
    return out


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 2)

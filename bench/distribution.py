"""Summaries of samples: nearest-rank percentiles of latencies, medians across rounds."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence


def percentile(ordered: Sequence[float], q: float) -> float:
    """The nearest-rank q-th percentile (0 < q <= 100) of an ascending, non-empty sample."""
    if not ordered:
        raise ValueError("percentile of an empty sample")
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def latency_summary(seconds: Sequence[float]) -> dict[str, float]:
    """p50/p90/p99/max/mean of latencies given in seconds, reported in microseconds."""
    if not seconds:
        return {}
    ordered = sorted(seconds)
    summary = {f"p{q}": percentile(ordered, q) for q in (50, 90, 99)}
    summary["max"] = ordered[-1]
    summary["mean"] = statistics.fmean(ordered)
    return {key: round(value * 1e6, 1) for key, value in summary.items()}


def median_or_none(values: Sequence[float | None]) -> float | None:
    """The median of the values that are present; None when there are none."""
    present = [v for v in values if v is not None]
    return statistics.median(present) if present else None

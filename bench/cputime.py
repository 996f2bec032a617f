"""CPU time per call of in-process code (micro-benchmarks): a calibrated loop per case, the
cases alternated within each round, and the median and best round per case."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence
from typing import Any

Case = tuple[str, Callable[[], Any]]
_CALIBRATION_STEPS = 20


def cpu_us_per_call(call: Callable[[], Any], seconds: float) -> float:
    """CPU µs per call over about `seconds` of this process's CPU time (time.process_time);
    the loop count is calibrated first."""
    n = 100
    spent = 0.0
    for _ in range(_CALIBRATION_STEPS):  # bounded calibration
        start = time.process_time()
        for _ in range(n):
            call()
        spent = time.process_time() - start
        if spent >= seconds / 4:
            break
        n *= 4
    count = max(1, int(n * seconds / max(spent, 1e-9)))
    start = time.process_time()
    for _ in range(count):
        call()
    return (time.process_time() - start) / count * 1e6


def alternate(cases: Sequence[Case], rounds: int, seconds: float) -> list[dict[str, Any]]:
    """Per case: its µs per call in each round (every case once per round, in order), the
    median and the best (least disturbed) round."""
    samples: dict[str, list[float]] = {name: [] for name, _ in cases}
    for _ in range(rounds):
        for name, call in cases:
            samples[name].append(cpu_us_per_call(call, seconds))
    return [
        {
            "case": name,
            "us_per_call": statistics.median(values),
            "best_us_per_call": min(values),
            "rounds": values,
        }
        for name, values in samples.items()
    ]

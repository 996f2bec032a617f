"""Rate limiting: a token bucket per (rule, caller), with an injectable clock and bounded memory.

Buckets live in one dict in least-recently-used order. A bucket idle long enough to have
refilled is indistinguishable from a new one, so such buckets are dropped freely; only when
`max_buckets` are all busy is the least recently used one dropped early (its caller then
starts again from a full bucket), which keeps memory bounded whatever the callers do.
Not thread-safe: it is used from the sidecar's event loop, without locks.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Callable, Hashable

DEFAULT_MAX_BUCKETS = 65536
MAX_RATE = 100_000.0
MAX_BURST = 100_000


@dataclass(frozen=True, slots=True)
class RateLimit:
    """requests_per_second sustained, up to `burst` at once (the bucket's size)."""

    requests_per_second: float
    burst: int

    @classmethod
    def of(cls, requests_per_second: float, burst: int = 0) -> RateLimit:
        """A limit with RateLimit.burst's default applied: 0 means the rate rounded up, >= 1."""
        if not (math.isfinite(requests_per_second) and 0 < requests_per_second <= MAX_RATE):
            raise ValueError(f"requests_per_second must be in (0, {MAX_RATE:g}]")
        if not 0 <= burst <= MAX_BURST:
            raise ValueError(f"burst must be in [0, {MAX_BURST}]")
        return cls(requests_per_second, burst or max(1, math.ceil(requests_per_second)))


class _Bucket:
    __slots__ = ("tokens", "last", "full_at")

    def __init__(self, tokens: float, last: float, full_at: float) -> None:
        self.tokens = tokens
        self.last = last
        # When the bucket will have refilled: from then on it equals a new bucket.
        self.full_at = full_at


class RateLimiter:
    """Token buckets by key. `try_acquire` takes one token or says no."""

    def __init__(self, clock: Callable[[], float] = time.monotonic,
                 max_buckets: int = DEFAULT_MAX_BUCKETS) -> None:
        if max_buckets < 1:
            raise ValueError("max_buckets must be at least 1")
        self._clock = clock
        self._max = max_buckets
        self._buckets: OrderedDict[Hashable, _Bucket] = OrderedDict()

    def __len__(self) -> int:
        return len(self._buckets)

    def try_acquire(self, key: Hashable, limit: RateLimit) -> bool:
        """Take a token from `key`'s bucket (created full); False when it is empty."""
        now = self._clock()
        bucket = self._buckets.get(key)
        if bucket is None:
            self._evict(now)
            bucket = _Bucket(float(limit.burst), now, now)
            self._buckets[key] = bucket
        else:
            self._buckets.move_to_end(key)
            # A clock that went back (it should not) never adds tokens.
            elapsed = max(0.0, now - bucket.last)
            bucket.tokens = min(float(limit.burst), bucket.tokens + elapsed * limit.requests_per_second)
            bucket.last = now
        allowed = bucket.tokens >= 1.0
        if allowed:
            bucket.tokens -= 1.0
        bucket.full_at = now + (limit.burst - bucket.tokens) / limit.requests_per_second
        return allowed

    def _evict(self, now: float) -> None:
        """Make room for one bucket: drop refilled buckets from the cold end, then the
        coldest ones while at the bound. Each bucket is dropped at most once, so this is
        amortised O(1) per call."""
        for _ in range(len(self._buckets)):
            key, oldest = next(iter(self._buckets.items()))
            if now < oldest.full_at:
                break
            del self._buckets[key]
        while len(self._buckets) >= self._max:
            self._buckets.popitem(last=False)

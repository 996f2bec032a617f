"""Token buckets: burst, refill on the injected clock, one bucket per caller, bounded memory."""

from __future__ import annotations

import grpc
import pytest

from mesh.policy import RateLimit, RateLimiter, Reason, compile_policies
from tests.support.clock import FakeClock
from tests.unit.policy.world import GET, KAIGO, ORG_B, PROVIDER, TAXI, base_resources, policy, rule

TABLE = compile_policies([*base_resources(), policy("p", rule(
    "r", {"org": ORG_B}, rateLimit={"requestsPerSecond": 2, "burst": 3}))])
PURPOSE = "welfare-eligibility"


def _decide(limiter: RateLimiter, caller: str = KAIGO):  # type: ignore[no-untyped-def]
    return TABLE.decide(caller, GET, PURPOSE, PROVIDER, limiter=limiter)


def test_burst_then_rate_limited() -> None:
    """`burst` calls pass at once; the next is refused "rate limited", RESOURCE_EXHAUSTED."""
    limiter = RateLimiter(clock=FakeClock())
    assert all(_decide(limiter).allowed for _ in range(3))
    refused = _decide(limiter)
    assert not refused.allowed and refused.reason is Reason.RATE_LIMITED
    assert refused.status == grpc.StatusCode.RESOURCE_EXHAUSTED and refused.rule == "p/r"
    assert refused.message("sidecar X").startswith("sidecar X: rate limited (")


def test_bucket_refills_with_the_clock() -> None:
    """At 2/s, half a second gives back exactly one call; a long pause refills to burst only."""
    clock = FakeClock()
    limiter = RateLimiter(clock=clock)
    for _ in range(3):
        _decide(limiter)
    clock.advance(0.5)
    assert _decide(limiter).allowed
    assert not _decide(limiter).allowed
    clock.advance(3600)
    assert [_decide(limiter).allowed for _ in range(4)] == [True, True, True, False]


def test_each_caller_has_its_own_bucket() -> None:
    """One caller exhausting its bucket leaves another caller's untouched."""
    limiter = RateLimiter(clock=FakeClock())
    for _ in range(3):
        _decide(limiter, KAIGO)
    assert not _decide(limiter, KAIGO).allowed
    assert _decide(limiter, TAXI).allowed


def test_without_a_limiter_no_token_is_taken() -> None:
    """decide without a limiter (the egress check, meshctl check) never rate-limits."""
    assert all(TABLE.decide(KAIGO, GET, PURPOSE, PROVIDER).allowed for _ in range(10))
    assert all(TABLE.egress(KAIGO, GET, PURPOSE).allowed for _ in range(10))


def test_denied_calls_take_no_token() -> None:
    """A call refused by policy does not drain the caller's bucket."""
    limiter = RateLimiter(clock=FakeClock())
    for _ in range(5):
        TABLE.decide(KAIGO, GET, None, PROVIDER, limiter=limiter)
    assert len(limiter) == 0 and _decide(limiter).allowed


def test_clock_going_back_adds_no_tokens() -> None:
    """A clock that jumps backwards never refills a bucket."""
    clock = FakeClock(start=100.0)
    limiter = RateLimiter(clock=clock)
    limit = RateLimit.of(1, 1)
    assert limiter.try_acquire("k", limit)
    clock.now = 50.0
    assert not limiter.try_acquire("k", limit)


def test_idle_buckets_are_evicted() -> None:
    """Buckets that have refilled are dropped when new ones arrive: memory follows live callers."""
    clock = FakeClock()
    limiter = RateLimiter(clock=clock)
    limit = RateLimit.of(10, 10)
    for i in range(100):
        limiter.try_acquire(("caller", i), limit)
    clock.advance(2)
    limiter.try_acquire("new", limit)
    assert len(limiter) == 1


def test_memory_is_bounded_even_when_all_buckets_are_busy() -> None:
    """At max_buckets the least recently used bucket goes."""
    limiter = RateLimiter(clock=FakeClock(), max_buckets=8)
    limit = RateLimit.of(1, 1)
    for i in range(100):
        limiter.try_acquire(i, limit)
    assert len(limiter) == 8


@pytest.mark.parametrize(("rate", "burst", "expected"), [(2.0, 0, 2), (0.5, 0, 1), (2.5, 0, 3), (5.0, 1, 1)])
def test_burst_default_is_the_rate_rounded_up(rate: float, burst: int, expected: int) -> None:
    """burst 0 means ceil(rate), at least 1."""
    assert RateLimit.of(rate, burst).burst == expected


@pytest.mark.parametrize(("rate", "burst"), [(0, 1), (-1, 1), (float("nan"), 1), (float("inf"), 1), (1e6, 1), (1, 10**6)])
def test_insane_limits_are_refused(rate: float, burst: int) -> None:
    """Zero, negative, NaN, infinite or huge limits do not build."""
    with pytest.raises(ValueError):
        RateLimit.of(rate, burst)

"""The load generator, run in its own process so its CPU is nobody's overhead.

`python -m bench.load closed|open --target ADDR ...` warms up, prints `{"ready": true}`,
waits for one line on stdin (the harness starts its CPU window then), runs the measured
part, prints one JSON result line and exits.

- closed: concurrency 1, N sequential calls; each latency is one call's round trip.
- open: a fixed request rate whatever the responses do. Each latency runs from the
  request's SCHEDULED send time, so time spent queued (in the proxies, or behind a late
  generator) counts: no coordinated omission.

With --target given more than once (bench.ab), the targets take turns: closed sends call i
to each target in order before call i+1; open sends to each at the full rate, the targets'
schedules offset evenly. Every target then sees the same moments of the machine, and the
result line is {"targets": [one result per target, in order]}.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import sys
import time
from typing import Any

from grpc import aio

from bench.distribution import latency_summary
from bench.upstream import METHOD, PAYLOAD_BYTES

CALL_TIMEOUT_SECONDS = 10.0


async def closed_loop(
    calls: list[aio.UnaryUnaryMultiCallable], payload: bytes, count: int
) -> list[dict[str, Any]]:
    """`count` sequential calls per target, the targets taking turns; timed one by one."""
    latencies: list[list[float]] = [[] for _ in calls]
    errors: list[collections.Counter[str]] = [collections.Counter() for _ in calls]
    started = time.perf_counter()
    for _ in range(count):
        for index, call in enumerate(calls):
            sent = time.perf_counter()
            try:
                await call(payload, timeout=CALL_TIMEOUT_SECONDS)
            except aio.AioRpcError as err:
                errors[index][err.code().name] += 1
                continue
            latencies[index].append(time.perf_counter() - sent)
    elapsed = time.perf_counter() - started
    return [_result("closed", count, latencies[i], errors[i], elapsed) for i in range(len(calls))]


async def open_loop(
    calls: list[aio.UnaryUnaryMultiCallable], payload: bytes, rate: float, duration: float
) -> list[dict[str, Any]]:
    """Send at `rate` per second to each target for `duration` seconds; time each call from
    its schedule."""
    per_target = max(1, round(rate * duration))
    total = per_target * len(calls)
    interval = 1.0 / (rate * len(calls))  # target i gets sends i, i + n, i + 2n, …
    latencies: list[list[float]] = [[] for _ in calls]
    errors: list[collections.Counter[str]] = [collections.Counter() for _ in calls]
    in_flight: set[asyncio.Task[None]] = set()
    most_in_flight = 0
    lags: list[float] = []  # how late the generator itself fired each request

    async def one(index: int, scheduled: float) -> None:
        try:
            await calls[index](payload, timeout=CALL_TIMEOUT_SECONDS)
        except aio.AioRpcError as err:
            errors[index][err.code().name] += 1
            return
        latencies[index].append(time.perf_counter() - scheduled)

    start = time.perf_counter()
    sent = 0
    while sent < total:  # bounded: every pass either sends or sleeps until the next send
        now = time.perf_counter()
        due = start + sent * interval
        if due > now:
            await asyncio.sleep(due - now)
            continue
        # Fire everything whose time has come, however late we are.
        while sent < total and start + sent * interval <= now:
            scheduled = start + sent * interval
            lags.append(now - scheduled)
            task = asyncio.create_task(one(sent % len(calls), scheduled))
            in_flight.add(task)
            task.add_done_callback(in_flight.discard)
            sent += 1
        most_in_flight = max(most_in_flight, len(in_flight))
    if in_flight:
        await asyncio.wait(in_flight, timeout=CALL_TIMEOUT_SECONDS + 5)
    elapsed = time.perf_counter() - start
    results = []
    for index in range(len(calls)):
        result = _result("open", per_target, latencies[index], errors[index], elapsed)
        result.update(
            target_rps=rate,
            # The generator's own lateness (asyncio timers wake up to ~1 ms late). It is part
            # of every latency above, on every path alike; large values mean the client was
            # starved.
            generator_lag_us=latency_summary(lags),
            most_in_flight=most_in_flight,
        )
        results.append(result)
    return results


def _result(
    mode: str, calls: int, latencies: list[float], errors: collections.Counter[str], elapsed: float
) -> dict[str, Any]:
    return {
        "mode": mode,
        "calls": calls,
        "ok": len(latencies),
        "errors": sum(errors.values()),
        "error_codes": dict(errors),
        "elapsed_s": round(elapsed, 3),
        "achieved_rps": round(len(latencies) / elapsed, 1) if elapsed > 0 else 0.0,
        "latency_us": latency_summary(latencies),
    }


async def warm_up(
    call: aio.UnaryUnaryMultiCallable, payload: bytes, calls: int, response_bytes: int
) -> None:
    """Open the connection(s), let the path warm, and check the answer is the upstream's."""
    for _ in range(max(1, calls)):
        response = await call(payload, timeout=CALL_TIMEOUT_SECONDS, wait_for_ready=True)
        if len(response) != response_bytes:
            raise SystemExit(
                f"unexpected response of {len(response)} bytes (want {response_bytes})"
            )


async def run(args: argparse.Namespace) -> dict[str, Any]:
    payload = b"\xa5" * args.payload_bytes
    channels = [aio.insecure_channel(target) for target in args.target]
    try:
        calls = [channel.unary_unary(METHOD) for channel in channels]
        for call in calls:
            await warm_up(call, payload, args.warmup, args.response_bytes)
        print(json.dumps({"ready": True}), flush=True)
        # Block the loop on purpose: nothing else runs in this process until the harness says go.
        if not sys.stdin.readline():
            raise SystemExit("harness closed stdin before go")
        if args.mode == "closed":
            results = await closed_loop(calls, payload, args.calls)
        else:
            results = await open_loop(calls, payload, args.rate, args.duration)
    finally:
        for channel in channels:
            await channel.close()
    return results[0] if len(results) == 1 else {"targets": results}


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.load",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("mode", choices=("closed", "open"))
    parser.add_argument("--target", required=True, action="append",
                        help="HOST:PORT the client dials (h2c); repeat to take turns between several")
    parser.add_argument("--warmup", type=int, default=200, help="sequential calls before measuring")
    parser.add_argument("--calls", type=int, default=2000, help="closed: calls to time")
    parser.add_argument("--rate", type=float, default=300.0, help="open: requests per second")
    parser.add_argument("--duration", type=float, default=5.0, help="open: seconds of load")
    parser.add_argument("--payload-bytes", type=int, default=PAYLOAD_BYTES)
    parser.add_argument("--response-bytes", type=int, default=PAYLOAD_BYTES)
    args = parser.parse_args()
    if args.rate <= 0 or args.duration <= 0 or args.calls <= 0:
        parser.error("--rate, --duration and --calls must be positive")
    print(json.dumps(asyncio.run(run(args))), flush=True)


if __name__ == "__main__":
    main()

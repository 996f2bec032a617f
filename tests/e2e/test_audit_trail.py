"""The audit trail of a real sidecar pair: one record per exchange on each side, nothing lost
on SIGTERM, both sides sharing the exchange id and payload digests, and the logs verify."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

import grpc
import pytest
from grpc import aio

from tests.support.echo import start_echo
from tests.support.sidecars import CONSUMER_ID, PROVIDER_ID, make_pair
from tests.support.wait import async_wait_until, free_port

MESHCTL = str(Path(sys.executable).parent / "meshctl")


def records(directory: Path) -> list[dict]:
    out = []
    for segment in sorted(directory.glob("audit-*.jsonl")):
        for line in segment.read_text(encoding="utf-8").splitlines():
            entry = json.loads(line)
            if "record" in entry:
                out.append(entry["record"])
    return out


async def test_every_exchange_is_recorded_once_per_side_and_survives_sigterm(tmp_path: Path) -> None:
    """N calls (ok, app errors, refusals) → N records on each side after SIGTERM; logs verify."""
    app_port = free_port()
    server, _ = await start_echo(app_port)
    pair = make_pair(tmp_path, app_port, audit=True)
    pair.provider.start(wait=False)
    pair.consumer.start()
    await async_wait_until(pair.provider.serving, what="provider SERVING")
    sent = 0
    async with aio.insecure_channel(pair.outbound) as channel:
        unary = channel.unary_unary("/test.Echo/Unary")
        results = await asyncio.gather(*(unary(b"payload-secret-%d" % i, timeout=10) for i in range(300)))
        sent += len(results)
        for method in ("/test.Echo/Fail", "/other.Svc/Nope"):  # an app error and a refusal
            with pytest.raises(aio.AioRpcError):
                await channel.unary_unary(method)(b"", timeout=10)
            sent += 1
        # The consumer refuses this one itself: it never reaches the provider.
    assert pair.consumer.stop() == 0 and pair.provider.stop() == 0
    await server.stop(None)
    consumer = records(tmp_path / "consumer-audit")
    provider = records(tmp_path / "provider-audit")
    assert len(consumer) == sent
    assert len(provider) == sent - 1
    assert len({r["exchange_id"] for r in consumer}) == sent
    by_id = {r["exchange_id"]: r for r in consumer}
    for r in provider:
        mine = by_id[r["exchange_id"]]
        assert r["caller"] == CONSUMER_ID and mine["callee"] == PROVIDER_ID
        assert r.get("request") == mine.get("request") and r.get("response") == mine.get("response")
    refused = [r for r in consumer if r["method"] == "/other.Svc/Nope"]
    assert refused[0]["status"] == "UNIMPLEMENTED"
    for directory in ("consumer-audit", "provider-audit"):
        for segment in sorted((tmp_path / directory).glob("audit-*.jsonl")):
            result = subprocess.run([MESHCTL, "audit", "verify", str(segment), "--bundle", str(pair.pki.bundle)],
                                    capture_output=True, text=True, timeout=60)
            assert result.returncode == 0, result.stdout + result.stderr
    for directory in ("consumer-audit", "provider-audit"):
        for segment in (tmp_path / directory).glob("audit-*.jsonl"):
            assert "payload-secret" not in segment.read_text(encoding="utf-8")

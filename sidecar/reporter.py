"""Status reports to the control plane: what this sidecar has applied, so operators can see
whether a change took effect. The control plane takes the identity from our certificate."""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass
from typing import Callable

import grpc
import structlog
from grpc import aio

from certs.spiffe_id import dns_name_for
from mesh.v1 import control_plane_pb2 as api
from mesh.v1 import control_plane_pb2_grpc as api_grpc
from sidecar.channels import TlsMaterial

log = structlog.get_logger("sidecar.reporter")
INTERVAL_S = 3.0
CALL_TIMEOUT_S = 5.0


@dataclass(frozen=True, slots=True)
class Report:
    applied_version: int
    config_hash: str
    last_error: str
    source: str
    certificate_expiry: float  # POSIX seconds
    counters: dict[str, int]


class Reporter:
    """Sends a report every INTERVAL_S, and at once when `poke()` is called."""

    def __init__(self, address: str, control_plane_id: str, current: Callable[[], Report],
                 tls: Callable[[], TlsMaterial]) -> None:
        self._address = address
        self._pin = dns_name_for(control_plane_id)
        self._current = current
        self._tls = tls
        self.instance = secrets.token_hex(4)
        self._poked = asyncio.Event()

    def poke(self) -> None:
        self._poked.set()

    async def run(self) -> None:
        channel_tls: TlsMaterial | None = None
        channel: aio.Channel | None = None
        try:
            while True:
                tls = self._tls()
                if tls is not channel_tls:  # rotated: reconnect with the new certificate
                    if channel is not None:
                        await channel.close()
                    credentials = grpc.ssl_channel_credentials(tls.bundle_pem, tls.key_pem, tls.chain_pem)
                    channel = aio.secure_channel(self._address, credentials,
                                                 options=[("grpc.ssl_target_name_override", self._pin)])
                    channel_tls = tls
                await self._send(api_grpc.StatusServiceStub(channel))
                try:
                    await asyncio.wait_for(self._poked.wait(), INTERVAL_S)
                except TimeoutError:
                    pass
                self._poked.clear()
        finally:
            if channel is not None:
                await channel.close()

    async def _send(self, stub: api_grpc.StatusServiceStub) -> None:
        report = self._current()
        message = api.SidecarStatus(instance=self.instance, applied_version=report.applied_version,
                                    config_hash=report.config_hash, last_error=report.last_error,
                                    source=report.source, counters=report.counters)
        if report.certificate_expiry:
            message.certificate_expiry.FromSeconds(int(report.certificate_expiry))
        try:
            await stub.Report(message, timeout=CALL_TIMEOUT_S)
        except grpc.RpcError as exc:
            log.warning("status_report_failed", code=exc.code().name if exc.code() else "", reason=exc.details())  # type: ignore[attr-defined]

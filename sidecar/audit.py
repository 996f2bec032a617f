"""The data path's side of the audit log: one record per exchange, handed off without waiting.

The AuditLog (mesh/audit) queues, hash-chains, writes and checkpoints off the request path;
this adapter turns a finished Exchange into its Record.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import grpc
import structlog

from mesh.audit import AuditLog, Record
from mesh.audit.errors import AuditUnavailable as LogFull
from sidecar.exchange import Exchange

log = structlog.get_logger("sidecar.audit")


class Auditor:
    """Implements sidecar.proxy.Auditor over an AuditLog."""

    def __init__(self, audit_log: AuditLog, own_id: str) -> None:
        self.log = audit_log
        self.own_id = own_id

    @property
    def available(self) -> bool:
        return self.log.available

    def record(self, side: str, exchange: Exchange, status: grpc.StatusCode,
               started: datetime, duration: timedelta) -> None:
        # The proxy calls this as the handler ends, before gRPC sends the response or status.
        # Building the record (payload digests included) waits for the loop's next turn, by
        # which time the response is on its way: it stays off the call's latency.
        asyncio.get_running_loop().call_soon(self._append, side, exchange, status, started, duration)

    def _append(self, side: str, exchange: Exchange, status: grpc.StatusCode,
                started: datetime, duration: timedelta) -> None:
        request, response = exchange.digests()
        record = Record(
            exchange_id=exchange.id, time=started, side=side,  # type: ignore[arg-type]
            caller=exchange.peer if exchange.provider else self.own_id,
            callee=exchange.callee, method=exchange.method, purpose=exchange.purpose,
            decision="allow" if exchange.allowed else "deny", rule=exchange.rule,
            status=status.name, mappings=exchange.mappings, request=request, response=response,
            config_version=exchange.config_version, config_revision=exchange.config_revision,
            duration=duration)
        try:
            self.log.append(record)
        except LogFull as exc:
            # Only when the log is closing or its queue is full; calls are refused meanwhile.
            log.error("audit_record_refused", exchange_id=exchange.id, reason=str(exc))

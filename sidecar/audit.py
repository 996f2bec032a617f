"""The data path's side of the audit log: one record per exchange, handed off without waiting.

The AuditLog (mesh/audit) queues, hash-chains, writes and checkpoints off the request path;
this adapter hands it each finished Exchange with how to turn it into its Record.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import partial

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
        # The log builds the record (payload digests included) when it takes the batch, off
        # this call's latency; until then the exchange is no longer touched.
        try:
            self.log.append(partial(self._build, side, exchange, status, started, duration))
        except LogFull as exc:
            # Only when the log is closing or its queue is full; calls are refused meanwhile.
            log.error("audit_record_refused", exchange_id=exchange.id, reason=str(exc))

    def _build(self, side: str, exchange: Exchange, status: grpc.StatusCode,
               started: datetime, duration: timedelta) -> Record:
        request, response = exchange.digests()
        return Record(
            exchange_id=exchange.id, time=started, side=side,  # type: ignore[arg-type]
            caller=exchange.peer if exchange.provider else self.own_id,
            callee=exchange.callee, method=exchange.method, purpose=exchange.purpose,
            decision="allow" if exchange.allowed else "deny", rule=exchange.rule,
            status=status.name, mappings=exchange.mappings, request=request, response=response,
            config_version=exchange.config_version, config_revision=exchange.config_revision,
            duration=duration)

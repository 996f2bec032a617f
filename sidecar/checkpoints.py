"""ControlPlaneSink: where this sidecar's audit checkpoints leave it, the control plane's
AuditService, which keeps them as the witness. The control plane takes the writer's identity
from our certificate, so the channel follows certificate rotation."""

from __future__ import annotations

from typing import Callable

import grpc
import structlog
from grpc import aio

from certs.spiffe_id import dns_name_for
from mesh.v1 import audit_pb2
from mesh.v1 import audit_service_pb2_grpc as audit_grpc
from sidecar.channels import TlsMaterial

log = structlog.get_logger("sidecar.checkpoints")
CALL_TIMEOUT_S = 5.0
# The control plane refused this checkpoint itself; sending it again cannot succeed. Only a
# newer checkpoint can (the publisher retries whatever is newest).
_REFUSED = frozenset({grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.PERMISSION_DENIED,
                      grpc.StatusCode.FAILED_PRECONDITION})


class CheckpointUnsent(Exception):
    """The control plane did not take a checkpoint. `code` is the gRPC status it answered
    (UNAVAILABLE or DEADLINE_EXCEEDED when it could not be reached); `reason` is its message."""

    def __init__(self, code: grpc.StatusCode, reason: str) -> None:
        super().__init__(f"{code.name}: {reason}")
        self.code = code
        self.reason = reason


class ControlPlaneSink:
    """A mesh.audit CheckpointSink over the control plane's AuditService. `submit` raises
    CheckpointUnsent on any failure, as the CheckpointSink contract asks: the audit log's
    publisher then retries with the newest checkpoint, with backoff.

    Calls are made one at a time (the publisher awaits each), so rotation can swap the
    channel between calls. `close()` when the sidecar stops."""

    def __init__(self, address: str, control_plane_id: str, tls: Callable[[], TlsMaterial],
                 timeout: float = CALL_TIMEOUT_S) -> None:
        self._address = address
        self._pin = dns_name_for(control_plane_id)
        self._tls = tls
        self._timeout = timeout
        self._channel: aio.Channel | None = None
        self._channel_tls: TlsMaterial | None = None

    async def submit(self, checkpoint: audit_pb2.AuditCheckpoint) -> None:
        stub = audit_grpc.AuditServiceStub(await self._current_channel())
        try:
            await stub.SubmitCheckpoint(checkpoint, timeout=self._timeout)
        except grpc.RpcError as exc:
            code = exc.code() or grpc.StatusCode.UNKNOWN  # type: ignore[attr-defined]
            reason = exc.details() or ""  # type: ignore[attr-defined]
            # Only the log id, the seq and the control plane's answer: never the checkpoint.
            if code in _REFUSED:
                log.error("audit_checkpoint_refused", log_id=checkpoint.log_id, seq=checkpoint.seq,
                          code=code.name, reason=reason)
            else:
                log.warning("audit_checkpoint_submit_failed", log_id=checkpoint.log_id,
                            seq=checkpoint.seq, code=code.name, reason=reason)
            raise CheckpointUnsent(code, reason) from None
        log.debug("audit_checkpoint_submitted", log_id=checkpoint.log_id, seq=checkpoint.seq)

    async def close(self) -> None:
        """Close the channel (a call still in flight is cancelled)."""
        channel, self._channel, self._channel_tls = self._channel, None, None
        if channel is not None:
            await channel.close()

    async def _current_channel(self) -> aio.Channel:
        """The channel made with the current certificate; a new one after rotation, because a
        channel's credentials are fixed when it is created."""
        tls = self._tls()
        if self._channel is None or tls is not self._channel_tls:
            await self.close()
            credentials = grpc.ssl_channel_credentials(tls.bundle_pem, tls.key_pem, tls.chain_pem)
            self._channel = aio.secure_channel(self._address, credentials,
                                               options=[("grpc.ssl_target_name_override", self._pin)])
            self._channel_tls = tls
        return self._channel

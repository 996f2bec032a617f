"""Checkpoint publishing: hands the newest checkpoint to the sink, retrying with bounded
backoff. Only the newest matters (it covers everything before it), so a newer checkpoint
replaces one still waiting, and a slow or failing sink never holds up the log."""

from __future__ import annotations

import asyncio

import structlog

from mesh.audit.checkpoint import CheckpointSink
from mesh.v1 import audit_pb2

log = structlog.get_logger(__name__)


class CheckpointPublisher:
    """Owned by AuditLog.run(); `offer` from the writer, `stop` when the log closes."""

    def __init__(self, sink: CheckpointSink, retry_initial: float, retry_max: float) -> None:
        self._sink = sink
        self._retry_initial = retry_initial
        self._retry_max = retry_max
        self._pending: audit_pb2.AuditCheckpoint | None = None
        self._wakeup = asyncio.Event()
        self._stopping = False

    def offer(self, checkpoint: audit_pb2.AuditCheckpoint) -> None:
        """Queue `checkpoint` for the sink, replacing any older one not yet sent."""
        self._pending = checkpoint
        self._wakeup.set()

    def stop(self) -> None:
        """Make one last attempt with what is pending, then let run() return."""
        self._stopping = True
        self._wakeup.set()

    async def run(self) -> None:
        delay = self._retry_initial
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            checkpoint = self._pending
            if checkpoint is None:
                if self._stopping:
                    return
                continue
            self._pending = None
            try:
                await self._sink.submit(checkpoint)
            except Exception as err:  # any sink failure: the log must go on; CancelledError passes
                log.warning("audit_checkpoint_unsent", log_id=checkpoint.log_id, seq=checkpoint.seq,
                            error=type(err).__name__, retry_in=None if self._stopping else delay)
                if self._stopping:
                    return
                if self._pending is None:
                    self._pending = checkpoint
                await asyncio.sleep(delay)  # backoff between attempts, not synchronisation
                delay = min(delay * 2, self._retry_max)
                self._wakeup.set()
                continue
            delay = self._retry_initial
            log.debug("audit_checkpoint_sent", log_id=checkpoint.log_id, seq=checkpoint.seq)
            if self._stopping and self._pending is None:
                return

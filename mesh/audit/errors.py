"""Errors of the audit log: one flat tree under AuditError, each carrying its gRPC status."""

from __future__ import annotations

import grpc


class AuditError(Exception):
    """Base of every audit error; `reason` is safe to log and to show a caller."""

    code: grpc.StatusCode = grpc.StatusCode.INTERNAL

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class AuditUnavailable(AuditError):
    """The log cannot take a record: it is closed, or its bounded queue is full. A sidecar
    refuses the call with UNAVAILABLE "audit unavailable" rather than serve it unaudited."""

    code = grpc.StatusCode.UNAVAILABLE


class BrokenSegment(AuditError):
    """A segment file's header or tail does not verify, so the writer will not continue it."""


class CheckpointRejected(AuditError):
    """A checkpoint's signature, signer certificate or signer identity does not verify."""


class MalformedEntry(AuditError):
    """A log line is not one complete, well-formed AuditEntry."""

"""The control plane's errors: one flat tree, each class carrying its gRPC status.

Exactly one interceptor (control_plane/interceptor.py) turns them into statuses.
"""

from __future__ import annotations

from dataclasses import dataclass

import grpc


@dataclass(frozen=True, slots=True)
class FieldError:
    """One validation problem: where (`Route 131016/x: spec.timeout`) and what."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


class ControlPlaneError(Exception):
    code: grpc.StatusCode = grpc.StatusCode.INTERNAL

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class Invalid(ControlPlaneError):
    """The request is invalid; `errors` lists every problem with its field path."""

    code = grpc.StatusCode.INVALID_ARGUMENT

    def __init__(self, errors: list[FieldError]) -> None:
        super().__init__(f"{len(errors)} error(s): " + "; ".join(map(str, errors)))
        self.errors = errors


class Conflict(ControlPlaneError):
    """A stale resourceVersion: someone else wrote the object since it was read."""

    code = grpc.StatusCode.ABORTED


class NotFound(ControlPlaneError):
    code = grpc.StatusCode.NOT_FOUND


class Unauthenticated(ControlPlaneError):
    code = grpc.StatusCode.UNAUTHENTICATED


class Forbidden(ControlPlaneError):
    code = grpc.StatusCode.PERMISSION_DENIED


class Unavailable(ControlPlaneError):
    """etcd cannot be reached (or has no leader)."""

    code = grpc.StatusCode.UNAVAILABLE


class PreconditionFailed(ControlPlaneError):
    """The request is well-formed but the stored state forbids it (a checkpoint older than the
    witness's, for example); retrying the same request will not help."""

    code = grpc.StatusCode.FAILED_PRECONDITION

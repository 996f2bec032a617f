"""The one place where etcd's gRPC errors become store errors (httpcore's map_exceptions
pattern): nothing above mesh/store ever sees a grpc exception from etcd."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import grpc

from mesh.store.errors import (
    Compacted,
    LeaseNotFound,
    StoreError,
    StorePermissionDenied,
    StoreUnavailable,
)

# etcd's messages for the two OUT_OF_RANGE cases (api/v3rpc/rpctypes); the codes alone
# cannot tell them apart.
_COMPACTED = "required revision has been compacted"
_FUTURE_REVISION = "required revision is a future revision"

_UNAVAILABLE = {
    grpc.StatusCode.UNAVAILABLE,  # member down, "no leader", "request timed out"
    grpc.StatusCode.DEADLINE_EXCEEDED,
    grpc.StatusCode.RESOURCE_EXHAUSTED,  # "too many requests": the member is overloaded
    grpc.StatusCode.CANCELLED,  # the channel was closed under the call
}
_DENIED = {grpc.StatusCode.PERMISSION_DENIED, grpc.StatusCode.UNAUTHENTICATED}


def to_store_error(code: grpc.StatusCode, details: str) -> Exception:
    """The store-level exception for one etcd gRPC status (a ValueError for requests etcd
    finds malformed: those are bugs in the caller, not store conditions)."""
    if code in _UNAVAILABLE:
        return StoreUnavailable(f"etcd {code.name.lower()}: {details}")
    if code in _DENIED:
        return StorePermissionDenied(f"etcd refused: {details}")
    if code is grpc.StatusCode.OUT_OF_RANGE and _COMPACTED in details:
        return Compacted(0)  # the caller that knows how looks the revision up
    if code is grpc.StatusCode.OUT_OF_RANGE and _FUTURE_REVISION in details:
        return ValueError("revision is in the future")
    if code is grpc.StatusCode.NOT_FOUND and "lease not found" in details:
        return LeaseNotFound(details)
    if code is grpc.StatusCode.INVALID_ARGUMENT:
        return ValueError(f"etcd refused the request: {details}")
    return StoreError(f"etcd {code.name.lower()}: {details}")


@contextmanager
def map_etcd_errors() -> Iterator[None]:
    """Re-raise a grpc.aio.AioRpcError from the body as its store error."""
    try:
        yield
    except grpc.aio.AioRpcError as exc:
        raise to_store_error(exc.code(), exc.details() or "") from exc

"""The etcd access layer: every etcd call in Tsunagi goes through a Store (EtcdStore on a
real cluster, MemoryStore as the fake). See README.md."""

from mesh.store.base import (
    Compare,
    Delete,
    DeletePrefix,
    Event,
    KeyValue,
    Op,
    Put,
    Store,
    TxnResult,
    WatchBatch,
)
from mesh.store.errors import Compacted, LeaseNotFound, StoreError, StorePermissionDenied, StoreUnavailable

__all__ = [
    "Compacted",
    "Compare",
    "Delete",
    "DeletePrefix",
    "Event",
    "KeyValue",
    "LeaseNotFound",
    "Op",
    "Put",
    "Store",
    "StoreError",
    "StorePermissionDenied",
    "StoreUnavailable",
    "TxnResult",
    "WatchBatch",
]

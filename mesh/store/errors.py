"""Errors of the etcd access layer: one flat tree under StoreError.

A failed compare is not an error (txn returns succeeded=False); these are the outcomes a
caller must handle differently from success."""

from __future__ import annotations


class StoreError(Exception):
    """Base of every store error. A bare StoreError is an unexpected backend answer."""


class StoreUnavailable(StoreError):
    """No member answered in time, the member has no leader, or a watch stream broke.

    After a write this means the outcome is unknown: the write may have been applied.
    Retry writes as transactions whose compares make a second application fail."""


class StorePermissionDenied(StoreError):
    """etcd's auth refused the operation for this client's user (e.g. a write by a reader)."""


class Compacted(StoreError):
    """The requested revision was compacted away; list again and watch from the new revision."""

    def __init__(self, compact_revision: int) -> None:
        super().__init__(f"revision compacted; oldest readable revision is {compact_revision}")
        self.compact_revision = compact_revision


class LeaseNotFound(StoreError):
    """The lease does not exist (never granted, expired or revoked)."""

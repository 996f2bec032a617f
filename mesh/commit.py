"""Turning a set of config changes into the one etcd transaction that writes them, signed.

Used by the control plane for every write. Values that fail verification (written behind the
control plane's back) are removed in the same transaction instead of being blessed by the
new head.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Mapping

import structlog

from mesh.keys import CONFIG_PREFIX, HEAD_KEY, SIGNER_PREFIX
from mesh.signing import Signer, ValueRejected, Verifier, head_digest
from mesh.store.base import Compare, Delete, Put
from mesh.v1 import signed_pb2

log = structlog.get_logger("mesh.commit")


@dataclass(frozen=True, slots=True)
class Change:
    """Write `payload` of `kind` at `key`; payload None deletes the key."""

    key: str
    kind: str
    payload: bytes | None


@dataclass(frozen=True, slots=True)
class Commit:
    """The transaction: guarded on the head's mod revision, so concurrent writers serialise."""

    compares: list[Compare]
    ops: list[Put | Delete]
    version: int
    head: signed_pb2.ConfigHead


def clean_values(current: Mapping[str, bytes], verifier: Verifier) -> tuple[dict[str, bytes], list[str]]:
    """Split stored config values into the verifiable ones and the keys to remove."""
    good: dict[str, bytes] = {}
    bad: list[str] = []
    for key, raw in current.items():
        if key == HEAD_KEY:
            continue
        if key.startswith(SIGNER_PREFIX):
            good[key] = raw  # a certificate chain, checked against the trust bundle by readers
            continue
        try:
            verifier.verify(key, raw)
        except ValueRejected as exc:
            log.warning("tampered_value_removed", key=key, reason=exc.reason)
            bad.append(key)
        else:
            good[key] = raw
    return good, bad


def build_commit(
    signer: Signer,
    verifier: Verifier,
    current: Mapping[str, bytes],
    head_mod_revision: int,
    current_version: int,
    changes: list[Change],
    raw_puts: Mapping[str, bytes] | None = None,
) -> Commit:
    """Sign every change at version current_version + 1 and re-sign the head over the result.

    `current` is every key under the config prefix as read at the head's mod revision.
    `raw_puts` writes unsigned bytes (only the signer certificate chains).
    """
    version = current_version + 1
    values, removed = clean_values(current, verifier)
    rewritten = {c.key for c in changes} | set(raw_puts or ())
    # A bad value is deleted unless this commit overwrites it anyway (etcd refuses a put and a
    # delete of the same key in one transaction).
    ops: list[Put | Delete] = [Delete(key.encode()) for key in removed if key not in rewritten]
    for key, raw in (raw_puts or {}).items():
        assert key.startswith(SIGNER_PREFIX)
        values[key] = raw
        ops.append(Put(key.encode(), raw))
    for change in changes:
        assert change.key.startswith(CONFIG_PREFIX) and change.key != HEAD_KEY
        if change.payload is None:
            if values.pop(change.key, None) is not None or change.key in removed:
                ops.append(Delete(change.key.encode()))
            continue
        raw = signer.sign(change.key, version, change.kind, change.payload)
        values[change.key] = raw
        ops.append(Put(change.key.encode(), raw))
    head = signed_pb2.ConfigHead(version=version, digest=head_digest(values.items()),
                                 count=len(values))
    head.applied_at.FromDatetime(datetime.now(timezone.utc))
    ops.append(Put(HEAD_KEY.encode(),
                   signer.sign(HEAD_KEY, version, "ConfigHead", head.SerializeToString())))
    return Commit([Compare(HEAD_KEY.encode(), head_mod_revision)], ops, version, head)

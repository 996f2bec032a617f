"""Turning a set of config changes into the one etcd transaction that writes them, signed.

Used by the control plane for every write. Values that fail verification (written behind the
control plane's back) are removed in the same transaction instead of being blessed by the
new head. Given what the previous commit left (Committed), a commit verifies and hashes again
only the values whose stored bytes differ from it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Mapping

import structlog

from mesh.keys import CONFIG_PREFIX, HEAD_KEY, SIGNER_PREFIX
from mesh.head_tree import HeadTree
from mesh.signing import Signer, ValueRejected, Verifier
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
class Committed:
    """The values a commit's head covers: each with the id of the key that signed it ("" for
    signer chains, which are not signed values), and the head digest's tree over them."""

    values: Mapping[str, bytes]
    signed_by: Mapping[str, str]
    tree: HeadTree


@dataclass(frozen=True, slots=True)
class Commit:
    """The transaction: guarded on the head's mod revision, so concurrent writers serialise."""

    compares: list[Compare]
    ops: list[Put | Delete]
    version: int
    head: signed_pb2.ConfigHead
    committed: Committed


def clean_values(current: Mapping[str, bytes], verifier: Verifier,
                 previous: Committed | None = None) -> tuple[dict[str, bytes], list[str], dict[str, str]]:
    """Split stored config values into the verifiable ones and the keys to remove; also the
    signer key id of each good value. A value stored exactly as in `previous`, by a signer the
    verifier still trusts, is not verified again."""
    good: dict[str, bytes] = {}
    bad: list[str] = []
    signed_by: dict[str, str] = {}
    for key, raw in current.items():
        if key == HEAD_KEY:
            continue
        if key.startswith(SIGNER_PREFIX):
            good[key] = raw  # a certificate chain, checked against the trust bundle by readers
            signed_by[key] = ""
            continue
        if previous is not None and previous.values.get(key) == raw:
            key_id = previous.signed_by[key]
            if key_id in verifier.public_keys:
                good[key], signed_by[key] = raw, key_id
                continue
        try:
            value = verifier.verify(key, raw)
        except ValueRejected as exc:
            log.warning("tampered_value_removed", key=key, reason=exc.reason)
            bad.append(key)
        else:
            good[key], signed_by[key] = raw, value.key_id
    return good, bad, signed_by


def build_commit(
    signer: Signer,
    verifier: Verifier,
    current: Mapping[str, bytes],
    head_mod_revision: int,
    current_version: int,
    changes: list[Change],
    raw_puts: Mapping[str, bytes] | None = None,
    previous: Committed | None = None,
) -> Commit:
    """Sign every change at version current_version + 1 and re-sign the head over the result.

    `current` is every key under the config prefix as read at the head's mod revision.
    `raw_puts` writes unsigned bytes (only the signer certificate chains). `previous` (an
    earlier Commit's `committed`, whether or not it was written) only saves work: whatever
    in `current` differs from it is verified and hashed as if it were not given.
    """
    version = current_version + 1
    values, removed, signed_by = clean_values(current, verifier, previous)
    rewritten = {c.key for c in changes} | set(raw_puts or ())
    # A bad value is deleted unless this commit overwrites it anyway (etcd refuses a put and a
    # delete of the same key in one transaction).
    ops: list[Put | Delete] = [Delete(key.encode()) for key in removed if key not in rewritten]
    for key, raw in (raw_puts or {}).items():
        assert key.startswith(SIGNER_PREFIX)
        values[key], signed_by[key] = raw, ""
        ops.append(Put(key.encode(), raw))
    for change in changes:
        assert change.key.startswith(CONFIG_PREFIX) and change.key != HEAD_KEY
        if change.payload is None:
            signed_by.pop(change.key, None)
            if values.pop(change.key, None) is not None or change.key in removed:
                ops.append(Delete(change.key.encode()))
            continue
        raw = signer.sign(change.key, version, change.kind, change.payload)
        values[change.key], signed_by[change.key] = raw, signer.key_id
        ops.append(Put(change.key.encode(), raw))
    tree = _tree(values, previous)
    head = signed_pb2.ConfigHead(version=version, digest=tree.digest, count=len(values))
    head.applied_at.FromDatetime(datetime.now(timezone.utc))
    ops.append(Put(HEAD_KEY.encode(),
                   signer.sign(HEAD_KEY, version, "ConfigHead", head.SerializeToString())))
    return Commit([Compare(HEAD_KEY.encode(), head_mod_revision)], ops, version, head,
                  Committed(values, signed_by, tree))


def _tree(values: Mapping[str, bytes], previous: Committed | None) -> HeadTree:
    """The head digest's tree over `values`, re-hashing only what differs from `previous`."""
    if previous is None:
        return HeadTree.of(values.items())
    before = previous.values
    puts = {key: raw for key, raw in values.items() if before.get(key) != raw}
    deletes = [key for key in before if key not in values]
    return previous.tree.with_changes(puts, deletes)

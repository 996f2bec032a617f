"""Key ranges: the prefix → [key, range_end) rule of etcd, and the overlap rule for the ops
of one transaction."""

from __future__ import annotations

from collections.abc import Sequence

from mesh.store.base import Delete, DeletePrefix, Put

# etcd reads range_end b"\0" as "every key from `key` on"; with key b"\0" it is the whole space.
ALL_KEYS_END = b"\0"


def prefix_end(prefix: bytes) -> bytes:
    """The smallest key greater than every key starting with `prefix` (etcd's range_end).

    Trailing 0xff bytes cannot be incremented, so they are dropped; a prefix that is empty
    or all 0xff covers the rest of the key space."""
    trimmed = prefix.rstrip(b"\xff")
    if not trimmed:
        return ALL_KEYS_END
    return trimmed[:-1] + bytes([trimmed[-1] + 1])


def in_range(key: bytes, start: bytes, end: bytes) -> bool:
    """True when `key` lies in etcd's half-open range [start, end)."""
    if end == ALL_KEYS_END:
        return key >= start
    return start <= key < end


def check_ops(ops: Sequence[Put | Delete | DeletePrefix]) -> None:
    """Refuse what etcd refuses in one transaction: the same key put twice, or a put inside
    a range the same transaction deletes. Checked before sending so both stores agree."""
    put_keys = [op.key for op in ops if isinstance(op, Put)]
    if len(set(put_keys)) != len(put_keys):
        raise ValueError("a transaction may put a key only once")
    for op in ops:
        if isinstance(op, Delete) and op.key in put_keys:
            raise ValueError("a transaction may not put and delete the same key")
        if isinstance(op, DeletePrefix):
            end = prefix_end(op.prefix)
            if any(in_range(key, op.prefix, end) for key in put_keys):
                raise ValueError("a transaction may not put a key inside a prefix it deletes")

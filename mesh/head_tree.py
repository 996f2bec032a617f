"""The config head digest's tree (mesh.signing.head_digest), kept between versions so that a
change re-hashes one bucket per changed key instead of the whole config."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from mesh.signing import HEAD_BUCKETS, bucket_digest, head_bucket, head_entry, head_root, value_digest


@dataclass(frozen=True, slots=True)
class HeadTree:
    """Per bucket, its entries by key and its digest; `digest` equals head_digest over the
    same (key, value) pairs. Immutable: with_changes returns a new tree sharing the buckets
    it did not touch."""

    buckets: tuple[Mapping[str, bytes], ...]
    digests: tuple[bytes, ...]

    @classmethod
    def of(cls, items: Iterable[tuple[str, bytes]]) -> HeadTree:
        buckets: list[dict[str, bytes]] = [{} for _ in range(HEAD_BUCKETS)]
        for key, value in items:
            buckets[head_bucket(key)][key] = head_entry(key, value_digest(value))
        return cls(tuple(buckets), tuple(_digest(b) for b in buckets))

    @property
    def digest(self) -> bytes:
        return head_root(self.digests)

    def with_changes(self, puts: Mapping[str, bytes], deletes: Iterable[str]) -> HeadTree:
        """The tree after putting `puts` (key → value) and deleting `deletes`."""
        changed: dict[int, dict[str, bytes]] = {}

        def bucket_of(key: str) -> dict[str, bytes]:
            index = head_bucket(key)
            if index not in changed:
                changed[index] = dict(self.buckets[index])
            return changed[index]

        for key, value in puts.items():
            bucket_of(key)[key] = head_entry(key, value_digest(value))
        for key in deletes:
            bucket_of(key).pop(key, None)
        if not changed:
            return self
        buckets, digests = list(self.buckets), list(self.digests)
        for index, bucket in changed.items():
            buckets[index], digests[index] = bucket, _digest(bucket)
        return HeadTree(tuple(buckets), tuple(digests))


def _digest(bucket: Mapping[str, bytes]) -> bytes:
    return bucket_digest(bucket[key] for key in sorted(bucket))

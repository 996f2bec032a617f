"""Key ranges: etcd's prefix rule and the op-overlap rule of one transaction."""

from __future__ import annotations

import pytest

from mesh.store.base import Delete, DeletePrefix, Op, Put
from mesh.store.keyrange import ALL_KEYS_END, check_ops, in_range, prefix_end


@pytest.mark.parametrize(
    ("prefix", "end"),
    [
        (b"/tsunagi/", b"/tsunagi0"),
        (b"a", b"b"),
        (b"a\xff", b"b"),
        (b"a\xfe", b"a\xff"),
        (b"\xff\xff", ALL_KEYS_END),
        (b"", ALL_KEYS_END),
    ],
)
def test_prefix_end_is_the_first_key_after_the_prefix(prefix: bytes, end: bytes) -> None:
    """prefix_end increments the last byte that can be incremented, as etcd's clientv3 does."""
    assert prefix_end(prefix) == end


@pytest.mark.parametrize(
    ("key", "inside"),
    [(b"a", True), (b"a/", True), (b"a\xff\xff", True), (b"b", False), (b"", False), (b"`", False)],
)
def test_in_range_is_half_open(key: bytes, inside: bool) -> None:
    """[start, end) includes start and excludes end."""
    assert in_range(key, b"a", b"b") is inside


def test_in_range_with_the_open_end_covers_everything_after_start() -> None:
    """range_end b"\\0" means "to the end of the key space"."""
    assert in_range(b"\xff" * 8, b"a", ALL_KEYS_END) and not in_range(b"0", b"a", ALL_KEYS_END)


@pytest.mark.parametrize(
    "ops",
    [
        pytest.param([Put(b"k", b"1"), Put(b"k", b"2")], id="put-twice"),
        pytest.param([Put(b"k", b"1"), Delete(b"k")], id="put-and-delete"),
        pytest.param([Put(b"p/k", b"1"), DeletePrefix(b"p/")], id="put-in-deleted-prefix"),
        pytest.param([DeletePrefix(b""), Put(b"anything", b"1")], id="put-in-deleted-everything"),
    ],
)
def test_check_ops_refuses_what_etcd_refuses(ops: list[Op]) -> None:
    """Overlapping writes in one transaction are a ValueError."""
    with pytest.raises(ValueError):
        check_ops(ops)


@pytest.mark.parametrize(
    "ops",
    [
        pytest.param([Put(b"a", b"1"), Put(b"b", b"2")], id="distinct-puts"),
        pytest.param([Delete(b"k"), DeletePrefix(b"k")], id="overlapping-deletes"),
        pytest.param([Put(b"p", b"1"), DeletePrefix(b"p/")], id="put-beside-deleted-prefix"),
        pytest.param([], id="empty"),
    ],
)
def test_check_ops_accepts_ops_that_do_not_overlap(ops: list[Op]) -> None:
    """Distinct puts, and deletes overlapping only each other, pass."""
    check_ops(ops)

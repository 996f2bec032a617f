"""HeadTree: built whole or changed bucket by bucket, its digest is head_digest's."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from mesh.head_tree import HeadTree
from mesh.signing import head_digest

_KEYS = st.text(alphabet="abcdefgh/_-0123", min_size=1, max_size=12).map(lambda s: "/tsunagi/v1/config/" + s)
_VALUES = st.binary(max_size=40)
_CONFIGS = st.dictionaries(_KEYS, _VALUES, max_size=40)


@given(_CONFIGS)
def test_a_whole_tree_has_the_head_digest(values: dict[str, bytes]) -> None:
    """HeadTree.of(values).digest == head_digest(values), the empty config included."""
    assert HeadTree.of(values.items()).digest == head_digest(values.items())


@settings(max_examples=200)
@given(_CONFIGS, _CONFIGS, st.lists(_KEYS, max_size=10))
def test_a_changed_tree_has_the_head_digest_of_the_changed_config(
        values: dict[str, bytes], puts: dict[str, bytes], deletes: list[str]) -> None:
    """Puts (new keys and overwrites) and deletes (present or not) give the digest of the
    config they lead to; the tree they started from is unchanged."""
    tree = HeadTree.of(values.items())
    changed = tree.with_changes(puts, deletes)
    after = {**values, **puts}
    for key in deletes:
        after.pop(key, None)
    assert changed.digest == head_digest(after.items())
    assert tree.digest == head_digest(values.items())


def test_no_change_is_the_same_tree() -> None:
    """Nothing to put or delete returns the tree itself."""
    tree = HeadTree.of([("/k", b"v")])
    assert tree.with_changes({}, []) is tree

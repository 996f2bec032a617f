"""Overlay (a base plus the changes since) behaves exactly like a dict changed the same way,
through any sequence of changes and folds, and never changes a mapping it was made from."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from sidecar.overlay import FOLD_DIVISOR, FOLD_MIN, Overlay

keys = st.integers(min_value=0, max_value=40)
changes = st.lists(st.tuples(st.dictionaries(keys, st.integers()), st.lists(keys, max_size=6)),
                   max_size=60)


@given(st.dictionaries(keys, st.integers()), changes)
@settings(max_examples=300, deadline=None)
def test_an_overlay_equals_the_dict_changed_the_same_way(start: dict[int, int],
                                                         steps: list[tuple[dict[int, int], list[int]]]) -> None:
    """After each change (puts, then deletes), lookups, membership, length, iteration and
    equality match a plain dict; every earlier overlay still holds what it held."""
    expected = dict(start)
    overlay = Overlay.of(start)
    history: list[tuple[Overlay[int, int], dict[int, int]]] = []
    for puts, deletes in steps:
        overlay = overlay.changed(puts, deletes)
        expected.update(puts)
        for key in deletes:
            expected.pop(key, None)
        history.append((overlay, dict(expected)))
        assert dict(overlay) == expected and len(overlay) == len(expected)
        assert sorted(overlay) == sorted(expected) and overlay == expected
        for key in range(-1, 42):
            assert (key in overlay) == (key in expected)
            assert overlay.get(key, -7) == expected.get(key, -7)
    for old, held in history:
        assert dict(old) == held and len(old) == len(held)


def test_changes_fold_into_a_new_base_without_touching_the_old() -> None:
    """Once the changes outgrow the fold threshold they are folded into a new base; the
    overlays built on the old base keep their contents."""
    first = Overlay.of({i: i for i in range(10)})
    current = first
    for i in range(FOLD_MIN + 5):
        current = current.changed({100 + i: i}, [i] if i < 10 else [])
    assert current._base is not first._base  # folded
    assert len(current._puts) + len(current._gone) <= FOLD_MIN + len(current._base) // FOLD_DIVISOR
    assert dict(first) == {i: i for i in range(10)}
    assert dict(current) == {100 + i: i for i in range(FOLD_MIN + 5)}


def test_a_key_both_put_and_deleted_is_deleted() -> None:
    """In one change, deletes come after puts."""
    changed = Overlay.of({1: 1}).changed({1: 2, 3: 3}, [1, 3])
    assert dict(changed) == {} and len(changed) == 0 and 1 not in changed

"""Conditional rules: a predicate on a local field picks the rules; nothing is dropped silently."""

from __future__ import annotations

from typing import Any

import pytest

from mesh.translate.engine import CompiledMessage
from mesh.translate.errors import TranslationError

from .shapes import Shapes, as_json, drop, field

REST = [drop("n"), drop("m"), drop("flag"), drop("blob"), drop("dob")]


def _by_color(shapes: Shapes) -> CompiledMessage:
    """color RED: `a` is a date in wareki; otherwise `b` is an ISO date copied as is."""
    when = {"when": {"field": "color", "equals": "COLOR_RED",
                     "then": [field("a", "date", "wareki_to_iso")],
                     "otherwise": [field("b", "date")]}}
    return shapes.one("Flat", "Target", field("color", "colorEnum"), field("name", "x"), when, *REST)


@pytest.mark.parametrize(("given", "expected"), [
    ({"color": "COLOR_RED", "a": "令和6年2月24日"}, {"colorEnum": "COLOR_RED", "date": "2024-02-24"}),
    ({"color": "COLOR_BLUE", "b": "2024-02-24"}, {"colorEnum": "COLOR_BLUE", "date": "2024-02-24"}),
    ({"b": "2024-02-24"}, {"date": "2024-02-24"}),
])
def test_the_predicate_picks_the_branch_both_ways(shapes: Shapes, given: dict[str, Any],
                                                   expected: dict[str, Any]) -> None:
    """Forward the predicate is tested on the local message; back, on the restored one."""
    mapping = _by_color(shapes)
    out, kept = mapping.to_canonical(shapes.local("Flat", **given))
    assert as_json(out) == expected
    assert as_json(mapping.to_local(out, kept)[0]) == given


def test_going_back_the_branch_follows_the_restored_field(shapes: Shapes) -> None:
    """With nothing kept, the condition is tested on the field the unconditional rule restored."""
    mapping = _by_color(shapes)
    back, _ = mapping.to_local(shapes.canonical("Target", colorEnum="COLOR_RED", date="2019-05-01"))
    assert as_json(back) == {"color": "COLOR_RED", "a": "令和元年5月1日"}


def test_a_field_only_the_other_branch_reads_must_be_absent(shapes: Shapes) -> None:
    """`a` set while the condition is false would be lost: refused, naming `a`."""
    with pytest.raises(TranslationError) as exc:
        _by_color(shapes).to_canonical(shapes.local("Flat", color="COLOR_BLUE", a="x", b="2024-01-01"))
    assert exc.value.field == "a" and "COLOR_RED" in exc.value.reason


def test_present_predicate(shapes: Shapes) -> None:
    """`present: true` applies `then` only when the field has a value."""
    when = {"when": {"field": "n", "present": True, "then": [field("a", "y")],
                     "otherwise": [field("b", "y")]}}
    mapping = shapes.one("Flat", "Target", field("n", "code"), when, drop("m"), drop("color"),
                         drop("flag"), drop("blob"), drop("name"), drop("dob"))
    assert as_json(mapping.to_canonical(shapes.local("Flat", n=0, a="yes"))[0]) == {"code": "0", "y": "yes"}
    assert as_json(mapping.to_canonical(shapes.local("Flat", b="no"))[0]) == {"y": "no"}

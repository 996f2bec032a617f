"""Examples: each run local → canonical, back with the exchange's kept data, and
canonical → local → canonical; each failure by path."""

from __future__ import annotations

from typing import Any

import pytest

from mesh.translate.examples import check_examples

from .shapes import Shapes, field, message

MESSAGES = [message("m", "Inner", "Target", field("sei", "date", "wareki_to_iso"), field("mei", "x"))]


def _problems(shapes: Shapes, examples: list[dict[str, Any]]) -> list[tuple[str, str]]:
    resource = shapes.resource(MESSAGES, examples=examples)
    compiled = shapes.compile(MESSAGES)
    return [(p.path, p.message) for p in check_examples(compiled, resource.spec.examples)]


def test_a_correct_example_passes(shapes: Shapes) -> None:
    """A folded spelling (R6.2.24) passes: the exchange restores it."""
    assert _problems(shapes, [{"message": "m", "local": {"sei": "R6.2.24", "mei": "a"},
                               "canonical": {"date": "2024-02-24", "x": "a"}}]) == []


@pytest.mark.parametrize(("example", "path", "fragment"), [
    ({"message": "m", "local": {"sei": "令和6年2月24日"}, "canonical": {"date": "2024-02-25"}},
     "spec.examples[0].canonical.date", "to canonical: expected '2024-02-25', got '2024-02-24'"),
    ({"message": "m", "local": {"mei": "a"}, "canonical": {"x": "a", "date": "2024-02-24"}},
     "spec.examples[0].canonical.date", "expected '2024-02-24', got ''"),
    ({"message": "m", "local": {"sei": "いつか"}, "canonical": {}},
     "spec.examples[0].local.sei", "to canonical: not a wareki date"),
    ({"message": "m", "local": {}, "canonical": {"date": "24 Feb"}},
     "spec.examples[0].canonical.date", "to local"),
    ({"message": "m", "local": {"nope": 1}, "canonical": {}}, "spec.examples[0].local", "not a shapes.local.Inner"),
    ({"message": "other", "local": {}, "canonical": {}}, "spec.examples[0].message", "no message mapping"),
])
def test_a_failing_example_names_the_field(shapes: Shapes, example: dict[str, Any], path: str,
                                           fragment: str) -> None:
    """The problem's path points into the example at the field that differs or fails."""
    problems = _problems(shapes, [example])
    assert any(p == path and fragment in m for p, m in problems), problems


def test_a_message_mapping_without_an_example_is_reported(shapes: Shapes) -> None:
    """Every message mapping needs at least one example."""
    assert ("spec.examples", "message mapping 'm' has no example") in _problems(shapes, [])

"""Refusals at translation time: typed, naming the field path, the mapping and its version."""

from __future__ import annotations

from typing import Any

import pytest

from mesh.translate.errors import MappingFailed, TranslationError

from .shapes import Shapes, drop, field

FLAT_REST = ["b", "n", "m", "color", "flag", "blob", "dob"]


def _flat(shapes: Shapes, *rules: dict[str, Any], keep: tuple[str, ...] = ()) -> Any:
    rest = [drop(f) for f in FLAT_REST if f not in keep]
    return shapes.one("Flat", "Target", *rules, *rest)


REFUSED = [
    # (what, rules, kept fields, local JSON, field, reason fragment)
    ("a name without a separator", [field("name", ["family", "given"], "split_name"), drop("a")],
     (), {"name": "山田花子"}, "name", "no separator"),
    ("a date outside its era", [field("dob", "date", "wareki_to_iso"), drop("a"), drop("name")],
     ("dob",), {"dob": "令和元年4月30日"}, "dob", "before the start of 令和"),
    ("a label not in the code list",
     [field("a", "code", {"name": "lookup_code", "params": {"table": "sex"}}), drop("name")],
     (), {"a": "男性"}, "a", "code list"),
    ("a string that is not an integer", [field("a", "small"), drop("name")], (), {"a": "12x"},
     "a", "integer"),
]


@pytest.mark.parametrize(("what", "rules", "keep", "given", "path", "reason"), REFUSED,
                         ids=[c[0] for c in REFUSED])
def test_refusal_names_the_field_and_the_mapping(
    shapes: Shapes, what: str, rules: list[dict[str, Any]], keep: tuple[str, ...],
    given: dict[str, Any], path: str, reason: str,
) -> None:
    """A refused value raises MappingFailed: field path, mapping org/name, version, direction."""
    mapping = _flat(shapes, *rules, keep=keep)
    with pytest.raises(MappingFailed) as exc:
        mapping.to_canonical(shapes.local("Flat", **given))
    error = exc.value
    assert isinstance(error, TranslationError)
    assert error.field == path and reason in error.reason
    assert (error.mapping, error.version, error.generation) == ("131016/shapes", "1.2.3", 4)
    assert error.message == "m" and error.direction == "to canonical"
    assert str(error).startswith(f"Mapping 131016/shapes 1.2.3 (generation 4), m to canonical: {path}: ")


def test_refusal_inside_a_repeated_sub_message_names_the_element(shapes: Shapes) -> None:
    """The path goes through the nested rule and the element index: items[1].sei."""
    compiled = shapes.compile([
        {"name": "outer", "local": "shapes.local.Outer", "canonical": "shapes.canon.Target",
         "rules": [{"nested": {"local": "items", "canonical": "subs", "mapping": "name"}},
                   drop("x"), drop("inner"), drop("labels"), drop("extra")]},
        {"name": "name", "local": "shapes.local.Inner", "canonical": "shapes.canon.Sub",
         "rules": [field("sei", "y", "wareki_to_iso"), field("mei", "z")]},
    ])
    bad = shapes.local("Outer", items=[{"sei": "令和6年2月24日"}, {"sei": "いつか"}])
    with pytest.raises(MappingFailed) as exc:
        compiled.message("outer").to_canonical(bad)
    assert exc.value.field == "items[1].sei"


def test_refusal_going_back_names_the_canonical_field(shapes: Shapes) -> None:
    """Canonical → local failures name the canonical field and say so."""
    mapping = _flat(shapes, field("dob", "date", "wareki_to_iso"), drop("a"), drop("name"), keep=("dob",))
    with pytest.raises(MappingFailed) as exc:
        mapping.to_local(shapes.canonical("Target", date="1850-01-01"))
    assert exc.value.field == "date" and exc.value.direction == "to local"


def test_join_refusal_names_the_empty_part(shapes: Shapes) -> None:
    """A join of a family name without a given name blames the given name."""
    mapping = shapes.one("Outer", "Target", field(["inner.sei", "inner.mei"], "joined", "join_name"),
                         drop("x"), drop("items"), drop("labels"), drop("extra"))
    with pytest.raises(MappingFailed) as exc:
        mapping.to_canonical(shapes.local("Outer", inner={"sei": "山田"}))
    assert exc.value.field == "inner.mei"


@pytest.mark.parametrize(("rules", "given", "path"), [
    ([field("phones", ["p1", "p2"])], {"phones": ["1", "2", "3"]}, "phones"),
    ([field("phones", ["p1", "p2"])], {"phones": ["1", ""]}, "phones[1]"),
    ([field("line", "list", separator=",")], {"line": "a,,b"}, "line"),
    ([field("line", ["p1", "p2"], separator="-")], {"line": "1-2-3"}, "line"),
    ([field("tags", "joined", separator=",")], {"tags": ["a", "b,c"]}, "tags[1]"),
])
def test_lists_and_separators_refuse_what_would_not_come_back(
    shapes: Shapes, rules: list[dict[str, Any]], given: dict[str, Any], path: str,
) -> None:
    """Too many elements, empty parts and parts holding the separator are refused by path."""
    used = {r["field"]["local"][0] for r in rules}
    rest = [drop(f) for f in ("tags", "line", "phones", "numbers") if f not in used]
    mapping = shapes.one("Lists", "Target", *rules, *rest)
    with pytest.raises(MappingFailed) as exc:
        mapping.to_canonical(shapes.local("Lists", **given))
    assert exc.value.field == path


def test_bytes_that_do_not_parse_are_refused(shapes: Shapes) -> None:
    """Undecodable wire bytes are a MappingFailed, not a DecodeError."""
    mapping = _flat(shapes, field("a", "x"), drop("name"))
    with pytest.raises(MappingFailed) as exc:
        mapping.to_canonical_bytes(b"\xff\xff\xff")
    assert "not a valid shapes.local.Flat" in exc.value.reason


def test_bytes_helpers_translate_wire_messages(shapes: Shapes) -> None:
    """to_canonical_bytes / to_local_bytes do the same as the message API, on wire bytes."""
    mapping = _flat(shapes, field("a", "x"), drop("name"))
    data, kept = mapping.to_canonical_bytes(shapes.local("Flat", a="v", b="dropped").SerializeToString())
    assert shapes.canonical("Target", x="v").SerializeToString() == data
    back, _ = mapping.to_local_bytes(data, kept)
    assert back == shapes.local("Flat", a="v", b="dropped").SerializeToString()

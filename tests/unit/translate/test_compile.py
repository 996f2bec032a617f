"""Mappings whose round trip is undefined are refused when compiled, each problem by field path."""

from __future__ import annotations

from typing import Any

import pytest

from mesh.translate.errors import MappingInvalid

from .shapes import Shapes, drop, field, message

FLAT = ["a", "b", "n", "m", "color", "flag", "blob", "name", "dob"]


def _flat(*rules: dict[str, Any], mapped: tuple[str, ...] = ()) -> dict[str, Any]:
    """A Flat → Target message mapping: `rules`, then every other field dropped."""
    return message("m", "Flat", "Target", *rules, *[drop(f) for f in FLAT if f not in mapped])


def _problems(shapes: Shapes, messages: list[dict[str, Any]], **kwargs: Any) -> list[tuple[str, str]]:
    with pytest.raises(MappingInvalid) as exc:
        shapes.compile(messages, **kwargs)
    return [(p.path, p.message) for p in exc.value.problems]


R0 = "spec.messages[0].rules[0]"
REFUSED = [
    # (what, message mappings, expected path, message fragment)
    ("a function without an inverse", [_flat(field("a", "x", "digits_to_ascii"), mapped=("a",))],
     f"{R0}.field.functions[0].name", "no inverse"),
    ("an unknown function", [_flat(field("a", "x", "to_upper"), mapped=("a",))],
     f"{R0}.field.functions[0].name", "no value function"),
    ("an unknown parameter", [_flat(field("a", "x", {"name": "wareki_to_iso", "params": {"lenient": True}}),
                                    mapped=("a",))],
     f"{R0}.field.functions[0].params", "unknown parameter(s) lenient"),
    ("a code list that is not a bijection",
     [_flat(field("a", "x", {"name": "lookup_code", "params": {"table": {"男": "1", "男性": "1"}}}),
            mapped=("a",))],
     f"{R0}.field.functions[0].params", "duplicate canonical value"),
    ("two values into one field with no function",
     [_flat(field(["a", "b"], "x"), mapped=("a", "b"))], f"{R0}.field", "need a function or a separator"),
    ("a split into the wrong number of fields",
     [_flat(field("name", ["family", "given", "x"], "split_name"), mapped=("name",))],
     f"{R0}.field", "give 2 value(s) for 3"),
    ("a string into a message field", [_flat(field("a", "sub"), mapped=("a",))],
     f"{R0}.field.canonical[0]", "is a message field"),
    ("a bool into a string", [_flat(field("flag", "x"), mapped=("flag",))],
     f"{R0}.field", "type mismatch: cannot convert bool to string"),
    ("a value function on bytes", [_flat(field("blob", "x", "hiragana_to_katakana"), mapped=("blob",))],
     f"{R0}.field", "type mismatch"),
    ("an optional number into one without presence", [_flat(field("n", "small"), mapped=("n",))],
     f"{R0}.field", "zero value would come back unset"),
    ("an unknown field", [_flat(field("nope", "x"))], f"{R0}.field.local[0]", "has no field 'nope'"),
    ("a path through a repeated field",
     [message("m", "Outer", "Target", field("items.sei", "x"), drop("inner"), drop("x"), drop("labels"),
              drop("extra"))], f"{R0}.field.local[0]", "is repeated"),
    ("two rules writing the same field",
     [_flat(field("a", "x"), field("b", "x"), mapped=("a", "b"))], "spec.messages[0].rules[1].field",
     "writes 'x', as spec.messages[0].rules[0]"),
    ("a rule writing inside what another writes",
     [message("m", "Outer", "Target", {"nested": {"local": "inner", "canonical": "sub", "mapping": "n"}},
              field("x", "sub.y"), drop("items"), drop("labels"), drop("extra")),
      message("n", "Inner", "Sub", field("sei", "y"), field("mei", "z"))],
     "spec.messages[0].rules[1].field", "writes 'sub.y'"),
    ("a local field read twice", [_flat(field("a", "x"), field("a", "y"), mapped=("a",))],
     "spec.messages[0].rules[1].field", "going back both would write it"),
    ("a local field neither mapped nor dropped",
     [message("m", "Flat", "Target", field("a", "x"))], "spec.messages[0].rules", "local field 'b'"),
    ("a cycle of nested mappings",
     [message("one", "Loop", "Loop", {"nested": {"local": "next", "canonical": "next", "mapping": "two"}}),
      message("two", "Loop2", "Loop2", {"nested": {"local": "back", "canonical": "back", "mapping": "one"}})],
     "spec.messages[1].rules[0].nested.mapping", "cycle of nested message mappings: one → two → one"),
    ("a nested mapping of the wrong type",
     [message("m", "Outer", "Target", {"nested": {"local": "inner", "canonical": "sub", "mapping": "m"}},
              drop("x"), drop("items"), drop("labels"), drop("extra"))],
     f"{R0}.nested.mapping", "cycle"),
    ("a condition on a field going back has not restored",
     [_flat({"when": {"field": "a", "equals": "x", "then": [field("b", "y")]}}, mapped=("b",))],
     f"{R0}.when.field", "must be read by a rule outside the condition"),
    ("a default that is not a value of its field",
     [_flat({"default": {"local": "a", "canonical": "small", "value": "many"}}, mapped=("a",))],
     f"{R0}.default.value", "not a decimal integer"),
    ("an unknown local message", [message("m", "Nope", "Target")], "spec.messages[0].local", "not a message"),
    ("duplicate message mapping names", [_flat(field("a", "x"), mapped=("a",)),
                                         _flat(field("a", "x"), mapped=("a",))],
     "spec.messages[1].name", "duplicate 'm'"),
]


@pytest.mark.parametrize(("what", "messages", "path", "fragment"), REFUSED, ids=[c[0] for c in REFUSED])
def test_undefined_round_trip_is_refused_with_its_path(
    shapes: Shapes, what: str, messages: list[dict[str, Any]], path: str, fragment: str,
) -> None:
    """Compiling raises MappingInvalid with a problem at the rule's field path."""
    problems = _problems(shapes, messages)
    assert any(p == path and fragment in m for p, m in problems), problems


def test_every_problem_is_reported_not_just_the_first(shapes: Shapes) -> None:
    """Two broken rules in two message mappings: both reported."""
    problems = _problems(shapes, [
        _flat(field("a", "x", "digits_to_ascii"), mapped=("a",)),
        {**_flat(field("nope", "x")), "name": "other"},
    ])
    paths = {p for p, _ in problems}
    assert {f"{R0}.field.functions[0].name", "spec.messages[1].rules[0].field.local[0]"} <= paths


OPERATION = {"local": "/shapes.local.Local/Get", "canonical": "/shapes.canon.Canon/Get",
             "request": "flat", "response": "outer"}


def _operation_messages() -> list[dict[str, Any]]:
    return [{**_flat(field("a", "x"), mapped=("a",)), "name": "flat"},
            message("outer", "Outer", "Target", field("x", "x"), drop("inner"), drop("items"),
                    drop("labels"), drop("extra"))]


@pytest.mark.parametrize(("change", "path", "fragment"), [
    ({"local": "/shapes.local.Local/Nope"}, "spec.operations[0].local", "has no method 'Nope'"),
    ({"canonical": "shapes.canon.Canon/Get"}, "spec.operations[0].canonical", "not a method path"),
    ({"canonical": "/shapes.canon.Canon/Watch"}, "spec.operations[0]", "stream the same way"),
    ({"canonical": "/shapes.canon.Canon/Echo"}, "spec.operations[0].request", "requests are shapes.canon.Sub"),
    ({"response": "flat"}, "spec.operations[0].response", "'flat' maps shapes.local.Flat"),
    ({"request": "missing"}, "spec.operations[0].request", "no message mapping named 'missing'"),
])
def test_operations_must_fit_their_methods(shapes: Shapes, change: dict[str, str], path: str,
                                           fragment: str) -> None:
    """An operation's methods exist, stream alike, and its message mappings fit their types."""
    problems = _problems(shapes, _operation_messages(), operations=[{**OPERATION, **change}])
    assert any(p == path and fragment in m for p, m in problems), problems


def test_operations_are_found_by_either_method_path(shapes: Shapes) -> None:
    """A valid operation is indexed by its local and its canonical path."""
    compiled = shapes.compile(_operation_messages(), operations=[
        OPERATION, {"local": "/shapes.local.Local/Watch", "canonical": "/shapes.canon.Canon/Watch",
                    "request": "flat", "response": "outer"}])
    watch = compiled.by_local["/shapes.local.Local/Watch"]
    assert watch.server_streaming and not watch.client_streaming
    assert compiled.by_canonical["/shapes.canon.Canon/Get"].response.name == "outer"


def test_kinds_are_derived_from_the_rules(shapes: Shapes) -> None:
    """iso for a rename and a code list, partial for a wareki date, lossy for a split name or
    a drop."""
    def kind(*rules: dict[str, Any]) -> str:
        return shapes.one("Inner", "Target", *rules).kind

    sex = {"name": "lookup_code", "params": {"table": "sex"}}
    assert kind(field("sei", "x"), field("mei", "code", sex)) == "iso"
    assert kind(field("sei", "date", "wareki_to_iso"), field("mei", "x")) == "partial"
    assert kind(field("sei", ["family", "given"], "split_name"), field("mei", "x")) == "lossy"
    assert kind(field("sei", "x"), drop("mei")) == "lossy"

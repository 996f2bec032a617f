"""Structural operations of a Mapping, each translated local → canonical and back."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from mesh.translate.errors import TranslationError

from .shapes import Shapes, as_json, drop, field


def _both_ways(shapes: Shapes, local: str, canonical: str, rules: list[dict[str, Any]],
               given: dict[str, Any], expected: dict[str, Any]) -> None:
    mapping = shapes.one(local, canonical, *rules)
    source = shapes.local(local, **given)
    out, kept = mapping.to_canonical(source)
    assert as_json(out) == expected
    back, _ = mapping.to_local(out, kept)
    assert as_json(back) == given


CASES = [
    # (what, local, canonical, rules, local JSON, canonical JSON)
    ("rename", "Flat", "Target",
     [field("a", "x"), drop("b"), drop("n"), drop("m"), drop("color"), drop("flag"), drop("blob"),
      drop("name"), drop("dob")],
     {"a": "山田"}, {"x": "山田"}),
    ("move by JSON name into a sub-message (nest)", "Flat", "Target",
     [field("a", "sub.y"), field("b", "sub.z"), drop("n"), drop("m"), drop("color"), drop("flag"),
      drop("blob"), drop("name"), drop("dob")],
     {"a": "1", "b": "2"}, {"sub": {"y": "1", "z": "2"}}),
    ("unnest a sub-message's fields", "Outer", "Target",
     [field("inner.sei", "family"), field("inner.mei", "given"), field("x", "x"), drop("items"),
      drop("labels"), drop("extra")],
     {"inner": {"sei": "山田", "mei": "花子"}, "x": "k"}, {"family": "山田", "given": "花子", "x": "k"}),
    ("split a string at a separator into a list", "Lists", "Target",
     [field("line", "list", separator=","), drop("tags"), drop("phones"), drop("numbers")],
     {"line": "a,b,c"}, {"list": ["a", "b", "c"]}),
    ("join a list into a string at a separator", "Lists", "Target",
     [field("tags", "joined", separator="/"), drop("line"), drop("phones"), drop("numbers")],
     {"tags": ["x", "y"]}, {"joined": "x/y"}),
    ("split a string at a separator into fields", "Lists", "Target",
     [field("line", ["p1", "p2", "p3"], separator="-"), drop("tags"), drop("phones"), drop("numbers")],
     {"line": "03-1234-5678"}, {"p1": "03", "p2": "1234", "p3": "5678"}),
    ("spread a list over fields", "Lists", "Target",
     [field("phones", ["p1", "p2", "p3"]), drop("tags"), drop("line"), drop("numbers")],
     {"phones": ["03", "090"]}, {"p1": "03", "p2": "090"}),
    ("repeated to repeated, element by element, int to string", "Lists", "Target",
     [field("tags", "list", "hiragana_to_katakana"), field("numbers", "numbers"), drop("line"),
      drop("phones")],
     {"tags": ["やまだ", "はなこ"], "numbers": [1, 2]}, {"list": ["ヤマダ", "ハナコ"], "numbers": [1, 2]}),
    ("split with a value function", "Flat", "Target",
     [field("name", ["family", "given"], "split_name"), drop("a"), drop("b"), drop("n"), drop("m"),
      drop("color"), drop("flag"), drop("blob"), drop("dob")],
     {"name": "山田 花子"}, {"family": "山田", "given": "花子"}),
    ("join with a value function", "Outer", "Target",
     [field(["inner.sei", "inner.mei"], "joined", "join_name"), drop("x"), drop("items"),
      drop("labels"), drop("extra")],
     {"inner": {"sei": "山田", "mei": "花子"}}, {"joined": "山田\u3000花子"}),
    ("optional int to string keeps zero", "Flat", "Target",
     [field("n", "code"), drop("a"), drop("b"), drop("m"), drop("color"), drop("flag"), drop("blob"),
      drop("name"), drop("dob")],
     {"n": 0}, {"code": "0"}),
    ("enum to string by value name, and scalars to their own type", "Flat", "Target",
     [field("color", "color"), field("flag", "flag"), field("blob", "blob"), field("m", "big"),
      drop("a"), drop("b"), drop("n"), drop("name"), drop("dob")],
     {"color": "COLOR_BLUE", "flag": True, "blob": "AAE=", "m": 7},
     {"color": "COLOR_BLUE", "flag": True, "blob": "AAE=", "big": "7"}),
    ("code list inline", "Flat", "Target",
     [field("a", "code", {"name": "lookup_code", "params": {"table": {"男": "1", "女": "2"}}}),
      drop("b"), drop("n"), drop("m"), drop("color"), drop("flag"), drop("blob"), drop("name"),
      drop("dob")],
     {"a": "女"}, {"code": "2"}),
    ("nested message mapping is listed separately", "Outer", "Target",
     [field("x", "x"), drop("inner"), drop("items"), drop("labels"), drop("extra")],
     {"x": "only"}, {"x": "only"}),
]


@pytest.mark.parametrize(("what", "local", "canonical", "rules", "given", "expected"), CASES,
                         ids=[c[0] for c in CASES])
def test_structural_operation_translates_both_ways(
    shapes: Shapes, what: str, local: str, canonical: str, rules: list[dict[str, Any]],
    given: dict[str, Any], expected: dict[str, Any],
) -> None:
    """Each operation gives the canonical form, and the reverse gives the local form back."""
    _both_ways(shapes, local, canonical, rules, given, expected)


def test_absent_fields_stay_absent_both_ways(shapes: Shapes) -> None:
    """An unset local field writes nothing (no empty sub-message), and no function sees it."""
    mapping = shapes.one("Outer", "Target", field("inner.sei", "sub.y", "hiragana_to_katakana"),
                         field("inner.mei", "sub.z"), field("x", "date", "wareki_to_iso"),
                         drop("items"), drop("labels"), drop("extra"))
    out, _ = mapping.to_canonical(shapes.local("Outer"))
    assert not out.HasField("sub") and out.ByteSize() == 0
    back, _ = mapping.to_local(shapes.canonical("Target"))
    assert back.ByteSize() == 0


def test_default_writes_its_value_and_the_exchange_restores_absence(shapes: Shapes) -> None:
    """Absent → the default; going back in the same exchange the field is absent again;
    without the exchange's kept data the default comes back as a value."""
    mapping = shapes.compile([{
        "name": "m", "local": "shapes.local.Inner", "canonical": "shapes.canon.Sub",
        "rules": [{"default": {"local": "sei", "canonical": "y", "value": "不明"}}, field("mei", "z")],
    }]).message("m")
    out, kept = mapping.to_canonical(shapes.local("Inner", mei="花子"))
    assert as_json(out) == {"y": "不明", "z": "花子"}
    assert as_json(mapping.to_local(out, kept)[0]) == {"mei": "花子"}
    assert as_json(mapping.to_local(out)[0]) == {"sei": "不明", "mei": "花子"}
    present, _ = mapping.to_canonical(shapes.local("Inner", sei="山田"))
    assert as_json(present) == {"y": "山田"}


def test_constant_is_written_and_checked_going_back(shapes: Shapes) -> None:
    """A constant is always written; going back the same value or none passes, another is refused."""
    mapping = shapes.compile([{
        "name": "m", "local": "shapes.local.Inner", "canonical": "shapes.canon.Target",
        "rules": [field("sei", "x"), field("mei", "y"), {"constant": {"canonical": "code", "value": "131016"}}],
    }]).message("m")
    out, _ = mapping.to_canonical(shapes.local("Inner", sei="a"))
    assert as_json(out) == {"x": "a", "code": "131016"}
    assert as_json(mapping.to_local(shapes.canonical("Target", x="a"))[0]) == {"sei": "a"}
    with pytest.raises(TranslationError) as exc:
        mapping.to_local(shapes.canonical("Target", x="a", code="141003"))
    assert exc.value.field == "code" and "131016" in exc.value.reason


def test_drop_is_restored_within_the_exchange_only(shapes: Shapes) -> None:
    """A dropped field (here a whole sub-message and a map) comes back with the exchange's kept
    data, and is absent without it."""
    mapping = shapes.one("Outer", "Target", field("x", "x"), drop("inner"), drop("items"),
                         drop("labels"), drop("extra"))
    given = {"x": "k", "inner": {"sei": "山田"}, "items": [{"mei": "a"}, {}], "labels": {"k": "v"}}
    out, kept = mapping.to_canonical(shapes.local("Outer", **given))
    assert as_json(out) == {"x": "k"}
    assert as_json(mapping.to_local(out, kept)[0]) == given
    assert as_json(mapping.to_local(out)[0]) == {"x": "k"}


def test_nested_mapping_applies_to_a_sub_message_and_to_each_element(shapes: Shapes) -> None:
    """A nested rule translates a singular sub-message and each element of a repeated one."""
    compiled = shapes.compile([
        {"name": "outer", "local": "shapes.local.Outer", "canonical": "shapes.canon.Target",
         "rules": [{"nested": {"local": "inner", "canonical": "sub", "mapping": "name"}},
                   {"nested": {"local": "items", "canonical": "subs", "mapping": "name"}},
                   field("x", "x"), drop("labels"), drop("extra")]},
        {"name": "name", "local": "shapes.local.Inner", "canonical": "shapes.canon.Sub",
         "rules": [field("sei", "y", "hiragana_to_katakana"), field("mei", "z")]},
    ])
    given = {"inner": {"sei": "やまだ"}, "items": [{"sei": "あ", "mei": "1"}, {"mei": "2"}], "x": "k"}
    out, kept = compiled.message("outer").to_canonical(shapes.local("Outer", **given))
    assert as_json(out) == {"sub": {"y": "ヤマダ"}, "subs": [{"y": "ア", "z": "1"}, {"z": "2"}], "x": "k"}
    assert as_json(compiled.message("outer").to_local(out, kept)[0]) == given


def test_a_present_empty_sub_message_stays_present(shapes: Shapes) -> None:
    """A nested rule keeps the presence of an empty sub-message."""
    compiled = shapes.compile([
        {"name": "outer", "local": "shapes.local.Outer", "canonical": "shapes.canon.Target",
         "rules": [{"nested": {"local": "inner", "canonical": "sub", "mapping": "name"}},
                   drop("x"), drop("items"), drop("labels"), drop("extra")]},
        {"name": "name", "local": "shapes.local.Inner", "canonical": "shapes.canon.Sub",
         "rules": [field("sei", "y"), field("mei", "z")]},
    ])
    local = shapes.local("Outer")
    local.inner.SetInParent()
    out, _ = compiled.message("outer").to_canonical(local)
    assert out.HasField("sub")


def test_a_yearless_date_takes_its_year_from_the_stated_rule(shapes: Shapes) -> None:
    """`reference: today` is evaluated per call (Japan's date); the year comes back going back
    only within the exchange."""
    rule = field("sei", "date", {"name": "yearless_to_iso",
                                 "params": {"rule": "next-occurrence", "reference": "today"}})
    mapping = shapes.one("Inner", "Target", rule, field("mei", "x"))
    out, kept = mapping.to_canonical(shapes.local("Inner", sei="2/24"))
    today = datetime.now(timezone(timedelta(hours=9))).date()
    year = int(out.date[:4])
    assert out.date[4:] == "-02-24" and year in (today.year, today.year + 1)
    assert mapping.to_local(out, kept)[0].sei == "2/24"
    assert mapping.kind == "lossy"

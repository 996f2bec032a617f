"""Round-trip laws of compiled mappings, on generated messages (hypothesis).

iso rules:      to_local(to_canonical(x)) == x, with nothing kept;
lossy rules:    to_local(to_canonical(x), kept) == x, with what the exchange kept;
any mapping:    to_canonical(to_local(c)) == c for every c that to_canonical gives.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mesh.translate.engine import CompiledMessage

from .shapes import Shapes, as_json, drop, field
from .strategies import ERA_CODES, NAMES, POSTAL_DIGITS, SEX_LABELS, wareki_spellings

LAWS = settings(max_examples=60, deadline=None)
TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=8)


@pytest.fixture(scope="module")
def iso(shapes: Shapes) -> CompiledMessage:
    return shapes.one(
        "Flat", "Target",
        field("a", "x"), field("b", "joined", "digits_to_postal"), field("m", "big"),
        field("flag", "flag"), field("blob", "blob"),
        field("name", "code", {"name": "lookup_code", "params": {"table": "sex"}}),
        field("dob", "date", "era_code_to_iso"), drop("n"), drop("color"),
    )


@pytest.fixture(scope="module")
def lossy(shapes: Shapes) -> CompiledMessage:
    return shapes.one(
        "Flat", "Target",
        field("name", ["family", "given"], "split_name"), field("dob", "date", "wareki_to_iso"),
        field("a", "y", "halfwidth_kana_to_fullwidth"), field("b", "x"),
        {"default": {"local": "m", "canonical": "small", "value": "7"}},
        drop("n"), drop("color"), drop("flag"), drop("blob"),
    )


def _maybe(strategy: st.SearchStrategy[Any], empty: Any) -> st.SearchStrategy[Any]:
    return st.one_of(st.just(empty), strategy)


ISO_FLATS = st.fixed_dictionaries({
    "a": TEXT, "b": _maybe(POSTAL_DIGITS, ""), "m": st.integers(-(2**31), 2**31 - 1),
    "flag": st.booleans(), "blob": st.binary(max_size=6), "name": _maybe(SEX_LABELS, ""),
    "dob": _maybe(ERA_CODES, ""),
})


@LAWS
@given(values=ISO_FLATS)
def test_iso_rules_round_trip_with_nothing_kept(shapes: Shapes, iso: CompiledMessage,
                                                 values: dict[str, Any]) -> None:
    """For a mapping of iso rules, from(to(x)) == x without the exchange's kept data."""
    local = shapes.local("Flat")
    for key, value in values.items():
        setattr(local, key, value)
    canonical, _ = iso.to_canonical(local)
    back, _ = iso.to_local(canonical)
    assert back.SerializeToString(deterministic=True) == local.SerializeToString(deterministic=True)


HALFWIDTH = st.text(alphabet="ｱｲｳｶﾞﾊﾟﾝｰ ", max_size=6)


@LAWS
@given(name=_maybe(NAMES, ""), dob=_maybe(wareki_spellings().map(lambda p: p[0]), ""),
       kana=HALFWIDTH, m=st.integers(0, 9), b=TEXT)
def test_lossy_and_partial_rules_restore_exactly_from_what_was_kept(
    shapes: Shapes, lossy: CompiledMessage, name: str, dob: str, kana: str, m: int, b: str,
) -> None:
    """A split name's separator, a wareki spelling, half-width kana and an absent default come
    back exactly within the exchange; and canonical → local → canonical is stable without it."""
    local = shapes.local("Flat", name=name, dob=dob, a=kana, m=m, b=b)
    canonical, kept = lossy.to_canonical(local)
    back, _ = lossy.to_local(canonical, kept)
    assert as_json(back) == as_json(local)
    plain, _ = lossy.to_local(canonical)
    again, _ = lossy.to_canonical(plain)
    assert as_json(again) == as_json(canonical)


@LAWS
@given(items=st.lists(st.fixed_dictionaries({"sei": st.text(alphabet="あいうえおかきくけこ", max_size=4),
                                             "mei": TEXT}), max_size=4))
def test_each_element_of_a_repeated_sub_message_round_trips(shapes: Shapes,
                                                            items: list[dict[str, str]]) -> None:
    """A nested mapping over a repeated field keeps order, count and each element's fields."""
    compiled = shapes.compile([
        {"name": "outer", "local": "shapes.local.Outer", "canonical": "shapes.canon.Target",
         "rules": [{"nested": {"local": "items", "canonical": "subs", "mapping": "name"}},
                   drop("x"), drop("inner"), drop("labels"), drop("extra")]},
        {"name": "name", "local": "shapes.local.Inner", "canonical": "shapes.canon.Sub",
         "rules": [field("sei", "y", "hiragana_to_katakana"), field("mei", "z")]},
    ]).message("outer")
    local = shapes.local("Outer", items=items)
    canonical, _ = compiled.to_canonical(local)
    assert len(canonical.subs) == len(items)
    back, _ = compiled.to_local(canonical)
    assert as_json(back) == as_json(local)

"""The registry: every function has a kind, its inverse, its round-trip law and typed failures."""

from __future__ import annotations

import inspect
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mesh.translate import FUNCTIONS, Kept, TranslationError, get

from .strategies import (
    DIGIT_STRINGS,
    ERA_CODES,
    ISO_DATES,
    KANA_TEXT,
    LG_CODES_5,
    LG_CODES_6,
    NAMES,
    POSTAL_DIGITS,
    SEX_CODES,
    SEX_LABELS,
    YEARLESS,
    postal_spellings,
    wareki_spellings,
)

LAWS = settings(max_examples=60, deadline=None)

# Params a Mapping would give; the fuzz and the laws call each function with these.
PARAMS: dict[str, dict[str, Any]] = {
    "yearless_to_iso": {"rule": "next-occurrence", "reference": "2024-02-24"},
    "lookup_code": {"table": "sex"},
    "reverse_lookup_code": {"table": "sex"},
}

# Inputs each single-input function accepts (mostly); its kind's law is checked on them.
ACCEPTED: dict[str, st.SearchStrategy[str]] = {
    "wareki_to_iso": wareki_spellings().map(lambda pair: pair[0]),
    "iso_to_wareki": ISO_DATES,
    "era_code_to_iso": ERA_CODES,
    "iso_to_era_code": ISO_DATES,
    "yearless_to_iso": YEARLESS,
    "iso_to_yearless": ISO_DATES,
    "split_name": NAMES,
    "halfwidth_kana_to_fullwidth": KANA_TEXT,
    "fullwidth_kana_to_halfwidth": KANA_TEXT,
    "hiragana_to_katakana": KANA_TEXT,
    "katakana_to_hiragana": KANA_TEXT,
    "digits_to_ascii": DIGIT_STRINGS,
    "postal_to_digits": postal_spellings().map(lambda pair: pair[0]),
    "digits_to_postal": POSTAL_DIGITS,
    "lg_code_5_to_6": LG_CODES_5,
    "lg_code_6_to_5": LG_CODES_6,
    "validate_lg_code": LG_CODES_6,
    "lookup_code": SEX_LABELS,
    "reverse_lookup_code": SEX_CODES,
}

SINGLE_INPUT = sorted(name for name, f in FUNCTIONS.items() if f.inputs == 1)


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_every_function_declares_a_kind_and_its_inverse(name: str) -> None:
    """Each entry has a kind; iso and lossy entries have an inverse; inverse names resolve."""
    entry = FUNCTIONS[name]
    assert entry.name == name
    assert entry.kind in ("iso", "lossy", "partial")
    if entry.kind in ("iso", "lossy"):
        assert entry.inverse is not None
    if entry.inverse_name is not None:
        assert entry.inverse_name in FUNCTIONS
    if entry.kind == "iso":
        assert entry.inverse is FUNCTIONS[entry.inverse_name or ""].forward
        assert FUNCTIONS[entry.inverse_name or ""].inverse_name == name


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_declared_params_are_the_keyword_only_parameters(name: str) -> None:
    """`params` lists exactly what a Mapping may set, so unknown params can be refused early."""
    entry = FUNCTIONS[name]
    pairs = ((entry.forward, entry.params), (entry.inverse, entry.inverse_params))
    for function, declared in pairs:
        if function is None:
            continue
        parameters = inspect.signature(function).parameters.values()
        assert declared == {p.name for p in parameters if p.kind is p.KEYWORD_ONLY}


def test_every_single_input_function_has_a_law_strategy() -> None:
    """No registered function escapes the round-trip law tests below."""
    assert set(SINGLE_INPUT) == set(ACCEPTED)


def test_get_returns_the_entry() -> None:
    """get(name) is FUNCTIONS[name]."""
    assert get("wareki_to_iso") is FUNCTIONS["wareki_to_iso"]


def test_get_unknown_name_is_a_lookup_error_naming_it() -> None:
    """An unknown name is a LookupError (not a TranslationError) that names it."""
    with pytest.raises(LookupError, match="no_such_function") as exc:
        get("no_such_function")
    assert not isinstance(exc.value, TranslationError)


def test_invert_without_an_inverse_is_a_lookup_error() -> None:
    """Asking a one-way function for its inverse is a LookupError, not a silent pass-through."""
    with pytest.raises(LookupError):
        get("digits_to_ascii").invert("123")


def test_invert_names_the_field_in_the_error() -> None:
    """invert(field=...) names the field path too."""
    with pytest.raises(TranslationError) as exc:
        get("iso_to_yearless").invert("2/29", "2023", field="spec.birthday")
    assert exc.value.field == "spec.birthday"


def test_apply_names_the_field_in_the_error() -> None:
    """apply(field=...) turns a function's refusal into one naming the field path."""
    with pytest.raises(TranslationError) as exc:
        get("postal_to_digits").apply("12-345", field="spec.address.postalCode")
    assert exc.value.field == "spec.address.postalCode"
    assert str(exc.value).startswith("spec.address.postalCode: ")


@pytest.mark.parametrize("name", SINGLE_INPUT)
@LAWS
@given(data=st.data())
def test_registered_functions_obey_their_kind_law(name: str, data: st.DataObject) -> None:
    """iso: inverse(f(x)) == x; lossy: inverse(value, kept) == x; partial: f(inv(f(x))) == f(x)."""
    entry = FUNCTIONS[name]
    params = PARAMS.get(name, {})
    x = data.draw(ACCEPTED[name])
    try:
        y = entry.forward(x, **params)
    except TranslationError:
        return  # outside the domain; the fuzz test checks how it fails
    if entry.kind == "iso":
        assert entry.invert(y, **params) == x
    elif entry.kind == "lossy":
        assert isinstance(y, Kept)
        assert entry.invert(y.value, y.kept, **params) == x
    elif entry.inverse is not None:
        try:
            back = entry.invert(y, **params)
        except TranslationError:
            return  # the inverse may refuse what it cannot write (e.g. ヶ in half-width)
        assert entry.forward(back, **params) == y


@pytest.mark.parametrize("name", SINGLE_INPUT)
@LAWS
@given(text=st.text(max_size=16))
def test_registered_functions_fail_only_with_translation_error(name: str, text: str) -> None:
    """Arbitrary text either translates or fails with a TranslationError naming the field."""
    try:
        get(name).apply(text, field="spec.value", **PARAMS.get(name, {}))
    except TranslationError as exc:
        assert exc.field == "spec.value"


@LAWS
@given(family=st.text(max_size=6), given_=st.text(max_size=6))
def test_join_name_fails_only_with_translation_error(family: str, given_: str) -> None:
    """The two-input join_name also fails only with a TranslationError naming the field."""
    try:
        get("join_name").apply(family, given_, field="spec.name")
    except TranslationError as exc:
        assert exc.field == "spec.name"

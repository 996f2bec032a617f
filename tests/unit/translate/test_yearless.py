"""Yearless dates: the year comes only from an explicit rule; the reverse keeps the year."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mesh.translate.errors import TranslationError
from mesh.translate.kept import Kept
from mesh.translate.yearless import drop_year, iso_to_yearless, restore_yearless, yearless_to_iso

from .strategies import GREGORIAN_DATES, YEARLESS

FAST = settings(max_examples=200, deadline=None)

VECTORS = [
    ("2/24", "reference-year", "2024-06-01", "2024-02-24"),
    ("2月24日", "reference-year", "2024-06-01", "2024-02-24"),
    ("２/２４", "reference-year", "2024-06-01", "2024-02-24"),
    ("２／２４", "reference-year", "2024-06-01", "2024-02-24"),
    ("二月二十四日", "reference-year", "2024-06-01", "2024-02-24"),
    ("02/24", "reference-year", "2024-06-01", "2024-02-24"),
    ("2/24", "next-occurrence", "2024-02-25", "2025-02-24"),
    ("2/24", "next-occurrence", "2024-02-24", "2024-02-24"),
    ("2/24", "next-occurrence", "2024-01-01", "2024-02-24"),
    ("1/1", "next-occurrence", "2024-12-31", "2025-01-01"),
    ("2/24", "previous-occurrence", "2024-02-23", "2023-02-24"),
    ("2/24", "previous-occurrence", "2024-02-24", "2024-02-24"),
    ("12/31", "previous-occurrence", "2025-01-01", "2024-12-31"),
    ("2/29", "reference-year", "2024-01-01", "2024-02-29"),
    ("2/29", "next-occurrence", "2023-03-01", "2024-02-29"),
    ("2/29", "previous-occurrence", "2025-01-01", "2024-02-29"),
]


@pytest.mark.parametrize(("text", "rule", "reference", "iso"), VECTORS)
def test_yearless_to_iso_applies_the_rule(text: str, rule: str, reference: str, iso: str) -> None:
    """Each rule picks the documented year relative to the reference date."""
    assert yearless_to_iso(text, rule=rule, reference=date.fromisoformat(reference)) == iso


def test_reference_may_be_an_iso_string_or_datetime() -> None:
    """A Mapping param gives the reference as `YYYY-MM-DD`; a datetime counts by its date."""
    assert yearless_to_iso("2/24", rule="reference-year", reference="2024-06-01") == "2024-02-24"
    moment = datetime(2024, 6, 1, 23, 59)
    assert yearless_to_iso("2/24", rule="reference-year", reference=moment) == "2024-02-24"


REFUSED = [
    ("2/29", {"rule": "reference-year", "reference": "2023-06-01"}, "no such calendar date"),
    ("2/29", {"rule": "next-occurrence", "reference": "2022-03-01"}, "no such calendar date"),
    ("2/29", {"rule": "previous-occurrence", "reference": "2024-01-01"}, "no such calendar date"),
    ("2/24", {"reference": "2024-06-01"}, "rule is required"),
    ("2/24", {"rule": "nearest", "reference": "2024-06-01"}, "unknown year rule"),
    ("2/24", {"rule": "reference-year"}, "reference date is required"),
    ("2/30", {"rule": "reference-year", "reference": "2024-06-01"}, "not a day of the year"),
    ("13/1", {"rule": "reference-year", "reference": "2024-06-01"}, "not a day of the year"),
    ("0/1", {"rule": "reference-year", "reference": "2024-06-01"}, "not a day of the year"),
    ("2/24/2024", {"rule": "reference-year", "reference": "2024-06-01"}, "not a month and day"),
    ("2-24", {"rule": "reference-year", "reference": "2024-06-01"}, "not a month and day"),
    ("2月24", {"rule": "reference-year", "reference": "2024-06-01"}, "not a month and day"),
    ("", {"rule": "reference-year", "reference": "2024-06-01"}, "not a month and day"),
]


@pytest.mark.parametrize(("text", "params", "reason"), REFUSED)
def test_yearless_to_iso_refuses_without_guessing(
    text: str, params: dict[str, str], reason: str
) -> None:
    """No rule, no reference, an unknown rule or an impossible day is refused."""
    with pytest.raises(TranslationError) as exc:
        yearless_to_iso(text, **params)
    assert reason in exc.value.reason


def test_iso_to_yearless_keeps_the_dropped_year() -> None:
    """2024-02-24 → 2/24, keeping 2024; restore gives back 2024-02-24."""
    assert iso_to_yearless("2024-02-24") == Kept("2/24", "2024")
    assert restore_yearless("2/24", "2024") == "2024-02-24"
    assert drop_year("2024-02-24") == "2/24"


@pytest.mark.parametrize(
    ("text", "kept"), [("2/29", "2023"), ("2/24", "24"), ("2/24", "２０２４"), ("x", "2024")]
)
def test_restore_yearless_refuses_bad_kept_data(text: str, kept: str) -> None:
    """A kept year that is not four digits, or makes an impossible day, is refused."""
    with pytest.raises(TranslationError):
        restore_yearless(text, kept)


@FAST
@given(st.dates())
def test_restore_from_kept_year_gives_the_original_date(day: date) -> None:
    """restore_yearless(*iso_to_yearless(d)) == d for every date 0001..9999."""
    result = iso_to_yearless(day.isoformat())
    assert restore_yearless(result.value, result.kept) == day.isoformat()


@FAST
@given(YEARLESS, GREGORIAN_DATES)
def test_next_occurrence_is_on_or_after_reference_within_a_year(
    text: str, reference: date
) -> None:
    """next-occurrence gives the first matching date ≥ reference (less than a year later)."""
    try:
        iso = yearless_to_iso(text, rule="next-occurrence", reference=reference)
    except TranslationError:
        assert text == "2/29"
        return
    result = date.fromisoformat(iso)
    assert reference <= result and (result - reference).days < 366
    assert drop_year(result.isoformat()) == text


@FAST
@given(YEARLESS, GREGORIAN_DATES)
def test_previous_occurrence_is_on_or_before_reference_within_a_year(
    text: str, reference: date
) -> None:
    """previous-occurrence gives the last matching date ≤ reference (less than a year earlier)."""
    try:
        iso = yearless_to_iso(text, rule="previous-occurrence", reference=reference)
    except TranslationError:
        assert text == "2/29"
        return
    result = date.fromisoformat(iso)
    assert result <= reference and (reference - result).days < 366
    assert drop_year(result.isoformat()) == text


@FAST
@given(st.text(alphabet="0123456789０１２/／月日十二一三 ", max_size=8))
def test_yearless_to_iso_fails_only_with_translation_error(text: str) -> None:
    """Near-miss input either reads as a date or fails with a TranslationError."""
    try:
        yearless_to_iso(text, rule="next-occurrence", reference="2024-02-24")
    except TranslationError as exc:
        assert exc.value == text

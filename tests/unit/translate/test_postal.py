"""Postal codes: the common spellings read as 7 digits; the reverse writes NNN-NNNN."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mesh.translate.errors import TranslationError
from mesh.translate.postal import digits_to_postal, postal_to_digits

from .strategies import POSTAL_DIGITS, postal_spellings

FAST = settings(max_examples=200, deadline=None)

SPELLINGS = [
    "〒100-0013",
    "１００－００１３",
    "100-0013",
    "1000013",
    "１００００１３",
    "〒 100-0013",
    "〒\u30001000013",
    *(f"100{dash}0013" for dash in "－ー‐−–—"),
]


@pytest.mark.parametrize("text", SPELLINGS)
def test_postal_to_digits_reads_common_spellings(text: str) -> None:
    """〒, full-width digits and any of the dash look-alikes between the groups are accepted."""
    assert postal_to_digits(text) == "1000013"


REFUSED = [
    "",
    "100-001",
    "100-00133",
    "10000133",
    "10-00013",
    "1000-013",
    "100--0013",
    "100 0013",
    "100_0013",
    "-1000013",
    "1000013-",
    "〒〒1000013",
    "〒  1000013",
    "1000013〒",
    " 1000013",
    "abcdefg",
    "١٠٠٠٠١٣",
]


@pytest.mark.parametrize("text", REFUSED)
def test_postal_to_digits_refuses_anything_not_seven_digits(text: str) -> None:
    """Wrong digit counts, misplaced or doubled dashes, spaces and foreign digits are refused."""
    with pytest.raises(TranslationError):
        postal_to_digits(text)


def test_digits_to_postal_writes_the_hyphenated_form() -> None:
    """1000013 → 100-0013."""
    assert digits_to_postal("1000013") == "100-0013"


@pytest.mark.parametrize("text", ["100-0013", "100001", "１００００１３", "10000130", ""])
def test_digits_to_postal_accepts_only_seven_ascii_digits(text: str) -> None:
    """The reverse takes only the canonical 7 ASCII digits."""
    with pytest.raises(TranslationError):
        digits_to_postal(text)


@FAST
@given(POSTAL_DIGITS)
def test_digits_to_postal_round_trips(digits: str) -> None:
    """postal_to_digits(digits_to_postal(x)) == x for every 7-digit code."""
    assert postal_to_digits(digits_to_postal(digits)) == digits


@FAST
@given(postal_spellings())
def test_every_spelling_reads_as_its_digits(spelled: tuple[str, str]) -> None:
    """Any generated spelling (〒, width, dash choice) reads as its 7 digits."""
    text, digits = spelled
    assert postal_to_digits(text) == digits


@FAST
@given(st.text(alphabet="0123456789０１〒-－ー ", max_size=10))
def test_postal_to_digits_fails_only_with_translation_error(text: str) -> None:
    """Near-miss input either reads as 7 digits or fails with a TranslationError."""
    try:
        assert len(postal_to_digits(text)) == 7
    except TranslationError as exc:
        assert exc.value == text

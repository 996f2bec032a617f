"""Wareki ↔ ISO dates: the spellings accepted, the era boundaries, and the GYYMMDD era code."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mesh.translate.errors import TranslationError
from mesh.translate.wareki import era_code_to_iso, iso_to_era_code, iso_to_wareki, wareki_to_iso

from .strategies import ERA_CODES, ISO_DATES, wareki_spellings

FAST = settings(max_examples=200, deadline=None)

TO_ISO = [
    ("令和6年2月24日", "2024-02-24"),
    ("令和６年２月２４日", "2024-02-24"),
    ("R6.2.24", "2024-02-24"),
    ("R06.02.24", "2024-02-24"),
    ("令和六年二月二十四日", "2024-02-24"),
    ("令和元年5月1日", "2019-05-01"),
    ("平成31年4月30日", "2019-04-30"),
    ("昭和64年1月7日", "1989-01-07"),
    ("平成元年1月8日", "1989-01-08"),
    ("大正元年7月30日", "1912-07-30"),
    ("明治45年7月29日", "1912-07-29"),
    ("昭和元年12月25日", "1926-12-25"),
    ("大正15年12月24日", "1926-12-24"),
    ("明治6年1月1日", "1873-01-01"),
    ("H31/4/30", "2019-04-30"),
    ("S64-1-7", "1989-01-07"),
    ("r6.2.24", "2024-02-24"),
    ("Ｒ６．２．２４", "2024-02-24"),
    ("令和6/2/24", "2024-02-24"),
    ("\u32ff6年2月24日", "2024-02-24"),
    ("\u337b元年1月8日", "1989-01-08"),
    ("令和十年十月十日", "2028-10-10"),
    ("令和二年十二月三十一日", "2020-12-31"),
    ("令和六年二月二四日", "2024-02-24"),
    ("R元.5.1", "2019-05-01"),
    ("令和6年2月29日", "2024-02-29"),
]


@pytest.mark.parametrize(("text", "iso"), TO_ISO)
def test_wareki_to_iso_reads_accepted_spellings(text: str, iso: str) -> None:
    """Each accepted spelling reads as the expected ISO date in strict mode."""
    assert wareki_to_iso(text) == iso


REFUSED = [
    ("令和元年4月30日", "before the start of 令和"),
    ("昭和64年1月8日", "after the end of 昭和"),
    ("平成元年1月7日", "before the start of 平成"),
    ("大正15年12月25日", "after the end of 大正"),
    ("明治5年12月31日", "Gregorian"),
    ("明治元年10月23日", "Gregorian"),
    ("令和6年2月30日", "no such calendar date"),
    ("令和5年2月29日", "no such calendar date"),
    ("令和6年13月1日", "no such calendar date"),
    ("令和0年1月1日", "era year 0"),
    ("令和6年2月24", "not a wareki date"),
    ("R6.2-24", "not a wareki date"),
    ("令和6年2月24日 ", "not a wareki date"),
    (" 令和6年2月24日", "not a wareki date"),
    ("2024年2月24日", "not a wareki date"),
    ("X6.2.24", "not a wareki date"),
    ("令和一十年1月1日", "not a number"),
    ("R0006.2.24", "not a wareki date"),
    ("R6.002.24", "not a wareki date"),
    ("", "not a wareki date"),
]


@pytest.mark.parametrize(("text", "reason"), REFUSED)
def test_wareki_to_iso_refuses_in_strict_mode(text: str, reason: str) -> None:
    """Dates outside their era, before 1873, impossible or malformed are refused with a reason."""
    with pytest.raises(TranslationError) as exc:
        wareki_to_iso(text)
    assert reason in exc.value.reason
    assert exc.value.value == text


@pytest.mark.parametrize(
    ("text", "iso"),
    [
        ("令和元年4月30日", "2019-04-30"),
        ("昭和64年1月8日", "1989-01-08"),
        ("明治元年1月1日", "1868-01-01"),
    ],
)
def test_non_strict_mode_does_only_the_year_arithmetic(text: str, iso: str) -> None:
    """strict=False accepts a date outside its era by counting years from the era's first year."""
    assert wareki_to_iso(text, strict=False) == iso


def test_non_strict_mode_still_refuses_impossible_dates() -> None:
    """strict=False never invents a calendar day such as 2月30日."""
    with pytest.raises(TranslationError):
        wareki_to_iso("令和6年2月30日", strict=False)


TO_WAREKI = [
    ("2019-05-01", "令和元年5月1日"),
    ("2024-02-24", "令和6年2月24日"),
    ("2019-04-30", "平成31年4月30日"),
    ("1989-01-07", "昭和64年1月7日"),
    ("1989-01-08", "平成元年1月8日"),
    ("1926-12-25", "昭和元年12月25日"),
    ("1912-07-30", "大正元年7月30日"),
    ("1912-07-29", "明治45年7月29日"),
    ("1873-01-01", "明治6年1月1日"),
]


@pytest.mark.parametrize(("iso", "text"), TO_WAREKI)
def test_iso_to_wareki_writes_era_names_with_gannen_and_no_padding(iso: str, text: str) -> None:
    """The reverse writes 元年 for year 1 and half-width digits without padding."""
    assert iso_to_wareki(iso) == text


@pytest.mark.parametrize(
    "iso", ["1872-12-31", "1868-10-23", "2024-2-24", "2024-02-30", "20240224", ""]
)
def test_iso_to_wareki_refuses_pre_gregorian_and_malformed_dates(iso: str) -> None:
    """Dates before 1873-01-01 and anything not YYYY-MM-DD are refused."""
    with pytest.raises(TranslationError):
        iso_to_wareki(iso)


ERA_CODE_VECTORS = [
    ("5060224", "2024-02-24"),
    ("5010501", "2019-05-01"),
    ("4310430", "2019-04-30"),
    ("3640107", "1989-01-07"),
    ("4010108", "1989-01-08"),
    ("1060101", "1873-01-01"),
]


@pytest.mark.parametrize(("code", "iso"), ERA_CODE_VECTORS)
def test_era_code_converts_both_ways(code: str, iso: str) -> None:
    """GYYMMDD (1=明治 … 5=令和) and the ISO date name the same day, both ways."""
    assert era_code_to_iso(code) == iso
    assert iso_to_era_code(iso) == code


@pytest.mark.parametrize(
    "code",
    [
        "5010430", "3640108", "6010101", "0010101", "5000101",
        "506022", "50602240", "５０６０２２４", "5060230", "1051231",
    ],
)
def test_era_code_refuses_malformed_and_out_of_era_codes(code: str) -> None:
    """An era code outside its era, with an unknown era digit, year 00 or bad length is refused."""
    with pytest.raises(TranslationError):
        era_code_to_iso(code)


@pytest.mark.parametrize("iso", ["2118-01-01", "1872-12-31"])
def test_iso_to_era_code_refuses_dates_it_cannot_write(iso: str) -> None:
    """Era year 100 does not fit two digits; pre-1873 dates have no Gregorian wareki."""
    with pytest.raises(TranslationError):
        iso_to_era_code(iso)


@FAST
@given(ISO_DATES)
def test_iso_to_wareki_round_trips(iso: str) -> None:
    """wareki_to_iso(iso_to_wareki(d)) == d for every date 1873-01-01..2100-12-31."""
    assert wareki_to_iso(iso_to_wareki(iso)) == iso


@FAST
@given(ISO_DATES)
def test_iso_to_era_code_round_trips(iso: str) -> None:
    """era_code_to_iso(iso_to_era_code(d)) == d for every date 1873-01-01..2100-12-31."""
    assert era_code_to_iso(iso_to_era_code(iso)) == iso


@FAST
@given(ERA_CODES)
def test_era_code_to_iso_round_trips(code: str) -> None:
    """iso_to_era_code(era_code_to_iso(c)) == c for every valid era code."""
    assert iso_to_era_code(era_code_to_iso(code)) == code


@FAST
@given(wareki_spellings())
def test_every_spelling_style_reads_as_the_same_date(spelled: tuple[str, str]) -> None:
    """Era name/letter/ligature, ASCII/padded/full-width/kanji numbers and every separator agree."""
    text, iso = spelled
    assert wareki_to_iso(text) == iso


@FAST
@given(st.text(alphabet="明治大正昭和平成令和元年月日MTSHRr0123456789０１２３十二三一./-", max_size=14))
def test_wareki_to_iso_fails_only_with_translation_error(text: str) -> None:
    """Near-miss input either reads as a date or fails with a TranslationError, nothing else."""
    try:
        assert len(wareki_to_iso(text, strict=False)) == 10
    except TranslationError as exc:
        assert exc.value == text

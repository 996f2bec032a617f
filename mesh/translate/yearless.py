"""Yearless dates (`2/24`, `2月24日`): the year comes from an explicit rule, never a guess."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Final

from .errors import TranslationError
from .isodate import make_date, parse_iso_date
from .kept import Kept
from .numerals import DIGIT_FOLD, parse_number

RULES: Final = ("reference-year", "next-occurrence", "previous-occurrence")

_PARSE_FOLD = {**DIGIT_FOLD, **str.maketrans("／", "/")}
_NUM = r"[0-9]{1,2}|[〇一二三四五六七八九十]{1,3}"
_SLASH_FORM = re.compile(rf"(?P<m>{_NUM})/(?P<d>{_NUM})")
_KANJI_FORM = re.compile(rf"(?P<m>{_NUM})月(?P<d>{_NUM})日")
_YEAR = re.compile(r"[0-9]{4}")
_LEAP_YEAR = 2000


def yearless_to_iso(
    text: str, *, rule: str | None = None, reference: date | str | None = None
) -> str:
    """`2/24` or `2月24日` → an ISO date, the year chosen by `rule` relative to `reference`.

    Rules: `reference-year` (the reference date's year), `next-occurrence` (the first such
    date on or after the reference), `previous-occurrence` (the last on or before it). Both
    are required. 2/29 is refused when the chosen year is not a leap year.
    """
    month, day = _parse_month_day(text)
    if rule is None:
        raise TranslationError(f"a year rule is required (one of {', '.join(RULES)})", text)
    if rule not in RULES:
        raise TranslationError(f"unknown year rule {rule!r} (one of {', '.join(RULES)})", text)
    ref = _reference_date(reference, text)
    year = ref.year
    if rule == "next-occurrence" and (month, day) < (ref.month, ref.day):
        year += 1
    elif rule == "previous-occurrence" and (month, day) > (ref.month, ref.day):
        year -= 1
    return make_date(year, month, day, text).isoformat()


def iso_to_yearless(text: str) -> Kept[str]:
    """`2024-02-24` → `2/24`, keeping `2024` so restore_yearless gives back the same date."""
    parsed = parse_iso_date(text)
    return Kept(f"{parsed.month}/{parsed.day}", f"{parsed.year:04d}")


def drop_year(text: str) -> str:
    """`2024-02-24` → `2/24`, forgetting the year (use iso_to_yearless to keep it)."""
    return iso_to_yearless(text).value


def restore_yearless(text: str, kept: str) -> str:
    """`2/24` with the kept year `2024` → `2024-02-24`."""
    month, day = _parse_month_day(text)
    if not _YEAR.fullmatch(kept):
        raise TranslationError("kept year is not four digits", kept)
    return make_date(int(kept), month, day, text).isoformat()


def _parse_month_day(text: str) -> tuple[int, int]:
    folded = text.translate(_PARSE_FOLD)
    match = _SLASH_FORM.fullmatch(folded) or _KANJI_FORM.fullmatch(folded)
    if not match:
        raise TranslationError("not a month and day (M/D or M月D日)", text)
    try:
        month, day = parse_number(match["m"]), parse_number(match["d"])
    except TranslationError as exc:
        raise TranslationError(exc.reason, text) from None
    try:
        # A leap year, so that 2/29 is a day of the year here and refused later if need be.
        date(_LEAP_YEAR, month, day)
    except ValueError:
        raise TranslationError("not a day of the year", text) from None
    return month, day


def _reference_date(reference: date | str | None, text: str) -> date:
    if reference is None:
        raise TranslationError("a reference date is required", text)
    if isinstance(reference, datetime):
        return reference.date()
    if isinstance(reference, date):
        return reference
    return parse_iso_date(reference)

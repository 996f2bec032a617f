"""Wareki: Japanese era dates (令和6年2月24日, R6.2.24, the GYYMMDD era code) to and from ISO dates.

Era start dates are the Gregorian dates used by Japanese government systems. Japan adopted the
Gregorian calendar on 明治6年1月1日 (1873-01-01); earlier wareki dates are lunisolar, so strict
mode refuses them rather than pretend a calendar conversion.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

from .errors import TranslationError
from .isodate import make_date, parse_iso_date
from .numerals import DIGIT_FOLD, parse_number

GREGORIAN_ADOPTED = date(1873, 1, 1)


@dataclass(frozen=True, slots=True)
class Era:
    """One era: its name, its Latin letter, its digit in the GYYMMDD code and its first day."""

    name: str
    letter: str
    code: int
    start: date
    ligature: str


# Order matters: each era ends the day before the next one starts.
ERAS: tuple[Era, ...] = (
    # 明治 was proclaimed on 1868-10-23 (applied retroactively to the year); moot in strict mode.
    Era("明治", "M", 1, date(1868, 10, 23), "\u337e"),
    Era("大正", "T", 2, date(1912, 7, 30), "\u337d"),
    Era("昭和", "S", 3, date(1926, 12, 25), "\u337c"),
    Era("平成", "H", 4, date(1989, 1, 8), "\u337b"),
    Era("令和", "R", 5, date(2019, 5, 1), "\u32ff"),
)

_ERA_BY_TOKEN: dict[str, Era] = {}
for _era in ERAS:
    _ERA_BY_TOKEN.update({_era.name: _era, _era.letter: _era, _era.ligature: _era})
_ERA_BY_CODE = {era.code: era for era in ERAS}


def _end_of(era: Era) -> date | None:
    """The last day of `era`, or None for the current era."""
    later = [e.start for e in ERAS if e.start > era.start]
    return min(later) - timedelta(days=1) if later else None


_ERA_END = {era.name: _end_of(era) for era in ERAS}

# Parsing works on a folded copy: full-width digits, letters and separators become ASCII.
_PARSE_FOLD = {
    **DIGIT_FOLD,
    **str.maketrans("ＭＴＳＨＲｍｔｓｈｒmtshr．／－", "MTSHRMTSHRMTSHR./-"),
}
_ERA_PATTERN = "|".join(re.escape(token) for token in _ERA_BY_TOKEN)
_YEAR = r"元|[0-9]{1,3}|[〇一二三四五六七八九十]{1,4}"
_NUM = r"[0-9]{1,2}|[〇一二三四五六七八九十]{1,3}"
_KANJI_FORM = re.compile(
    rf"(?P<era>{_ERA_PATTERN})(?P<y>{_YEAR})年(?P<m>{_NUM})月(?P<d>{_NUM})日"
)
_SEPARATOR_FORM = re.compile(
    rf"(?P<era>{_ERA_PATTERN})(?P<y>{_YEAR})(?P<sep>[./-])(?P<m>{_NUM})(?P=sep)(?P<d>{_NUM})"
)
_ERA_CODE = re.compile(r"(?P<g>[1-5])(?P<y>[0-9]{2})(?P<m>[0-9]{2})(?P<d>[0-9]{2})")
# The spelling registries write most (昭和24年1月12日): read without folding or parse_number.
_PLAIN_FORM = re.compile(
    "(" + "|".join(era.name for era in ERAS) + ")(元|[1-9][0-9]?)年([1-9][0-9]?)月([1-9][0-9]?)日"
)


def wareki_to_iso(text: str, *, strict: bool = True) -> str:
    """`令和6年2月24日`, `R06.02.24`, `令和六年二月二十四日` → `2024-02-24`.

    Accepts era names, letters M/T/S/H/R and the era ligatures (㍻, ㋿); 元 or a number for the
    year; ASCII, full-width or kanji numbers; `年月日`, or one of `.` `/` `-` used twice.
    Strict mode (the default) also refuses a date outside its era and any date before
    1873-01-01. Non-strict mode only does the era-year arithmetic.
    """
    plain = _PLAIN_FORM.fullmatch(text)
    if plain:
        era = _ERA_BY_TOKEN[plain[1]]
        era_year = 1 if plain[2] == "元" else int(plain[2])
        day = make_date(era.start.year - 1 + era_year, int(plain[3]), int(plain[4]), text)
    else:
        folded = text.translate(_PARSE_FOLD)
        match = _KANJI_FORM.fullmatch(folded) or _SEPARATOR_FORM.fullmatch(folded)
        if not match:
            raise TranslationError("not a wareki date", text)
        era = _ERA_BY_TOKEN[match["era"]]
        era_year = 1 if match["y"] == "元" else _number(match["y"], text)
        if era_year == 0:
            raise TranslationError("era year 0 does not exist (year 1 is 元年)", text)
        day = make_date(
            era.start.year - 1 + era_year, _number(match["m"], text), _number(match["d"], text), text
        )
    if strict:
        _check_within_era(day, era, text)
    return day.isoformat()


def iso_to_wareki(text: str) -> str:
    """`2019-05-01` → `令和元年5月1日` (元年 for year 1, ASCII digits, no padding).

    Dates before 1873-01-01 are refused: they predate the Gregorian calendar in Japan.
    """
    day = parse_iso_date(text)
    era = era_of(day, text)
    era_year = day.year - era.start.year + 1
    year = "元" if era_year == 1 else str(era_year)
    return f"{era.name}{year}年{day.month}月{day.day}日"


def era_code_to_iso(text: str) -> str:
    """The 7-digit era code GYYMMDD (1=明治 … 5=令和): `5060224` → `2024-02-24`.

    Always strict: an era code names exactly one day or is refused.
    """
    match = _ERA_CODE.fullmatch(text)
    if not match:
        raise TranslationError("not a 7-digit era code GYYMMDD with G in 1-5", text)
    era = _ERA_BY_CODE[int(match["g"])]
    era_year = int(match["y"])
    if era_year == 0:
        raise TranslationError("era year 00 does not exist (year 1 is 01)", text)
    day = make_date(era.start.year - 1 + era_year, int(match["m"]), int(match["d"]), text)
    _check_within_era(day, era, text)
    return day.isoformat()


def iso_to_era_code(text: str) -> str:
    """`2024-02-24` → `5060224`; refused before 1873-01-01 and past era year 99."""
    day = parse_iso_date(text)
    era = era_of(day, text)
    era_year = day.year - era.start.year + 1
    if era_year > 99:
        raise TranslationError(f"{era.name} year {era_year} does not fit the era code", text)
    return f"{era.code}{era_year:02d}{day.month:02d}{day.day:02d}"


def era_of(day: date, text: str) -> Era:
    """The era `day` falls in; a TranslationError about `text` before 1873-01-01."""
    if day < GREGORIAN_ADOPTED:
        raise TranslationError(_BEFORE_GREGORIAN, text)
    for era in reversed(ERAS):  # ERAS is in order of start: the latest that has begun
        if era.start <= day:
            return era
    raise AssertionError("every date since 1873 falls in an era")


_BEFORE_GREGORIAN = "before 1873-01-01, when Japan adopted the Gregorian calendar"


def _check_within_era(day: date, era: Era, text: str) -> None:
    if day < GREGORIAN_ADOPTED:
        raise TranslationError(_BEFORE_GREGORIAN, text)
    if day < era.start:
        raise TranslationError(f"before the start of {era.name} ({era.start.isoformat()})", text)
    end = _ERA_END[era.name]
    if end is not None and day > end:
        raise TranslationError(f"after the end of {era.name} ({end.isoformat()})", text)


def _number(token: str, text: str) -> int:
    try:
        return parse_number(token)
    except TranslationError as exc:
        raise TranslationError(f"{exc.reason}: {token!r}", text) from None

"""Japanese numerals: ASCII, full-width and kanji digits read as integers (for dates, not names)."""

from __future__ import annotations

import re

from .errors import TranslationError

FULLWIDTH_DIGITS = "０１２３４５６７８９"
# Full-width digits to ASCII; used on parse copies and by kana.digits_to_ascii.
DIGIT_FOLD = str.maketrans(FULLWIDTH_DIGITS, "0123456789")

_KANJI_DIGITS = {"〇": 0, "一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
# 十, 二十四, 三十一: the tens form, up to 99. 一十 is not written, so it is refused.
_TENS_FORM = re.compile(r"(?P<tens>[二三四五六七八九])?十(?P<units>[一二三四五六七八九])?")
_ASCII_DIGITS = re.compile(r"[0-9]+")
_POSITIONAL = re.compile(r"[〇一二三四五六七八九]+")


def parse_number(text: str) -> int:
    """Read `24`, `２４`, `二十四` or `二四` as 24; anything else is a TranslationError."""
    folded = text.translate(DIGIT_FOLD)
    if _ASCII_DIGITS.fullmatch(folded):
        return int(folded)
    if _POSITIONAL.fullmatch(text):
        return int("".join(str(_KANJI_DIGITS[c]) for c in text))
    tens_form = _TENS_FORM.fullmatch(text)
    if tens_form:
        tens = _KANJI_DIGITS[tens_form["tens"]] if tens_form["tens"] else 1
        units = _KANJI_DIGITS[tens_form["units"]] if tens_form["units"] else 0
        return tens * 10 + units
    raise TranslationError("not a number", text)

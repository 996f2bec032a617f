"""Kana and width: half-width katakana ↔ full-width, hiragana ↔ katakana, digits to ASCII.

These touch only the characters they name; every other code point (kanji, including
compatibility ideographs such as U+FA19 神) passes through unchanged. match_key is the one
place that normalises, and it works on a copy used only for comparing.
"""

from __future__ import annotations

import re
import unicodedata

from .errors import TranslationError
from .numerals import DIGIT_FOLD

_VOICED_HALF, _SEMI_VOICED_HALF = "\uff9e", "\uff9f"  # ﾞ ﾟ
_VOICED_FULL, _SEMI_VOICED_FULL = "\u309b", "\u309c"  # ゛ ゜ (spacing marks)
_COMBINING = {_VOICED_HALF: "\u3099", _SEMI_VOICED_HALF: "\u309a"}
_HALF_MARK_OF_FULL = {_VOICED_FULL: _VOICED_HALF, _SEMI_VOICED_FULL: _SEMI_VOICED_HALF}


def _build_width_tables() -> tuple[dict[str, str], dict[tuple[str, str], str], dict[str, str]]:
    """Half-width → full-width per character, per (letter, mark) pair, and the reverse."""
    single: dict[str, str] = {}
    for code in range(0xFF61, 0xFFA0):  # the half-width katakana block, ｡ to ﾟ
        char = chr(code)
        single[char] = unicodedata.normalize("NFKC", char)
    # A lone mark becomes the spacing mark, not the combining one NFKC would give.
    single[_VOICED_HALF], single[_SEMI_VOICED_HALF] = _VOICED_FULL, _SEMI_VOICED_FULL
    pairs: dict[tuple[str, str], str] = {}
    for half, full in single.items():
        for mark, combining in _COMBINING.items():
            composed = unicodedata.normalize("NFC", full + combining)
            if len(composed) == 1:  # ｶﾞ → ガ, ｳﾞ → ヴ, ﾜﾞ → ヷ, ﾊﾟ → パ
                pairs[(half, mark)] = composed
    reverse = {full: half for half, full in single.items() if half not in _COMBINING}
    reverse.update({full: half + mark for (half, mark), full in pairs.items()})
    return single, pairs, reverse


_HALF_TO_FULL, _HALF_PAIR_TO_FULL, _FULL_TO_HALF = _build_width_tables()
_HALF_TO_FULL_TABLE = str.maketrans(_HALF_TO_FULL)
# Letter + mark pairs that compose, longest first is moot: every alternative is two characters.
_HALF_PAIRS = re.compile("|".join(re.escape(a + b) for a, b in _HALF_PAIR_TO_FULL))

_HIRAGANA = "".join(chr(c) for c in range(0x3041, 0x3097)) + "ゝゞ"  # ぁ … ゖ, including ゔ ゕ ゖ
_KATAKANA = "".join(chr(c) for c in range(0x30A1, 0x30F7)) + "ヽヾ"  # ァ … ヶ, including ヴ ヵ ヶ
_TO_KATAKANA = str.maketrans(_HIRAGANA, _KATAKANA)
_TO_HIRAGANA = str.maketrans(_KATAKANA, _HIRAGANA)
_KATAKANA_WITHOUT_HIRAGANA = frozenset("ヷヸヹヺ")


def halfwidth_kana_to_fullwidth(text: str) -> str:
    """`ﾔﾏﾀﾞ ﾊﾅｺ` → `ヤマダ ハナコ`: marks are combined where a single letter exists.

    Only the half-width katakana block (U+FF61-U+FF9F) changes; the ASCII space stays.
    A mark with nothing to combine with becomes the spacing mark ゛ or ゜.
    """
    # Left to right, a composable pair first, then each remaining character by the table (the
    # composed letters are full width, so the table leaves them alone).
    if _VOICED_HALF in text or _SEMI_VOICED_HALF in text:
        text = _HALF_PAIRS.sub(lambda m: _HALF_PAIR_TO_FULL[(m[0][0], m[0][1])], text)
    return text.translate(_HALF_TO_FULL_TABLE)


def fullwidth_kana_to_halfwidth(text: str) -> str:
    """`ヤマダ ハナコ` → `ﾔﾏﾀﾞ ﾊﾅｺ`: the exact reverse of halfwidth_kana_to_fullwidth.

    A katakana letter with no half-width form (ヶ ヵ ヮ ヰ ヱ ヸ ヹ …) is refused. A spacing ゛/゜
    stays full-width after a letter it would combine with, so the result reads back the same.
    """
    out: list[str] = []
    for char in text:
        half = _FULL_TO_HALF.get(char)
        if half is not None:
            out.append(half)
        elif char in _HALF_MARK_OF_FULL:
            mark = _HALF_MARK_OF_FULL[char]
            combines = bool(out) and (out[-1][-1], mark) in _HALF_PAIR_TO_FULL
            out.append(char if combines else mark)
        elif "\u30a0" <= char <= "\u30ff" or "\u31f0" <= char <= "\u31ff":
            raise TranslationError(f"katakana {char!r} has no half-width form", text)
        else:
            out.append(char)
    return "".join(out)


def hiragana_to_katakana(text: str) -> str:
    """`やまだ　はなこ` → `ヤマダ　ハナコ`; small kana and ゔ map too, ー and the rest stay."""
    return text.translate(_TO_KATAKANA)


def katakana_to_hiragana(text: str) -> str:
    """`ヤマダ　ハナコ` → `やまだ　はなこ`; refuses ヷヸヹヺ (no hiragana letter) and half-width kana."""
    for char in text:
        if char in _KATAKANA_WITHOUT_HIRAGANA:
            raise TranslationError(f"katakana {char!r} has no hiragana letter", text)
        if "\uff66" <= char <= "\uff9d":
            raise TranslationError("half-width katakana: convert the width first", text)
    return text.translate(_TO_HIRAGANA)


def digits_to_ascii(text: str) -> str:
    """`０１２３` → `0123` for numeric fields: only ASCII or full-width digits are accepted."""
    folded = text.translate(DIGIT_FOLD)
    if not folded or not all("0" <= c <= "9" for c in folded):
        raise TranslationError("not a string of digits", text)
    return folded


def match_key(text: str) -> str:
    """An NFKC copy of `text` for matching only; never store it in place of the original."""
    return unicodedata.normalize("NFKC", text)

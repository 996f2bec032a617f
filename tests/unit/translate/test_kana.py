"""Kana and width: half ↔ full width, hiragana ↔ katakana, digits, and never touching kanji."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mesh.translate.errors import TranslationError
from mesh.translate.kana import (
    digits_to_ascii,
    fullwidth_kana_to_halfwidth,
    halfwidth_kana_to_fullwidth,
    hiragana_to_katakana,
    katakana_to_hiragana,
    match_key,
)
from mesh.translate.names import join_name, split_name

from .strategies import DIGIT_STRINGS, HALFWIDTH_KANA, KANA_TEXT

FAST = settings(max_examples=200, deadline=None)

WIDTH = [
    ("ﾔﾏﾀﾞ ﾊﾅｺ", "ヤマダ ハナコ"),
    ("ｳﾞｧｲｵﾘﾝ", "ヴァイオリン"),
    ("ｶﾞｷﾞｸﾞｹﾞｺﾞ", "ガギグゲゴ"),
    ("ﾊﾟﾋﾟﾌﾟﾍﾟﾎﾟ", "パピプペポ"),
    ("ﾜﾞｦﾞ", "ヷヺ"),
    ("ｯｧｨｩｪｫｬｭｮ", "ッァィゥェォャュョ"),
    ("ﾗｰﾒﾝ･ｾｯﾄ", "ラーメン・セット"),
    ("｢ｱ｣､｡", "「ア」、。"),
    ("ｱﾞ", "ア゛"),
    ("ﾊﾞﾟ", "バ゜"),
    ("ﾞ", "゛"),
    ("ABC 123", "ABC 123"),
    ("山田 ﾊﾅｺ", "山田 ハナコ"),
]


@pytest.mark.parametrize(("half", "full"), WIDTH)
def test_halfwidth_kana_to_fullwidth_combines_marks(half: str, full: str) -> None:
    """Half-width katakana become full-width, ﾞ/ﾟ merge into one letter where one exists."""
    assert halfwidth_kana_to_fullwidth(half) == full


@pytest.mark.parametrize(("half", "full"), WIDTH)
def test_fullwidth_kana_to_halfwidth_reverses_the_vectors(half: str, full: str) -> None:
    """The reverse gives back each half-width vector exactly."""
    assert fullwidth_kana_to_halfwidth(full) == half


def test_spacing_mark_after_a_combining_letter_stays_fullwidth() -> None:
    """カ゛ → ｶ゛, not ｶﾞ, which would read back as ガ."""
    assert fullwidth_kana_to_halfwidth("カ゛") == "ｶ゛"
    assert halfwidth_kana_to_fullwidth("ｶ゛") == "カ゛"


@pytest.mark.parametrize("text", ["ヶ", "ヵ", "ヮ", "ヰ", "ヱ", "ヸ", "ヹ", "ヽ", "ㇰ"])
def test_fullwidth_kana_to_halfwidth_refuses_letters_without_halfwidth_form(text: str) -> None:
    """A katakana letter with no half-width form is refused, not left or dropped."""
    with pytest.raises(TranslationError):
        fullwidth_kana_to_halfwidth(text)


KANA = [
    ("やまだ　はなこ", "ヤマダ　ハナコ"),
    ("ゔぁいおりん", "ヴァイオリン"),
    ("らーめん", "ラーメン"),
    ("ぁぃぅぇぉっゃゅょゎゕゖ", "ァィゥェォッャュョヮヵヶ"),
    ("ゝゞ", "ヽヾ"),
    ("山田 abc", "山田 abc"),
]


@pytest.mark.parametrize(("hiragana", "katakana"), KANA)
def test_hiragana_and_katakana_convert_both_ways(hiragana: str, katakana: str) -> None:
    """Hiragana ↔ katakana letter for letter; ゔ/ヴ and small kana map, ー stays."""
    assert hiragana_to_katakana(hiragana) == katakana
    assert katakana_to_hiragana(katakana) == hiragana


@pytest.mark.parametrize("text", ["ヷ", "ヸ", "ヹ", "ヺ", "ﾔﾏﾀﾞ"])
def test_katakana_to_hiragana_refuses_what_has_no_hiragana(text: str) -> None:
    """ヷヸヹヺ have no hiragana letter; half-width kana must be widened first."""
    with pytest.raises(TranslationError):
        katakana_to_hiragana(text)


@pytest.mark.parametrize(("text", "ascii"), [("０１２３", "0123"), ("123", "123"), ("1２3", "123")])
def test_digits_to_ascii_folds_fullwidth_digits(text: str, ascii: str) -> None:
    """Full-width digits become ASCII; ASCII digits stay."""
    assert digits_to_ascii(text) == ascii


@pytest.mark.parametrize("text", ["", "12a", "１２．５", "-1", "一二", " 12", "١٢"])
def test_digits_to_ascii_refuses_non_digits(text: str) -> None:
    """Anything but ASCII or full-width digits is refused (numeric fields only)."""
    with pytest.raises(TranslationError):
        digits_to_ascii(text)


KANJI_SAFE: list[Callable[[str], str]] = [
    halfwidth_kana_to_fullwidth,
    fullwidth_kana_to_halfwidth,
    hiragana_to_katakana,
    katakana_to_hiragana,
]


@pytest.mark.parametrize("function", KANJI_SAFE, ids=lambda f: f.__name__)
def test_kana_functions_leave_compatibility_ideographs_untouched(
    function: Callable[[str], str],
) -> None:
    """U+FA19 (神, a compatibility ideograph) passes through; NFC would change it to U+795E."""
    assert function("\ufa19田\u3000はなこ").startswith("\ufa19田\u3000")
    assert function("\ufa19") == "\ufa19"


def test_name_functions_leave_compatibility_ideographs_untouched() -> None:
    """split_name and join_name keep U+FA19 as it was registered."""
    assert split_name("\ufa19田\u3000太郎").value == ("\ufa19田", "太郎")
    assert join_name("\ufa19田", "太郎") == "\ufa19田\u3000太郎"


def test_match_key_normalises_a_copy_only() -> None:
    """match_key folds U+FA19 → U+795E and width, and the original value is unchanged."""
    original = "\ufa19田\u3000ﾊﾅｺ１"
    assert match_key(original) == "\u795e田 ハナコ1"
    assert original == "\ufa19田\u3000ﾊﾅｺ１"


@FAST
@given(st.text(alphabet=HALFWIDTH_KANA + " A1", max_size=12))
def test_halfwidth_text_round_trips_exactly(text: str) -> None:
    """fullwidth_kana_to_halfwidth(halfwidth_kana_to_fullwidth(x)) == x for half-width text."""
    assert fullwidth_kana_to_halfwidth(halfwidth_kana_to_fullwidth(text)) == text


@FAST
@given(KANA_TEXT)
def test_width_functions_fold_consistently(text: str) -> None:
    """For any kana text, f(inverse(f(x))) == f(x) in both width directions."""
    full = halfwidth_kana_to_fullwidth(text)
    try:
        assert halfwidth_kana_to_fullwidth(fullwidth_kana_to_halfwidth(full)) == full
    except TranslationError:
        pass  # full contains a letter with no half-width form
    try:
        half = fullwidth_kana_to_halfwidth(text)
    except TranslationError:
        return
    assert fullwidth_kana_to_halfwidth(halfwidth_kana_to_fullwidth(half)) == half


@FAST
@given(KANA_TEXT)
def test_hiragana_katakana_fold_consistently(text: str) -> None:
    """For any kana text, f(inverse(f(x))) == f(x) in both directions."""
    katakana = hiragana_to_katakana(text)
    try:
        assert hiragana_to_katakana(katakana_to_hiragana(katakana)) == katakana
    except TranslationError:
        pass  # ヷヸヹヺ or half-width kana
    try:
        hiragana = katakana_to_hiragana(text)
    except TranslationError:
        return
    assert katakana_to_hiragana(hiragana_to_katakana(hiragana)) == hiragana


@FAST
@given(DIGIT_STRINGS)
def test_digits_to_ascii_keeps_the_number(text: str) -> None:
    """The digits keep their order and value; only the width changes."""
    result = digits_to_ascii(text)
    assert result.isascii() and len(result) == len(text)
    assert result == "".join(str(int(c)) for c in text)

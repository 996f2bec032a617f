"""Hypothesis strategies for translation values: dates in many wareki spellings, kana, codes."""

from __future__ import annotations

from datetime import date

from hypothesis import strategies as st

from mesh.translate import lgcode, wareki

GREGORIAN_DATES = st.dates(min_value=date(1873, 1, 1), max_value=date(2100, 12, 31))
ISO_DATES = GREGORIAN_DATES.map(date.isoformat)

_KANJI_DIGITS = "〇一二三四五六七八九"
_FULLWIDTH = str.maketrans("0123456789", "０１２３４５６７８９")
_DASHES = ["-", "－", "ー", "‐", "−", "–", "—", ""]

HALFWIDTH_KANA = "".join(chr(c) for c in range(0xFF61, 0xFFA0))
HIRAGANA = "".join(chr(c) for c in range(0x3041, 0x3097)) + "ゝゞ"
KATAKANA = "".join(chr(c) for c in range(0x30A1, 0x30FF))
# Kana from every block plus the marks, spaces, ASCII and a compatibility ideograph.
KANA_TEXT = st.text(
    alphabet=HALFWIDTH_KANA + HIRAGANA + KATAKANA + "゛゜\u3099\u309a 　Aa1\ufa19神山",
    max_size=12,
)


def kanji_number(n: int) -> str:
    """24 → 二十四, 10 → 十, 7 → 七 (the tens form)."""
    if n < 10:
        return _KANJI_DIGITS[n]
    tens, units = divmod(n, 10)
    return (_KANJI_DIGITS[tens] if tens > 1 else "") + "十" + (_KANJI_DIGITS[units] if units else "")


@st.composite
def wareki_spellings(draw: st.DrawFn, day: date | None = None) -> tuple[str, str]:
    """(a wareki spelling, its ISO date) in a randomly chosen accepted style."""
    day = day or draw(GREGORIAN_DATES)
    era = wareki.era_of(day, day.isoformat())
    year = day.year - era.start.year + 1
    era_token = draw(st.sampled_from([era.name, era.letter, era.letter.lower(), era.ligature]))
    style = draw(st.sampled_from(["ascii", "padded", "fullwidth", "kanji"]))

    def number(n: int) -> str:
        if style == "kanji":
            return kanji_number(n)
        text = f"{n:02d}" if style == "padded" else str(n)
        return text.translate(_FULLWIDTH) if style == "fullwidth" else text

    year_text = "元" if year == 1 and draw(st.booleans()) else number(year)
    sep = draw(st.sampled_from(["年月日", ".", "/", "-", "．"]))
    if sep == "年月日":
        text = f"{era_token}{year_text}年{number(day.month)}月{number(day.day)}日"
    else:
        text = f"{era_token}{year_text}{sep}{number(day.month)}{sep}{number(day.day)}"
    return text, day.isoformat()


ERA_CODES = GREGORIAN_DATES.map(lambda d: wareki.iso_to_era_code(d.isoformat()))
YEARLESS = GREGORIAN_DATES.map(lambda d: f"{d.month}/{d.day}")
POSTAL_DIGITS = st.text(alphabet="0123456789", min_size=7, max_size=7)


@st.composite
def postal_spellings(draw: st.DrawFn) -> tuple[str, str]:
    """(a postal code spelling, its 7 digits)."""
    digits = draw(POSTAL_DIGITS)
    body = digits[:3] + draw(st.sampled_from(_DASHES)) + digits[3:]
    if draw(st.booleans()):
        body = body.translate(_FULLWIDTH)
    prefix = draw(st.sampled_from(["", "〒", "〒 ", "〒\u3000"]))
    return prefix + body, digits


LG_CODES_5 = st.builds(
    lambda pref, rest: f"{pref:02d}{rest:03d}",
    st.integers(min_value=1, max_value=47),
    st.integers(min_value=0, max_value=999),
)
LG_CODES_6 = LG_CODES_5.map(lgcode.add_check_digit)

_NAME_CHARS = st.characters(blacklist_categories=("Zs", "Zl", "Zp", "Cc", "Cs"))
NAME_PARTS = st.text(alphabet=_NAME_CHARS, min_size=1, max_size=6).filter(lambda s: not any(c.isspace() for c in s))
NAMES = st.builds(
    lambda f, sep, g: f + sep + g, NAME_PARTS, st.sampled_from(["\u3000", " "]), NAME_PARTS
)
DIGIT_STRINGS = st.text(alphabet="0123456789０１２３４５６７８９", min_size=1, max_size=10)
SEX_LABELS = st.sampled_from(["男", "女", "不明", "適用不能"])
SEX_CODES = st.sampled_from(["0", "1", "2", "9"])

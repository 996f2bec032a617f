"""TTL strings such as 24h, 30m, 90s."""

from __future__ import annotations

from datetime import timedelta

import pytest

from certs.duration import format_duration, parse_duration


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("24h", timedelta(hours=24)),
        ("30m", timedelta(minutes=30)),
        ("90s", timedelta(seconds=90)),
        ("7d", timedelta(days=7)),
        ("1h30m", timedelta(hours=1, minutes=30)),
        ("1d2h3m4s", timedelta(days=1, hours=2, minutes=3, seconds=4)),
    ],
)
def test_durations_parse(text: str, expected: timedelta) -> None:
    """Each `<int><unit>` part adds up."""
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "24", "h", "1.5h", "-1h", "0s", "0h0m", "1h 30m", "24H", "1w", "1h30", "\u0661h", "9999999999d"])
def test_bad_durations_are_refused(text: str) -> None:
    """Missing units, fractions, signs, zero, spaces, upper case and overflow are refused."""
    with pytest.raises(ValueError, match="invalid duration"):
        parse_duration(text)


@pytest.mark.parametrize("text", ["24h", "30m", "90s", "1d2h3m4s"])
def test_format_is_the_inverse_of_parse(text: str) -> None:
    """format_duration(parse_duration(x)) gives back a string that parses to the same value."""
    value = parse_duration(text)
    assert parse_duration(format_duration(value)) == value

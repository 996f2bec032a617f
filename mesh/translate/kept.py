"""Kept: what a lossy step dropped, kept so that the reverse can restore it (per value, per exchange)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Kept(Generic[T]):
    """`value` goes on; `kept` stays with the exchange and is handed to the restore function."""

    value: T
    kept: str


# What one exchange keeps between its translations: a lossy rule going one way writes an
# entry under (its direction and rule path, the element location), and the same rule coming
# back reads it. The sidecar holds one per call and passes it to every translation of the
# call; it never leaves the process and is never logged.
ExchangeKept = dict[tuple[str, str], Any]

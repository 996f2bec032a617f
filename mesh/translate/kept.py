"""Kept: a lossy function's result together with what it dropped, so the reverse can restore it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Kept(Generic[T]):
    """`value` goes on; `kept` stays with the exchange and is handed to the restore function."""

    value: T
    kept: str

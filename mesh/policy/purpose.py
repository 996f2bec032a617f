"""The stated purpose of use: the one `x-mesh-purpose` value a call carries, read strictly.

An app states its purpose in `x-mesh-purpose`, the one `x-mesh-` key it may send. Keys are
compared case-insensitively, so "X-Mesh-Purpose" and "x-mesh-purpose" are the same key: two
values under any spellings make the purpose invalid, never the first or the last one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable

PURPOSE_KEY = "x-mesh-purpose"
# The shape of a Purpose's metadata.name (lower-case letters, digits and '-', 1-63 long,
# starting and ending with a letter or digit). ASCII only: \Z and an explicit class, no \w.
PURPOSE_NAME = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\Z")


@dataclass(frozen=True, slots=True)
class InvalidPurpose:
    """x-mesh-purpose was present but unusable; every rule refuses it. `reason` is for people
    and never echoes the value."""

    reason: str


def purpose_from_metadata(
    metadata: Iterable[tuple[str, str | bytes]] | None,
) -> str | None | InvalidPurpose:
    """The stated purpose: None when absent, the name when exactly one well-formed value is
    present, InvalidPurpose otherwise (several values, bytes, non-ASCII, wrong shape)."""
    found = [value for key, value in metadata or () if isinstance(key, str) and key.lower() == PURPOSE_KEY]
    if not found:
        return None
    if len(found) > 1:
        return InvalidPurpose(f"{PURPOSE_KEY} must have exactly one value, got {len(found)}")
    value = found[0]
    if not isinstance(value, str):
        return InvalidPurpose(f"{PURPOSE_KEY} must be text")
    if not value.isascii() or not PURPOSE_NAME.match(value):
        return InvalidPurpose(f"{PURPOSE_KEY} is not a purpose name (lower-case letters, "
                              "digits and '-', at most 63 characters)")
    return value

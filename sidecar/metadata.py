"""Reserved metadata: what an app may not send, and what the sidecars set for each other.

Every `x-mesh-*` key is reserved for the mesh. Apps' copies are dropped, whatever their case,
by the consumer sidecar on the way out and again by the provider sidecar on the way in.
"""

from __future__ import annotations

import re
import secrets
from typing import Iterable, Sequence

RESERVED_PREFIX = "x-mesh-"
CALLER = "x-mesh-caller"
EXCHANGE_ID = "x-mesh-exchange-id"
PURPOSE = "x-mesh-purpose"

# Keys gRPC itself manages per hop; copying them onto a new call would be wrong or refused.
_HOP_KEYS = frozenset({"user-agent", "te", "content-type", "grpc-timeout", "grpc-encoding",
                       "grpc-accept-encoding", "host", "connection"})
_EXCHANGE_ID_SHAPE = re.compile(r"[0-9a-f]{32}\Z")

Metadata = Sequence[tuple[str, str | bytes]]


def new_exchange_id() -> str:
    """A fresh exchange id: 128 random bits as 32 lower-case hex digits."""
    return secrets.token_hex(16)


def is_exchange_id(value: object) -> bool:
    """True when value has the exact shape of an exchange id (never trusted blindly in logs)."""
    return isinstance(value, str) and _EXCHANGE_ID_SHAPE.match(value) is not None


def strip_reserved(metadata: Iterable[tuple[str, str | bytes]] | None) -> list[tuple[str, str | bytes]]:
    """Copy the caller's metadata without any x-mesh-* key and without per-hop keys."""
    if not metadata:
        return []
    kept = []
    for key, value in metadata:
        low = key.lower()
        if low.startswith(RESERVED_PREFIX) or low in _HOP_KEYS or low.startswith(":"):
            continue
        kept.append((key, value))
    return kept


def take_exchange_id(metadata: Iterable[tuple[str, str | bytes]] | None) -> str | None:
    """The exchange id a peer sidecar sent, if exactly one well-formed value is present."""
    found = [v for k, v in metadata or () if k.lower() == EXCHANGE_ID]
    if len(found) == 1 and is_exchange_id(found[0]):
        return found[0]  # type: ignore[return-value]
    return None

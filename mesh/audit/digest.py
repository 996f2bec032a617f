"""Payload digests: what an audit record keeps of a message instead of the message.

A unary message is SHA-256 of its bytes. A streaming direction is a message count plus one
SHA-256 over the messages in order, each prefixed by its length as 4-byte big-endian.
"""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass

_MAX_MESSAGE = 0xFFFFFFFF  # the 4-byte length prefix (gRPC's own frame limit is the same)


@dataclass(frozen=True, slots=True)
class PayloadDigest:
    """A digest of one direction of an exchange: `messages` is None for a unary message,
    else the number of messages of a stream. `sha256` is lowercase hex."""

    sha256: str
    messages: int | None = None

    def __post_init__(self) -> None:
        if len(self.sha256) != 64 or self.sha256.strip("0123456789abcdef"):
            raise ValueError("sha256 must be 64 lowercase hex digits")
        if self.messages is not None and (type(self.messages) is not int or not 0 <= self.messages < 1 << 64):
            raise ValueError("a stream's message count must be an int that fits uint64")


def message_digest(message: bytes) -> PayloadDigest:
    """The digest of a unary method's single (serialized) message."""
    return PayloadDigest(sha256=hashlib.sha256(message).hexdigest())


class StreamDigester:
    """Accumulates the digest of one streaming direction, message by message; one per
    direction per exchange, used from one task."""

    __slots__ = ("_hash", "_messages")

    def __init__(self) -> None:
        self._hash = hashlib.sha256()
        self._messages = 0

    def add(self, message: bytes) -> None:
        """Fold in the next message of the stream."""
        if len(message) > _MAX_MESSAGE:
            raise ValueError("a message longer than 2^32-1 bytes cannot be framed")
        self._hash.update(struct.pack(">I", len(message)))
        self._hash.update(message)
        self._messages += 1

    def digest(self) -> PayloadDigest:
        """The digest of the messages added so far."""
        return PayloadDigest(sha256=self._hash.hexdigest(), messages=self._messages)

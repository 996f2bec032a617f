"""Payload digests: unary is plain SHA-256; a stream is a count plus SHA-256 over
length-prefixed messages."""

from __future__ import annotations

import hashlib
import struct

import pytest

from mesh.audit import PayloadDigest, StreamDigester, message_digest


def test_unary_digest_is_sha256_of_the_message() -> None:
    """A unary digest is what sha256sum prints for the message bytes, with no count."""
    digest = message_digest(b"\x0a\x03abc")
    assert digest == PayloadDigest(sha256=hashlib.sha256(b"\x0a\x03abc").hexdigest(), messages=None)


def test_stream_digest_frames_each_message_with_its_length() -> None:
    """SHA-256 over (4-byte big-endian length || message) for each message, in order."""
    messages = [b"first", b"", b"\x00" * 300]
    digester = StreamDigester()
    for message in messages:
        digester.add(message)
    framed = b"".join(struct.pack(">I", len(m)) + m for m in messages)
    assert digester.digest() == PayloadDigest(sha256=hashlib.sha256(framed).hexdigest(), messages=3)


def test_stream_framing_tells_apart_different_splits_of_the_same_bytes() -> None:
    """["ab", "c"] and ["a", "bc"] have different digests (the framing is what keeps them apart)."""
    one, two = StreamDigester(), StreamDigester()
    for message in (b"ab", b"c"):
        one.add(message)
    for message in (b"a", b"bc"):
        two.add(message)
    assert one.digest() != two.digest()


def test_empty_stream_digest_is_sha256_of_nothing_with_zero_messages() -> None:
    """A stream closed without a message: count 0, SHA-256 of the empty string."""
    assert StreamDigester().digest() == PayloadDigest(sha256=hashlib.sha256(b"").hexdigest(), messages=0)


@pytest.mark.parametrize(
    ("sha256", "messages"),
    [("ab" * 31, None), ("AB" * 32, None), ("zz" * 32, None), ("ab" * 32, -1), ("ab" * 32, 1 << 64),
     ("ab" * 32, 2.0)],
    ids=["short", "upper-case", "not hex", "negative count", "count past uint64", "count not an int"],
)
def test_payload_digest_refuses_malformed_values(sha256: str, messages: object) -> None:
    """A digest is 64 lowercase hex digits and a stream count an int that fits uint64."""
    with pytest.raises(ValueError):
        PayloadDigest(sha256=sha256, messages=messages)  # type: ignore[arg-type]

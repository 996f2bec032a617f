"""The canonical encoding: the JSON line is proto3 JSON (keys sorted, no spaces), decoding is
strict, and each hash covers exactly domain tag + deterministic protobuf bytes."""

from __future__ import annotations

import hashlib
import json

import pytest
from google.protobuf import json_format
from hypothesis import given
from hypothesis import strategies as st

from mesh.audit.encoding import (
    CHECKPOINT_DOMAIN,
    checkpoint_signing_input,
    decode_line,
    encode_entry,
    encode_record,
    header_hash,
    record_hash,
)
from mesh.audit.errors import MalformedEntry
from mesh.v1 import audit_pb2

_text = st.text(st.characters(codec="utf-8"), max_size=20)  # protobuf strings: no surrogates
_hex = st.text("0123456789abcdef", min_size=64, max_size=64)


@st.composite
def _payloads(draw: st.DrawFn) -> audit_pb2.AuditPayload:
    payload = audit_pb2.AuditPayload()
    kind = draw(st.sampled_from(["sha256", "stream", "empty stream"]))
    if kind == "sha256":
        payload.sha256 = draw(_hex)
    else:
        payload.stream.SetInParent()
        if kind == "stream":
            payload.stream.messages = draw(st.integers(0, 2**64 - 1))
            payload.stream.sha256 = draw(_hex | st.just(""))
    return payload


@st.composite
def _records(draw: st.DrawFn) -> audit_pb2.AuditRecord:
    message = audit_pb2.AuditRecord(
        seq=draw(st.integers(0, 2**64 - 1)),
        prev_hash=draw(_hex | st.just("")),
        hash=draw(_hex | st.just("")),
        exchange_id=draw(_text),
        side=draw(st.sampled_from(audit_pb2.AuditSide.keys())),
        caller=draw(_text),
        callee=draw(_text),
        method=draw(_text),
        purpose=draw(_text),
        decision=draw(st.sampled_from(audit_pb2.AuditDecision.keys())),
        rule=draw(_text),
        status=draw(_text),
        mappings=draw(st.lists(_text, max_size=3)),
        config_version=draw(st.integers(0, 2**64 - 1)),
        config_revision=draw(st.integers(-(2**63), 2**63 - 1)),
    )
    if draw(st.booleans()):
        message.time.FromNanoseconds(draw(st.integers(-62135596800 * 10**9, 253402300799 * 10**9)))
    if draw(st.booleans()):
        message.duration.FromNanoseconds(draw(st.integers(0, 10**15)))
    for name in ("request", "response"):
        if draw(st.booleans()):
            getattr(message, name).CopyFrom(draw(_payloads()))
    return message


def _canonical(entry: audit_pb2.AuditEntry) -> bytes:
    value = json_format.MessageToDict(entry, preserving_proto_field_name=True)
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode() + b"\n"


@given(_records())
def test_record_line_is_the_canonical_proto3_json(message: audit_pb2.AuditRecord) -> None:
    """The fast record encoder writes exactly json_format's proto3 JSON, sorted and compact."""
    assert encode_record(message) == _canonical(audit_pb2.AuditEntry(record=message))


@given(_records())
def test_record_line_decodes_to_the_same_record(message: audit_pb2.AuditRecord) -> None:
    """decode_line(encode_record(r)) == r."""
    assert decode_line(encode_record(message)).record == message


@pytest.mark.parametrize(
    "line",
    [
        b'{"record": {"seq": 5, "status": "OK"}}\n',
        b'{"record":{"seq":"5","status":"OK","time":"2025-04-01T18:00:00+09:00"}}\n',
        b'{"record":{"seq":"5","status":"OK","side":1}}\n',
    ],
    ids=["spaces and a number", "time with an offset", "enum by number"],
)
def test_non_canonical_but_valid_line_decodes_like_protobuf_does(line: bytes) -> None:
    """A line not in canonical form is read by protobuf's own strict JSON parser, not refused."""
    expected = audit_pb2.AuditEntry()
    json_format.Parse(line, expected)
    assert decode_line(line) == expected


@pytest.mark.parametrize(
    "line",
    [b"\xff\xfe\n", b"not json\n", b"[1, 2]\n", b"{}\n", b'{"record":{"seq":"1","colour":"red"}}\n',
     b'{"record":{"seq":"one"}}\n', b'{"header":{},"record":{}}\n'],
    ids=["not utf-8", "not json", "not an object", "empty entry", "unknown field", "wrong type",
         "two entries"],
)
def test_malformed_line_is_refused(line: bytes) -> None:
    """Anything but one well-formed AuditEntry is MalformedEntry."""
    with pytest.raises(MalformedEntry):
        decode_line(line)


def test_record_hash_is_domain_tag_plus_deterministic_bytes_without_the_hash() -> None:
    """hash = SHA-256("tsunagi/audit-record/v1\\0" || record serialized with hash empty)."""
    message = audit_pb2.AuditRecord(seq=1, prev_hash="00" * 32, hash="ff" * 32, exchange_id="x", status="OK")
    bare = audit_pb2.AuditRecord()
    bare.CopyFrom(message)
    bare.ClearField("hash")
    expected = hashlib.sha256(b"tsunagi/audit-record/v1\x00" + bare.SerializeToString(deterministic=True))
    assert record_hash(message) == expected.hexdigest()
    assert message.hash == "ff" * 32  # restored after hashing


def test_record_hash_changes_with_any_field() -> None:
    """Changing one field (here the purpose) changes the hash."""
    one = audit_pb2.AuditRecord(seq=1, purpose="eldercare")
    two = audit_pb2.AuditRecord(seq=1, purpose="eldercarf")
    assert record_hash(one) != record_hash(two)


def test_header_hash_is_domain_tag_plus_deterministic_bytes() -> None:
    """The header hash (the chain's anchor) covers the whole header under its own tag."""
    header = audit_pb2.AuditHeader(log_id="3c9f", writer="spiffe://tsunagi.test/org/1/sys/a")
    expected = hashlib.sha256(b"tsunagi/audit-header/v1\x00" + header.SerializeToString(deterministic=True))
    assert header_hash(header) == expected.hexdigest()


def test_checkpoint_signing_input_leaves_out_only_the_signature() -> None:
    """What a checkpoint signature covers: its tag, then every field but the signature."""
    checkpoint = audit_pb2.AuditCheckpoint(log_id="l", seq=4, hash="ab" * 32, signature=b"sig")
    unsigned = audit_pb2.AuditCheckpoint(log_id="l", seq=4, hash="ab" * 32)
    assert checkpoint_signing_input(checkpoint) == CHECKPOINT_DOMAIN + unsigned.SerializeToString(deterministic=True)
    assert checkpoint.signature == b"sig"


def test_header_and_checkpoint_lines_are_canonical() -> None:
    """Non-record entries use json_format's output in the same canonical form."""
    header = audit_pb2.AuditEntry(header=audit_pb2.AuditHeader(log_id="l", writer="w"))
    checkpoint = audit_pb2.AuditEntry(checkpoint=audit_pb2.AuditCheckpoint(log_id="l", seq=1, signature=b"\x01"))
    for entry in (header, checkpoint):
        assert encode_entry(entry) == _canonical(entry)
        assert decode_line(encode_entry(entry)) == entry

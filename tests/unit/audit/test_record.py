"""Record: validated at construction (never in the writer), mapped field for field to
AuditRecord."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta, timezone

import pytest

from mesh.audit import Record, StreamDigester
from mesh.audit.record import to_proto
from mesh.v1 import audit_pb2
from tests.unit.audit.logs import record


@pytest.mark.parametrize(
    "change",
    [
        {"side": "sideways"},
        {"decision": "maybe"},
        {"status": "FINE"},
        {"time": datetime(2025, 4, 1, 9, 0)},
        {"time": datetime(9999, 12, 31, 23, 0, tzinfo=timezone(timedelta(hours=-5)))},
        {"duration": timedelta(seconds=-1)},
        {"duration": timedelta(days=3_652_501)},
        {"config_version": -1},
        {"config_version": 7.0},
        {"config_revision": 1 << 63},
        {"config_revision": True},
        {"purpose": "bad \udc80 surrogate"},
        {"mappings": ["kaigo-resident@3"]},
        {"mappings": ("kaigo-resident@3", "bad \udc80 surrogate")},
    ],
    ids=["side", "decision", "status", "naive time", "time past year 9999 in UTC", "negative duration",
         "duration past 10,000 years", "negative version", "version not an int", "revision overflow",
         "revision a bool", "unencodable text",
         "mappings not a tuple", "unencodable mapping"],
)
def test_invalid_record_is_refused_at_construction(change: dict[str, object]) -> None:
    """Each invalid field raises ValueError when the Record is made, so the writer never sees it."""
    with pytest.raises(ValueError):
        dataclasses.replace(record(1), **change)  # type: ignore[arg-type]


def test_to_proto_carries_every_field() -> None:
    """Every Record field lands in its AuditRecord field, with seq and prev_hash given and hash empty."""
    stream = StreamDigester()
    stream.add(b"one")
    original = dataclasses.replace(record(3, side="inbound"), response=stream.digest())
    message = to_proto(original, 9, "ab" * 32)
    assert (message.seq, message.prev_hash, message.hash) == (9, "ab" * 32, "")
    assert message.side == audit_pb2.AUDIT_SIDE_INBOUND
    assert message.decision == audit_pb2.AUDIT_DECISION_ALLOW
    assert (message.caller, message.callee, message.method, message.purpose) == (
        original.caller, original.callee, original.method, original.purpose)
    assert (message.rule, message.status, list(message.mappings)) == (
        original.rule, "OK", ["kaigo-resident@3"])
    assert message.time.ToDatetime().replace(tzinfo=original.time.tzinfo) == original.time
    assert message.duration.ToTimedelta() == original.duration
    assert original.request is not None
    assert message.request.sha256 == original.request.sha256
    assert (message.response.stream.messages, message.response.stream.sha256) == (1, stream.digest().sha256)
    assert (message.config_version, message.config_revision) == (7, 123)


def test_absent_payload_leaves_the_digest_unset() -> None:
    """No response (a denied call) means the response digest is not set at all."""
    message = to_proto(record(5), 1, "")
    assert not message.HasField("response")


def test_record_is_immutable() -> None:
    """A Record is a frozen value: the data path cannot change it after handing it over."""
    with pytest.raises(dataclasses.FrozenInstanceError):
        record(1).purpose = "other"  # type: ignore[misc]


def test_record_accepts_every_grpc_status_name() -> None:
    """Any gRPC status code name is a valid status."""
    for status in ("OK", "UNAVAILABLE", "DEADLINE_EXCEEDED", "UNAUTHENTICATED"):
        assert isinstance(dataclasses.replace(record(1), status=status), Record)

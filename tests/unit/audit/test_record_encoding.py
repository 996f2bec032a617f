"""The writer's direct encoding of a Record gives the very bytes of the general protobuf route
(to_proto, record_hash, encode_record): the same hash and the same JSON line, for any record."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta, timezone

import grpc
from hypothesis import example, given
from hypothesis import strategies as st

from mesh.audit import PayloadDigest, Record
from mesh.audit.encoding import decode_line, encode_record, record_hash
from mesh.audit.record import to_proto
from mesh.audit.record_encoding import encode_linked
from tests.unit.audit.logs import record

_text = st.text(st.characters(codec="utf-8"), max_size=12)  # includes quotes, controls, non-ASCII
_hex = st.text("0123456789abcdef", min_size=64, max_size=64)
_offsets = st.sampled_from([timezone.utc, timezone(timedelta(hours=9)),
                            timezone(timedelta(hours=-3, minutes=-30)), timezone(timedelta(seconds=-1))])
_digests = st.one_of(
    st.none(),
    st.builds(PayloadDigest, sha256=_hex),
    st.builds(PayloadDigest, sha256=_hex, messages=st.one_of(st.just(0), st.integers(0, 2**64 - 1))),
)


@st.composite
def _records(draw: st.DrawFn) -> Record:
    return Record(
        exchange_id=draw(_text),
        time=draw(st.datetimes(min_value=datetime(2, 1, 1), max_value=datetime(9998, 12, 31),
                               timezones=_offsets)),
        side=draw(st.sampled_from(["outbound", "inbound"])),
        caller=draw(_text),
        callee=draw(_text),
        method=draw(_text),
        purpose=draw(_text),
        decision=draw(st.sampled_from(["allow", "deny"])),
        rule=draw(_text),
        status=draw(st.sampled_from([code.name for code in grpc.StatusCode])),
        mappings=tuple(draw(st.lists(_text, max_size=3))),
        request=draw(_digests),
        response=draw(_digests),
        config_version=draw(st.integers(0, 2**64 - 1)),
        config_revision=draw(st.integers(-(2**63), 2**63 - 1)),
        duration=draw(st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=3_652_000))),
    )


def _general(item: Record, seq: int, prev_hash: str) -> tuple[str, bytes]:
    message = to_proto(item, seq, prev_hash)
    message.hash = record_hash(message)
    return message.hash, encode_record(message)


@given(_records(), st.integers(0, 2**64 - 1), _hex | st.just("") | _text)
@example(record(1), 1, "ab" * 32)
@example(dataclasses.replace(record(2), time=datetime(1970, 1, 1, tzinfo=timezone.utc),
                             duration=timedelta(0), mappings=("",), request=None), 0, "")
def test_direct_encoding_is_the_general_route_byte_for_byte(item: Record, seq: int, prev_hash: str) -> None:
    """Same hash, same line, whatever the fields hold (defaults, negatives, escapes, offsets)."""
    assert encode_linked(item, seq, prev_hash) == _general(item, seq, prev_hash)


def test_records_of_one_route_differ_only_where_they_differ() -> None:
    """Records that share their route's fields (encoded once, then reused) still get their own
    time, id, digests and duration, in place."""
    first = record(1)
    second = dataclasses.replace(first, exchange_id="ex-other", time=first.time + timedelta(microseconds=1500),
                                 request=None, duration=timedelta(seconds=1))
    for item in (first, second, first):
        assert encode_linked(item, 9, "cd" * 32) == _general(item, 9, "cd" * 32)


def test_line_reads_back_as_the_record() -> None:
    """decode_line of the written line is the record, hash included."""
    digest, line = encode_linked(record(3), 5, "ef" * 32)
    expected = to_proto(record(3), 5, "ef" * 32)
    expected.hash = digest
    assert decode_line(line).record == expected

"""The writer's encoding of one Record at its place in the chain: its hash and its JSON line,
written straight from the Record's fields.

The bytes are exactly those of the general route in encoding.py (to_proto, then record_hash
and encode_record, all through protobuf; tests hold the two equal), for a fraction of the
CPU. AuditRecord has a fixed shape, so its canonical protobuf encoding (fields in number
order, defaults left out) and its canonical JSON (keys sorted, defaults left out) can be
written out field by field. The fields that repeat from one exchange to the next on a route
(side, caller, callee, method, purpose, decision, rule, status, mappings, config version and
revision) happen to sit together in both orders, so their encodings are made once and reused.
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from json.encoder import encode_basestring  # how json.dumps(..., ensure_ascii=False) quotes

from mesh.audit.digest import PayloadDigest
from mesh.audit.encoding import RECORD_DOMAIN
from mesh.audit.record import Record

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_INT64 = (1 << 64) - 1  # mask: a negative int64 is a 10-byte varint of its two's complement

# Tags (field number << 3 | wire type) of AuditRecord's fields, by field number.
_SEQ, _PREV_HASH, _EXCHANGE_ID, _TIME, _DURATION = b"\x08", b"\x12", b"\x22", b"\x2a", b"\x32"
_SIDE, _CALLER, _CALLEE, _METHOD, _PURPOSE = b"\x38", b"\x42", b"\x4a", b"\x52", b"\x5a"
_DECISION, _RULE, _STATUS, _MAPPINGS = b"\x60", b"\x6a", b"\x72", b"\x7a"
_REQUEST, _RESPONSE, _CONFIG_VERSION, _CONFIG_REVISION = b"\x82\x01", b"\x8a\x01", b"\x90\x01", b"\x98\x01"
# Timestamp and Duration: seconds = 1, nanos = 2. AuditPayload: sha256 = 1, stream = 2.
# AuditStreamDigest: messages = 1, sha256 = 2.
_SECONDS, _NANOS = b"\x08", b"\x10"
_PAYLOAD_SHA256, _PAYLOAD_STREAM, _STREAM_MESSAGES, _STREAM_SHA256 = b"\x0a", b"\x12", b"\x08", b"\x12"

_SIDES = {"outbound": (1, "AUDIT_SIDE_OUTBOUND"), "inbound": (2, "AUDIT_SIDE_INBOUND")}
_DECISIONS = {"allow": (1, "AUDIT_DECISION_ALLOW"), "deny": (2, "AUDIT_DECISION_DENY")}


def encode_linked(record: Record, seq: int, prev_hash: str) -> tuple[str, bytes]:
    """(hash, line) of `record` at `seq` after `prev_hash`: what record_hash and encode_record
    give for to_proto(record, seq, prev_hash) with its hash filled in."""
    route = _route(record.side, record.caller, record.callee, record.method, record.purpose,
                   record.decision, record.rule, record.status, record.mappings,
                   record.config_version, record.config_revision)
    time = record.time.astimezone(timezone.utc)  # `time` itself when it is in UTC already
    since = time - _EPOCH
    seconds, fraction = since.days * 86400 + since.seconds, since.microseconds
    span = record.duration
    span_seconds, span_fraction = span.days * 86400 + span.seconds, span.microseconds
    exchange_id = record.exchange_id
    request, request_json = _payload(_REQUEST, '"request":', record.request)
    response, response_json = _payload(_RESPONSE, '"response":', record.response)

    # The serialized record without its hash, fields in number order.
    serialized = b"".join((
        _SEQ + _varint(seq) if seq else b"",
        _string(_PREV_HASH, prev_hash),
        _string(_EXCHANGE_ID, exchange_id),
        _TIME, _message(_time_fields(seconds, fraction)),
        _DURATION, _message(_time_fields(span_seconds, span_fraction)),
        route.serialized_middle,  # side .. mappings
        request,
        response,
        route.serialized_end,  # config_version, config_revision
    ))
    digest = hashlib.sha256(RECORD_DOMAIN + serialized).hexdigest()

    # The JSON members in key order, each but the last ("time", always set) with its comma.
    line = "".join((
        '{"record":{',
        route.json_first,  # callee, caller, config_revision, config_version, decision
        '"duration":"%d' % span_seconds, _fraction(span_fraction), 's",',
        f'"exchange_id":{encode_basestring(exchange_id)},' if exchange_id else "",
        '"hash":"', digest, '",',
        route.json_mappings_method,
        f'"prev_hash":{encode_basestring(prev_hash)},' if prev_hash else "",
        route.json_purpose,
        request_json,
        response_json,
        route.json_rule,
        '"seq":"%d",' % seq if seq else "",
        route.json_side_status,
        '"time":"', _utc_second(seconds), _fraction(fraction), 'Z"}}\n',
    ))
    return digest, line.encode()


@dataclass(frozen=True, slots=True)
class _Route:
    """The encodings of the fields that repeat across a route's exchanges."""

    serialized_middle: bytes  # fields 7-15: side, caller, callee, method, purpose, decision, rule, status, mappings
    serialized_end: bytes  # fields 18-19: config_version, config_revision
    json_first: str
    json_mappings_method: str
    json_purpose: str
    json_rule: str
    json_side_status: str


@functools.lru_cache(maxsize=256)
def _route(side: str, caller: str, callee: str, method: str, purpose: str, decision: str,
           rule: str, status: str, mappings: tuple[str, ...], config_version: int,
           config_revision: int) -> _Route:
    side_number, side_name = _SIDES[side]
    decision_number, decision_name = _DECISIONS[decision]
    middle = b"".join((
        _SIDE, _varint(side_number),
        _string(_CALLER, caller),
        _string(_CALLEE, callee),
        _string(_METHOD, method),
        _string(_PURPOSE, purpose),
        _DECISION, _varint(decision_number),
        _string(_RULE, rule),
        _string(_STATUS, status),
        *(_MAPPINGS + _message(mapping.encode()) for mapping in mappings),  # every element, even ""
    ))
    end = b"".join((
        _CONFIG_VERSION + _varint(config_version) if config_version else b"",
        _CONFIG_REVISION + _varint(config_revision & _INT64) if config_revision else b"",
    ))
    return _Route(
        serialized_middle=middle,
        serialized_end=end,
        json_first="".join((
            _member("callee", callee),
            _member("caller", caller),
            '"config_revision":"%d",' % config_revision if config_revision else "",
            '"config_version":"%d",' % config_version if config_version else "",
            f'"decision":"{decision_name}",',
        )),
        json_mappings_method="".join((
            f'"mappings":[{",".join(map(encode_basestring, mappings))}],' if mappings else "",
            _member("method", method),
        )),
        json_purpose=_member("purpose", purpose),
        json_rule=_member("rule", rule),
        json_side_status=f'"side":"{side_name}",' + _member("status", status),
    )


def _member(key: str, text: str) -> str:
    """A string member with its comma, or nothing for "" (the proto3 default)."""
    return f'"{key}":{encode_basestring(text)},' if text else ""


def _payload(tag: bytes, key: str, digest: PayloadDigest | None) -> tuple[bytes, str]:
    """A payload digest field: serialized, and as a JSON member with its comma."""
    if digest is None:
        return b"", ""
    if digest.messages is None:  # the oneof's sha256: present even if it were ""
        value = _PAYLOAD_SHA256 + _message(digest.sha256.encode())
        return tag + _message(value), f'{key}{{"sha256":"{digest.sha256}"}},'
    stream = b"".join((
        _STREAM_MESSAGES + _varint(digest.messages) if digest.messages else b"",
        _string(_STREAM_SHA256, digest.sha256),
    ))
    members = ",".join(filter(None, ('"messages":"%d"' % digest.messages if digest.messages else "",
                                     f'"sha256":"{digest.sha256}"' if digest.sha256 else "")))
    return tag + _message(_PAYLOAD_STREAM + _message(stream)), f'{key}{{"stream":{{{members}}}}},'


def _time_fields(seconds: int, microseconds: int) -> bytes:
    """The fields of a Timestamp or Duration (seconds int64, nanos int32), defaults left out."""
    fields = _SECONDS + _varint(seconds & _INT64) if seconds else b""
    if microseconds:
        fields += _NANOS + _varint(microseconds * 1000)
    return fields


@functools.lru_cache(maxsize=4)
def _utc_second(seconds: int) -> str:
    """"YYYY-MM-DDTHH:MM:SS" of a second since the epoch, in UTC (records of one batch mostly
    share it)."""
    return (_EPOCH + timedelta(seconds=seconds)).isoformat()[:19]


def _fraction(microseconds: int) -> str:
    """proto3 JSON's fractional seconds: none, or 3 or 6 digits (9 would need nanoseconds)."""
    if not microseconds:
        return ""
    if microseconds % 1000:
        return ".%06d" % microseconds
    return ".%03d" % (microseconds // 1000)


def _string(tag: bytes, text: str) -> bytes:
    """A string field, or nothing for "" (the proto3 default)."""
    return tag + _message(text.encode()) if text else b""


def _message(value: bytes) -> bytes:
    """A length-delimited value: its length, then its bytes."""
    return _varint(len(value)) + value


def _varint(value: int) -> bytes:
    """The base-128 varint of 0 <= value < 2**64, low group first (unrolled up to 5 bytes,
    which covers a timestamp's seconds and nanos)."""
    if value < 0x80:
        return _ONE_BYTE[value]
    if value < 0x4000:
        return bytes((value & 0x7F | 0x80, value >> 7))
    if value < 0x20_0000:
        return bytes((value & 0x7F | 0x80, value >> 7 & 0x7F | 0x80, value >> 14))
    if value < 0x1000_0000:
        return bytes((value & 0x7F | 0x80, value >> 7 & 0x7F | 0x80, value >> 14 & 0x7F | 0x80, value >> 21))
    if value < 0x8_0000_0000:
        return bytes((value & 0x7F | 0x80, value >> 7 & 0x7F | 0x80, value >> 14 & 0x7F | 0x80,
                      value >> 21 & 0x7F | 0x80, value >> 28))
    out = bytearray()
    while value > 0x7F:  # bounded: at most 10 groups
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


_ONE_BYTE = tuple(bytes((value,)) for value in range(0x80))

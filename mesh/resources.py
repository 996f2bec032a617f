"""The resource kinds: their messages, scope, and how YAML documents become messages.

Generic over kinds: adding a kind is one entry in KINDS plus its validator.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from google.protobuf import json_format
from google.protobuf.message import Message

from mesh.v1 import (
    access_policy_pb2,
    mapping_pb2,
    organization_pb2,
    purpose_pb2,
    route_pb2,
    schema_pb2,
    service_pb2,
    system_pb2,
)

API_VERSION = "mesh.tsunagi.dev/v1"


@dataclass(frozen=True, slots=True)
class Kind:
    """One resource kind."""

    name: str
    plural: str
    message: type[Message]
    # "platform": only platform-admins write it and metadata.org is empty;
    # "org": owned by metadata.org.
    scope: Literal["platform", "org"]


KINDS: dict[str, Kind] = {
    k.name: k
    for k in (
        Kind("Organization", "organizations", organization_pb2.Organization, "platform"),
        Kind("Purpose", "purposes", purpose_pb2.Purpose, "platform"),
        Kind("System", "systems", system_pb2.System, "org"),
        Kind("Service", "services", service_pb2.Service, "org"),
        Kind("Route", "routes", route_pb2.Route, "org"),
        Kind("AccessPolicy", "accesspolicies", access_policy_pb2.AccessPolicy, "org"),
        Kind("Schema", "schemas", schema_pb2.Schema, "platform"),
        Kind("Mapping", "mappings", mapping_pb2.Mapping, "org"),
    )
}


def register(kind: Kind) -> None:
    """Add a kind (later issues add Schema, Mapping, AccessPolicy)."""
    KINDS[kind.name] = kind


def lookup_kind(text: str) -> Kind | None:
    """A kind by name, case-insensitive, singular or plural."""
    low = text.lower()
    for kind in KINDS.values():
        if low in (kind.name.lower(), kind.plural):
            return kind
    return None


class DocumentError(ValueError):
    """A document that is not a resource at all; carries (path, message) problems."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        super().__init__("; ".join(f"{p}: {m}" for p, m in problems))
        self.problems = problems


def from_dict(doc: Any) -> Message:
    """Parse one document strictly into its kind's message. Unknown fields are errors."""
    if not isinstance(doc, dict):
        raise DocumentError([("", "a document must be a mapping")])
    problems: list[tuple[str, str]] = []
    if doc.get("apiVersion") != API_VERSION:
        problems.append(("apiVersion", f"must be {API_VERSION!r}"))
    kind = KINDS.get(doc.get("kind")) if isinstance(doc.get("kind"), str) else None
    if kind is None:
        problems.append(("kind", f"must be one of {', '.join(sorted(KINDS))}"))
    if problems:
        raise DocumentError(problems)
    assert kind is not None
    try:
        return json_format.ParseDict(doc, kind.message(), ignore_unknown_fields=False)
    except json_format.ParseError as exc:
        raise DocumentError([("", str(exc))]) from None


def to_dict(message: Message) -> dict[str, Any]:
    """proto3 JSON of a resource (camelCase names, defaults omitted)."""
    return json_format.MessageToDict(message, preserving_proto_field_name=False)


def kind_of(message: Message) -> Kind:
    return KINDS[message.DESCRIPTOR.name]

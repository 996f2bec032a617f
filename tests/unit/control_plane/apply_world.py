"""A mesh that uses every kind of reference, for the apply tests: three orgs, their Systems,
Purposes, a Service, the canonical Schema, Mappings (one makes its System a provider of the
canonical service), Routes to a Service and to a canonical service, and an AccessPolicy on
methods from both."""

from __future__ import annotations

import copy
from typing import Any

from google.protobuf.message import Message

from demo.mappings import GET_PERSON, registry_mapping, welfare_mapping
from mesh.resources import from_dict
from mesh.translate import gif
from tests.unit.policy.world import GET, ORG_A, ORG_B, base_resources, policy, resource, rule

CANONICAL_SERVICE = gif.SERVICES[0]


def world_documents() -> list[Message]:
    """Every object, in an order one apply accepts."""
    return [
        *base_resources(),
        from_dict(gif.schema_document()),
        from_dict(registry_mapping(ORG_A, "registry")),
        from_dict(welfare_mapping(ORG_B, "kaigo")),
        resource("Route", "welfare-people", {"consumer": "welfare", "grpcService": "test.policy.v1.People"},
                 ORG_A),
        resource("Route", "kaigo-person", {"consumer": "kaigo", "grpcService": CANONICAL_SERVICE}, ORG_B),
        policy("registry-access", rule("kaigo", {"org": ORG_B}, [GET, GET_PERSON])),
    ]


def edited(message: Message, change: dict[str, Any]) -> Message:
    """A copy of `message` with `change` merged into its spec (resourceVersion cleared)."""
    copied = copy.deepcopy(message)
    copied.metadata.resource_version = ""  # type: ignore[attr-defined]
    for field, value in change.items():
        spec = copied.spec  # type: ignore[attr-defined]
        if isinstance(value, list):
            spec.ClearField(field)
            getattr(spec, field).extend(value)
        else:
            setattr(spec, field, value)
    return copied

"""A small mesh for the policy tests: three orgs, their systems, registered purposes, the
provider's Service (tests/unit/policy/people.proto) and builders for AccessPolicies."""

from __future__ import annotations

import base64
import functools
import tempfile
from pathlib import Path
from typing import Any

import grpc_tools
from google.protobuf import descriptor_pool, message_factory
from google.protobuf.message import Message
from grpc_tools import protoc

from certs.spiffe_id import workload_id
from mesh.resources import API_VERSION, from_dict
from mesh.v1 import access_policy_pb2

TD = "tsunagi.test"
ORG_A, ORG_B, ORG_C = "131016", "141003", "271004"
PROVIDER = (ORG_A, "registry")
REGISTRY = workload_id(TD, ORG_A, "registry")
WELFARE = workload_id(TD, ORG_A, "welfare")
KAIGO = workload_id(TD, ORG_B, "kaigo")
TAXI = workload_id(TD, ORG_B, "taxi")
CLINIC = workload_id(TD, ORG_C, "clinic")
UNREGISTERED = workload_id(TD, ORG_B, "ghost")
GET = "/test.policy.v1.People/GetPerson"
LIST = "/test.policy.v1.People/ListPeople"
ADDRESS = "/test.policy.v1.People/GetAddress"
PURPOSES = ("welfare-eligibility", "care-dispatch", "tax-assessment")
_PROTO = Path(__file__).with_name("people.proto")


@functools.cache
def people_descriptor_set() -> bytes:
    """people.proto and its imports as a serialized FileDescriptorSet (compiled once)."""
    include = Path(grpc_tools.__file__).parent / "_proto"
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "people.pb"
        args = ["protoc", f"-I{_PROTO.parent}", f"-I{include}", "--include_imports",
                f"--descriptor_set_out={out}", _PROTO.name]
        assert protoc.main(args) == 0, "protoc failed on people.proto"
        return out.read_bytes()


@functools.cache
def _pool() -> descriptor_pool.DescriptorPool:
    from google.protobuf import descriptor_pb2

    pool = descriptor_pool.DescriptorPool()
    files = descriptor_pb2.FileDescriptorSet.FromString(people_descriptor_set())
    for file in files.file:
        pool.Add(file)
    return pool


def message_class(name: str) -> type[Message]:
    """A message class of people.proto, as the sidecar would build it from descriptors."""
    return message_factory.GetMessageClass(_pool().FindMessageTypeByName(f"test.policy.v1.{name}"))


def resource(kind: str, name: str, spec: dict[str, Any], org: str = "") -> Message:
    meta = {"name": name, **({"org": org} if org else {})}
    return from_dict({"apiVersion": API_VERSION, "kind": kind, "metadata": meta, "spec": spec})


def base_resources() -> list[Message]:
    """Orgs, systems, purposes and the registry's Service: no policy yet."""
    out = [resource("Organization", org, {"type": "ORGANIZATION_TYPE_MUNICIPALITY", "displayName": org})
           for org in (ORG_A, ORG_B, ORG_C)]
    for sid, org, name in ((REGISTRY, ORG_A, "registry"), (WELFARE, ORG_A, "welfare"), (KAIGO, ORG_B, "kaigo"),
                           (TAXI, ORG_B, "taxi"), (CLINIC, ORG_C, "clinic")):
        out.append(resource("System", name, {"displayName": name, "spiffeId": sid}, org))
    out += [resource("Purpose", p, {"displayName": p, "legalBasis": "法"}) for p in PURPOSES]
    out.append(resource("Service", "people", {
        "system": "registry", "grpcServices": ["test.policy.v1.People"],
        "descriptorSet": base64.b64encode(people_descriptor_set()).decode(),
        "endpoints": [{"address": "127.0.0.1:4001"}]}, ORG_A))
    return out


def rule(name: str, callers: dict[str, Any], methods: list[str] | None = None,
         purposes: list[str] | None = None, **extra: Any) -> dict[str, Any]:
    """One rule as YAML would state it; purposes default to welfare-eligibility."""
    body: dict[str, Any] = {"name": name, "callers": callers, "methods": methods or [GET]}
    if purposes is None:
        purposes = ["welfare-eligibility"]
    if purposes:
        body["purposes"] = purposes
    body.update(extra)
    return body


def policy(name: str, *rules: dict[str, Any], system: str = "registry",
           org: str = ORG_A) -> access_policy_pb2.AccessPolicy:
    return resource("AccessPolicy", name, {"system": system, "rules": list(rules)}, org)  # type: ignore[return-value]

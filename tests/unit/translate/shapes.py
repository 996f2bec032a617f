"""Test shapes for the mapping engine: the two test protos compiled once, and Mapping builders.

Mappings are written as the dicts an operator would write in YAML; `Shapes.compile` turns a
list of message mappings into a CompiledMapping against the shapes.local / shapes.canon pools.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import grpc_tools
from google.protobuf import descriptor_pool, json_format, message_factory
from google.protobuf.message import Message
from grpc_tools import protoc

from mesh.translate.descriptors import pool_from_bytes
from mesh.translate.engine import CompiledMapping, CompiledMessage, compile_mapping
from mesh.v1 import mapping_pb2

HERE = Path(__file__).parent
REPO = HERE.parents[2]
ORG = "131016"


def build_descriptor_set(proto: str, out: Path) -> bytes:
    """protoc `proto` (in tests/unit/translate/protos) with its imports into a descriptor set."""
    include = Path(grpc_tools.__file__).parent / "_proto"
    target = out / (proto + ".pb")
    args = ["protoc", f"-I{HERE / 'protos'}", f"-I{REPO / 'proto'}", f"-I{include}",
            "--include_imports", f"--descriptor_set_out={target}", proto]
    assert protoc.main(args) == 0, f"protoc failed on {proto}"
    return target.read_bytes()


class Shapes:
    """The compiled test protos and builders of Mappings over them."""

    def __init__(self, local_set: bytes, canonical_set: bytes) -> None:
        self.local_set = local_set
        self.canonical_set = canonical_set
        self.local_pool: descriptor_pool.DescriptorPool = pool_from_bytes(local_set)
        self.canonical_pool: descriptor_pool.DescriptorPool = pool_from_bytes(canonical_set)

    def resource(self, messages: list[dict[str, Any]], operations: list[dict[str, Any]] | None = None,
                 examples: list[dict[str, Any]] | None = None, name: str = "shapes",
                 version: str = "1.2.3", system: str = "registry",
                 schema: str = "shapes-v1") -> mapping_pb2.Mapping:
        """A Mapping resource, the way YAML would give it."""
        mapping = json_format.ParseDict({
            "apiVersion": "mesh.tsunagi.dev/v1", "kind": "Mapping",
            "metadata": {"name": name, "org": ORG, "generation": "4"},
            "spec": {"system": system, "schema": schema, "version": version,
                     "operations": operations or [], "messages": messages,
                     "examples": examples or []},
        }, mapping_pb2.Mapping())
        mapping.spec.local_descriptor_set = self.local_set
        return mapping

    def compile(self, messages: list[dict[str, Any]], **kwargs: Any) -> CompiledMapping:
        return compile_mapping(self.resource(messages, **kwargs), self.local_pool, self.canonical_pool)

    def one(self, local: str, canonical: str, *rules: dict[str, Any]) -> CompiledMessage:
        """A mapping of one message mapping named "m" from shapes.local.<local> to
        shapes.canon.<canonical>, compiled."""
        return self.compile([message("m", local, canonical, *rules)]).message("m")

    def local(self, name: str, /, **fields: Any) -> Message:
        return self._make(self.local_pool, f"shapes.local.{name}", fields)

    def canonical(self, name: str, /, **fields: Any) -> Message:
        return self._make(self.canonical_pool, f"shapes.canon.{name}", fields)

    @staticmethod
    def _make(pool: descriptor_pool.DescriptorPool, name: str, fields: dict[str, Any]) -> Message:
        cls = message_factory.GetMessageClass(pool.FindMessageTypeByName(name))
        return json_format.ParseDict(fields, cls())


def message(name: str, local: str, canonical: str, *rules: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "local": f"shapes.local.{local}", "canonical": f"shapes.canon.{canonical}",
            "rules": list(rules)}


def field(local: str | list[str], canonical: str | list[str], *functions: str | dict[str, Any],
          separator: str | None = None) -> dict[str, Any]:
    rule: dict[str, Any] = {"local": [local] if isinstance(local, str) else local,
                            "canonical": [canonical] if isinstance(canonical, str) else canonical}
    if functions:
        rule["functions"] = [{"name": f} if isinstance(f, str) else f for f in functions]
    if separator is not None:
        rule["separator"] = separator
    return {"field": rule}


def drop(local: str) -> dict[str, Any]:
    return {"drop": {"local": local}}


def as_json(m: Message) -> dict[str, Any]:
    return json_format.MessageToDict(m)

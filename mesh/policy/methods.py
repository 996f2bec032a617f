"""The methods a System provides, read from its Service resources' descriptor sets, and the
canonical shape of a method path."""

from __future__ import annotations

import functools
import re
from typing import Iterable, Mapping

from google.protobuf import descriptor_pb2, descriptor_pool
from google.protobuf.descriptor import Descriptor
from google.protobuf.message import DecodeError, Message

from mesh.v1 import service_pb2

# "/package.Service/Method": a fully qualified service (at least one dot) and a method name,
# ASCII identifiers only. Anything else can never be the path of a method the mesh knows.
CANONICAL_METHOD = re.compile(
    r"/[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)+/[A-Za-z_][A-Za-z0-9_]*\Z")


MAX_METHOD_LENGTH = 1024


def is_canonical_method(path: str) -> bool:
    """Whether `path` has the exact canonical shape (and at most MAX_METHOD_LENGTH characters)."""
    return (isinstance(path, str) and len(path) <= MAX_METHOD_LENGTH and path.isascii()
            and CANONICAL_METHOD.match(path) is not None)


@functools.lru_cache(maxsize=64)
def pool_of(descriptor_set: bytes) -> descriptor_pool.DescriptorPool | None:
    """A pool of a serialized FileDescriptorSet; None when it does not parse or link. Cached,
    so validating every policy on every apply parses each descriptor set once."""
    files = descriptor_pb2.FileDescriptorSet()
    try:
        files.ParseFromString(descriptor_set)
        pool = descriptor_pool.DescriptorPool()
        for file in files.file:
            pool.Add(file)
        for file in files.file:
            pool.FindFileByName(file.name)
    except (DecodeError, TypeError, KeyError, ValueError):
        return None
    return pool


def provided_methods(services: Iterable[Message], org: str, system: str) -> Mapping[str, Descriptor]:
    """Method path → response message descriptor, for every method of every gRPC service
    that the Service resources of System org/system provide (those that parse)."""
    methods: dict[str, Descriptor] = {}
    for service in services:
        if not isinstance(service, service_pb2.Service):
            continue
        if service.metadata.org != org or service.spec.system != system:
            continue
        pool = pool_of(service.spec.descriptor_set)
        if pool is None:
            continue
        for name in service.spec.grpc_services:
            try:
                grpc_service = pool.FindServiceByName(name)
            except KeyError:
                continue
            for method in grpc_service.methods:
                methods[f"/{grpc_service.full_name}/{method.name}"] = method.output_type
    return methods

"""What an upstream gRPC server offers, learnt from its server reflection service.

`meshctl dev up` uses it to describe a user's server as a Service resource (names, RPC kinds
and messages) without asking for its .proto files.
"""

from __future__ import annotations

import grpc
from google.protobuf import descriptor_pb2
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import ProtoReflectionDescriptorDatabase

from mesh.addresses import is_local_address

_INTERNAL = ("grpc.reflection.", "grpc.health.")


def describe(address: str, timeout: float = 5.0) -> tuple[list[str], bytes] | None:
    """(service names, serialized FileDescriptorSet), or None when the server has no reflection.
    Plaintext: only ever to a loopback or unix: address."""
    if not is_local_address(address):
        raise ValueError(f"{address!r}: plaintext reflection only on loopback or unix:")
    with grpc.insecure_channel(address) as channel:
        try:
            grpc.channel_ready_future(channel).result(timeout=timeout)
            database = ProtoReflectionDescriptorDatabase(channel)
            services = [s for s in database.get_services() if not s.startswith(_INTERNAL)]
            files = descriptor_pb2.FileDescriptorSet()
            seen: set[str] = set()

            def add(name: str) -> None:
                if name in seen:
                    return
                seen.add(name)
                proto = database.FindFileByName(name)
                for dependency in proto.dependency:
                    add(dependency)
                files.file.append(proto)

            for service in services:
                add(database.FindFileContainingSymbol(service).name)
        except (grpc.RpcError, grpc.FutureTimeoutError, KeyError):
            return None
    return services, files.SerializeToString()

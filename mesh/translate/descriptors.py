"""Descriptor sets: the pools messages are decoded with, built once per distinct set.

Mappings, Services and Schemas carry serialized FileDescriptorSets. A pool built from one holds
message classes that run on upb, so the call path never touches json_format.
"""

from __future__ import annotations

from functools import lru_cache

from google.protobuf import descriptor_pb2, descriptor_pool
from google.protobuf.descriptor import FileDescriptor, MethodDescriptor
from google.protobuf.message import DecodeError


class DescriptorSetError(ValueError):
    """Bytes that are not a complete, consistent FileDescriptorSet."""


@lru_cache(maxsize=64)
def pool_from_bytes(data: bytes) -> descriptor_pool.DescriptorPool:
    """A pool holding every file of the serialized FileDescriptorSet `data` (cached)."""
    files = descriptor_pb2.FileDescriptorSet()
    try:
        files.ParseFromString(data)
    except DecodeError:
        raise DescriptorSetError("not a serialized FileDescriptorSet") from None
    if not files.file:
        raise DescriptorSetError("the descriptor set holds no files")
    pool = descriptor_pool.DescriptorPool()
    try:
        for file in files.file:
            pool.Add(file)
        for file in files.file:
            pool.FindFileByName(file.name)
    except (TypeError, KeyError, ValueError) as exc:
        raise DescriptorSetError(f"the descriptor set is incomplete or inconsistent: {exc}") from None
    return pool


def file_descriptor_set(*files: FileDescriptor) -> bytes:
    """A serialized FileDescriptorSet with `files` and everything they import, imports first."""
    out = descriptor_pb2.FileDescriptorSet()
    seen: set[str] = set()

    def add(fd: FileDescriptor) -> None:
        if fd.name in seen:
            return
        seen.add(fd.name)
        for dependency in fd.dependencies:
            add(dependency)
        proto = descriptor_pb2.FileDescriptorProto()
        fd.CopyToProto(proto)
        out.file.append(proto)

    for fd in files:
        add(fd)
    return out.SerializeToString(deterministic=True)


def find_method(pool: descriptor_pool.DescriptorPool, path: str) -> MethodDescriptor:
    """The method at "/package.Service/Method"; LookupError saying what is missing."""
    parts = path.split("/")
    if len(parts) != 3 or parts[0] or not parts[1] or not parts[2]:
        raise LookupError(f"{path!r} is not a method path /package.Service/Method")
    try:
        service = pool.FindServiceByName(parts[1])
    except KeyError:
        raise LookupError(f"no service {parts[1]!r}") from None
    method = service.methods_by_name.get(parts[2])
    if method is None:
        raise LookupError(f"service {parts[1]} has no method {parts[2]!r}")
    return method

"""The demo mesh's resources as YAML, the way operators would write them.

The Service resources carry FileDescriptorSets built from the demo protos; everything else is
plain YAML. Used by `make demo`, `meshctl dev up` and the end-to-end tests.
"""

from __future__ import annotations

import base64
from typing import Iterable

import yaml
from google.protobuf import descriptor_pb2
from google.protobuf.descriptor import FileDescriptor

API = "mesh.tsunagi.dev/v1"
CITY_A = "131016"  # 千代田区
CITY_B = "141003"  # 横浜市


def descriptor_set(*files: FileDescriptor) -> str:
    """Base64 of a FileDescriptorSet holding `files` and everything they import."""
    out = descriptor_pb2.FileDescriptorSet()
    seen: set[str] = set()

    def add(fd: FileDescriptor) -> None:
        if fd.name in seen:
            return
        for dep in fd.dependencies:
            add(dep)
        seen.add(fd.name)
        proto = descriptor_pb2.FileDescriptorProto()
        fd.CopyToProto(proto)
        out.file.append(proto)

    for fd in files:
        add(fd)
    return base64.b64encode(out.SerializeToString()).decode()


def doc(kind: str, name: str, spec: dict, org: str = "") -> dict:
    meta = {"name": name, **({"org": org} if org else {})}
    return {"apiVersion": API, "kind": kind, "metadata": meta, "spec": spec}


def organization(code: str, display: str, type_: str = "ORGANIZATION_TYPE_MUNICIPALITY") -> dict:
    return doc("Organization", code, {"type": type_, "displayName": display})


def system(trust_domain: str, org: str, name: str, display: str) -> dict:
    return doc("System", name, {"displayName": display,
                                "spiffeId": f"spiffe://{trust_domain}/org/{org}/sys/{name}"}, org)


def service(org: str, name: str, system_name: str, services: list[str], files: Iterable[FileDescriptor],
            endpoints: list[str]) -> dict:
    return doc("Service", name, {"system": system_name, "grpcServices": services,
                                 "descriptorSet": descriptor_set(*files),
                                 "endpoints": [{"address": e} for e in endpoints]}, org)


def route(org: str, name: str, consumer: str, grpc_service: str, timeout: str = "10s") -> dict:
    return doc("Route", name, {"consumer": consumer, "grpcService": grpc_service, "timeout": timeout}, org)


def purpose(name: str, display: str, legal_basis: str) -> dict:
    return doc("Purpose", name, {"displayName": display, "legalBasis": legal_basis})


def dump(*docs: dict) -> str:
    return yaml.safe_dump_all(docs, allow_unicode=True, sort_keys=False)


def registry_mesh(trust_domain: str, registry_endpoint: str) -> tuple[str, str]:
    """(platform YAML, City A YAML): the organisations, then City A's registry and welfare
    systems, the registry's Service, and welfare's Route to it."""
    from demo.v1 import registry_pb2

    platform = dump(
        organization(CITY_A, "千代田区"),
        organization(CITY_B, "横浜市"),
        purpose("welfare-eligibility", "福祉サービスの受給資格確認", "社会福祉法第14条"),
    )
    city = dump(
        system(trust_domain, CITY_A, "registry", "住民基本台帳システム"),
        system(trust_domain, CITY_A, "welfare", "福祉総合システム"),
        service(CITY_A, "resident-registry", "registry", ["demo.v1.ResidentRegistry"],
                [registry_pb2.DESCRIPTOR], [registry_endpoint]),
        route(CITY_A, "welfare-to-registry", "welfare", "demo.v1.ResidentRegistry"),
    )
    return platform, city

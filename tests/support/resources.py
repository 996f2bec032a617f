"""Mesh resources for tests: a small valid mesh (one org, a consumer and a provider system,
the provider's Service and the consumer's Route) and builders for variations of it."""

from __future__ import annotations

from google.protobuf.message import Message

from certs.spiffe_id import workload_id
from mesh.commit import Change
from mesh.keys import DENYLIST_KEY, TRUST_BUNDLE_KEY, resource_key
from mesh.resources import API_VERSION
from mesh.v1 import access_policy_pb2, organization_pb2, route_pb2, service_pb2, signed_pb2, system_pb2
from mesh.v1.meta_pb2 import ObjectMeta

TRUST_DOMAIN = "tsunagi.test"
ORG = "131016"
CONSUMER = "welfare"
PROVIDER = "registry"
CONSUMER_ID = workload_id(TRUST_DOMAIN, ORG, CONSUMER)
PROVIDER_ID = workload_id(TRUST_DOMAIN, ORG, PROVIDER)
SERVICE = "test.Echo"
ENDPOINTS = ("127.0.0.1:4001", "127.0.0.1:4002")


def organization(org: str = ORG) -> organization_pb2.Organization:
    return organization_pb2.Organization(
        api_version=API_VERSION, kind="Organization", metadata=ObjectMeta(name=org),
        spec=organization_pb2.OrganizationSpec(display_name=f"org {org}"))


def system(name: str, org: str = ORG) -> system_pb2.System:
    return system_pb2.System(
        api_version=API_VERSION, kind="System", metadata=ObjectMeta(name=name, org=org),
        spec=system_pb2.SystemSpec(display_name=name, spiffe_id=workload_id(TRUST_DOMAIN, org, name)))


def service(
    name: str = "registry-api",
    system_name: str = PROVIDER,
    grpc_services: tuple[str, ...] = (SERVICE,),
    endpoints: tuple[str, ...] = ENDPOINTS,
    org: str = ORG,
) -> service_pb2.Service:
    return service_pb2.Service(
        api_version=API_VERSION, kind="Service", metadata=ObjectMeta(name=name, org=org),
        spec=service_pb2.ServiceSpec(
            system=system_name, grpc_services=list(grpc_services),
            endpoints=[service_pb2.Endpoint(address=a) for a in endpoints]))


def route(
    name: str = "welfare-echo",
    consumer: str = CONSUMER,
    grpc_service: str = SERVICE,
    timeout_s: float | None = 5.0,
    org: str = ORG,
) -> route_pb2.Route:
    spec = route_pb2.RouteSpec(consumer=consumer, grpc_service=grpc_service)
    if timeout_s is not None:
        spec.timeout.FromMilliseconds(int(timeout_s * 1000))
    return route_pb2.Route(api_version=API_VERSION, kind="Route",
                           metadata=ObjectMeta(name=name, org=org), spec=spec)


def access_policy(name: str = "registry-access", system_name: str = PROVIDER,
                  caller: str = CONSUMER_ID, methods: tuple[str, ...] | None = None,
                  org: str = ORG) -> access_policy_pb2.AccessPolicy:
    """The provider lets `caller` call every test.Echo method, stating no purpose."""
    methods = methods or tuple(f"/{SERVICE}/{m}" for m in ("Unary", "ClientStream", "ServerStream",
                                                             "Bidi", "Fail", "Sleep"))
    rule = access_policy_pb2.AccessRule(name="echo", methods=list(methods), purpose_required=False,
                                        callers=access_policy_pb2.Callers(spiffe_ids=[caller]))
    return access_policy_pb2.AccessPolicy(
        api_version=API_VERSION, kind="AccessPolicy", metadata=ObjectMeta(name=name, org=org),
        spec=access_policy_pb2.AccessPolicySpec(system=system_name, rules=[rule]))


def key_of(resource: Message) -> str:
    meta = resource.metadata  # type: ignore[attr-defined]
    return resource_key(resource.DESCRIPTOR.name, meta.org, meta.name)


def put(resource: Message) -> Change:
    """The change that writes `resource` at its key."""
    return Change(key_of(resource), resource.DESCRIPTOR.name, resource.SerializeToString())


def delete(resource: Message) -> Change:
    return Change(key_of(resource), resource.DESCRIPTOR.name, None)


def base_mesh() -> list[Change]:
    """A valid mesh: the consumer routes test.Echo to the provider."""
    return [put(r) for r in (organization(), system(CONSUMER), system(PROVIDER), service(), route(),
                             access_policy())]


def trust_bundle(*roots_pem: bytes) -> Change:
    return Change(TRUST_BUNDLE_KEY, "TrustBundle",
                  signed_pb2.TrustBundle(roots_pem=list(roots_pem)).SerializeToString())


def denylist(*spiffe_ids: str) -> Change:
    entries = [signed_pb2.DeniedIdentity(spiffe_id=s, reason="revoked") for s in spiffe_ids]
    return Change(DENYLIST_KEY, "DenyList", signed_pb2.DenyList(entries=entries).SerializeToString())

"""The sidecar's config snapshot: an immutable route table that readers hold by reference.

The snapshot is built from the local --config file (static routes) or compiled from the signed
config in etcd (sidecar/compile.py); swapping it in is one reference assignment (no locks on
the call path).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Mapping

from mesh.policy import PolicyTable
from mesh.v1 import sidecar_config_pb2 as pb

ANY_SERVICE = "*"
# Method kinds the config can tell (client-streaming and bidi need no name: they are relayed
# as streams like any method the config does not describe).
UNARY = "unary"
SERVER_STREAM = "server_stream"


@dataclass(frozen=True, slots=True)
class Upstream:
    """Where a route sends calls: a provider sidecar and the identity it must present."""

    endpoint: str
    identity: str
    timeout: float | None = None


@dataclass(frozen=True, slots=True)
class Snapshot:
    """One consistent view of the config. `revision` only ever increases.

    From etcd: `revision` is the etcd revision it was read at, `version` the mesh config
    version of its ConfigHead and `config_hash` the head digest (hex); `versions` holds each
    signed key's version, so no key can later go back to an older value. Static snapshots
    leave these at their defaults.
    """

    routes: Mapping[str, Upstream] = field(default_factory=lambda: MappingProxyType({}))
    revision: int = 0
    version: int = 0
    config_hash: str = ""
    # SPIFFE IDs on the DenyList: refused on the inbound listener.
    denied: frozenset[str] = frozenset()
    # PEM roots of the distributed TrustBundle (empty when the config has none).
    trust_roots_pem: tuple[bytes, ...] = ()
    versions: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))
    # "/pkg.Svc/M" → "unary" | "server_stream" for methods the config's descriptors define
    # (client-streaming and bidi are absent: they take the stream relay anyway).
    method_kinds: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    # The compiled access policies (None for a static config: a development pair without a
    # policy layer). From etcd there is always a table, and it denies by default.
    policy: PolicyTable | None = None
    # This sidecar's own System (org, name), when the config registers it.
    own_system: tuple[str, str] | None = None
    # "/pkg.Svc/M" → response message class of this system's own methods (for field grants).
    response_types: Mapping[str, type] = field(default_factory=lambda: MappingProxyType({}))
    # This system's Mapping operations (mesh.translate CompiledOperation), by local and by
    # canonical method path. Empty: every call stays on the raw-bytes fast path.
    translations: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))

    def route(self, service: str) -> Upstream | None:
        """The upstream for a gRPC service name: the exact entry, else the "*" entry."""
        upstream = self.routes.get(service)
        return upstream if upstream is not None else self.routes.get(ANY_SERVICE)


def from_static_routes(routes: list[pb.StaticRoute], revision: int = 1) -> Snapshot:
    """Build a snapshot from the static routes of a --config file."""
    table = {
        route.service: Upstream(
            endpoint=route.endpoint,
            identity=route.identity,
            timeout=route.timeout.ToTimedelta().total_seconds() or None
            if route.HasField("timeout")
            else None,
        )
        for route in routes
    }
    return Snapshot(routes=MappingProxyType(table), revision=revision)


def split_method(path: str) -> tuple[str, str] | None:
    """`/pkg.Service/Method` → (`pkg.Service`, `Method`); None for anything else.

    Only the exact canonical shape is accepted: one leading slash, two non-empty segments,
    no further slashes. Nothing is decoded or normalised.
    """
    if not path.startswith("/"):
        return None
    service, sep, method = path[1:].partition("/")
    if not sep or not service or not method or "/" in method:
        return None
    return service, method

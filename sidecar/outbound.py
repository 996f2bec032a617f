"""The outbound side: calls from the local app, on their way to a provider sidecar.

Layers, top to bottom:
  1. route:     exact /pkg.Service/Method → provider endpoint and expected identity
  2. metadata:  drop every x-mesh-* key the app sent; add this call's exchange id
  3. deadline:  forward the caller's remaining time, capped by the route's timeout
"""

from __future__ import annotations

from grpc import aio

from sidecar.channels import PeerChannels
from sidecar.errors import NoRoute, NotReady
from sidecar.metadata import EXCHANGE_ID, new_exchange_id, strip_reserved
from sidecar.proxy import Leg
from sidecar.snapshot import Snapshot, split_method


class Outbound:
    """The consumer sidecar's request path."""

    name = "outbound"

    def __init__(self, spiffe_id: str, peers: PeerChannels) -> None:
        self.decider = f"sidecar {spiffe_id} (outbound)"
        self._peers = peers
        self.snapshot: Snapshot | None = None

    def method_kind(self, method: str) -> str | None:
        snapshot = self.snapshot
        return None if snapshot is None else snapshot.method_kinds.get(method)

    def prepare(self, method: str, context: aio.ServicerContext) -> Leg:
        snapshot = self.snapshot
        if snapshot is None:
            raise NotReady("no valid config is loaded, so every call is denied")
        # 1. route
        parts = split_method(method)
        upstream = snapshot.route(parts[0]) if parts else None
        if upstream is None:
            raise NoRoute(f"no route for {method!r}")
        # 2. metadata
        exchange_id = new_exchange_id()
        metadata = strip_reserved(context.invocation_metadata())
        metadata.append((EXCHANGE_ID, exchange_id))
        # 3. deadline
        timeout = context.time_remaining()
        if upstream.timeout is not None and (timeout is None or timeout > upstream.timeout):
            timeout = upstream.timeout
        return Leg(
            channel=self._peers.get(upstream.endpoint, upstream.identity),
            metadata=metadata,
            timeout=timeout,
            exchange_id=exchange_id,
            peer=upstream.identity,
        )

"""The outbound side: calls from the local app, on their way to a provider sidecar.

Layers, top to bottom:
  0. translate: a local method this system maps is sent as its canonical operation, with its
                messages translated local→canonical (responses back canonical→local)
  1. route:     exact /pkg.Service/Method → provider endpoint and expected identity
  2. purpose:   the app's one x-mesh-purpose value, read strictly before anything is stripped
  3. egress:    may this system call this method at all? (a policy somewhere must allow it)
  4. metadata:  drop every x-mesh-* key the app sent; add the exchange id and the purpose
  5. deadline:  forward the caller's remaining time, capped by the route's timeout
"""

from __future__ import annotations

from grpc import aio

from mesh.policy import InvalidPurpose, purpose_from_metadata
from sidecar import translation
from sidecar.channels import PeerChannels
from sidecar.errors import Denied, NoRoute, NotReady
from sidecar.exchange import Exchange
from sidecar.metadata import EXCHANGE_ID, PURPOSE, new_exchange_id, strip_reserved
from sidecar.proxy import Leg
from sidecar.snapshot import Snapshot, split_method


class Outbound:
    """The consumer sidecar's request path."""

    name = "outbound"

    def __init__(self, spiffe_id: str, peers: PeerChannels) -> None:
        self.spiffe_id = spiffe_id
        self.decider = f"sidecar {spiffe_id} (outbound)"
        self._peers = peers
        self.snapshot: Snapshot | None = None

    def method_kind(self, method: str) -> str | None:
        snapshot = self.snapshot
        return None if snapshot is None else snapshot.method_kinds.get(method)

    def prepare(self, method: str, context: aio.ServicerContext, exchange: Exchange) -> Leg:
        snapshot = self.snapshot
        exchange.id = new_exchange_id()
        if snapshot is None:
            raise NotReady("no valid config is loaded, so every call is denied")
        exchange.config_version, exchange.config_revision = snapshot.version, snapshot.revision
        # 0. translate: a local method this system maps goes out as its canonical operation
        operation = snapshot.translations.get(method)
        if operation is not None and operation.local == method:
            method = exchange.method = operation.canonical
            translation.attach(exchange, operation, provider=False)
        # 1. route
        parts = split_method(method)
        upstream = snapshot.route(parts[0]) if parts else None
        if upstream is None:
            raise NoRoute(f"no route for {method!r}")
        exchange.peer = exchange.callee = upstream.identity
        incoming = context.invocation_metadata()
        # 2. purpose and 3. egress (the static config of a development pair has no policy layer)
        purpose = purpose_from_metadata(incoming)
        if isinstance(purpose, InvalidPurpose):
            raise Denied(f"purpose not allowed ({purpose.reason})")
        exchange.purpose = purpose or ""
        policy = snapshot.policy
        if policy is not None:
            decision = policy.egress(self.spiffe_id, method, purpose, policy.system_of(upstream.identity))
            if not decision.allowed:
                raise Denied(f"{decision.reason.value} (egress check)" + (f": {decision.detail}" if decision.detail else ""))
            exchange.rule = decision.rule
        exchange.allowed = True
        # 4. metadata
        metadata = strip_reserved(incoming)
        metadata.append((EXCHANGE_ID, exchange.id))
        if purpose:
            metadata.append((PURPOSE, purpose))
        # 5. deadline
        timeout = context.time_remaining()
        if upstream.timeout is not None and (timeout is None or timeout > upstream.timeout):
            timeout = upstream.timeout
        return Leg(self._peers.get(upstream.endpoint, upstream.identity), metadata, timeout, method)

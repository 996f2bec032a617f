"""The inbound side: calls from peer sidecars over mTLS, on their way to the local app.

Layers, top to bottom:
  1. identity:  the caller is the SPIFFE ID of the verified client certificate, nothing else
  2. metadata:  drop every x-mesh-* key (the peer's app may have smuggled some past a bad
                consumer sidecar); keep only the exchange id; set x-mesh-caller
  3. deadline:  forward the caller's remaining time
"""

from __future__ import annotations

from typing import Mapping

from grpc import aio

from sidecar.errors import NotReady
from sidecar.identity import PeerIdentities
from sidecar.metadata import CALLER, EXCHANGE_ID, new_exchange_id, strip_reserved, take_exchange_id
from sidecar.proxy import Leg


class Inbound:
    """The provider sidecar's request path."""

    name = "inbound"

    def __init__(self, spiffe_id: str, identities: PeerIdentities, app: aio.Channel) -> None:
        self.decider = f"sidecar {spiffe_id} (inbound)"
        self._identities = identities
        self._app = app
        self.ready = False
        # Set with each applied snapshot: the kinds of this system's own methods.
        self.method_kinds: Mapping[str, str] = {}

    def method_kind(self, method: str) -> str | None:
        return self.method_kinds.get(method)

    def prepare(self, method: str, context: aio.ServicerContext) -> Leg:
        # 1. identity
        caller = self._identities.identify(context.auth_context())
        if not self.ready:
            raise NotReady("no valid config is loaded, so every call is denied")
        # 2. metadata
        incoming = context.invocation_metadata()
        exchange_id = take_exchange_id(incoming) or new_exchange_id()
        metadata = strip_reserved(incoming)
        metadata.append((CALLER, caller))
        metadata.append((EXCHANGE_ID, exchange_id))
        # 3. deadline
        return Leg(
            channel=self._app,
            metadata=metadata,
            timeout=context.time_remaining(),
            exchange_id=exchange_id,
            peer=caller,
        )

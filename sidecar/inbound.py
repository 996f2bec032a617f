"""The inbound side: calls from peer sidecars over mTLS, on their way to the local app.

Layers, top to bottom:
  1. identity:  the caller is the SPIFFE ID of the verified client certificate, nothing else
  1b. translate: a canonical operation this system implements goes to the app as its local
                method, messages canonical→local (responses local→canonical)
  2. purpose:   the one x-mesh-purpose value the consumer sidecar set
  3. policy:    the provider's access policy decides, authoritatively (and takes a rate token)
  4. minimise:  a field grant removes or masks what the caller may not see, in every response
  5. metadata:  drop every x-mesh-* key; keep the exchange id; set x-mesh-caller and purpose
  6. deadline:  forward the caller's remaining time
"""

from __future__ import annotations

from typing import Mapping

from google.protobuf.message import DecodeError
from grpc import aio

from mesh.policy import FieldGrant, InvalidPurpose, RateLimiter, apply_grant, purpose_from_metadata
from sidecar import translation
from sidecar.errors import Denied, NotReady, RateLimited, Untranslatable
from sidecar.exchange import Exchange, Transform
from sidecar.identity import PeerIdentities
from sidecar.metadata import CALLER, EXCHANGE_ID, PURPOSE, new_exchange_id, strip_reserved, take_exchange_id
from sidecar.proxy import Leg
from sidecar.snapshot import Snapshot


class Inbound:
    """The provider sidecar's request path."""

    name = "inbound"

    def __init__(self, spiffe_id: str, identities: PeerIdentities, app: aio.Channel) -> None:
        self.spiffe_id = spiffe_id
        self.decider = f"sidecar {spiffe_id} (inbound)"
        self._identities = identities
        self._app = app
        self.snapshot: Snapshot | None = None
        self.limiter = RateLimiter()  # buckets outlive snapshot swaps

    def method_kind(self, method: str) -> str | None:
        snapshot = self.snapshot
        return None if snapshot is None else snapshot.method_kinds.get(method)

    def prepare(self, method: str, context: aio.ServicerContext, exchange: Exchange) -> Leg:
        exchange.provider, exchange.callee = True, self.spiffe_id
        incoming = context.invocation_metadata()
        exchange.id = take_exchange_id(incoming) or new_exchange_id()
        # 1. identity
        caller = exchange.peer = self._identities.identify(context.auth_context())
        snapshot = self.snapshot
        if snapshot is None:
            raise NotReady("no valid config is loaded, so every call is denied")
        exchange.config_version, exchange.config_revision = snapshot.version, snapshot.revision
        operation = snapshot.translations.get(method)
        upstream_method = method
        if operation is not None and operation.canonical == method:
            upstream_method = operation.local
            translation.attach(exchange, operation, provider=True)
        # 2. purpose
        purpose = purpose_from_metadata(incoming)
        exchange.purpose = purpose if isinstance(purpose, str) else ""
        # 3. policy (the static config of a development pair has no policy layer)
        policy = snapshot.policy
        if policy is not None and snapshot.own_system is not None:
            decision = policy.decide(caller, method, purpose, snapshot.own_system, limiter=self.limiter)
            exchange.rule = decision.rule
            if not decision.allowed:
                detail = f" ({decision.detail})" if decision.detail else ""
                error = RateLimited if decision.status.name == "RESOURCE_EXHAUSTED" else Denied
                raise error(f"{decision.reason.value}{detail}")
            # 4. minimise
            if decision.field_grant is not None:  # on the canonical message when translated
                exchange.response_transform = translation.then(
                    exchange.response_transform,
                    _grant(snapshot.response_types.get(method), decision.field_grant, method))
        elif isinstance(purpose, InvalidPurpose):
            raise Denied(f"purpose not allowed ({purpose.reason})")
        exchange.allowed = True
        # 5. metadata
        metadata = strip_reserved(incoming)
        metadata.append((CALLER, caller))
        metadata.append((EXCHANGE_ID, exchange.id))
        if isinstance(purpose, str):
            metadata.append((PURPOSE, purpose))
        # 6. deadline
        return Leg(self._app, metadata, context.time_remaining(), upstream_method)


def _grant(message_class: type | None, grant: FieldGrant, method: str) -> Transform:
    """Decode each response with the method's own type, minimise it, encode it again."""
    if message_class is None:
        raise Denied(f"a field grant applies to {method}, but its response type is unknown")

    def minimise(data: bytes) -> bytes:
        message = message_class()
        try:
            message.ParseFromString(data)
        except DecodeError:
            raise Untranslatable(f"response of {method} does not decode as {message.DESCRIPTOR.full_name}") from None
        apply_grant(message, grant)
        return message.SerializeToString()

    return minimise

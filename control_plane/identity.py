"""The caller of a control-plane RPC: the SPIFFE ID of its verified client certificate."""

from __future__ import annotations

from grpc import aio

from certs.verify import PeerRejected, identity_from_pem
from control_plane.errors import Unauthenticated


def caller_identity(context: aio.ServicerContext, trust_domain: str) -> str:
    """The verified caller's SPIFFE ID; Unauthenticated otherwise."""
    pems = context.auth_context().get("x509_pem_cert")
    if not pems:
        raise Unauthenticated("no verified client certificate")
    try:
        return str(identity_from_pem(pems[0], trust_domain))
    except PeerRejected as exc:
        raise Unauthenticated(f"client certificate refused: {exc.reason}") from None

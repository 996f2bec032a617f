"""The caller of a control-plane RPC: the SPIFFE ID of its verified client certificate."""

from __future__ import annotations

import functools

from grpc import aio

from certs.verify import PeerRejected, identity_from_pem
from control_plane.errors import Unauthenticated


def caller_identity(context: aio.ServicerContext, trust_domain: str) -> str:
    """The verified caller's SPIFFE ID; Unauthenticated otherwise."""
    pems = context.auth_context().get("x509_pem_cert")
    if not pems:
        raise Unauthenticated("no verified client certificate")
    try:
        return _identity(pems[0], trust_domain)
    except PeerRejected as exc:
        raise Unauthenticated(f"client certificate refused: {exc.reason}") from None


@functools.lru_cache(maxsize=1024)
def _identity(pem: bytes, trust_domain: str) -> str:
    """identity_from_pem, remembered: it depends only on the certificate's bytes (which gRPC
    verified in the handshake), and an operator or sidecar calls with the same one again and
    again. Refusals raise, so they are not remembered."""
    return str(identity_from_pem(pem, trust_domain))

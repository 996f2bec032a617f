"""One exchange as this sidecar handles it: who and what, the decision, and the per-message hooks.

A Side fills it in while it prepares the call; the relay passes every message through it
(translation, field minimisation, audit digests); the proxy turns it into the one log line and
the one audit record. Hashes are taken of the bytes as they cross between sidecars, so both
sides of one exchange record the same digests.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from mesh.audit.digest import PayloadDigest, StreamDigester, message_digest
from sidecar.errors import SidecarError

Transform = Callable[[bytes], bytes]


@dataclass(slots=True)
class Exchange:
    method: str
    id: str = ""
    peer: str = ""
    callee: str = ""
    purpose: str = ""
    allowed: bool = False
    rule: str = ""
    mappings: tuple[str, ...] = ()
    config_version: int = 0
    config_revision: int = 0
    request_transform: Transform | None = None
    response_transform: Transform | None = None
    # True on the provider: requests arrive in wire form (hash, then transform) and responses
    # leave in wire form (transform, then hash). The consumer is the mirror image.
    provider: bool = False
    audit: bool = False
    unary_request: bytes | None = None
    unary_response: bytes | None = None
    request_stream: StreamDigester | None = None
    response_stream: StreamDigester | None = None
    # A transform that failed inside the request pump, surfaced by the relay.
    failure: SidecarError | None = None

    def request(self, data: bytes, stream: bool) -> bytes:
        """A request message on its way upstream."""
        if self.provider:
            self._digest_request(data, stream)
        if self.request_transform is not None:
            data = self.request_transform(data)
        if not self.provider:
            self._digest_request(data, stream)
        return data

    def response(self, data: bytes, stream: bool) -> bytes:
        """A response message on its way back to our caller."""
        if not self.provider:
            self._digest_response(data, stream)
        if self.response_transform is not None:
            data = self.response_transform(data)
        if self.provider:
            self._digest_response(data, stream)
        return data

    @property
    def passthrough(self) -> bool:
        """Nothing to do per message: the relay may skip the hooks entirely."""
        return self.request_transform is None and self.response_transform is None and not self.audit

    def _digest_request(self, data: bytes, stream: bool) -> None:
        if not self.audit:
            return
        if stream:
            if self.request_stream is None:
                self.request_stream = StreamDigester()
            self.request_stream.add(data)
        else:
            self.unary_request = data

    def _digest_response(self, data: bytes, stream: bool) -> None:
        if not self.audit:
            return
        if stream:
            if self.response_stream is None:
                self.response_stream = StreamDigester()
            self.response_stream.add(data)
        else:
            self.unary_response = data

    def digests(self) -> tuple[PayloadDigest | None, PayloadDigest | None]:
        request = (message_digest(self.unary_request) if self.unary_request is not None
                   else self.request_stream.digest() if self.request_stream is not None else None)
        response = (message_digest(self.unary_response) if self.unary_response is not None
                    else self.response_stream.digest() if self.response_stream is not None else None)
        return request, response

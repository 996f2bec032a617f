"""Upstream channels: mTLS channels to provider sidecars, pinned to the expected identity.

A gRPC client cannot read the server's SPIFFE ID after the handshake, so each workload
certificate also carries a DNS SAN derived from its SPIFFE ID and the channel sets
`grpc.ssl_target_name_override` to the name derived from the identity the route expects.
The handshake then refuses any other peer, even one with a valid mesh certificate.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import grpc
from grpc import aio

from certs.spiffe_id import dns_name_for


@dataclass(frozen=True, slots=True)
class TlsMaterial:
    """The sidecar's current certificate chain, key and trust bundle (PEM)."""

    chain_pem: bytes
    key_pem: bytes
    bundle_pem: bytes


def base_options(max_message_bytes: int) -> list[tuple[str, int | str]]:
    """Options every server and channel of the sidecar shares."""
    return [
        ("grpc.max_receive_message_length", max_message_bytes),
        ("grpc.max_send_message_length", max_message_bytes),
        # A stale process on the same port would silently take a share of connections.
        ("grpc.so_reuseport", 0),
    ]


class PeerChannels:
    """One channel per (endpoint, expected identity), created on first use and reused."""

    def __init__(self, tls: TlsMaterial, max_message_bytes: int) -> None:
        self._options = base_options(max_message_bytes)
        self._channels: dict[tuple[str, str], aio.Channel] = {}
        self.set_tls(tls)

    def set_tls(self, tls: TlsMaterial) -> None:
        """Use new credentials for channels opened from now on (certificate rotation)."""
        self._credentials = grpc.ssl_channel_credentials(
            root_certificates=tls.bundle_pem,
            private_key=tls.key_pem,
            certificate_chain=tls.chain_pem,
        )

    def get(self, endpoint: str, identity: str) -> aio.Channel:
        """The channel to a provider sidecar that must present `identity`."""
        key = (endpoint, identity)
        channel = self._channels.get(key)
        if channel is None:
            options = [*self._options, ("grpc.ssl_target_name_override", dns_name_for(identity))]
            channel = aio.secure_channel(endpoint, self._credentials, options=options)
            self._channels[key] = channel
        return channel

    async def rotate(self, tls: TlsMaterial, grace: float) -> None:
        """New credentials for new calls; the old channels finish their calls, then close.

        Channels are replaced rather than reconfigured, because a channel's credentials are
        fixed when it is created.
        """
        self.set_tls(tls)
        old, self._channels = list(self._channels.values()), {}
        await asyncio.gather(*(channel.close(grace) for channel in old))

    async def close(self) -> None:
        """Close every channel (in-flight calls are cancelled)."""
        channels, self._channels = list(self._channels.values()), {}
        for channel in channels:
            await channel.close()


def app_channel(upstream: str, max_message_bytes: int) -> aio.Channel:
    """The plaintext channel to the local app; settings guarantee it is loopback or unix:."""
    return aio.insecure_channel(upstream, options=base_options(max_message_bytes))

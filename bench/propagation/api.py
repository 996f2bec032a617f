"""The operator's path into the mesh: ConfigService.Apply over mTLS with the operator's
meshconfig (as meshctl does), each call stamped with when it was sent and when it returned."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import grpc
from grpc import aio

from certs.spiffe_id import dns_name_for
from control_plane.client import load_context
from mesh.v1 import control_plane_pb2 as api
from mesh.v1 import control_plane_pb2_grpc as api_grpc

APPLY_TIMEOUT_S = 120.0


@dataclass(frozen=True, slots=True)
class Applied:
    """One Apply: the config version it wrote and its CLOCK_MONOTONIC send/return times."""

    version: int
    sent: float
    returned: float


class ConfigApi:
    """An aio channel to the control plane as the operator of `meshconfig`."""

    def __init__(self, meshconfig: Path) -> None:
        context, base = load_context(meshconfig, None)
        credentials = grpc.ssl_channel_credentials(
            root_certificates=(base / context.bundle_file).read_bytes(),
            private_key=(base / context.key_file).read_bytes(),
            certificate_chain=(base / context.cert_file).read_bytes(),
        )
        self._channel = aio.secure_channel(context.server, credentials, options=[
            ("grpc.ssl_target_name_override", dns_name_for(context.server_identity)),
            ("grpc.max_receive_message_length", 64 * 1024 * 1024),
            ("grpc.enable_http_proxy", 0),
        ])
        self._stub = api_grpc.ConfigServiceStub(self._channel)

    async def apply(self, text: str, source: str = "bench") -> Applied:
        """Apply one YAML text; raises grpc.aio.AioRpcError when the control plane refuses."""
        request = api.ApplyRequest(documents=[api.Document(source=source, text=text)])
        sent = time.monotonic()
        response = await self._stub.Apply(request, timeout=APPLY_TIMEOUT_S)
        returned = time.monotonic()
        return Applied(int(response.config_version), sent, returned)

    async def close(self) -> None:
        await self._channel.close()

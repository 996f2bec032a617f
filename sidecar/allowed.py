"""The MeshSidecar metaservice on the outbound listener: what may this app call, and why.

Like X-Road's allowedMethods: the app asks its own sidecar, which answers from the live
config's access policies (the same table its egress check uses).
"""

from __future__ import annotations

from grpc import aio

from mesh.policy import to_allowed_methods_response
from mesh.v1 import sidecar_api_pb2 as api
from mesh.v1 import sidecar_api_pb2_grpc as api_grpc
from sidecar.outbound import Outbound


class MeshSidecar(api_grpc.MeshSidecarServicer):
    def __init__(self, outbound: Outbound) -> None:
        self._outbound = outbound

    async def AllowedMethods(self, request: api.AllowedMethodsRequest,
                             context: aio.ServicerContext) -> api.AllowedMethodsResponse:
        snapshot = self._outbound.snapshot
        if snapshot is None or snapshot.policy is None:
            return api.AllowedMethodsResponse(consumer=self._outbound.spiffe_id,
                                              config_version=snapshot.version if snapshot else 0)
        entries = snapshot.policy.allowed_for(self._outbound.spiffe_id)
        return to_allowed_methods_response(self._outbound.spiffe_id, entries, snapshot.version,
                                           request.grpc_service)

"""The one place where the control plane's exceptions become gRPC statuses.

Known errors keep their status and message (Invalid also carries google.rpc.BadRequest
field violations in the status details). Anything else is logged with its traceback and
returned as INTERNAL "internal error": exception text never reaches a caller.
"""

from __future__ import annotations

from typing import Any, Awaitable, Callable

import grpc
import structlog
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc import aio

from control_plane.errors import ControlPlaneError, Invalid

log = structlog.get_logger("control_plane.api")


def _details(exc: ControlPlaneError) -> tuple[tuple[str, bytes], ...]:
    if not isinstance(exc, Invalid):
        return ()
    bad = error_details_pb2.BadRequest(field_violations=[
        error_details_pb2.BadRequest.FieldViolation(field=e.path, description=e.message)
        for e in exc.errors
    ])
    status = status_pb2.Status(code=code_pb2.INVALID_ARGUMENT, message=exc.message)
    status.details.add().Pack(bad)
    return (("grpc-status-details-bin", status.SerializeToString()),)


class ErrorInterceptor(aio.ServerInterceptor):
    """Wraps every unary-unary handler: binds the method to the log context, maps errors."""

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(handler_call_details)
        if handler is None or handler.unary_unary is None:
            return handler
        inner = handler.unary_unary
        method = handler_call_details.method

        async def guarded(request: Any, context: aio.ServicerContext) -> Any:
            structlog.contextvars.bind_contextvars(method=method)
            try:
                return await inner(request, context)
            except ControlPlaneError as exc:
                log.info("request_refused", code=exc.code.name, reason=exc.message)
                await context.abort(exc.code, exc.message, trailing_metadata=_details(exc))
            except aio.AbortError:
                raise
            except Exception:
                log.exception("request_failed")
                await context.abort(grpc.StatusCode.INTERNAL, "internal error")
            finally:
                structlog.contextvars.unbind_contextvars("method")

        return grpc.unary_unary_rpc_method_handler(
            guarded,
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )

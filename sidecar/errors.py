"""The sidecar's own refusals: one flat tree, each class carrying its gRPC status.

Only decisions the sidecar makes become these errors. An upstream's status is passed through
untouched and never wrapped here.
"""

from __future__ import annotations

import grpc


class SidecarError(Exception):
    """A call the sidecar refused; `reason` is safe to show the caller."""

    code: grpc.StatusCode = grpc.StatusCode.INTERNAL

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class NoRoute(SidecarError):
    """The outbound route table has no entry for the called service."""

    code = grpc.StatusCode.UNIMPLEMENTED


class PeerUnauthenticated(SidecarError):
    """The calling peer has no acceptable mesh identity."""

    code = grpc.StatusCode.UNAUTHENTICATED


class InvalidCall(SidecarError):
    """The call itself is malformed (for example a method path that is not /pkg.Svc/M)."""

    code = grpc.StatusCode.INVALID_ARGUMENT


class Denied(SidecarError):
    """The access policy refuses the call (at the consumer's egress or the provider)."""

    code = grpc.StatusCode.PERMISSION_DENIED


class RateLimited(SidecarError):
    """The provider's policy allows the call, but not this often."""

    code = grpc.StatusCode.RESOURCE_EXHAUSTED


class Untranslatable(SidecarError):
    """A message cannot be translated: the reason names the field, the mapping and its version."""

    code = grpc.StatusCode.INVALID_ARGUMENT


class AuditUnavailable(SidecarError):
    """The audit log cannot be written, so nothing is served unaudited."""

    code = grpc.StatusCode.UNAVAILABLE


class NotReady(SidecarError):
    """The sidecar has no valid config or certificates, so it denies everything."""

    code = grpc.StatusCode.UNAVAILABLE


class ConfigError(Exception):
    """The sidecar's own configuration is unusable; it refuses to start. Lists every problem."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems

"""meshctl's connection to the control plane: credentials from the meshconfig file, mTLS
pinned to the control plane's identity, and errors turned into `error: …` lines."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import grpc
import yaml
from google.protobuf import json_format
from google.rpc import error_details_pb2, status_pb2

from certs.spiffe_id import dns_name_for
from mesh.v1 import audit_service_pb2_grpc as audit_grpc
from mesh.v1 import control_plane_config_pb2 as cfg
from mesh.v1 import control_plane_pb2_grpc as api_grpc
from mesh.v1 import revocation_pb2_grpc as revocation_grpc

DEFAULT_MESHCONFIG = Path.home() / ".tsunagi" / "meshconfig"
TIMEOUT_S = 30.0


class ClientError(Exception):
    """A problem to print as `error: …` lines; exit 1."""

    def __init__(self, lines: list[str]) -> None:
        super().__init__("\n".join(lines))
        self.lines = lines


def load_context(path: Path | None, name: str | None) -> tuple[cfg.MeshctlContext, Path]:
    path = path or Path(os.environ.get("MESHCONFIG", DEFAULT_MESHCONFIG))
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        config = json_format.ParseDict(doc, cfg.MeshctlConfig(), ignore_unknown_fields=False)
    except (OSError, yaml.YAMLError, json_format.ParseError, TypeError) as exc:
        raise ClientError([f"meshconfig {path}: {exc}"]) from None
    wanted = name or config.current_context
    for context in config.contexts:
        if context.name == wanted:
            return context, path.parent
    raise ClientError([f"meshconfig {path}: no context {wanted!r}"])


@dataclass
class Connection:
    channel: grpc.Channel
    config: api_grpc.ConfigServiceStub
    status: api_grpc.StatusServiceStub
    ca: api_grpc.CertificateAuthorityStub
    revocation: revocation_grpc.RevocationServiceStub
    audit: audit_grpc.AuditServiceStub

    def close(self) -> None:
        self.channel.close()


def connect(meshconfig: Path | None, context_name: str | None) -> Connection:
    context, base = load_context(meshconfig, context_name)
    try:
        credentials = grpc.ssl_channel_credentials(
            root_certificates=(base / context.bundle_file).read_bytes(),
            private_key=(base / context.key_file).read_bytes(),
            certificate_chain=(base / context.cert_file).read_bytes(),
        )
    except OSError as exc:
        raise ClientError([f"context {context.name}: {exc}"]) from None
    channel = grpc.secure_channel(context.server, credentials, options=[
        ("grpc.ssl_target_name_override", dns_name_for(context.server_identity)),
        ("grpc.max_receive_message_length", 64 * 1024 * 1024),
    ])
    return Connection(channel, api_grpc.ConfigServiceStub(channel),
                      api_grpc.StatusServiceStub(channel), api_grpc.CertificateAuthorityStub(channel),
                      revocation_grpc.RevocationServiceStub(channel), audit_grpc.AuditServiceStub(channel))


def error_lines(err: grpc.RpcError) -> list[str]:
    """Field violations one per line when the server sent them, else the status message."""
    trailers = dict(err.trailing_metadata() or ())  # type: ignore[attr-defined]
    raw = trailers.get("grpc-status-details-bin")
    if raw:
        status = status_pb2.Status.FromString(raw)
        lines = []
        for detail in status.details:
            bad = error_details_pb2.BadRequest()
            if detail.Unpack(bad):
                lines += [f"{v.field}: {v.description}" for v in bad.field_violations]
        if lines:
            return lines
    code = err.code()  # type: ignore[attr-defined]
    return [f"{code.name if code else 'UNKNOWN'}: {err.details()}"]  # type: ignore[attr-defined]

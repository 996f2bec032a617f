"""Sidecar settings: the --config YAML parsed strictly into a SidecarConfig, then checked."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml
from google.protobuf import json_format

from mesh.addresses import is_host_port, is_local_address
from mesh.v1 import sidecar_config_pb2 as pb
from sidecar.errors import ConfigError

DEFAULT_MAX_MESSAGE_BYTES = 4 * 1024 * 1024
DEFAULT_DRAIN_SECONDS = 5.0
DEFAULT_MAX_CONNECTION_AGE_SECONDS = 600.0
# AuditConfig.batchLinger and .syncInterval (proto/mesh/v1/sidecar_config.proto).
DEFAULT_AUDIT_BATCH_LINGER_SECONDS = 0.1
MAX_AUDIT_BATCH_LINGER_SECONDS = 1.0
DEFAULT_AUDIT_SYNC_INTERVAL_SECONDS = 0.5
MAX_AUDIT_SYNC_INTERVAL_SECONDS = 10.0


@dataclass(frozen=True, slots=True)
class EtcdSettings:
    """Where the signed config is read from, and the read-only client identity to read it."""

    endpoints: tuple[str, ...]
    cert_file: Path
    key_file: Path
    ca_file: Path


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything the sidecar needs to start, resolved and validated."""

    config: pb.SidecarConfig
    spiffe_id: str
    cert_file: Path
    key_file: Path
    bundle_file: Path
    outbound: str | None
    inbound: str | None
    upstream: str | None
    admin: str
    max_message_bytes: int
    drain_seconds: float
    max_connection_age_seconds: float
    # With etcd the routes come from the signed config; without, from `config.routes`.
    etcd: EtcdSettings | None = None
    state_dir: Path | None = None
    # The control plane's API (status reports, certificate renewal) and its pinned identity.
    control_plane: str | None = None
    control_plane_id: str = ""
    # First certificate with a one-time token, when cert_file does not exist yet.
    join_address: str | None = None
    join_token_file: Path | None = None
    # Health-only listener for kubelet probes (may be off loopback: it says SERVING or not).
    health: str | None = None
    # The audit log's directory, checkpoint cadence and write batching (None: no audit log).
    audit_dir: Path | None = None
    audit_checkpoint_every: int = 1000
    audit_checkpoint_seconds: float = 10.0
    audit_batch_linger_seconds: float = DEFAULT_AUDIT_BATCH_LINGER_SECONDS
    audit_sync_interval_seconds: float = DEFAULT_AUDIT_SYNC_INTERVAL_SECONDS


def parse_config(text: str) -> pb.SidecarConfig:
    """Parse YAML strictly: an unknown field is an error."""
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError([f"config is not valid YAML: {exc}"]) from None
    if not isinstance(doc, dict):
        raise ConfigError(["config must be a YAML mapping"])
    try:
        return json_format.ParseDict(doc, pb.SidecarConfig(), ignore_unknown_fields=False)
    except json_format.ParseError as exc:
        raise ConfigError([str(exc)]) from None


def _seconds(duration: object, default: float) -> float:
    seconds = duration.ToTimedelta().total_seconds()  # type: ignore[attr-defined]
    return seconds if seconds > 0 else default


def to_settings(config: pb.SidecarConfig, base: Path = Path(".")) -> Settings:
    """Check a parsed config and resolve it; every problem is reported with its field path."""
    problems: list[str] = []
    ident = config.identity
    for field in ("spiffe_id", "cert_file", "key_file", "bundle_file"):
        if not getattr(ident, field):
            problems.append(f"identity.{_camel(field)}: required")
    outbound = config.outbound.address if config.HasField("outbound") else None
    if outbound is not None and not is_local_address(outbound):
        problems.append(
            f"outbound.address: {outbound!r} is plaintext and must be loopback or unix:"
        )
    inbound = upstream = None
    if config.HasField("inbound"):
        inbound, upstream = config.inbound.address, config.inbound.upstream
        if not is_host_port(inbound):
            problems.append(f"inbound.address: {inbound!r} must be HOST:PORT")
        if not upstream:
            problems.append("inbound.upstream: required")
        elif not is_local_address(upstream):
            problems.append(
                f"inbound.upstream: {upstream!r} is plaintext and must be loopback or unix:"
            )
    if not config.admin.address:
        problems.append("admin.address: required")
    elif not is_local_address(config.admin.address):
        problems.append(f"admin.address: {config.admin.address!r} must be loopback or unix:")
    if outbound is None and inbound is None:
        problems.append("outbound, inbound: at least one listener is required")
    seen: set[str] = set()
    for i, route in enumerate(config.routes):
        where = f"routes[{i}]"
        if not route.service:
            problems.append(f"{where}.service: required")
        elif route.service in seen:
            problems.append(f"{where}.service: duplicate {route.service!r}")
        seen.add(route.service)
        if not is_host_port(route.endpoint):
            problems.append(f"{where}.endpoint: {route.endpoint!r} must be HOST:PORT")
        if not route.identity.startswith("spiffe://"):
            problems.append(f"{where}.identity: must be a SPIFFE ID")
    etcd = _etcd_settings(config, base, problems)
    if config.HasField("join"):
        if not is_host_port(config.join.address):
            problems.append(f"join.address: {config.join.address!r} must be HOST:PORT")
        if not config.join.token_file:
            problems.append("join.tokenFile: required")
    if config.HasField("audit") and not config.audit.directory:
        problems.append("audit.directory: required")
    linger = _seconds(config.audit.batch_linger, DEFAULT_AUDIT_BATCH_LINGER_SECONDS)
    if linger > MAX_AUDIT_BATCH_LINGER_SECONDS:
        problems.append(f"audit.batchLinger: at most {MAX_AUDIT_BATCH_LINGER_SECONDS:g}s")
    sync_interval = (0.0 if config.audit.fsync_every_batch
                     else _seconds(config.audit.sync_interval, DEFAULT_AUDIT_SYNC_INTERVAL_SECONDS))
    if sync_interval > MAX_AUDIT_SYNC_INTERVAL_SECONDS:
        problems.append(f"audit.syncInterval: at most {MAX_AUDIT_SYNC_INTERVAL_SECONDS:g}s")
    if config.audit.fsync_every_batch and config.audit.HasField("sync_interval"):
        problems.append("audit.syncInterval: not with fsyncEveryBatch")
    if config.HasField("health") and not is_host_port(config.health.address):
        problems.append(f"health.address: {config.health.address!r} must be HOST:PORT")
    max_age = _seconds(config.max_connection_age, DEFAULT_MAX_CONNECTION_AGE_SECONDS)
    if max_age < 1:
        problems.append("maxConnectionAge: must be at least 1s")
    if problems:
        raise ConfigError(problems)
    return Settings(
        config=config,
        spiffe_id=ident.spiffe_id,
        cert_file=base / ident.cert_file,
        key_file=base / ident.key_file,
        bundle_file=base / ident.bundle_file,
        outbound=outbound,
        inbound=inbound,
        upstream=upstream,
        admin=config.admin.address,
        max_message_bytes=config.max_message_bytes or DEFAULT_MAX_MESSAGE_BYTES,
        drain_seconds=_seconds(config.drain_timeout, DEFAULT_DRAIN_SECONDS),
        max_connection_age_seconds=max_age,
        etcd=etcd,
        state_dir=base / config.state_dir if config.state_dir else None,
        control_plane=config.control_plane.address or None,
        control_plane_id=config.control_plane.identity or _control_plane_id(ident.spiffe_id),
        join_address=config.join.address or None,
        join_token_file=base / config.join.token_file if config.join.token_file else None,
        health=config.health.address or None,
        audit_dir=base / config.audit.directory if config.audit.directory else None,
        audit_checkpoint_every=config.audit.checkpoint_every or 1000,
        audit_checkpoint_seconds=_seconds(config.audit.checkpoint_interval, 10.0),
        audit_batch_linger_seconds=linger,
        audit_sync_interval_seconds=sync_interval,
    )


def _control_plane_id(spiffe_id: str) -> str:
    """spiffe://<our trust domain>/mesh/control-plane."""
    rest = spiffe_id.removeprefix("spiffe://")
    return f"spiffe://{rest.split('/', 1)[0]}/mesh/control-plane"


def _etcd_settings(config: pb.SidecarConfig, base: Path, problems: list[str]) -> EtcdSettings | None:
    """Check the etcd source (appending to `problems`); None when routes are static."""
    if config.control_plane.address and not is_host_port(config.control_plane.address):
        problems.append(f"controlPlane.address: {config.control_plane.address!r} must be HOST:PORT")
    if not config.HasField("etcd"):
        return None
    etcd = config.etcd
    if not etcd.endpoints:
        problems.append("etcd.endpoints: at least one is required")
    for i, endpoint in enumerate(etcd.endpoints):
        rest = endpoint.removeprefix("https://")
        if "/" in rest or not is_host_port(rest):
            problems.append(f"etcd.endpoints[{i}]: {endpoint!r} must be HOST:PORT (TLS only)")
    for field in ("cert_file", "key_file", "ca_file"):
        if not getattr(etcd, field):
            problems.append(f"etcd.{_camel(field)}: required")
    if not config.state_dir:
        problems.append("stateDir: required with etcd (the last-known-good config lives there)")
    if config.routes:
        problems.append("routes: must be empty with etcd (routes come from the signed config)")
    return EtcdSettings(
        endpoints=tuple(etcd.endpoints),
        cert_file=base / etcd.cert_file,
        key_file=base / etcd.key_file,
        ca_file=base / etcd.ca_file,
    )


def load_settings(path: Path) -> Settings:
    """Read, parse and check the config file; relative paths resolve against its folder."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError([f"cannot read {path}: {exc.strerror}"]) from None
    return to_settings(parse_config(text), base=path.parent)


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)

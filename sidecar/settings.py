"""Sidecar settings: the --config YAML parsed strictly into a SidecarConfig, then checked."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from pathlib import Path

import yaml
from google.protobuf import json_format

from mesh.v1 import sidecar_config_pb2 as pb
from sidecar.errors import ConfigError

DEFAULT_MAX_MESSAGE_BYTES = 4 * 1024 * 1024
DEFAULT_DRAIN_SECONDS = 5.0
DEFAULT_MAX_CONNECTION_AGE_SECONDS = 600.0


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


def is_local_address(address: str) -> bool:
    """True for a Unix socket or a loopback HOST:PORT, the only places plaintext may listen."""
    if address.startswith("unix:"):
        return len(address) > len("unix:")
    host, sep, port = address.rpartition(":")
    if not sep or not port.isdigit():
        return False
    host = host.strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def is_host_port(address: str) -> bool:
    """True for HOST:PORT with a numeric port."""
    host, sep, port = address.rpartition(":")
    return bool(sep and host and port.isdigit() and 0 <= int(port) <= 65535)


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

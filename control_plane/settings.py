"""Control-plane settings: the --config YAML parsed strictly, files loaded, problems listed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import yaml
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from google.protobuf import json_format

from certs.bundle import check_key_file_mode
from certs.ca import Issued
from control_plane.authz import ROLES, Binding
from mesh.addresses import is_host_port, is_local_address
from mesh.signing import SIGNER_PATH, Signer
from mesh.v1 import control_plane_config_pb2 as pb

CONTROL_PLANE_PATH = "/mesh/control-plane"


class SettingsError(Exception):
    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass(frozen=True, slots=True)
class Settings:
    config: pb.ControlPlaneConfig
    trust_domain: str
    serving_chain_pem: bytes
    serving_key_pem: bytes
    bundle_pem: bytes
    roots: list[x509.Certificate]
    issuer: Issued
    signer: Signer
    signer_chain_pem: bytes
    etcd_endpoints: list[str]
    etcd_ca_pem: bytes
    etcd_cert_pem: bytes
    etcd_key_pem: bytes
    bindings: list[Binding]
    workload_ttl: timedelta
    status_ttl_seconds: int


def _read(base: Path, name: str, field: str, problems: list[str], secret: bool = False) -> bytes:
    if not name:
        problems.append(f"{field}: required")
        return b""
    path = base / name
    try:
        if secret:
            check_key_file_mode(path)
        return path.read_bytes()
    except (OSError, ValueError) as exc:
        problems.append(f"{field}: {exc}")
        return b""


def load_settings(path: Path) -> Settings:
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        config = json_format.ParseDict(doc, pb.ControlPlaneConfig(), ignore_unknown_fields=False)
    except (OSError, yaml.YAMLError, json_format.ParseError, TypeError) as exc:
        raise SettingsError([f"{path}: {exc}"]) from None
    base = path.parent
    problems: list[str] = []
    if not config.trust_domain:
        problems.append("trustDomain: required")
    if not config.listen:
        problems.append("listen: required")
    if not config.admin:
        problems.append("admin: required")
    elif not is_local_address(config.admin):
        problems.append(f"admin: {config.admin!r} is plaintext and must be loopback or unix:")
    if config.health and not is_host_port(config.health):
        problems.append(f"health: {config.health!r} must be HOST:PORT")
    chain = _read(base, config.identity.cert_file, "identity.certFile", problems)
    key = _read(base, config.identity.key_file, "identity.keyFile", problems, secret=True)
    bundle = _read(base, config.identity.bundle_file, "identity.bundleFile", problems)
    ca_cert = _read(base, config.ca.cert_file, "ca.certFile", problems)
    ca_key = _read(base, config.ca.key_file, "ca.keyFile", problems, secret=True)
    signer_chain = _read(base, config.signer.cert_file, "signer.certFile", problems)
    signer_key = _read(base, config.signer.key_file, "signer.keyFile", problems, secret=True)
    etcd_ca = _read(base, config.etcd.ca_file, "etcd.caFile", problems)
    etcd_cert = _read(base, config.etcd.cert_file, "etcd.certFile", problems)
    etcd_key = _read(base, config.etcd.key_file, "etcd.keyFile", problems, secret=True)
    if not config.etcd.endpoints:
        problems.append("etcd.endpoints: at least one")
    bindings = []
    for i, b in enumerate(config.operators):
        if b.role not in ROLES:
            problems.append(f"operators[{i}].role: one of {', '.join(ROLES)}")
        elif (b.role == "org-admin") != bool(b.org):
            problems.append(f"operators[{i}].org: required for org-admin and only for it")
        else:
            bindings.append(Binding(b.identity, b.role, b.org))  # type: ignore[arg-type]
    ttl = config.workload_ttl.ToTimedelta() if config.HasField("workload_ttl") else timedelta(hours=24)
    if not timedelta(seconds=10) <= ttl <= timedelta(hours=720):
        problems.append("workloadTtl: between 10s and 720h")
    status_ttl = int(config.status_ttl.ToTimedelta().total_seconds()) if config.HasField("status_ttl") else 30
    if problems:
        raise SettingsError(problems)
    try:
        issuer_cert = x509.load_pem_x509_certificates(ca_cert)
        issuer = Issued(cert=issuer_cert[0], key=_ec_key(ca_key), chain=tuple(issuer_cert[1:]))
        signer_certs = x509.load_pem_x509_certificates(signer_chain)
        signer = Signer(private_key=_ec_key(signer_key), certificate=signer_certs[0])
        roots = x509.load_pem_x509_certificates(bundle)
    except ValueError as exc:
        raise SettingsError([f"certificates: {exc}"]) from None
    expected = f"spiffe://{config.trust_domain}{SIGNER_PATH}"
    uris = signer_certs[0].extensions.get_extension_for_class(x509.SubjectAlternativeName).value \
        .get_values_for_type(x509.UniformResourceIdentifier)
    if uris != [expected]:
        raise SettingsError([f"signer.certFile: must carry exactly the URI SAN {expected}"])
    return Settings(config, config.trust_domain, chain, key, bundle, roots, issuer, signer,
                    signer_chain, list(config.etcd.endpoints), etcd_ca, etcd_cert, etcd_key,
                    bindings, ttl, status_ttl)


def _ec_key(pem: bytes) -> ec.EllipticCurvePrivateKey:
    key = serialization.load_pem_private_key(pem, password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise ValueError("expected an EC private key")
    return key

"""`meshctl ca ...`: create the mesh CA, issue workload identities, inspect certificates.

The commands work on local files only; they are for bootstrapping and offline checks,
while running sidecars get their certificates from the control plane's CA.
"""

from __future__ import annotations

import argparse
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

from cryptography import x509

from certs.bundle import load_bundle, load_issued, write_bundle, write_identity
from certs.ca import LEAF_LIFETIME, create_intermediate, create_root, issue_workload
from certs.duration import format_duration, parse_duration
from certs.spiffe_id import InvalidSpiffeId, parse_spiffe_id, parse_trust_domain

DEFAULT_TRUST_DOMAIN = "tsunagi.mesh"
ROOT = "root"
INTERMEDIATE = "intermediate"
BUNDLE = "bundle.pem"


def add_commands(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add `ca init|issue|inspect` to a parser's subparsers; each sets `func` to its
    handler, which takes the parsed args and returns the exit code."""
    ca = subparsers.add_parser("ca", help="manage the mesh certificate authority")
    commands = ca.add_subparsers(dest="ca_command", metavar="COMMAND", required=True)

    init = commands.add_parser("init", help="create the root and intermediate CA and the trust bundle")
    init.add_argument("--dir", required=True, type=Path, help="directory for the CA files")
    init.add_argument(
        "--trust-domain", default=DEFAULT_TRUST_DOMAIN, type=_trust_domain_arg,
        help=f"SPIFFE trust domain (default {DEFAULT_TRUST_DOMAIN})",
    )
    init.set_defaults(func=run_init)

    issue = commands.add_parser("issue", help="issue a workload certificate from the intermediate")
    issue.add_argument("--dir", required=True, type=Path, help="CA directory made by `ca init`")
    issue.add_argument("--spiffe-id", required=True, help="spiffe://<td>/org/<org>/sys/<system>")
    issue.add_argument("--out", required=True, type=Path, help="directory for <name>.crt, <name>.key, bundle.pem")
    issue.add_argument("--name", default="workload", help="file name stem (default workload)")
    issue.add_argument(
        "--ttl", default=LEAF_LIFETIME, type=_duration_arg,
        help=f"lifetime such as 24h, 30m, 90s (default {format_duration(LEAF_LIFETIME)})",
    )
    issue.set_defaults(func=run_issue)

    inspect = commands.add_parser("inspect", help="show the certificates in a PEM file")
    inspect.add_argument("file", type=Path, help="PEM file")
    inspect.set_defaults(func=run_inspect)


def run_init(args: argparse.Namespace) -> int:
    """`ca init`: root (its key is meant to go offline), intermediate, bundle."""
    directory: Path = args.dir
    for stem in (ROOT, INTERMEDIATE):
        if (directory / f"{stem}.key").exists():
            return _fail(f"{directory / f'{stem}.key'} already exists; refusing to replace a CA")
    root = create_root(trust_domain=args.trust_domain)
    intermediate = create_intermediate(root)
    root_cert, root_key = write_identity(directory, ROOT, root)
    intermediate_cert, _ = write_identity(directory, INTERMEDIATE, intermediate)
    bundle = write_bundle(directory / BUNDLE, [root.cert])
    print(f"trust domain: {args.trust_domain}")
    print(f"root CA: {root_cert} (key {root_key}: keep it offline)")
    print(f"intermediate CA: {intermediate_cert}")
    print(f"trust bundle: {bundle}")
    return 0


def run_issue(args: argparse.Namespace) -> int:
    """`ca issue`: a workload identity plus a copy of the trust bundle in --out."""
    directory: Path = args.dir
    try:
        intermediate = load_issued(directory / f"{INTERMEDIATE}.crt", directory / f"{INTERMEDIATE}.key")
        roots = load_bundle(directory / BUNDLE)
    except (OSError, ValueError) as err:
        return _fail(f"cannot load the CA from {directory}: {err}")
    try:
        issued = issue_workload(intermediate, args.spiffe_id, args.ttl)
        cert_path, key_path = write_identity(args.out, args.name, issued)
        bundle = write_bundle(Path(args.out) / BUNDLE, roots)
    except InvalidSpiffeId as err:
        return _fail(f"invalid SPIFFE ID: {err}")
    except (OSError, ValueError) as err:
        return _fail(str(err))
    print(f"issued {args.spiffe_id} until {_when(issued.cert.not_valid_after_utc)}")
    print(f"certificate: {cert_path}")
    print(f"key: {key_path}")
    print(f"trust bundle: {bundle}")
    return 0


def run_inspect(args: argparse.Namespace) -> int:
    """`ca inspect`: subject, issuer, SANs, validity, CA flag and SPIFFE ID of each cert."""
    try:
        certs = x509.load_pem_x509_certificates(Path(args.file).read_bytes())
    except (OSError, ValueError) as err:
        return _fail(f"cannot read certificates from {args.file}: {err}")
    for index, cert in enumerate(certs, start=1):
        try:
            lines = _describe(cert)
        except ValueError as err:  # malformed extensions are parsed lazily
            return _fail(f"certificate {index} in {args.file} is malformed: {err}")
        if len(certs) > 1:
            print(f"certificate {index} of {len(certs)}")
        for label, value in lines:
            print(f"  {label + ':':<12}{value}")
    return 0


def _describe(cert: x509.Certificate) -> list[tuple[str, str]]:
    return [
        ("subject", cert.subject.rfc4514_string() or "(empty)"),
        ("issuer", cert.issuer.rfc4514_string() or "(empty)"),
        ("serial", f"{cert.serial_number:x}"),
        ("not before", _when(cert.not_valid_before_utc)),
        ("not after", _when(cert.not_valid_after_utc)),
        ("CA", _ca_flag(cert)),
        ("SANs", ", ".join(_sans(cert)) or "(none)"),
        ("SPIFFE ID", _spiffe(cert)),
    ]


def _ca_flag(cert: x509.Certificate) -> str:
    try:
        constraints = cert.extensions.get_extension_for_class(x509.BasicConstraints).value
    except x509.ExtensionNotFound:
        return "no (no basic constraints)"
    if not constraints.ca:
        return "no"
    return "yes" if constraints.path_length is None else f"yes (pathLen {constraints.path_length})"


def _sans(cert: x509.Certificate) -> list[str]:
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return []
    return (
        [f"URI:{uri}" for uri in san.get_values_for_type(x509.UniformResourceIdentifier)]
        + [f"DNS:{name}" for name in san.get_values_for_type(x509.DNSName)]
        + [f"IP:{ip}" for ip in san.get_values_for_type(x509.IPAddress)]
    )


def _spiffe(cert: x509.Certificate) -> str:
    uris = [entry.removeprefix("URI:") for entry in _sans(cert) if entry.startswith("URI:")]
    if not uris:
        return "(none)"
    if len(uris) > 1:
        return "(invalid: more than one URI SAN)"
    try:
        return str(parse_spiffe_id(uris[0]))
    except InvalidSpiffeId as err:
        return f"(invalid: {err})"


def _trust_domain_arg(value: str) -> str:
    try:
        return parse_trust_domain(value)
    except InvalidSpiffeId as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def _duration_arg(value: str) -> timedelta:
    try:
        return parse_duration(value)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def _when(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return 1

"""A mesh PKI for tests and a factory of client identities an inbound sidecar must refuse."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from certs.ca import (
    LEAF_LIFETIME,
    Issued,
    _sign_leaf,
    create_intermediate,
    create_root,
    issue_workload,
)
from certs.spiffe_id import dns_name_for, parse_spiffe_id

# Cases that TLS chain verification refuses (no certificate, or not issued by the mesh CA).
# Every other case is issued by the real mesh intermediate, so only the identity check
# (certs.verify.identity_from_certificate) can refuse it.
CHAIN_CASES = frozenset({"no client certificate", "self-signed", "foreign CA"})


@dataclass(frozen=True, slots=True)
class MeshPKI:
    """A root, the intermediate that issues workload certificates, and the trust bundle."""

    root: Issued
    intermediate: Issued
    trust_domain: str
    bundle_pem: bytes

    def issue(self, spiffe_id: str, lifetime: timedelta = LEAF_LIFETIME) -> Issued:
        """A good workload identity from this PKI's intermediate."""
        return issue_workload(self.intermediate, spiffe_id, lifetime)


def make_pki(trust_domain: str = "tsunagi.test") -> MeshPKI:
    """A fresh root + intermediate for `trust_domain` (both carry `spiffe://<td>`)."""
    root = create_root(trust_domain=trust_domain)
    intermediate = create_intermediate(root)
    return MeshPKI(root=root, intermediate=intermediate, trust_domain=trust_domain, bundle_pem=root.cert_pem())


def bad_client_identities(pki: MeshPKI, good_id: str) -> list[tuple[str, Issued | None]]:
    """Named client identities an inbound sidecar expecting `good_id` must refuse.

    "mesh CA, wrong SPIFFE ID for the route" is not here: issue it with pki.issue().
    """
    sid = parse_spiffe_id(good_id)
    if sid.trust_domain != pki.trust_domain or not sid.path:
        raise ValueError(f"good_id must be a workload ID in {pki.trust_domain}")
    now = datetime.now(timezone.utc)
    pin = x509.DNSName(dns_name_for(good_id))
    path = sid.path
    other_id = f"spiffe://{pki.trust_domain}/org/000000/sys/other"
    last_segment = path.rsplit("/", 1)[1]

    def leaf(
        uris: list[str],
        *,
        not_before: datetime = now - timedelta(minutes=5),
        not_after: datetime = now + timedelta(hours=1),
        ca: bool = False,
        key_cert_sign: bool = False,
    ) -> Issued:
        """Signed by the real mesh intermediate, URI SANs exactly as given, plus the pin."""
        sans: list[x509.GeneralName] = [x509.UniformResourceIdentifier(uri) for uri in uris]
        return _sign_leaf(
            pki.intermediate, sans=[*sans, pin], not_before=not_before, not_after=not_after,
            ca=ca, key_cert_sign=key_cert_sign,
        )

    return [
        ("no client certificate", None),
        ("self-signed", _self_signed(good_id, now)),
        ("foreign CA", make_pki(pki.trust_domain).issue(good_id)),
        ("two URI SANs", leaf([good_id, other_id])),
        ("DNS-only SAN", leaf([])),
        ("expired", leaf([good_id], not_before=now - timedelta(days=2), not_after=now - timedelta(days=1))),
        ("not yet valid", leaf([good_id], not_before=now + timedelta(days=1), not_after=now + timedelta(days=2))),
        ("leaf with CA=true", leaf([good_id], ca=True)),
        ("leaf with keyCertSign", leaf([good_id], key_cert_sign=True)),
        # Normalises back to good_id: a checker that resolves dot segments would accept it.
        ("SPIFFE ID with ..", leaf([f"{good_id}/../{last_segment}"])),
        ("trailing slash", leaf([f"{good_id}/"])),
        ("port", leaf([f"spiffe://{pki.trust_domain}:443{path}"])),
        ("query", leaf([f"{good_id}?org=other"])),
        ("foreign trust domain", leaf([f"spiffe://foreign.example{path}"])),
        ("upper-case trust domain", leaf([f"spiffe://{pki.trust_domain.upper()}{path}"])),
    ]


def _self_signed(spiffe_id: str, now: datetime) -> Issued:
    """A well-formed workload certificate for `spiffe_id` that signs itself."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "self-signed workload")])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(hours=1))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True, content_commitment=False, key_encipherment=False,
                data_encipherment=False, key_agreement=True, key_cert_sign=False, crl_sign=False,
                encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False
        )
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.UniformResourceIdentifier(spiffe_id), x509.DNSName(dns_name_for(spiffe_id))]
            ),
            critical=False,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return Issued(cert=cert, key=key, chain=())

"""Certificate authority: the root, the intermediate, and every certificate they issue
(SPIFFE workload certificates, CSR signing, and plain TLS certificates for etcd)."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from certs.spiffe_id import InvalidSpiffeId, dns_name_for, parse_spiffe_id, parse_trust_domain

ROOT_LIFETIME = timedelta(days=3650)
INTERMEDIATE_LIFETIME = timedelta(days=365)
LEAF_LIFETIME = timedelta(hours=24)
TLS_LIFETIME = timedelta(days=365)
# notBefore is backdated by this much so peers with a slightly slow clock accept new certs.
CLOCK_SKEW = timedelta(minutes=5)
ORGANIZATION = "Tsunagi"

_CURVE = ec.SECP256R1
_HASH = hashes.SHA256


@dataclass(frozen=True, slots=True)
class Issued:
    """A certificate, its private key (None when the key never left its owner, as with a
    CSR) and the chain to send after it, up to but excluding the root."""

    cert: x509.Certificate
    key: ec.EllipticCurvePrivateKey | None
    chain: tuple[x509.Certificate, ...] = ()

    def cert_pem(self) -> bytes:
        """The certificate alone, PEM."""
        return self.cert.public_bytes(serialization.Encoding.PEM)

    def key_pem(self) -> bytes:
        """The private key as unencrypted PKCS#8 PEM."""
        if self.key is None:
            raise ValueError("this certificate was issued without its private key")
        return self.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )

    def chain_pem(self) -> bytes:
        """The certificate followed by its chain, PEM: what a TLS endpoint presents."""
        return b"".join(c.public_bytes(serialization.Encoding.PEM) for c in (self.cert, *self.chain))


class InvalidCsr(ValueError):
    """A certificate signing request that cannot be signed (bad signature or key type)."""


def create_root(
    common_name: str = "Tsunagi Root CA",
    lifetime: timedelta = ROOT_LIFETIME,
    *,
    trust_domain: str | None = None,
    now: datetime | None = None,
) -> Issued:
    """A self-signed root CA (pathLen 1). With `trust_domain` it also carries the trust
    domain's SPIFFE ID (`spiffe://<td>`) as its URI SAN, as the X509-SVID spec suggests."""
    now = _utc(now)
    key = ec.generate_private_key(_CURVE())
    subject = _ca_name(common_name)
    builder = _ca_builder(subject, subject, key.public_key(), now - CLOCK_SKEW, now + lifetime, 1, trust_domain)
    builder = builder.add_extension(
        x509.AuthorityKeyIdentifier.from_issuer_public_key(key.public_key()), critical=False
    )
    return Issued(cert=builder.sign(key, _HASH()), key=key, chain=())


def create_intermediate(
    root: Issued,
    common_name: str = "Tsunagi Intermediate CA",
    lifetime: timedelta = INTERMEDIATE_LIFETIME,
    *,
    trust_domain: str | None = None,
    now: datetime | None = None,
) -> Issued:
    """An intermediate CA signed by `root` (pathLen 0: it signs only leaves). It inherits
    the root's trust domain unless given one."""
    issuer_key = _signing_key(root)
    now = _utc(now)
    trust_domain = trust_domain or trust_domain_of(root.cert)
    key = ec.generate_private_key(_CURVE())
    not_before, not_after = _window(root, now, lifetime)
    builder = _ca_builder(
        _ca_name(common_name), root.cert.subject, key.public_key(), not_before, not_after, 0, trust_domain
    )
    builder = builder.add_extension(_aki(root.cert), critical=False)
    return Issued(cert=builder.sign(issuer_key, _HASH()), key=key, chain=_chain_below(root))


def issue_workload(
    issuer: Issued,
    spiffe_id: str,
    lifetime: timedelta = LEAF_LIFETIME,
    public_key: ec.EllipticCurvePublicKey | None = None,
    now: datetime | None = None,
) -> Issued:
    """A workload X509-SVID: one URI SAN (the SPIFFE ID) plus one DNS SAN
    (dns_name_for(ID)), not a CA, ECDSA P-256, serverAuth+clientAuth.

    A key pair is generated unless `public_key` is given (then `key` is None). notAfter is
    `now + lifetime` but never past the issuer's own notAfter.
    """
    sid = parse_spiffe_id(spiffe_id)
    if not sid.path:
        raise InvalidSpiffeId("a workload certificate needs a SPIFFE ID with a path")
    issuer_domain = trust_domain_of(issuer.cert)
    if issuer_domain is not None and sid.trust_domain != issuer_domain:
        raise InvalidSpiffeId(
            f"trust domain '{sid.trust_domain}' is not the issuer's trust domain '{issuer_domain}'"
        )
    not_before, not_after = _window(issuer, _utc(now), lifetime)
    sans = [x509.UniformResourceIdentifier(str(sid)), x509.DNSName(dns_name_for(str(sid)))]
    return _sign_leaf(issuer, sans=sans, not_before=not_before, not_after=not_after, public_key=public_key)


def sign_csr(
    issuer: Issued,
    csr: x509.CertificateSigningRequest,
    spiffe_id: str,
    lifetime: timedelta = LEAF_LIFETIME,
    now: datetime | None = None,
) -> Issued:
    """A workload certificate for `spiffe_id` on the CSR's public key. Only the key is taken
    from the CSR: its subject, SANs and extensions are ignored, so a caller cannot ask for
    an identity. The CSR must be self-consistently signed and carry a P-256 key."""
    if not csr.is_signature_valid:
        raise InvalidCsr("CSR signature does not verify")
    public_key = csr.public_key()
    if not isinstance(public_key, ec.EllipticCurvePublicKey) or not isinstance(public_key.curve, _CURVE):
        raise InvalidCsr("CSR key must be ECDSA P-256")
    return issue_workload(issuer, spiffe_id, lifetime, public_key=public_key, now=now)


def issue_server(
    issuer: Issued,
    common_name: str,
    dns_names: list[str],
    ip_addresses: list[str],
    lifetime: timedelta = TLS_LIFETIME,
    now: datetime | None = None,
) -> Issued:
    """A plain TLS server certificate (etcd members): DNS and IP SANs, serverAuth and
    clientAuth (etcd peers dial each other with their server certificate)."""
    if not dns_names and not ip_addresses:
        raise ValueError("a server certificate needs at least one DNS name or IP address")
    sans: list[x509.GeneralName] = [x509.DNSName(name) for name in dns_names]
    sans += [x509.IPAddress(ipaddress.ip_address(ip)) for ip in ip_addresses]
    not_before, not_after = _window(issuer, _utc(now), lifetime)
    return _sign_leaf(
        issuer,
        subject=_leaf_name(common_name),
        sans=sans,
        not_before=not_before,
        not_after=not_after,
        usages=(ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH),
    )


def issue_client(
    issuer: Issued,
    common_name: str,
    lifetime: timedelta = TLS_LIFETIME,
    now: datetime | None = None,
) -> Issued:
    """A plain TLS client certificate whose CN is the etcd user name; clientAuth only."""
    not_before, not_after = _window(issuer, _utc(now), lifetime)
    return _sign_leaf(
        issuer,
        subject=_leaf_name(common_name),
        sans=[],
        not_before=not_before,
        not_after=not_after,
        usages=(ExtendedKeyUsageOID.CLIENT_AUTH,),
    )


def trust_domain_of(cert: x509.Certificate) -> str | None:
    """The trust domain named by a certificate's single SPIFFE URI SAN, if it has one."""
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return None
    uris = san.get_values_for_type(x509.UniformResourceIdentifier)
    if len(uris) != 1:
        return None
    try:
        return parse_spiffe_id(uris[0]).trust_domain
    except InvalidSpiffeId:
        return None


def is_self_signed(cert: x509.Certificate) -> bool:
    """True when `cert` names itself as issuer and its signature verifies under its own key."""
    if cert.issuer != cert.subject:
        return False
    try:
        cert.verify_directly_issued_by(cert)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def _sign_leaf(
    issuer: Issued,
    *,
    sans: Sequence[x509.GeneralName],
    not_before: datetime,
    not_after: datetime,
    subject: x509.Name | None = None,
    public_key: ec.EllipticCurvePublicKey | None = None,
    usages: Sequence[x509.ObjectIdentifier] = (ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH),
    ca: bool = False,
    key_cert_sign: bool = False,
) -> Issued:
    """Sign a leaf exactly as told: no validation of the SANs or the window.

    Private on purpose. issue_workload/issue_server/issue_client are the checked entry
    points; tests use this one to build malformed certificates a peer must refuse.
    """
    issuer_key = _signing_key(issuer)
    key: ec.EllipticCurvePrivateKey | None = None
    if public_key is None:
        key = ec.generate_private_key(_CURVE())
        public_key = key.public_key()
    elif not isinstance(public_key, ec.EllipticCurvePublicKey) or not isinstance(public_key.curve, _CURVE):
        raise ValueError("leaf keys must be ECDSA P-256")
    subject = subject if subject is not None else x509.Name([])
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer.cert.subject)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=True,
                key_cert_sign=key_cert_sign,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage(list(usages)), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .add_extension(_aki(issuer.cert), critical=False)
    )
    if sans:
        # RFC 5280 4.1.2.6: with an empty subject the SAN extension must be critical.
        builder = builder.add_extension(x509.SubjectAlternativeName(list(sans)), critical=len(subject) == 0)
    cert = builder.sign(issuer_key, _HASH())
    return Issued(cert=cert, key=key, chain=_chain_below(issuer))


def _ca_builder(
    subject: x509.Name,
    issuer_name: x509.Name,
    public_key: ec.EllipticCurvePublicKey,
    not_before: datetime,
    not_after: datetime,
    path_length: int,
    trust_domain: str | None,
) -> x509.CertificateBuilder:
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer_name)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=True, path_length=path_length), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
    )
    if trust_domain is not None:
        uri = f"spiffe://{parse_trust_domain(trust_domain)}"
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.UniformResourceIdentifier(uri)]), critical=False
        )
    return builder


def _window(issuer: Issued, now: datetime, lifetime: timedelta) -> tuple[datetime, datetime]:
    """Backdated notBefore and capped notAfter, both inside the issuer's own validity."""
    if lifetime <= timedelta(0):
        raise ValueError("lifetime must be positive")
    not_before = max(now - CLOCK_SKEW, issuer.cert.not_valid_before_utc)
    not_after = min(now + lifetime, issuer.cert.not_valid_after_utc)
    if not_after <= now:
        raise ValueError("the issuing CA has expired")
    return not_before, not_after


def _signing_key(issuer: Issued) -> ec.EllipticCurvePrivateKey:
    if issuer.key is None:
        raise ValueError("the issuer has no private key")
    try:
        constraints = issuer.cert.extensions.get_extension_for_class(x509.BasicConstraints).value
    except x509.ExtensionNotFound:
        raise ValueError("the issuer is not a CA") from None
    if not constraints.ca:
        raise ValueError("the issuer is not a CA")
    return issuer.key


def _chain_below(issuer: Issued) -> tuple[x509.Certificate, ...]:
    """What a certificate issued by `issuer` sends after itself: nothing for a root."""
    if is_self_signed(issuer.cert):
        return ()
    return (issuer.cert, *issuer.chain)


def _aki(issuer_cert: x509.Certificate) -> x509.AuthorityKeyIdentifier:
    try:
        ski = issuer_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    except x509.ExtensionNotFound:
        return x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_cert.public_key())  # type: ignore[arg-type]
    return x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski)


def _ca_name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, ORGANIZATION),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _leaf_name(common_name: str) -> x509.Name:
    if not common_name:
        raise ValueError("common name is required")
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _utc(now: datetime | None) -> datetime:
    if now is None:
        return datetime.now(timezone.utc)
    if now.tzinfo is None:
        raise ValueError("`now` must be timezone-aware")
    return now.astimezone(timezone.utc)

"""Issuance: root, intermediate, workload X509-SVIDs, CSR signing and etcd TLS certs."""

from __future__ import annotations

import ipaddress
from datetime import datetime, timedelta, timezone

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from certs.ca import (
    InvalidCsr,
    Issued,
    create_intermediate,
    create_root,
    is_self_signed,
    issue_client,
    issue_server,
    issue_workload,
    sign_csr,
    trust_domain_of,
)
from certs.spiffe_id import InvalidSpiffeId, dns_name_for
from tests.support.badcerts import MeshPKI

GOOD_ID = "spiffe://tsunagi.test/org/131008/sys/kaigo"
NOW = datetime(2030, 4, 1, 12, 0, tzinfo=timezone.utc)


def _ext(cert: x509.Certificate, kind: type) -> x509.Extension:  # type: ignore[type-arg]
    return cert.extensions.get_extension_for_class(kind)


@pytest.fixture(scope="module")
def fixed_pki() -> MeshPKI:
    """A PKI created at NOW, so windows can be checked exactly."""
    root = create_root(trust_domain="tsunagi.test", now=NOW)
    intermediate = create_intermediate(root, now=NOW)
    return MeshPKI(root=root, intermediate=intermediate, trust_domain="tsunagi.test", bundle_pem=root.cert_pem())


def test_workload_cert_has_one_uri_san_and_the_pin_dns_san(good: Issued) -> None:
    """SANs are exactly the SPIFFE ID (URI) and dns_name_for(ID) (DNS), nothing else."""
    san = _ext(good.cert, x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.UniformResourceIdentifier) == [GOOD_ID]
    assert san.get_values_for_type(x509.DNSName) == [dns_name_for(GOOD_ID)]
    assert len(list(san)) == 2


def test_workload_cert_with_empty_subject_marks_san_critical(good: Issued) -> None:
    """The subject is empty, so the SAN extension is critical (RFC 5280 4.1.2.6)."""
    assert len(good.cert.subject) == 0
    assert _ext(good.cert, x509.SubjectAlternativeName).critical


def test_workload_cert_is_not_a_ca(good: Issued) -> None:
    """BasicConstraints is critical with CA=false."""
    ext = _ext(good.cert, x509.BasicConstraints)
    assert ext.critical and ext.value.ca is False


def test_workload_cert_cannot_sign_certificates(good: Issued) -> None:
    """KeyUsage is critical: digitalSignature (+keyAgreement), never keyCertSign/cRLSign."""
    ext = _ext(good.cert, x509.KeyUsage)
    usage = ext.value
    assert ext.critical
    assert usage.digital_signature and usage.key_agreement
    assert not (usage.key_cert_sign or usage.crl_sign or usage.key_encipherment or usage.content_commitment)


def test_workload_cert_is_for_server_and_client_auth(good: Issued) -> None:
    """EKU carries serverAuth and clientAuth (a sidecar is both)."""
    usages = set(_ext(good.cert, x509.ExtendedKeyUsage).value)
    assert usages == {ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH}


def test_workload_key_is_ecdsa_p256(good: Issued) -> None:
    """Both the generated private key and the certificate's key are P-256."""
    assert isinstance(good.key, ec.EllipticCurvePrivateKey)
    assert isinstance(good.key.curve, ec.SECP256R1)
    assert good.cert.public_key() == good.key.public_key()
    assert isinstance(good.cert.signature_hash_algorithm, hashes.SHA256)


def test_default_lifetime_is_24_hours(fixed_pki: MeshPKI) -> None:
    """notAfter is exactly now + 24 h by default."""
    issued = issue_workload(fixed_pki.intermediate, GOOD_ID, now=NOW + timedelta(hours=1))
    assert issued.cert.not_valid_after_utc == NOW + timedelta(hours=25)


def test_not_before_is_backdated_five_minutes(fixed_pki: MeshPKI) -> None:
    """notBefore is now - 5 min, so peers with a slightly slow clock accept it."""
    issued = issue_workload(fixed_pki.intermediate, GOOD_ID, now=NOW + timedelta(hours=1))
    assert issued.cert.not_valid_before_utc == NOW + timedelta(minutes=55)


def test_not_before_never_precedes_the_issuer(fixed_pki: MeshPKI) -> None:
    """A leaf issued within 5 min of its CA's start starts with the CA, not before it."""
    issued = issue_workload(fixed_pki.intermediate, GOOD_ID, now=NOW - timedelta(minutes=4))
    assert issued.cert.not_valid_before_utc == fixed_pki.intermediate.cert.not_valid_before_utc


def test_lifetime_is_capped_at_issuer_expiry(fixed_pki: MeshPKI) -> None:
    """A leaf never outlives its issuer, whatever lifetime is asked for."""
    end = fixed_pki.intermediate.cert.not_valid_after_utc
    issued = issue_workload(fixed_pki.intermediate, GOOD_ID, now=end - timedelta(hours=2))
    assert issued.cert.not_valid_after_utc == end


def test_issuing_from_an_expired_issuer_fails(fixed_pki: MeshPKI) -> None:
    """An expired CA issues nothing."""
    end = fixed_pki.intermediate.cert.not_valid_after_utc
    with pytest.raises(ValueError, match="expired"):
        issue_workload(fixed_pki.intermediate, GOOD_ID, now=end + timedelta(seconds=1))


@pytest.mark.parametrize("lifetime", [timedelta(0), timedelta(seconds=-1)])
def test_non_positive_lifetime_is_refused(pki: MeshPKI, lifetime: timedelta) -> None:
    """A zero or negative lifetime is a caller error."""
    with pytest.raises(ValueError, match="lifetime"):
        issue_workload(pki.intermediate, GOOD_ID, lifetime)


def test_naive_now_is_refused(pki: MeshPKI) -> None:
    """A naive datetime is ambiguous and refused."""
    with pytest.raises(ValueError, match="timezone"):
        issue_workload(pki.intermediate, GOOD_ID, now=datetime(2030, 1, 1))


def test_serials_are_random_and_distinct(pki: MeshPKI) -> None:
    """Serials differ between certificates and use most of the 159 bits."""
    serials = {pki.issue(GOOD_ID).cert.serial_number for _ in range(5)}
    assert len(serials) == 5
    assert max(serials).bit_length() > 64


def test_key_identifiers_link_leaf_to_issuer(good: Issued, pki: MeshPKI) -> None:
    """The leaf has an SKI, and its AKI is the intermediate's SKI."""
    ski = _ext(pki.intermediate.cert, x509.SubjectKeyIdentifier).value.digest
    assert _ext(good.cert, x509.AuthorityKeyIdentifier).value.key_identifier == ski
    assert _ext(good.cert, x509.SubjectKeyIdentifier).value.digest


def test_leaf_chain_is_the_intermediate(good: Issued, pki: MeshPKI) -> None:
    """A leaf from the intermediate carries the intermediate (not the root) as chain."""
    assert good.chain == (pki.intermediate.cert,)
    good.cert.verify_directly_issued_by(pki.intermediate.cert)


def test_leaf_from_the_root_has_no_chain(pki: MeshPKI) -> None:
    """Issued directly by a self-signed root, the chain is empty."""
    assert issue_workload(pki.root, GOOD_ID).chain == ()


@pytest.mark.parametrize(
    "spiffe_id",
    [
        "spiffe://TSUNAGI.test/org/1/sys/a",
        "spiffe://tsunagi.test/org/1/sys/a/",
        "spiffe://tsunagi.test/org/1/../a",
        "spiffe://tsunagi.test:1/org/1/sys/a",
        "not an id",
    ],
)
def test_issue_workload_refuses_invalid_ids(pki: MeshPKI, spiffe_id: str) -> None:
    """issue_workload validates the ID with parse_spiffe_id before signing anything."""
    with pytest.raises(InvalidSpiffeId):
        issue_workload(pki.intermediate, spiffe_id)


def test_issue_workload_refuses_trust_domain_only_id(pki: MeshPKI) -> None:
    """A leaf SVID needs a path (X509-SVID 3.1)."""
    with pytest.raises(InvalidSpiffeId, match="path"):
        issue_workload(pki.intermediate, "spiffe://tsunagi.test")


def test_issue_workload_refuses_a_foreign_trust_domain(pki: MeshPKI) -> None:
    """A CA bound to a trust domain does not issue IDs in another one."""
    with pytest.raises(InvalidSpiffeId, match="trust domain"):
        issue_workload(pki.intermediate, "spiffe://other.test/org/1/sys/a")


def test_given_public_key_is_certified_and_no_private_key_returned(pki: MeshPKI) -> None:
    """With public_key, the cert carries that key and Issued.key is None."""
    key = ec.generate_private_key(ec.SECP256R1())
    issued = issue_workload(pki.intermediate, GOOD_ID, public_key=key.public_key())
    assert issued.key is None
    assert issued.cert.public_key() == key.public_key()


def test_non_p256_public_key_is_refused(pki: MeshPKI) -> None:
    """Leaf keys are P-256 only."""
    key = ec.generate_private_key(ec.SECP384R1())
    with pytest.raises(ValueError, match="P-256"):
        issue_workload(pki.intermediate, GOOD_ID, public_key=key.public_key())


def test_issuer_without_private_key_is_refused(pki: MeshPKI) -> None:
    """A CA certificate without its key cannot issue."""
    with pytest.raises(ValueError, match="private key"):
        issue_workload(Issued(cert=pki.intermediate.cert, key=None), GOOD_ID)


def test_leaf_cannot_act_as_issuer(good: Issued) -> None:
    """Only a CA certificate issues; a workload certificate is refused as issuer."""
    with pytest.raises(ValueError, match="not a CA"):
        issue_workload(good, GOOD_ID)


def test_root_is_a_self_signed_ca(pki: MeshPKI) -> None:
    """The root signs itself, is a CA with keyCertSign, and names the trust domain."""
    cert = pki.root.cert
    assert is_self_signed(cert)
    assert _ext(cert, x509.BasicConstraints).value.ca
    assert _ext(cert, x509.KeyUsage).value.key_cert_sign
    assert trust_domain_of(cert) == "tsunagi.test"


def test_root_default_lifetime_is_ten_years() -> None:
    """The default root lives 3650 days."""
    root = create_root(now=NOW)
    assert root.cert.not_valid_after_utc == NOW + timedelta(days=3650)
    assert trust_domain_of(root.cert) is None


def test_intermediate_signs_leaves_only(pki: MeshPKI) -> None:
    """The intermediate is a CA with pathLen 0 and keyCertSign + cRLSign, issued by the root."""
    cert = pki.intermediate.cert
    constraints = _ext(cert, x509.BasicConstraints)
    usage = _ext(cert, x509.KeyUsage).value
    assert constraints.critical and constraints.value.ca and constraints.value.path_length == 0
    assert usage.key_cert_sign and usage.crl_sign and not usage.digital_signature
    assert not is_self_signed(cert)
    cert.verify_directly_issued_by(pki.root.cert)
    assert pki.intermediate.chain == ()


def test_intermediate_inherits_the_roots_trust_domain(pki: MeshPKI) -> None:
    """Without an explicit trust domain the intermediate carries the root's."""
    assert trust_domain_of(pki.intermediate.cert) == "tsunagi.test"


def test_intermediate_never_outlives_the_root() -> None:
    """An intermediate asked to live longer than its root ends with the root."""
    root = create_root(lifetime=timedelta(days=30), now=NOW)
    intermediate = create_intermediate(root, lifetime=timedelta(days=365), now=NOW)
    assert intermediate.cert.not_valid_after_utc == root.cert.not_valid_after_utc


def test_pem_helpers_round_trip(good: Issued, pki: MeshPKI) -> None:
    """cert_pem is the leaf, chain_pem is leaf + intermediate, key_pem is PKCS#8."""
    assert x509.load_pem_x509_certificate(good.cert_pem()) == good.cert
    assert x509.load_pem_x509_certificates(good.chain_pem()) == [good.cert, pki.intermediate.cert]
    key_pem = good.key_pem()
    assert key_pem.startswith(b"-----BEGIN PRIVATE KEY-----")
    key = serialization.load_pem_private_key(key_pem, password=None)
    assert key.public_key() == good.cert.public_key()


def test_key_pem_without_key_raises(good: Issued) -> None:
    """An Issued without a key cannot export one."""
    with pytest.raises(ValueError):
        Issued(cert=good.cert, key=None).key_pem()


def _csr(key: ec.EllipticCurvePrivateKey, asked_id: str) -> x509.CertificateSigningRequest:
    return (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "admin")]))
        .add_extension(x509.SubjectAlternativeName([x509.UniformResourceIdentifier(asked_id)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )


def test_sign_csr_ignores_the_requested_identity(pki: MeshPKI) -> None:
    """The cert names the ID the CA chose, not the CSR's SAN, CN or CA request."""
    key = ec.generate_private_key(ec.SECP256R1())
    csr = _csr(key, "spiffe://tsunagi.test/org/000000/operator/root")
    issued = sign_csr(pki.intermediate, csr, GOOD_ID)
    san = _ext(issued.cert, x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.UniformResourceIdentifier) == [GOOD_ID]
    assert len(issued.cert.subject) == 0
    assert _ext(issued.cert, x509.BasicConstraints).value.ca is False
    assert issued.cert.public_key() == key.public_key()
    assert issued.key is None


def test_sign_csr_refuses_a_bad_signature(pki: MeshPKI) -> None:
    """A CSR whose self-signature does not verify is refused."""
    der = bytearray(_csr(ec.generate_private_key(ec.SECP256R1()), GOOD_ID).public_bytes(serialization.Encoding.DER))
    der[-1] ^= 0x01  # last byte of the ECDSA signature's s value
    tampered = x509.load_der_x509_csr(bytes(der))
    with pytest.raises(InvalidCsr, match="signature"):
        sign_csr(pki.intermediate, tampered, GOOD_ID)


def test_sign_csr_refuses_a_non_p256_key(pki: MeshPKI) -> None:
    """A CSR for another curve is refused before anything is signed."""
    csr = _csr(ec.generate_private_key(ec.SECP384R1()), GOOD_ID)
    with pytest.raises(InvalidCsr, match="P-256"):
        sign_csr(pki.intermediate, csr, GOOD_ID)


def test_sign_csr_validates_the_chosen_id(pki: MeshPKI) -> None:
    """The ID the CA passes is still validated."""
    csr = _csr(ec.generate_private_key(ec.SECP256R1()), GOOD_ID)
    with pytest.raises(InvalidSpiffeId):
        sign_csr(pki.intermediate, csr, "spiffe://tsunagi.test/org/1/sys/a/")


def test_server_cert_has_dns_and_ip_sans(pki: MeshPKI) -> None:
    """An etcd server cert names its DNS names and IPs, serverAuth + clientAuth, CA false."""
    issued = issue_server(pki.intermediate, "etcd-0", ["etcd-0.etcd", "localhost"], ["127.0.0.1"])
    san = _ext(issued.cert, x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["etcd-0.etcd", "localhost"]
    assert san.get_values_for_type(x509.IPAddress) == [ipaddress.ip_address("127.0.0.1")]
    assert set(_ext(issued.cert, x509.ExtendedKeyUsage).value) == {
        ExtendedKeyUsageOID.SERVER_AUTH,
        ExtendedKeyUsageOID.CLIENT_AUTH,
    }
    assert _ext(issued.cert, x509.BasicConstraints).value.ca is False
    assert issued.cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "etcd-0"
    assert issued.chain == (pki.intermediate.cert,)


def test_server_cert_needs_a_name(pki: MeshPKI) -> None:
    """A server cert with neither DNS names nor IPs is refused."""
    with pytest.raises(ValueError):
        issue_server(pki.intermediate, "etcd-0", [], [])


def test_server_cert_refuses_a_bad_ip(pki: MeshPKI) -> None:
    """IP SANs must be IP addresses."""
    with pytest.raises(ValueError):
        issue_server(pki.intermediate, "etcd-0", [], ["not-an-ip"])


def test_client_cert_carries_the_etcd_user_as_cn(pki: MeshPKI) -> None:
    """An etcd client cert has CN = user name and clientAuth only."""
    issued = issue_client(pki.intermediate, "sidecar-reader")
    assert issued.cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "sidecar-reader"
    assert list(_ext(issued.cert, x509.ExtendedKeyUsage).value) == [ExtendedKeyUsageOID.CLIENT_AUTH]
    assert isinstance(issued.key, ec.EllipticCurvePrivateKey) and isinstance(issued.key.curve, ec.SECP256R1)

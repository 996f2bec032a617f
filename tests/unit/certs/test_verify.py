"""Peer verification: the per-connection identity check and chain verification."""

from __future__ import annotations

from datetime import timedelta

import pytest
from cryptography import x509

from certs.ca import Issued, _sign_leaf, create_intermediate, create_root
from certs.verify import PeerRejected, identity_from_certificate, identity_from_pem, verify_chain
from tests.support.badcerts import CHAIN_CASES, MeshPKI

GOOD_ID = "spiffe://tsunagi.test/org/131008/sys/kaigo"
TD = "tsunagi.test"

# Bad case -> a fragment of the reason identity_from_certificate must give.
IDENTITY_REASONS = {
    "two URI SANs": "more than one URI SAN",
    "DNS-only SAN": "no URI SAN",
    "expired": "expired",
    "not yet valid": "not yet valid",
    "leaf with CA=true": "is a CA",
    "leaf with keyCertSign": "may sign certificates",
    "SPIFFE ID with ..": "'..'",
    "trailing slash": "end with '/'",
    "port": "port",
    "query": "query",
    "foreign trust domain": "trust domain 'foreign.example'",
    "upper-case trust domain": "lower case",
}


def test_good_workload_identity_is_accepted(good: Issued) -> None:
    """A mesh workload certificate yields its SPIFFE ID with org and system."""
    sid = identity_from_certificate(good.cert, TD)
    assert str(sid) == GOOD_ID
    assert (sid.org, sid.system) == ("131008", "kaigo")


def test_reason_table_covers_every_identity_case(bad_cases: dict[str, Issued | None]) -> None:
    """Every badcerts case is either a chain case or has an expected identity reason."""
    assert set(bad_cases) == set(IDENTITY_REASONS) | CHAIN_CASES


@pytest.mark.parametrize(("case", "reason"), sorted(IDENTITY_REASONS.items()))
def test_bad_identity_is_refused_with_reason(bad_cases: dict[str, Issued | None], case: str, reason: str) -> None:
    """Each mesh-issued but malformed identity is refused, with a reason naming the flaw."""
    issued = bad_cases[case]
    assert issued is not None
    with pytest.raises(PeerRejected) as caught:
        identity_from_certificate(issued.cert, TD)
    assert reason in caught.value.reason


@pytest.mark.parametrize("case", sorted(CHAIN_CASES - {"no client certificate"}))
def test_untrusted_issuer_is_refused_by_chain_verification(
    bad_cases: dict[str, Issued | None], pki: MeshPKI, case: str
) -> None:
    """Self-signed and foreign-CA certificates do not chain to the mesh root."""
    issued = bad_cases[case]
    assert issued is not None
    with pytest.raises(PeerRejected, match="chain rejected"):
        verify_chain(issued.cert, list(issued.chain), [pki.root.cert])


def _rejections(issued: Issued, pki: MeshPKI) -> list[PeerRejected]:
    """The rejections of chain verification and of the identity check, in that order."""
    found = []
    try:
        verify_chain(issued.cert, list(issued.chain), [pki.root.cert])
    except PeerRejected as err:
        found.append(err)
    try:
        identity_from_certificate(issued.cert, TD)
    except PeerRejected as err:
        found.append(err)
    return found


def test_every_bad_case_is_refused_by_chain_or_identity(bad_cases: dict[str, Issued | None], pki: MeshPKI) -> None:
    """No bad case passes both chain verification and the identity check."""
    accepted = [name for name, issued in bad_cases.items() if issued is not None and not _rejections(issued, pki)]
    assert accepted == []


def test_reasons_are_short_and_hold_no_pem(bad_cases: dict[str, Issued | None], pki: MeshPKI) -> None:
    """Reasons are one short line without certificate or key material."""
    for issued in bad_cases.values():
        for err in _rejections(issued, pki) if issued is not None else []:
            assert len(err.reason) < 160 and "\n" not in err.reason and "BEGIN" not in err.reason
            assert str(err) == err.reason


@pytest.mark.parametrize("ours", ["TSUNAGI.test", "tsunagi.tes", "tsunagi.test.", "other.test"])
def test_trust_domain_must_match_exactly(good: Issued, ours: str) -> None:
    """The trust domain comparison is exact and case-sensitive."""
    with pytest.raises(PeerRejected, match="trust domain"):
        identity_from_certificate(good.cert, ours)


def test_validity_window_uses_the_given_time(good: Issued) -> None:
    """The window is checked at `now`: one second outside either end is refused."""
    before = good.cert.not_valid_before_utc - timedelta(seconds=1)
    after = good.cert.not_valid_after_utc + timedelta(seconds=1)
    with pytest.raises(PeerRejected, match="not yet valid"):
        identity_from_certificate(good.cert, TD, now=before)
    with pytest.raises(PeerRejected, match="expired"):
        identity_from_certificate(good.cert, TD, now=after)
    assert identity_from_certificate(good.cert, TD, now=good.cert.not_valid_after_utc)


def test_trust_domain_only_id_is_refused(pki: MeshPKI, good: Issued) -> None:
    """A leaf whose SPIFFE ID has no path names no workload and is refused."""
    issued = _sign_leaf(
        pki.intermediate,
        sans=[x509.UniformResourceIdentifier("spiffe://tsunagi.test")],
        not_before=good.cert.not_valid_before_utc,
        not_after=good.cert.not_valid_after_utc,
    )
    with pytest.raises(PeerRejected, match="no path"):
        identity_from_certificate(issued.cert, TD)


def test_non_spiffe_uri_is_refused(pki: MeshPKI, good: Issued) -> None:
    """A single URI SAN that is not a SPIFFE ID is refused."""
    issued = _sign_leaf(
        pki.intermediate,
        sans=[x509.UniformResourceIdentifier("https://tsunagi.test/org/131008/sys/kaigo")],
        not_before=good.cert.not_valid_before_utc,
        not_after=good.cert.not_valid_after_utc,
    )
    with pytest.raises(PeerRejected, match="invalid SPIFFE ID"):
        identity_from_certificate(issued.cert, TD)


def test_root_certificate_is_refused_as_a_peer(pki: MeshPKI) -> None:
    """A CA certificate, even ours, is never a peer identity."""
    with pytest.raises(PeerRejected, match="CA"):
        identity_from_certificate(pki.root.cert, TD)


@pytest.mark.parametrize("as_text", [False, True])
def test_identity_from_pem_reads_the_first_certificate(good: Issued, as_text: bool) -> None:
    """With leaf + chain PEM (bytes or str), the leaf's identity is returned."""
    pem = good.chain_pem()
    assert str(identity_from_pem(pem.decode() if as_text else pem, TD)) == GOOD_ID


@pytest.mark.parametrize("pem", [b"", b"garbage", b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"])
def test_identity_from_pem_refuses_unparseable_input(pem: bytes) -> None:
    """Input that holds no certificate is a rejection, not a crash."""
    with pytest.raises(PeerRejected, match="could not be parsed"):
        identity_from_pem(pem, TD)


def test_chain_through_the_intermediate_verifies(good: Issued, pki: MeshPKI) -> None:
    """leaf + intermediate verify against the mesh root (no exception)."""
    verify_chain(good.cert, list(good.chain), [pki.root.cert])


def test_chain_without_the_intermediate_is_refused(good: Issued, pki: MeshPKI) -> None:
    """The intermediate is required; the root alone does not vouch for the leaf."""
    with pytest.raises(PeerRejected):
        verify_chain(good.cert, [], [pki.root.cert])


def test_chain_to_another_root_is_refused(good: Issued) -> None:
    """A leaf does not verify against an unrelated root."""
    with pytest.raises(PeerRejected):
        verify_chain(good.cert, list(good.chain), [create_root().cert])


def test_chain_with_a_rogue_intermediate_of_the_same_name_is_refused(good: Issued, pki: MeshPKI) -> None:
    """An intermediate with the same name but another key does not stand in for ours."""
    rogue = create_intermediate(create_root(), common_name="Tsunagi Intermediate CA")
    with pytest.raises(PeerRejected):
        verify_chain(good.cert, [rogue.cert], [pki.root.cert])


def test_chain_is_checked_at_the_given_time(good: Issued, pki: MeshPKI) -> None:
    """An expired leaf fails chain verification at a time after its notAfter."""
    later = good.cert.not_valid_after_utc + timedelta(seconds=1)
    with pytest.raises(PeerRejected, match="not valid"):
        verify_chain(good.cert, list(good.chain), [pki.root.cert], now=later)


def test_chain_without_roots_is_refused(good: Issued) -> None:
    """No trust roots means nothing verifies."""
    with pytest.raises(PeerRejected, match="no trust roots"):
        verify_chain(good.cert, list(good.chain), [])

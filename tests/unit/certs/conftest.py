"""Shared fixtures for the certs tests: one mesh PKI and its bad client identities."""

from __future__ import annotations

import pytest

from certs.ca import Issued
from tests.support.badcerts import MeshPKI, bad_client_identities, make_pki

TRUST_DOMAIN = "tsunagi.test"
GOOD_ID = "spiffe://tsunagi.test/org/131008/sys/kaigo"


@pytest.fixture(scope="session")
def pki() -> MeshPKI:
    return make_pki(TRUST_DOMAIN)


@pytest.fixture(scope="session")
def good(pki: MeshPKI) -> Issued:
    return pki.issue(GOOD_ID)


@pytest.fixture(scope="session")
def bad_cases(pki: MeshPKI) -> dict[str, Issued | None]:
    return dict(bad_client_identities(pki, GOOD_ID))

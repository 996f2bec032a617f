"""A Repository over an in-memory store, with a signer: fixtures for the translation-related
control-plane tests (import them into the test module)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest

from certs.ca import Issued, create_intermediate, create_root
from control_plane.repository import Repository
from mesh.store.memory import MemoryStore
from tests.support.config_writer import SignerIdentity

TRUST_DOMAIN = "tsunagi.test"
ADMIN = f"spiffe://{TRUST_DOMAIN}/org/000000/operator/admin"


@dataclass(frozen=True)
class Control:
    """A Repository and the store under it."""

    repository: Repository
    store: MemoryStore


@pytest.fixture(scope="session")
def signer_pki() -> tuple[Issued, SignerIdentity]:
    root = create_root("Test Root")
    intermediate = create_intermediate(root, "Test Intermediate")
    return root, SignerIdentity.issue(intermediate, TRUST_DOMAIN)


@pytest.fixture
async def control(signer_pki: tuple[Issued, SignerIdentity]) -> AsyncIterator[Control]:
    """An empty mesh in a MemoryStore, written through a real Repository."""
    root, identity = signer_pki
    store = MemoryStore()
    try:
        yield Control(Repository(store, identity.signer, identity.chain_pem, [root.cert], TRUST_DOMAIN),
                      store)
    finally:
        await store.close()

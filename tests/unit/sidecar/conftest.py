"""A signed mesh config in a MemoryStore, written the control plane's way, for the sidecar's
config tests."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pytest

from certs.ca import Issued, create_intermediate, create_root
from mesh.keys import CONFIG_PREFIX, HEAD_KEY
from mesh.signing import head_digest
from mesh.store.memory import MemoryStore
from mesh.v1 import signed_pb2
from sidecar.compile import compile_snapshot
from sidecar.snapshot import Snapshot
from tests.support.config_writer import ConfigWriter, SignerIdentity
from tests.support.resources import CONSUMER_ID, TRUST_DOMAIN, base_mesh


@dataclass
class Mesh:
    """The control plane's store and signer, and the roots a sidecar trusts."""

    store: MemoryStore
    writer: ConfigWriter
    root: Issued
    intermediate: Issued
    identity: SignerIdentity

    async def values(self) -> tuple[dict[str, bytes], int]:
        """Every config key as stored, and the revision read."""
        kvs, revision = await self.store.range(CONFIG_PREFIX.encode())
        return {kv.key.decode(): kv.value for kv in kvs}, revision

    def compile(
        self, values: Mapping[str, bytes], *, own: str = CONSUMER_ID,
        applied: Snapshot | None = None, revision: int = 1,
    ) -> Snapshot:
        return compile_snapshot(values, [self.root.cert], TRUST_DOMAIN, own, revision,
                                applied=applied)

    def reseal(self, values: Mapping[str, bytes]) -> dict[str, bytes]:
        """`values` with a head re-signed over them as they are: what a stolen signing key
        could do. Shows the per-value checks hold even when the head is fooled."""
        old = signed_pb2.SignedValue.FromString(values[HEAD_KEY])
        others = [(k, v) for k, v in values.items() if k != HEAD_KEY]
        head = signed_pb2.ConfigHead(version=old.version, digest=head_digest(others),
                                     count=len(others))
        return {**values, HEAD_KEY: self.identity.signer.sign(
            HEAD_KEY, old.version, "ConfigHead", head.SerializeToString())}


@pytest.fixture(scope="module")
def pki() -> tuple[Issued, Issued, SignerIdentity]:
    root = create_root("Test Root")
    intermediate = create_intermediate(root, "Test Intermediate")
    return root, intermediate, SignerIdentity.issue(intermediate, TRUST_DOMAIN)


@pytest.fixture
async def mesh(pki: tuple[Issued, Issued, SignerIdentity]) -> Mesh:
    """A store holding the base mesh at config version 1."""
    root, intermediate, identity = pki
    store = MemoryStore()
    writer = ConfigWriter(store, identity)
    await writer.apply(base_mesh())
    return Mesh(store, writer, root, intermediate, identity)

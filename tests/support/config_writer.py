"""The control plane's write path, for tests: changes signed by mesh.commit.build_commit and
written in one guarded transaction, plus the signer that makes them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric import ec

from certs.ca import Issued, issue_workload
from mesh.commit import Change, build_commit
from mesh.keys import CONFIG_PREFIX, HEAD_KEY, signer_key
from mesh.signing import SIGNER_PATH, Signer, Verifier
from mesh.store.base import Store
from mesh.v1 import signed_pb2


@dataclass(frozen=True)
class SignerIdentity:
    """A config signer and the PEM chain stored for it under SIGNER_PREFIX."""

    signer: Signer
    chain_pem: bytes

    @classmethod
    def issue(cls, intermediate: Issued, trust_domain: str) -> "SignerIdentity":
        issued = issue_workload(intermediate, f"spiffe://{trust_domain}{SIGNER_PATH}")
        assert isinstance(issued.key, ec.EllipticCurvePrivateKey)
        return cls(Signer(issued.key, issued.cert), issued.chain_pem())

    @property
    def verifier(self) -> Verifier:
        return Verifier({self.signer.key_id: self.signer.private_key.public_key()})


class ConfigWriter:
    """Applies changes to `store` the way the control plane does (it never validates)."""

    def __init__(self, store: Store, identity: SignerIdentity) -> None:
        self.store = store
        self.identity = identity
        self._signers = {identity.signer.key_id: identity}

    def rotate(self, identity: SignerIdentity) -> None:
        """Sign from now on with `identity`; values signed by earlier signers stay valid."""
        self.identity = identity
        self._signers[identity.signer.key_id] = identity

    async def apply(self, changes: Sequence[Change]) -> int:
        """Commit `changes` at the next version; returns the etcd revision of the write."""
        kvs, _ = await self.store.range(CONFIG_PREFIX.encode())
        current = {kv.key.decode(): kv.value for kv in kvs}
        head_mod_revision = next((kv.mod_revision for kv in kvs if kv.key.decode() == HEAD_KEY), 0)
        version = 0
        if HEAD_KEY in current:
            version = signed_pb2.SignedValue.FromString(current[HEAD_KEY]).version
        own = signer_key(self.identity.signer.key_id)
        raw_puts = {} if own in current else {own: self.identity.chain_pem}
        verifier = Verifier({k: i.signer.private_key.public_key() for k, i in self._signers.items()})
        commit = build_commit(self.identity.signer, verifier, current,
                              head_mod_revision, version, list(changes), raw_puts)
        result = await self.store.txn(commit.compares, commit.ops)
        assert result.succeeded, "the head moved under the test writer"
        return result.revision

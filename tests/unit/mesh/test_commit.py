"""build_commit given the previous commit's Committed: the same transaction as without it,
only cheaper; whatever differs from `previous` is verified again."""

from __future__ import annotations

import pytest

from certs.ca import create_intermediate, create_root
from mesh.commit import Change, Commit, build_commit
from mesh.keys import HEAD_KEY, RESOURCE_PREFIX, signer_key
from mesh.signing import Verifier, head_digest
from mesh.store.base import Delete, Put
from tests.support.config_writer import SignerIdentity

TD = "tsunagi.test"


@pytest.fixture(scope="module")
def identities() -> tuple[SignerIdentity, SignerIdentity]:
    root = create_root("Commit Test Root")
    intermediate = create_intermediate(root, "Commit Test Intermediate")
    return SignerIdentity.issue(intermediate, TD), SignerIdentity.issue(intermediate, TD)


def _key(name: str) -> str:
    return f"{RESOURCE_PREFIX}Route/131016/{name}"


def _stored(current: dict[str, bytes], commit: Commit) -> dict[str, bytes]:
    """The config after the commit's ops, as etcd would hold it."""
    after = dict(current)
    for op in commit.ops:
        if isinstance(op, Put):
            after[op.key.decode()] = op.value
        else:
            assert isinstance(op, Delete)
            after.pop(op.key.decode(), None)
    return after


def _shape(commit: Commit) -> list[tuple[str, str]]:
    return sorted((type(op).__name__, op.key.decode()) for op in commit.ops)


def test_a_commit_after_a_commit_covers_exactly_what_is_stored(
        identities: tuple[SignerIdentity, SignerIdentity]) -> None:
    """With tampered, vanished, new and deleted values between them, the second commit (given
    the first's Committed) has the ops of one built from scratch, and its head digest is that
    of everything stored after it."""
    ours, _ = identities
    verifier = ours.verifier
    first = build_commit(ours.signer, verifier, {}, 0, 0,
                         [Change(_key(f"r{i}"), "Route", b"p%d" % i) for i in range(20)],
                         {signer_key(ours.signer.key_id): ours.chain_pem})
    current = _stored({}, first)
    current[_key("r3")] = current[_key("r4")]  # moved behind our back: refused
    del current[_key("r5")]  # deleted behind our back
    current[_key("unsigned")] = b"not a signed value"
    changes = [Change(_key("r1"), "Route", b"changed"), Change(_key("r2"), "Route", None),
               Change(_key("new"), "Route", b"new")]
    reused = build_commit(ours.signer, verifier, current, 7, 1, changes, previous=first.committed)
    fresh = build_commit(ours.signer, verifier, current, 7, 1, changes)
    assert _shape(reused) == _shape(fresh)
    assert ("Delete", _key("r3")) in _shape(reused) and ("Delete", _key("unsigned")) in _shape(reused)
    after = _stored(current, reused)
    del after[HEAD_KEY]
    assert reused.head.digest == head_digest(after.items()) and reused.head.count == len(after)
    assert dict(reused.committed.values) == after


def test_a_value_whose_signer_is_no_longer_trusted_is_removed(
        identities: tuple[SignerIdentity, SignerIdentity]) -> None:
    """A value unchanged since `previous` is verified again when its signer is not trusted now."""
    ours, theirs = identities
    both = Verifier({i.signer.key_id: i.signer.private_key.public_key() for i in identities})
    value = theirs.signer.sign(_key("theirs"), 1, "Route", b"p")
    first = build_commit(ours.signer, both, {_key("theirs"): value}, 0, 1, [])
    second = build_commit(ours.signer, ours.verifier, {_key("theirs"): value}, 3, 2, [],
                          previous=first.committed)
    assert ("Delete", _key("theirs")) in _shape(second)
    assert second.head.digest == head_digest([])

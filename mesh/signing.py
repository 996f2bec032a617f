"""Signed config values: the exact bytes that are signed, and signing and verifying them.

A value is signed over (key, version, kind, payload) so it cannot be edited, moved to another
key or passed off as another version. The head digest commits to every config key at once.
"""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass
from datetime import timedelta
from typing import Callable, Iterable, Mapping

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from google.protobuf.message import DecodeError

from mesh.keys import MAX_VALUE_BYTES
from mesh.v1 import signed_pb2

_DOMAIN = b"tsunagi/signed-value/v1\x00"
_HEAD_DOMAIN = b"tsunagi/config-head/v2\x00"
_BUCKET_DOMAIN = b"tsunagi/config-head-bucket/v2\x00"
SIGNER_PATH = "/mesh/config-signer"


class ValueRejected(Exception):
    """A stored value failed verification; `reason` says why (never contains the payload)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _field(data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + data


def signing_input(key: str, version: int, kind: str, payload: bytes) -> bytes:
    """Domain tag, then length-prefixed key, 8-byte big-endian version, kind, payload."""
    return (_DOMAIN + _field(key.encode()) + struct.pack(">Q", version)
            + _field(kind.encode()) + _field(payload))


def key_id_of(public_key: ec.EllipticCurvePublicKey) -> str:
    """SHA-256 (hex) of the SubjectPublicKeyInfo."""
    spki = public_key.public_bytes(serialization.Encoding.DER,
                                   serialization.PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha256(spki).hexdigest()


def value_digest(value: bytes) -> bytes:
    return hashlib.sha256(value).digest()


def head_digest(items: Iterable[tuple[str, bytes]],
                digest_of: Callable[[bytes], bytes] = value_digest) -> bytes:
    """Commitment to a set of (key, stored value bytes), as a two-level hash tree: each key
    falls in one of HEAD_BUCKETS buckets (by the first byte of the SHA-256 of its name); a
    bucket's digest is SHA-256 over its (length-prefixed key, value digest) entries in key
    order; the head digest is SHA-256 over the bucket digests in bucket order. A reader that
    keeps the bucket digests re-hashes one bucket per changed key, not the whole config.
    `digest_of` may be a cached value_digest."""
    buckets: list[list[bytes]] = [[] for _ in range(HEAD_BUCKETS)]
    for key, value in sorted(items):
        buckets[head_bucket(key)].append(head_entry(key, digest_of(value)))
    return head_root(bucket_digest(entries) for entries in buckets)


HEAD_BUCKETS = 256


def head_bucket(key: str) -> int:
    """The bucket of the head digest a key falls in."""
    return hashlib.sha256(key.encode()).digest()[0]


def head_entry(key: str, digest: bytes) -> bytes:
    """One key's entry in its bucket: its length-prefixed name and its value digest."""
    return _field(key.encode()) + digest


def bucket_digest(entries: Iterable[bytes]) -> bytes:
    """The digest of one bucket's entries, given in key order."""
    return hashlib.sha256(_BUCKET_DOMAIN + b"".join(entries)).digest()


def head_root(bucket_digests: Iterable[bytes]) -> bytes:
    """The head digest over all HEAD_BUCKETS bucket digests, in bucket order."""
    return hashlib.sha256(_HEAD_DOMAIN + b"".join(bucket_digests)).digest()


@dataclass(frozen=True, slots=True)
class Signer:
    """The control plane's config-signing key and its certificate (issued by the mesh CA)."""

    private_key: ec.EllipticCurvePrivateKey
    certificate: x509.Certificate

    @property
    def key_id(self) -> str:
        return key_id_of(self.private_key.public_key())

    def sign(self, key: str, version: int, kind: str, payload: bytes) -> bytes:
        """The serialized SignedValue to store at `key`."""
        signature = self.private_key.sign(signing_input(key, version, kind, payload),
                                          ec.ECDSA(hashes.SHA256()))
        return signed_pb2.SignedValue(key=key, version=version, kind=kind, payload=payload,
                                      key_id=self.key_id, signature=signature).SerializeToString()


_VERIFIED: dict[tuple[str, bytes], signed_pb2.SignedValue] = {}
_VERIFIED_LIMIT = 100_000


@dataclass(frozen=True, slots=True)
class Verifier:
    """Checks stored values against the signer keys that chain to the mesh trust bundle."""

    public_keys: Mapping[str, ec.EllipticCurvePublicKey]

    def verify(self, stored_key: str, raw: bytes) -> signed_pb2.SignedValue:
        """The verified SignedValue found at `stored_key`, or ValueRejected.

        Remembered per (key, exact bytes): a value verified once stays verified while this
        verifier still trusts its signing key (key_id is the hash of that key), so re-reading
        a whole config costs signature checks only for what changed. Callers only read the
        returned message.
        """
        cached = _VERIFIED.get((stored_key, raw))
        if cached is not None and cached.key_id in self.public_keys:
            return cached
        value = self._verify(stored_key, raw)
        if len(_VERIFIED) >= _VERIFIED_LIMIT:
            _VERIFIED.clear()
        _VERIFIED[(stored_key, raw)] = value
        return value

    def _verify(self, stored_key: str, raw: bytes) -> signed_pb2.SignedValue:
        if len(raw) > MAX_VALUE_BYTES:
            raise ValueRejected(f"oversized value ({len(raw)} bytes > {MAX_VALUE_BYTES})")
        value = signed_pb2.SignedValue()
        try:
            value.ParseFromString(raw)
        except DecodeError:
            raise ValueRejected("unsigned value (not a SignedValue)") from None
        if not value.signature or not value.key_id:
            raise ValueRejected("unsigned value (no signature)")
        if value.key != stored_key:
            raise ValueRejected(f"value was signed for another key ({value.key!r})")
        public_key = self.public_keys.get(value.key_id)
        if public_key is None:
            raise ValueRejected(f"unknown signing key {value.key_id[:16]}")
        try:
            public_key.verify(value.signature,
                              signing_input(value.key, value.version, value.kind, value.payload),
                              ec.ECDSA(hashes.SHA256()))
        except InvalidSignature:
            raise ValueRejected("bad signature (value was altered)") from None
        return value


def signer_public_key(
    chain_pem: bytes, roots: list[x509.Certificate], trust_domain: str, check_time: bool = True
) -> tuple[str, ec.EllipticCurvePublicKey]:
    """(key_id, public key) of a signer certificate chain that the mesh trust bundle vouches for.

    The leaf must chain to one of `roots` and carry the config-signer identity of our trust
    domain; anything else is ValueRejected. Sidecars require it to be valid now. The control
    plane passes check_time=False when it reads back what an earlier (perhaps expired) signer
    wrote, so that it can re-sign those values instead of discarding them as tampered.
    """
    from certs.verify import PeerRejected, verify_chain  # certs depends on nothing in mesh

    try:
        chain = x509.load_pem_x509_certificates(chain_pem)
    except ValueError:
        raise ValueRejected("signer certificate cannot be parsed") from None
    leaf, intermediates = chain[0], chain[1:]
    at = None if check_time else leaf.not_valid_before_utc + timedelta(seconds=1)
    try:
        verify_chain(leaf, intermediates, roots, now=at)
    except PeerRejected as exc:
        raise ValueRejected(f"signer certificate not trusted: {exc.reason}") from None
    try:
        san = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        uris = san.get_values_for_type(x509.UniformResourceIdentifier)
    except x509.ExtensionNotFound:
        uris = []
    if uris != [f"spiffe://{trust_domain}{SIGNER_PATH}"]:
        raise ValueRejected("signer certificate does not carry the config-signer identity")
    public_key = leaf.public_key()
    if not isinstance(public_key, ec.EllipticCurvePublicKey):
        raise ValueRejected("signer key is not ECDSA")
    return key_id_of(public_key), public_key

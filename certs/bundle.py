"""Identity and trust-bundle files on disk: atomic writes, 0600 keys, strict loading."""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Sequence
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from certs.ca import Issued
from mesh.files import write_atomic

KEY_MODE = 0o600
PUBLIC_MODE = 0o644
_NAME = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]*")


def write_identity(directory: Path, name: str, issued: Issued) -> tuple[Path, Path]:
    """Write `<name>.crt` (leaf + chain PEM) and `<name>.key` (PKCS#8, mode 0600) into
    `directory`, each atomically. The key goes first, so a reader that sees the new
    certificate also finds its key; load_issued refuses a mismatched pair."""
    if _NAME.fullmatch(name) is None:
        raise ValueError(f"invalid identity file name {name!r}")
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    cert_path = directory / f"{name}.crt"
    key_path = directory / f"{name}.key"
    write_atomic(key_path, issued.key_pem(), KEY_MODE)
    write_atomic(cert_path, issued.chain_pem(), PUBLIC_MODE)
    return cert_path, key_path


def write_bundle(path: Path, roots: Sequence[x509.Certificate]) -> Path:
    """Write the trust bundle: the root certificates, PEM-concatenated, atomically."""
    if not roots:
        raise ValueError("a trust bundle needs at least one root")
    path = Path(path)
    data = b"".join(root.public_bytes(serialization.Encoding.PEM) for root in roots)
    write_atomic(path, data, PUBLIC_MODE)
    return path


def load_bundle(path: Path) -> list[x509.Certificate]:
    """The certificates of a PEM trust bundle; ValueError if it holds none."""
    data = Path(path).read_bytes()
    try:
        certs = x509.load_pem_x509_certificates(data)
    except ValueError:
        raise ValueError(f"{path}: no PEM certificates could be read") from None
    if not certs:
        raise ValueError(f"{path}: no PEM certificates could be read")
    return certs


def load_issued(cert_path: Path, key_path: Path) -> Issued:
    """Load an identity written by write_identity. Refuses a key file readable by group or
    other, a non-EC key, and a key that does not belong to the certificate."""
    check_key_file_mode(key_path)
    certs = load_bundle(cert_path)
    try:
        key = serialization.load_pem_private_key(Path(key_path).read_bytes(), password=None)
    except (ValueError, TypeError):
        raise ValueError(f"{key_path}: not an unencrypted PEM private key") from None
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise ValueError(f"{key_path}: not an ECDSA private key")
    if key.public_key() != certs[0].public_key():
        raise ValueError(f"{key_path} does not belong to the certificate in {cert_path}")
    return Issued(cert=certs[0], key=key, chain=tuple(certs[1:]))


def check_key_file_mode(path: Path) -> None:
    """ValueError unless `path` is a regular file that no one else can read or change.

    Owner-only (0600/0400) always passes. Group read is allowed only when the group is this
    process's own and the file is owned by root or by us: that is how Kubernetes hands a
    Secret to a non-root pod (root:fsGroup, 0440), and it reaches no one but us.
    """
    info = os.stat(path)
    if not stat.S_ISREG(info.st_mode):
        raise ValueError(f"{path}: key is not a regular file")
    mode = stat.S_IMODE(info.st_mode)
    if mode & 0o037 or (mode & 0o040 and not (
            info.st_gid in (os.getegid(), *os.getgroups()) and info.st_uid in (0, os.geteuid()))):
        raise ValueError(f"{path}: key file mode is {mode:04o}; group and other must have no access (0600)")

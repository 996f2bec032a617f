"""Shared fixtures for the audit tests: a mesh PKI, the writer's identity, a foreign CA, and
one small intact log (with its witness checkpoints) that tampering tests copy."""

from __future__ import annotations

import asyncio
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from certs.ca import Issued
from mesh.audit import MemoryCheckpointSink
from mesh.v1 import audit_pb2
from tests.support.badcerts import MeshPKI, make_pki
from tests.unit.audit.logs import WRITER, write_log

TRUST_DOMAIN = "tsunagi.test"


@pytest.fixture(scope="session")
def pki() -> MeshPKI:
    return make_pki(TRUST_DOMAIN)


@pytest.fixture(scope="session")
def identity(pki: MeshPKI) -> Issued:
    """The writing sidecar's workload identity."""
    return pki.issue(WRITER)


@pytest.fixture(scope="session")
def foreign_pki() -> MeshPKI:
    """Another CA for the same trust domain: not in the mesh's bundle."""
    return make_pki(TRUST_DOMAIN)


@dataclass(frozen=True, slots=True)
class SampleLog:
    """A segment of 12 records in three batches of 4, a checkpoint after each (lines 6, 11,
    16), and the checkpoints the witness received."""

    path: Path
    witness: tuple[audit_pb2.AuditCheckpoint, ...]


@pytest.fixture(scope="session")
def sample_log(tmp_path_factory: pytest.TempPathFactory, identity: Issued) -> SampleLog:
    directory = tmp_path_factory.mktemp("sample-log")
    sink = MemoryCheckpointSink()
    path = asyncio.run(write_log(directory, identity, sink, groups=(4, 4, 4), checkpoint_every=4))
    return SampleLog(path=path, witness=tuple(sink.checkpoints))


@pytest.fixture
def log_copy(sample_log: SampleLog, tmp_path: Path) -> Path:
    """A private copy of the sample log, free to tamper with."""
    return Path(shutil.copy(sample_log.path, tmp_path / sample_log.path.name))

"""`meshctl audit verify FILE --against-control-plane`: the witness comes from the control
plane's AuditService for the log's writer and log id; exit 0 intact, 1 bad log, 2 when the
control plane cannot be asked or refuses."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from certs.ca import Issued
from control_plane.cli import build_parser
from mesh.audit import MemoryCheckpointSink
from mesh.v1 import audit_pb2
from tests.support.badcerts import MeshPKI, make_pki
from tests.unit.audit.logs import lines_of, write_lines, write_log
from tests.unit.control_plane.witness import (
    OPERATOR,
    TRUST_DOMAIN,
    WRITER,
    Witness,
    running_witness,
    write_meshconfig,
)


@dataclass(frozen=True, slots=True)
class Written:
    """A segment of 12 records with a checkpoint after each 4 (lines 6, 11, 16)."""

    path: Path
    checkpoints: tuple[audit_pb2.AuditCheckpoint, ...]


@pytest.fixture(scope="module")
def pki() -> MeshPKI:
    return make_pki(TRUST_DOMAIN)


@pytest.fixture(scope="module")
def writer(pki: MeshPKI) -> Issued:
    return pki.issue(WRITER)


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory, writer: Issued) -> Written:
    sink = MemoryCheckpointSink()
    path = asyncio.run(write_log(tmp_path_factory.mktemp("log"), writer, sink, groups=(4, 4, 4),
                                 checkpoint_every=4))
    return Written(path, tuple(sink.checkpoints))


@pytest.fixture
async def witness(pki: MeshPKI, writer: Issued, written: Written) -> AsyncIterator[Witness]:
    """The control plane, holding every checkpoint the log's sidecar sent."""
    async with running_witness(pki) as running:
        for checkpoint in written.checkpoints:
            await running.stub(writer).SubmitCheckpoint(checkpoint)
        yield running


@pytest.fixture
def log_copy(written: Written, tmp_path: Path) -> Path:
    return Path(shutil.copy(written.path, tmp_path / written.path.name))


async def meshctl(*argv: str) -> int:
    """Run meshctl in a worker thread: its client is blocking, the server runs on this loop."""
    args = build_parser().parse_args(list(argv))
    code: int = await asyncio.to_thread(args.func, args)
    return code


async def test_an_intact_log_verifies_against_the_control_planes_witness(
    witness: Witness, pki: MeshPKI, log_copy: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Exit 0, every witnessed checkpoint matched, and no warning: the context's bundle serves
    as the trust roots."""
    meshconfig = write_meshconfig(tmp_path, witness, pki.issue(OPERATOR))
    code = await meshctl("audit", "verify", str(log_copy), "--against-control-plane", "--meshconfig", str(meshconfig))
    out, err = capsys.readouterr()
    assert code == 0
    assert "12 records" in out and "3 witness checkpoints matched" in out
    assert err == ""


@pytest.mark.parametrize(("keep", "kind"), [(11, "rolled-back"), (9, "truncated")],
                         ids=["cut back to a checkpoint", "cut between checkpoints"])
async def test_a_log_cut_short_is_caught_by_the_control_planes_witness(
    witness: Witness, pki: MeshPKI, log_copy: Path, tmp_path: Path, keep: int, kind: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Records removed from the end leave no trace in the file, but the witness has seen past
    it: exit 1 naming the problem."""
    write_lines(log_copy, lines_of(log_copy)[:keep])
    meshconfig = write_meshconfig(tmp_path, witness, pki.issue(OPERATOR))
    code = await meshctl("audit", "verify", str(log_copy), "--against-control-plane", "--meshconfig", str(meshconfig))
    assert code == 1
    assert f": {kind}: " in capsys.readouterr().err


async def test_a_control_plane_refusal_is_an_unreadable_input(
    witness: Witness, writer: Issued, log_copy: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A caller the control plane will not answer (here: a workload) gets exit 2 and the
    control plane's reason; the log is not judged."""
    meshconfig = write_meshconfig(tmp_path, witness, writer)
    code = await meshctl("audit", "verify", str(log_copy), "--against-control-plane", "--meshconfig", str(meshconfig))
    assert code == 2
    assert capsys.readouterr().err.startswith("error: control plane: PERMISSION_DENIED: ")


def test_against_control_plane_and_a_checkpoints_file_are_exclusive(log_copy: Path, tmp_path: Path) -> None:
    """Two sources of the witness are a usage error (exit 2)."""
    with pytest.raises(SystemExit) as usage:
        build_parser().parse_args(["audit", "verify", str(log_copy), "--against-control-plane",
                                   "--checkpoints", str(tmp_path / "c.json")])
    assert usage.value.code == 2

"""The committed generated code matches proto/, and protobuf runs on the upb backend."""

from __future__ import annotations

import re
from pathlib import Path

from google.protobuf.internal import api_implementation

from scripts.genproto import REPO, generate

# Lines that record the generator's version, not the contract; a newer protoc may differ.
_VERSION_LINES = re.compile(
    r"^(# Protobuf Python Version:.*|_runtime_version\.ValidateProtobufRuntimeVersion\(.*"
    r"|\s+_runtime_version\.Domain\.PUBLIC,|\s+\d+,|\s+'',|\s+'[\w/]+\.proto'|\)"
    r"|GRPC_GENERATED_VERSION = .*)$",
    re.M,
)


def _normalised(path: Path) -> str:
    return _VERSION_LINES.sub("", path.read_text(encoding="utf-8"))


def test_protobuf_runs_on_upb() -> None:
    """The fast upb backend is in use (the pure-Python one is ~10× slower on the call path)."""
    assert api_implementation.Type() == "upb"


def test_generated_code_is_not_stale(tmp_path: Path) -> None:
    """Regenerating from proto/ gives exactly the committed files (run `make proto` if not)."""
    generate(tmp_path)
    fresh = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file())
    assert fresh, "protoc generated nothing"
    stale = [str(rel) for rel in fresh
             if not (REPO / rel).exists() or _normalised(REPO / rel) != _normalised(tmp_path / rel)]
    assert not stale, f"stale generated code, run `make proto`: {stale}"
    for proto_dir in {rel.parent for rel in fresh}:
        committed = {p.name for p in (REPO / proto_dir).glob("*_pb2*.py*")}
        generated = {p.name for p in (tmp_path / proto_dir).iterdir()}
        assert committed <= generated, f"generated files without a .proto: {committed - generated}"

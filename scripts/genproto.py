"""Generate Python code and .pyi stubs for proto/ into a target root (default: the repo)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from grpc_tools import protoc

import grpc_tools

REPO = Path(__file__).resolve().parent.parent
PROTO_ROOT = REPO / "proto"


def generate(out: Path) -> None:
    """Run protoc over every .proto under proto/, writing *_pb2.py, .pyi and *_pb2_grpc.py to out."""
    files = sorted(str(p.relative_to(PROTO_ROOT)) for p in PROTO_ROOT.rglob("*.proto"))
    include = Path(grpc_tools.__file__).parent / "_proto"
    args = [
        "protoc",
        f"-I{PROTO_ROOT}",
        f"-I{include}",
        f"--python_out={out}",
        f"--pyi_out={out}",
        f"--grpc_python_out={out}",
        *files,
    ]
    if protoc.main(args) != 0:
        raise SystemExit("protoc failed")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=REPO)
    generate(parser.parse_args().out)


if __name__ == "__main__":
    sys.exit(main())

"""`meshctl audit ...`: verify an audit log segment independently, and find an exchange's
records. Both work on local files; the witness checkpoints come from a file or, with
`--against-control-plane`, from the control plane that keeps them.

Exit codes follow `kubectl diff`: 0 intact (or found), 1 a bad log (or nothing found), 2 a
usage error or an input that cannot be read.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from contextlib import closing
from pathlib import Path

import grpc
from cryptography import x509
from google.protobuf import json_format

from certs.bundle import load_bundle
from control_plane.client import TIMEOUT_S, ClientError, connect, error_lines, load_context
from mesh.audit.reader import find_exchange, read_lines
from mesh.audit.verify import VerifyReport, load_checkpoints, verify_log
from mesh.v1 import audit_pb2
from mesh.v1 import audit_service_pb2

INTACT, BAD, USAGE = 0, 1, 2


def add_commands(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add `audit verify|find` to a parser's subparsers; each sets `func` to its handler,
    which takes the parsed args and returns the exit code."""
    audit = subparsers.add_parser("audit", help="verify audit logs and look up exchanges")
    commands = audit.add_subparsers(dest="audit_command", metavar="COMMAND", required=True)

    verify = commands.add_parser(
        "verify", help="verify an audit log segment (exit 0 intact, 1 bad log, 2 usage error)"
    )
    verify.add_argument("file", type=Path, help="log segment (audit-NNNNNN.jsonl)")
    verify.add_argument(
        "--bundle", type=Path,
        help="trust bundle PEM that checkpoint signers must chain to (with --against-control-plane, "
             "default: the context's bundle)",
    )
    witness = verify.add_mutually_exclusive_group()
    witness.add_argument(
        "--checkpoints", type=Path,
        help="witness checkpoints (AuditCheckpoints as JSON) to detect truncation and rollback",
    )
    witness.add_argument(
        "--against-control-plane", action="store_true",
        help="fetch the witness checkpoints of the log's writer and log id from the control plane",
    )
    verify.add_argument("--meshconfig", type=Path,
                        help="credentials file (default $MESHCONFIG or ~/.tsunagi/meshconfig)")
    verify.add_argument("--context", help="context in the meshconfig (default: currentContext)")
    verify.set_defaults(func=run_verify)

    find = commands.add_parser("find", help="print every record of one exchange (both sides)")
    find.add_argument("--exchange", required=True, help="exchange id")
    find.add_argument("files", type=Path, nargs="+", metavar="FILE", help="log segments to search")
    find.add_argument("-o", "--output", choices=("text", "json"), default="text", help="output format")
    find.set_defaults(func=run_find)


def run_verify(args: argparse.Namespace) -> int:
    """`audit verify`: load the inputs, verify, report."""
    roots: list[x509.Certificate] | None = None
    witness: list[audit_pb2.AuditCheckpoint] = []
    try:
        if args.bundle is not None:
            roots = load_bundle(args.bundle)
        if args.checkpoints is not None:
            witness = load_checkpoints(args.checkpoints)
    except (OSError, ValueError) as err:
        return _error(_describe(err), USAGE)
    if args.against_control_plane:
        return verify_against_control_plane(args.file, roots, args.meshconfig, args.context)
    return verify_and_report(args.file, roots, witness)


def verify_against_control_plane(
    path: Path, roots: Sequence[x509.Certificate] | None, meshconfig: Path | None, context: str | None
) -> int:
    """Verify `path` against the control plane's checkpoints for its writer and log id (read
    from its header), with `roots` or else the context's bundle. A control plane that cannot
    be asked, or refuses, is an input that cannot be read (exit 2)."""
    try:
        header = _header(path)
    except OSError as err:
        return _error(f"cannot read the log: {_describe(err)}", USAGE)
    if header is None or not header.writer or not header.log_id:
        # Nothing to ask the witness about; verification names what is wrong (exit 1).
        return verify_and_report(path, roots, ())
    try:
        witness = fetch_witness(header, meshconfig, context)
        if roots is None:
            roots = _context_roots(meshconfig, context)
    except ClientError as exc:
        for line in exc.lines:
            print(f"error: {line}", file=sys.stderr)
        return USAGE
    except (OSError, ValueError) as err:
        return _error(_describe(err), USAGE)
    return verify_and_report(path, roots, witness)


def fetch_witness(
    header: audit_pb2.AuditHeader, meshconfig: Path | None, context: str | None
) -> list[audit_pb2.AuditCheckpoint]:
    """The control plane's checkpoints for the log `header` opens (its writer and log id).
    ClientError when the control plane cannot be asked or refuses."""
    connection = connect(meshconfig, context)
    try:
        request = audit_service_pb2.ListCheckpointsRequest(spiffe_id=header.writer, log_id=header.log_id)
        response = connection.audit.ListCheckpoints(request, timeout=TIMEOUT_S)
    except grpc.RpcError as err:
        raise ClientError([f"control plane: {line}" for line in error_lines(err)]) from None
    finally:
        connection.close()
    return list(response.checkpoints)


def _context_roots(meshconfig: Path | None, context: str | None) -> list[x509.Certificate]:
    """The trust bundle of the meshconfig context: the mesh's roots, as the operator has them."""
    found, base = load_context(meshconfig, context)
    return load_bundle(base / found.bundle_file)


def _header(path: Path) -> audit_pb2.AuditHeader | None:
    """The segment's header (line 1), or None when line 1 is not one."""
    with closing(read_lines(path)) as lines:
        first = next(lines, None)
    if first is None or first.entry is None or first.entry.WhichOneof("entry") != "header":
        return None
    return first.entry.header


def verify_and_report(
    path: Path, roots: Sequence[x509.Certificate] | None, witness: Sequence[audit_pb2.AuditCheckpoint]
) -> int:
    """Verify `path` against `roots` and `witness` checkpoints, print the outcome, return the
    exit code. (`--against-control-plane` fetches the witness, then calls this.)"""
    try:
        report = verify_log(path, roots, witness)
    except OSError as err:
        return _error(f"cannot read the log: {_describe(err)}", USAGE)
    for note in report.notes:
        print(f"warning: {note}", file=sys.stderr)
    if report.problem is not None:
        problem = report.problem
        return _error(f"{path}: {problem.where()}: {problem.kind}: {problem.reason}", BAD)
    print(_summary(report))
    return INTACT


def run_find(args: argparse.Namespace) -> int:
    """`audit find`: one line per record of the exchange, in file order."""
    found = 0
    try:
        for hit in find_exchange(args.files, args.exchange):
            found += 1
            record = hit.record
            if args.output == "json":
                entry = {"file": str(hit.path), "line": hit.line,
                         "record": json_format.MessageToDict(record, preserving_proto_field_name=True)}
                print(json.dumps(entry, sort_keys=True, separators=(",", ":"), ensure_ascii=False))
            else:
                print(_row(hit.path, hit.line, record))
    except OSError as err:
        return _error(f"cannot read a log: {_describe(err)}", USAGE)
    if not found:
        return _error(f"no record of exchange {args.exchange}", BAD)
    return 0


def _summary(report: VerifyReport) -> str:
    return (f"{report.path}: intact: log {report.log_id} by {report.writer}, {report.records} records"
            f" (last seq {report.last_seq}), {report.checkpoints} checkpoints verified,"
            f" {report.witnessed} witness checkpoints matched")


def _row(path: Path, line: int, record: audit_pb2.AuditRecord) -> str:
    side = audit_pb2.AuditSide.Name(record.side).removeprefix("AUDIT_SIDE_").lower()
    decision = audit_pb2.AuditDecision.Name(record.decision).removeprefix("AUDIT_DECISION_").lower()
    fields = [
        f"{path}:{line}", side, record.time.ToJsonString(), f"{record.caller} -> {record.callee or '-'}",
        record.method, f"purpose={record.purpose or '-'}", decision, record.status,
        f"rule={record.rule or '-'}", f"seq={record.seq}",
    ]
    return "  ".join(fields)


def _describe(err: Exception) -> str:
    if isinstance(err, OSError) and err.strerror:
        return f"{err.filename}: {err.strerror}" if err.filename else err.strerror
    return str(err)


def _error(message: str, code: int) -> int:
    print(f"error: {message}", file=sys.stderr)
    return code

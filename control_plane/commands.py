"""meshctl's operator verbs, with kubectl habits. Thin: the server validates everything.

apply -f FILE|DIR|-   get KIND [NAME] -o yaml|json|wide   describe   delete   diff (0/1/>1)
history   rollback   status   join-token   check (0 allowed / 1 denied / >1 error)
"""

from __future__ import annotations

import argparse
import difflib
import json
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

import grpc
import yaml

from control_plane.client import TIMEOUT_S, ClientError, Connection, connect, error_lines
from mesh.resources import KINDS, lookup_kind
from mesh.v1 import access_policy_pb2
from mesh.v1 import control_plane_pb2 as api

ACTIONS = {api.APPLY_ACTION_CREATED: "created", api.APPLY_ACTION_CONFIGURED: "configured",
           api.APPLY_ACTION_UNCHANGED: "unchanged", api.APPLY_ACTION_DELETED: "deleted"}
# Written by the system; left out of diffs so that only what an operator changed shows.
_VOLATILE_META = ("resourceVersion", "generation", "creationTimestamp", "configVersion", "updatedBy")


def add_commands(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    def verb(name: str, func: Callable[[argparse.Namespace, Connection], int], help: str) -> argparse.ArgumentParser:
        parser = subparsers.add_parser(name, help=help)
        parser.add_argument("--meshconfig", type=Path, help="credentials file (default $MESHCONFIG or ~/.tsunagi/meshconfig)")
        parser.add_argument("--context", help="context in the meshconfig (default: currentContext)")
        parser.set_defaults(func=lambda args: _run(func, args))
        return parser

    p = verb("apply", run_apply, "create or update resources from YAML")
    p.add_argument("-f", "--filename", required=True, action="append", help="FILE, DIR or - (repeatable)")
    p.add_argument("--dry-run", choices=("none", "server"), default="none")
    p = verb("diff", run_diff, "show what apply would change (exit 0: none, 1: changes, >1: error)")
    p.add_argument("-f", "--filename", required=True, action="append")
    p = verb("get", run_get, "list or show resources")
    p.add_argument("kind")
    p.add_argument("name", nargs="?")
    p.add_argument("--org", default="")
    p.add_argument("-o", "--output", choices=("table", "wide", "yaml", "json"), default="table")
    p = verb("describe", run_describe, "show one resource and its history")
    p.add_argument("kind")
    p.add_argument("name")
    p.add_argument("--org", default="")
    p = verb("delete", run_delete, "delete resources")
    p.add_argument("kind")
    p.add_argument("names", nargs="+")
    p.add_argument("--org", default="")
    p.add_argument("--dry-run", choices=("none", "server"), default="none")
    p = verb("history", run_history, "stored versions of one resource")
    p.add_argument("kind")
    p.add_argument("name")
    p.add_argument("--org", default="")
    p = verb("rollback", run_rollback, "write an earlier version back")
    p.add_argument("kind")
    p.add_argument("name")
    p.add_argument("--org", default="")
    p.add_argument("--to-version", type=int, required=True, help="config version from `history`")
    p.add_argument("--dry-run", choices=("none", "server"), default="none")
    p = verb("status", run_status, "every live sidecar: applied config version, hash, errors, certificate expiry")
    p.add_argument("-o", "--output", choices=("table", "json"), default="table")
    p = verb("revoke", run_revoke, "put identities on the deny-list (refused mesh-wide at once)")
    p.add_argument("spiffe_ids", nargs="+")
    p.add_argument("--reason", required=True)
    p = verb("reinstate", run_reinstate, "take identities off the deny-list")
    p.add_argument("spiffe_ids", nargs="+")
    p = verb("join-token", run_join_token, "mint a one-time join token for a system identity")
    p.add_argument("spiffe_id")
    p.add_argument("--ttl", default="1h")
    p = verb("check", run_check, "explain the access decision for a call against the live config "
                                 "(exit 0: allowed, 1: denied, >1: error)")
    p.add_argument("--caller", required=True, help="the caller's workload SPIFFE ID")
    p.add_argument("--method", required=True, help="the exact method path /package.Service/Method")
    p.add_argument("--purpose", default="", help="the purpose the call states (default: none)")
    p.add_argument("-o", "--output", choices=("text", "json"), default="text")


def _run(func: Callable[[argparse.Namespace, Connection], int], args: argparse.Namespace) -> int:
    # diff and check use exit 1 for an answer ("changes", "denied"), so their errors are 2.
    error_code = 2 if args.command in ("diff", "check") else 1
    try:
        connection = connect(args.meshconfig, args.context)
    except ClientError as exc:
        return _fail(exc.lines, error_code)
    try:
        return func(args, connection)
    except grpc.RpcError as err:
        return _fail(error_lines(err), error_code)
    except ClientError as exc:
        return _fail(exc.lines, error_code)
    finally:
        connection.close()


def _fail(lines: list[str], code: int) -> int:
    for line in lines:
        print(f"error: {line}", file=sys.stderr)
    return code


def read_documents(names: list[str]) -> list[api.Document]:
    documents = []
    for name in names:
        if name == "-":
            documents.append(api.Document(source="stdin", text=sys.stdin.read()))
            continue
        path = Path(name)
        files = sorted(p for p in path.rglob("*") if p.suffix in (".yaml", ".yml", ".json")) if path.is_dir() else [path]
        for file in files:
            try:
                documents.append(api.Document(source=str(file), text=file.read_text(encoding="utf-8")))
            except OSError as exc:
                raise ClientError([f"{file}: {exc.strerror}"]) from None
    return documents


def _label(kind: str, org: str, name: str) -> str:
    return f"{kind.lower()}/{org + '/' if org else ''}{name}"


def run_apply(args: argparse.Namespace, c: Connection) -> int:
    request = api.ApplyRequest(documents=read_documents(args.filename), dry_run=args.dry_run == "server")
    response = c.config.Apply(request, timeout=TIMEOUT_S)
    suffix = " (server dry run)" if request.dry_run else ""
    for r in response.results:
        print(f"{_label(r.kind, r.org, r.name)} {ACTIONS[r.action]}{suffix}")
    return 0


def _comparable(object_json: str) -> str:
    if not object_json:
        return ""
    obj = json.loads(object_json)
    obj.pop("status", None)
    for key in _VOLATILE_META:
        obj.get("metadata", {}).pop(key, None)
    return yaml.safe_dump(obj, allow_unicode=True, sort_keys=True)


def run_diff(args: argparse.Namespace, c: Connection) -> int:
    response = c.config.Apply(api.ApplyRequest(documents=read_documents(args.filename), dry_run=True),
                              timeout=TIMEOUT_S)
    changed = 0
    for r in response.results:
        if r.action == api.APPLY_ACTION_UNCHANGED:
            continue
        changed += 1
        label = _label(r.kind, r.org, r.name)
        sys.stdout.writelines(difflib.unified_diff(
            _comparable(r.previous_json).splitlines(keepends=True),
            _comparable(r.object_json).splitlines(keepends=True),
            fromfile=f"live/{label}", tofile=f"desired/{label}"))
    return 1 if changed else 0


def _kind(text: str) -> str:
    kind = lookup_kind(text)
    if kind is None:
        raise ClientError([f"unknown kind {text!r}; one of {', '.join(KINDS)}"])
    return kind.name


def _age(obj: dict[str, Any]) -> str:
    created = obj.get("metadata", {}).get("creationTimestamp")
    if not created:
        return "-"
    seconds = (datetime.now(timezone.utc) - datetime.fromisoformat(created.replace("Z", "+00:00"))).total_seconds()
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{int(seconds // size)}{unit}"
    return f"{int(seconds)}s"


def _summary(obj: dict[str, Any]) -> str:
    spec = obj.get("spec", {})
    kind = obj.get("kind")
    if kind == "Route":
        return f"{spec.get('consumer')} → {spec.get('grpcService')} timeout={spec.get('timeout', '30s')}"
    if kind == "Service":
        return f"{spec.get('system')}: {','.join(spec.get('grpcServices', []))} @ {','.join(e['address'] for e in spec.get('endpoints', []))}"
    if kind == "System":
        return spec.get("spiffeId", "")
    return spec.get("displayName", "")


def run_get(args: argparse.Namespace, c: Connection) -> int:
    response = c.config.Get(api.GetRequest(kind=_kind(args.kind), org=args.org, name=args.name or ""),
                            timeout=TIMEOUT_S)
    objects = [json.loads(o) for o in response.objects_json]
    if args.output == "json":
        print(json.dumps(objects[0] if args.name else objects, ensure_ascii=False, indent=2))
    elif args.output == "yaml":
        print(yaml.safe_dump_all(objects, allow_unicode=True, sort_keys=False), end="")
    else:
        rows = [("ORG", "NAME", "GENERATION", "AGE") + (("SPEC",) if args.output == "wide" else ())]
        for obj in objects:
            meta = obj["metadata"]
            row = (meta.get("org", "-"), meta["name"], str(meta.get("generation", "")), _age(obj))
            rows.append(row + ((_summary(obj),) if args.output == "wide" else ()))
        _table(rows)
    return 0


def _table(rows: list[tuple[str, ...]]) -> None:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip())


def run_describe(args: argparse.Namespace, c: Connection) -> int:
    kind = _kind(args.kind)
    response = c.config.Get(api.GetRequest(kind=kind, org=args.org, name=args.name), timeout=TIMEOUT_S)
    print(yaml.safe_dump(json.loads(response.objects_json[0]), allow_unicode=True, sort_keys=False), end="")
    ref = api.ObjectRef(kind=kind, org=args.org, name=args.name)
    history = c.config.History(api.HistoryRequest(object=ref), timeout=TIMEOUT_S)
    print("history:")
    for e in history.entries[:10]:
        print(f"  v{e.config_version}  {ACTIONS.get(e.action, '?'):10} {e.updated_by}  "
              f"{e.applied_at.ToDatetime(timezone.utc).isoformat(timespec='seconds')}")
    return 0


def run_delete(args: argparse.Namespace, c: Connection) -> int:
    kind = _kind(args.kind)
    request = api.DeleteRequest(objects=[api.ObjectRef(kind=kind, org=args.org, name=n) for n in args.names],
                                dry_run=args.dry_run == "server")
    response = c.config.Delete(request, timeout=TIMEOUT_S)
    for r in response.results:
        print(f"{_label(r.kind, r.org, r.name)} deleted{' (server dry run)' if request.dry_run else ''}")
    return 0


def run_history(args: argparse.Namespace, c: Connection) -> int:
    ref = api.ObjectRef(kind=_kind(args.kind), org=args.org, name=args.name)
    response = c.config.History(api.HistoryRequest(object=ref), timeout=TIMEOUT_S)
    rows = [("VERSION", "ACTION", "BY", "APPLIED")]
    for e in response.entries:
        rows.append((str(e.config_version), ACTIONS.get(e.action, "?"), e.updated_by,
                     e.applied_at.ToDatetime(timezone.utc).isoformat(timespec="seconds")))
    _table(rows)
    return 0


def run_rollback(args: argparse.Namespace, c: Connection) -> int:
    ref = api.ObjectRef(kind=_kind(args.kind), org=args.org, name=args.name)
    response = c.config.Rollback(api.RollbackRequest(object=ref, to_config_version=args.to_version,
                                                     dry_run=args.dry_run == "server"), timeout=TIMEOUT_S)
    for r in response.results:
        print(f"{_label(r.kind, r.org, r.name)} rolled back to v{args.to_version} ({ACTIONS[r.action]})")
    return 0


def run_status(args: argparse.Namespace, c: Connection) -> int:
    response = c.status.List(api.ListStatusRequest(), timeout=TIMEOUT_S)
    if args.output == "json":
        from google.protobuf import json_format
        print(json_format.MessageToJson(response, ensure_ascii=False))
        return 0
    rows = [("IDENTITY", "INSTANCE", "APPLIED", "CONVERGED", "HASH", "SOURCE", "REJECTED", "CERT EXPIRES", "LAST ERROR")]
    for s in sorted(response.sidecars, key=lambda s: (s.spiffe_id, s.instance)):
        expiry = (s.certificate_expiry.ToDatetime(timezone.utc).isoformat(timespec="seconds")
                  if s.HasField("certificate_expiry") else "-")
        rows.append((s.spiffe_id, s.instance, str(s.applied_version),
                     "yes" if s.applied_version == response.config_version else "no",
                     s.config_hash[:12] or "-", s.source or "-", str(s.counters.get("rejected", 0)),
                     expiry, s.last_error or "-"))
    _table(rows)
    print(f"config version: {response.config_version}")
    return 0


def run_join_token(args: argparse.Namespace, c: Connection) -> int:
    from certs.duration import parse_duration

    request = api.CreateJoinTokenRequest(spiffe_id=args.spiffe_id)
    request.ttl.FromTimedelta(parse_duration(args.ttl))
    response = c.ca.CreateJoinToken(request, timeout=TIMEOUT_S)
    print(response.token)
    return 0


def run_check(args: argparse.Namespace, c: Connection) -> int:
    """Exit 0 when the call would be allowed, 1 when denied."""
    from google.protobuf import json_format

    response = c.config.Check(api.CheckRequest(caller=args.caller, method=args.method, purpose=args.purpose),
                              timeout=TIMEOUT_S)
    if args.output == "json":
        print(json_format.MessageToJson(response, ensure_ascii=False, always_print_fields_with_no_presence=True))
        return 0 if response.allowed else 1
    verdict = "allowed" if response.allowed else f"denied: {response.reason}"
    if response.detail:
        verdict += f" ({response.detail})"
    rule = (f"{response.policy_org}/{response.policy} rule {response.rule}" if response.rule
            else "none (default deny)")
    fields = "-"
    rate = "-"
    if response.allowed:
        fields = "all"
        if response.HasField("field_grant"):
            mode = "REMOVE" if response.field_grant.mode == access_policy_pb2.FIELD_GRANT_MODE_REMOVE else "MASK"
            fields = f"{', '.join(response.field_grant.fields)} (others: {mode})"
        rate = "unlimited"
        if response.HasField("rate_limit"):
            rate = (f"{response.rate_limit.requests_per_second:g}/s, burst {response.rate_limit.burst}, "
                    "per caller")
    _table([("decision:", verdict), ("caller:", args.caller),
            ("method:", args.method if args.method.isprintable() else repr(args.method)),
            ("purpose:", args.purpose or "(none)"), ("provider:", response.provider or "(unknown)"),
            ("policy:", rule), ("fields:", fields), ("rate limit:", rate),
            ("config version:", str(response.config_version))])
    return 0 if response.allowed else 1


def run_revoke(args: argparse.Namespace, c: Connection) -> int:
    from mesh.v1 import revocation_pb2

    response = c.revocation.Revoke(revocation_pb2.RevokeRequest(spiffe_ids=args.spiffe_ids, reason=args.reason),
                                   timeout=TIMEOUT_S)
    for spiffe_id in args.spiffe_ids:
        print(f"{spiffe_id} revoked (config version {response.config_version})")
    return 0


def run_reinstate(args: argparse.Namespace, c: Connection) -> int:
    from mesh.v1 import revocation_pb2

    response = c.revocation.Reinstate(revocation_pb2.ReinstateRequest(spiffe_ids=args.spiffe_ids), timeout=TIMEOUT_S)
    for spiffe_id in args.spiffe_ids:
        print(f"{spiffe_id} reinstated (config version {response.config_version})")
    return 0

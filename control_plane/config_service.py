"""ConfigService: apply, get, delete, history and rollback of resources, for operators."""

from __future__ import annotations

import yaml
from grpc import aio
from google.protobuf import json_format
from google.protobuf.message import Message

from control_plane.authz import Authorizer
from control_plane.check import explain
from control_plane.errors import FieldError, Forbidden, Invalid, NotFound
from control_plane.identity import caller_identity
from control_plane.repository import Outcome, Repository, object_json
from control_plane.validate import Ref, ref_of
from mesh.resources import KINDS, DocumentError, from_dict, lookup_kind
from mesh.v1 import control_plane_pb2 as api
from mesh.v1 import control_plane_pb2_grpc as api_grpc

MAX_DOCUMENTS = 200  # one etcd transaction holds them all (etcd's --max-txn-ops)
# PyYAML's safe loader on libyaml (its wheels ship it), ~6x faster than the pure-Python one;
# the pure-Python one where PyYAML was built without it. Both construct the same safe types.
YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def parse_documents(documents: list[api.Document]) -> list[tuple[str, Message]]:
    """Every document of every text, parsed strictly; all problems reported together."""
    objects: list[tuple[str, Message]] = []
    errors: list[FieldError] = []
    for d_index, document in enumerate(documents):
        name = document.source or f"documents[{d_index}]"
        try:
            docs = [d for d in yaml.load_all(document.text, Loader=YAML_LOADER) if d is not None]
        except yaml.YAMLError as exc:
            errors.append(FieldError(name, f"not valid YAML: {exc}"))
            continue
        for i, doc in enumerate(docs):
            source = f"{name}#{i + 1}" if len(docs) > 1 else name
            try:
                objects.append((source, from_dict(doc)))
            except DocumentError as exc:
                errors += [FieldError(f"{source}: {p}" if p else source, m) for p, m in exc.problems]
    if len(objects) > MAX_DOCUMENTS:
        errors.append(FieldError("documents", f"at most {MAX_DOCUMENTS} objects per apply"))
    if not objects and not errors:
        errors.append(FieldError("documents", "nothing to apply"))
    if errors:
        raise Invalid(errors)
    return objects


def _results(outcome: Outcome) -> list[api.ApplyResult]:
    return [api.ApplyResult(kind=p.ref[0], org=p.ref[1], name=p.ref[2], action=p.action,
                            object_json=object_json(p.new), previous_json=object_json(p.old))
            for p in outcome.results]


def _ref(obj: api.ObjectRef) -> Ref:
    kind = lookup_kind(obj.kind)
    if kind is None:
        raise Invalid([FieldError("kind", f"unknown kind {obj.kind!r}")])
    return kind.name, obj.org, obj.name


class ConfigService(api_grpc.ConfigServiceServicer):
    def __init__(self, repository: Repository, authz: Authorizer) -> None:
        self._repo = repository
        self._authz = authz

    def _caller(self, context: aio.ServicerContext) -> str:
        identity = caller_identity(context, self._repo.trust_domain)
        self._authz.require_operator(identity)
        return identity

    async def Apply(self, request: api.ApplyRequest, context: aio.ServicerContext) -> api.ApplyResponse:
        actor = self._caller(context)
        objects = parse_documents(list(request.documents))
        for _, message in objects:
            kind, org, name = ref_of(message)
            self._authz.require_write(actor, KINDS[kind], org, name)
        outcome = await self._repo.apply(objects, actor, request.dry_run)
        return api.ApplyResponse(results=_results(outcome), config_version=outcome.version)

    async def Get(self, request: api.GetRequest, context: aio.ServicerContext) -> api.GetResponse:
        actor = self._caller(context)
        kind = lookup_kind(request.kind)
        if kind is None:
            raise Invalid([FieldError("kind", f"unknown kind {request.kind!r}; one of {', '.join(KINDS)}")])
        loaded = await self._repo.load()
        found = []
        for (k, org, name), message in sorted(loaded.objects.items()):
            if k != kind.name or (request.org and org != request.org) or (request.name and name != request.name):
                continue
            if self._authz.can_read(actor, kind, org):
                found.append(object_json(message))
        if request.name and not found:
            raise NotFound(f"{kind.name} {request.org or '-'}/{request.name} not found")
        return api.GetResponse(objects_json=found, config_version=loaded.version)

    async def Delete(self, request: api.DeleteRequest, context: aio.ServicerContext) -> api.DeleteResponse:
        actor = self._caller(context)
        refs = [_ref(o) for o in request.objects]
        for kind, org, name in refs:
            self._authz.require_write(actor, KINDS[kind], org, name)
        outcome = await self._repo.delete(refs, actor, request.dry_run)
        return api.DeleteResponse(results=_results(outcome), config_version=outcome.version)

    async def History(self, request: api.HistoryRequest, context: aio.ServicerContext) -> api.HistoryResponse:
        actor = self._caller(context)
        kind, org, name = _ref(request.object)
        if not self._authz.can_read(actor, KINDS[kind], org):
            raise Forbidden(f"{actor} may not read {kind} {org or '-'}/{name}")
        entries = await self._repo.history((kind, org, name))
        if not entries:
            raise NotFound(f"{kind} {org or '-'}/{name} has no history")
        return api.HistoryResponse(entries=entries)

    async def Rollback(self, request: api.RollbackRequest, context: aio.ServicerContext) -> api.ApplyResponse:
        actor = self._caller(context)
        kind, org, name = _ref(request.object)
        self._authz.require_write(actor, KINDS[kind], org, name)
        entries = await self._repo.history((kind, org, name))
        match = [e for e in entries if e.config_version == request.to_config_version]
        if not match or match[0].action == api.APPLY_ACTION_DELETED:
            raise NotFound(f"{kind} {org or '-'}/{name} has no stored version {request.to_config_version}")
        message = json_format.Parse(match[0].object_json, KINDS[kind].message())
        message.metadata.resource_version = ""  # type: ignore[attr-defined]
        source = f"history@{request.to_config_version}"
        outcome = await self._repo.apply([(source, message)], actor, request.dry_run)
        return api.ApplyResponse(results=_results(outcome), config_version=outcome.version)

    async def Check(self, request: api.CheckRequest, context: aio.ServicerContext) -> api.CheckResponse:
        actor = self._caller(context)
        loaded = await self._repo.load()
        found = explain(loaded.objects.values(), request, self._repo.trust_domain, loaded.version)
        policies = KINDS["AccessPolicy"]
        if not any(org and self._authz.can_read(actor, policies, org)
                   for org in (found.provider_org, found.caller_org)):
            raise Forbidden(f"{actor} may not read the access policies of the provider or the caller")
        return found.response

"""The mesh's resources in etcd: read them, and write a validated change as one transaction.

Every write is signed (mesh/commit.py) and guarded on the config head's mod revision, so
concurrent control-plane replicas serialise; within one replica, writes take turns. A stale
resourceVersion fails with Conflict and nothing is written.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Iterable

import structlog
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from google.protobuf import json_format
from google.protobuf.message import DecodeError, Message

from control_plane.errors import Conflict, FieldError, Invalid, NotFound, Unavailable
from control_plane.validate import Ref, World, check_references, ref_of, references_may_break, validate_object
from mesh import keys
from mesh.commit import Change, Commit, Committed, build_commit
from mesh.resources import KINDS
from mesh.signing import Signer, ValueRejected, Verifier, signer_public_key
from mesh.store.base import Compare, Put, Store
from mesh.store.errors import StoreError
from mesh.v1 import control_plane_pb2 as api
from mesh.v1 import signed_pb2

log = structlog.get_logger("control_plane.repository")
MAX_RETRIES = 5
Action = int  # api.ApplyAction


@dataclass(slots=True)
class Loaded:
    """The config as read at one revision.

    The messages in `objects` are shared with other loads (unchanged values are decoded
    once): read them, and copy one before changing it."""

    raw: dict[str, bytes]
    mod_revisions: dict[str, int]
    objects: dict[Ref, Message]
    version: int
    head_mod_revision: int
    revision: int
    verifier: Verifier


@dataclass(frozen=True, slots=True)
class _Decoded:
    """A stored resource as last decoded: its exact value and mod revision, the key that
    signed it, and the message (with resourceVersion set; shared, never changed)."""

    raw: bytes
    mod_revision: int
    key_id: str
    ref: Ref
    message: Message


@dataclass(frozen=True, slots=True)
class _Written:
    """What this replica's last commit wrote at `revision`: the resources (as they decode)
    and the head. A load that reads exactly these bytes back at that revision takes them as
    they are instead of verifying and parsing its own signatures again."""

    revision: int
    version: int
    head: bytes
    resources: dict[str, _Decoded]


@dataclass(frozen=True, slots=True)
class Planned:
    """One object's outcome in an apply or delete."""

    ref: Ref
    action: Action
    new: Message | None
    old: Message | None
    source: str = ""


@dataclass(slots=True)
class Outcome:
    results: list[Planned] = field(default_factory=list)
    version: int = 0


def _decode(key: str, value: bytes, mod_revision: int, verifier: Verifier) -> _Decoded | None:
    """The verified resource stored at `key`; None for other keys and (logged) bad values."""
    ref = keys.parse_resource_key(key)
    if ref is None or ref[0] not in KINDS:
        return None
    try:
        signed = verifier.verify(key, value)
        message = KINDS[ref[0]].message()
        message.ParseFromString(signed.payload)
    except (ValueRejected, DecodeError) as exc:
        log.warning("stored_value_ignored", key=key, reason=str(exc))
        return None
    message.metadata.resource_version = str(mod_revision)  # type: ignore[attr-defined]
    return _Decoded(value, mod_revision, signed.key_id, ref, message)


def _now() -> datetime:
    return datetime.now(timezone.utc)


def object_json(message: Message | None) -> str:
    return "" if message is None else json_format.MessageToJson(message, indent=None, sort_keys=True)


class Repository:
    """Resource reads and atomic, signed writes over a Store."""

    def __init__(self, store: Store, signer: Signer, signer_chain_pem: bytes,
                 roots: list[x509.Certificate], trust_domain: str) -> None:
        self._store = store
        self._signer = signer
        self._signer_chain = signer_chain_pem
        self._roots = roots
        self.trust_domain = trust_domain
        # What the last load decoded, by key: a value read again unchanged is not parsed again.
        self._decoded: dict[str, _Decoded] = {}
        # The last load, which the next one brings up to date.
        self._loaded: Loaded | None = None
        # Signer chain → (key_id, public key), or None when it does not chain to our roots.
        self._chains: dict[bytes, tuple[str, ec.EllipticCurvePublicKey] | None] = {}
        # What the last commit built covered: the next one re-verifies and re-hashes only what
        # differs from it.
        self._committed: Committed | None = None
        self._written: _Written | None = None
        # One write at a time in this replica: concurrent applies would otherwise read the
        # same head, and all but one would lose the race and retry.
        self._writing = asyncio.Lock()

    # -- reading ---------------------------------------------------------------------------

    async def load(self) -> Loaded:
        """The config as it is now. After the first load, a load reads only the keys changed
        since the previous one (and their count, which shows deletions); it reads everything
        again when keys were deleted or signers changed."""
        previous = self._loaded
        try:
            loaded = await self._load_changes(previous) if previous is not None else None
            if loaded is None:
                loaded = await self._load_all()
        except StoreError as exc:
            raise Unavailable(f"etcd: {exc}") from None
        self._loaded = loaded
        return loaded

    async def _load_all(self) -> Loaded:
        kvs, revision = await self._store.range(keys.CONFIG_PREFIX.encode())
        raw: dict[str, bytes] = {}
        mods: dict[str, int] = {}
        for kv in kvs:
            key = kv.key.decode()
            raw[key], mods[key] = kv.value, kv.mod_revision
        verifier = self.verifier(raw)
        version, head_mod = self._head_version(raw, verifier), mods.get(keys.HEAD_KEY, 0)
        objects: dict[Ref, Message] = {}
        decoded: dict[str, _Decoded] = {}
        for key, value in raw.items():
            entry = self._decoded.get(key)
            if (entry is None or entry.raw != value or entry.mod_revision != mods[key]
                    or entry.key_id not in verifier.public_keys):
                entry = _decode(key, value, mods[key], verifier)
                if entry is None:
                    continue
            decoded[key] = entry
            objects[entry.ref] = entry.message
        self._decoded = decoded
        return Loaded(raw, mods, objects, version, head_mod, revision, verifier)

    async def _load_changes(self, previous: Loaded) -> Loaded | None:
        """`previous` with the keys changed since; None when keys were deleted or a signer
        changed (a whole load is needed then)."""
        changes = await self._store.changes(keys.CONFIG_PREFIX.encode(), previous.revision)
        changed = {kv.key.decode(): kv for kv in changes.kvs}
        added = sum(1 for key in changed if key not in previous.raw)
        if (changes.count != len(previous.raw) + added
                or any(k.startswith(keys.SIGNER_PREFIX) for k in changed)):
            return None
        if not changed:
            if changes.revision == previous.revision:
                return previous
            return dataclasses.replace(previous, revision=changes.revision)
        raw, mods, objects = dict(previous.raw), dict(previous.mod_revisions), dict(previous.objects)
        verifier = previous.verifier
        written = self._written
        for key, kv in changed.items():
            raw[key], mods[key] = kv.value, kv.mod_revision
            stale = self._decoded.pop(key, None)
            if stale is not None:
                objects.pop(stale.ref, None)
            entry = (written.resources.get(key)
                     if written is not None and kv.mod_revision == written.revision else None)
            if entry is None or entry.raw != kv.value:
                entry = _decode(key, kv.value, kv.mod_revision, verifier)
            if entry is not None:
                self._decoded[key] = entry
                objects[entry.ref] = entry.message
        if keys.HEAD_KEY not in changed:
            version = previous.version
        elif written is not None and written.head == changed[keys.HEAD_KEY].value:
            version = written.version
        else:
            version = self._head_version(raw, verifier)
        self._written = None
        return Loaded(raw, mods, objects, version, mods.get(keys.HEAD_KEY, 0), changes.revision, verifier)

    @staticmethod
    def _head_version(raw: dict[str, bytes], verifier: Verifier) -> int:
        if keys.HEAD_KEY not in raw:
            return 0
        try:
            return verifier.verify(keys.HEAD_KEY, raw[keys.HEAD_KEY]).version
        except ValueRejected as exc:
            log.warning("config_head_rejected", reason=exc.reason)
            return 0

    def verifier(self, raw: dict[str, bytes]) -> Verifier:
        """Signer keys found in the config that chain to our roots (always including ours)."""
        public_keys = {self._signer.key_id: self._signer.private_key.public_key()}
        chains: dict[bytes, tuple[str, ec.EllipticCurvePublicKey] | None] = {}
        for key, value in raw.items():
            if key.startswith(keys.SIGNER_PREFIX):
                chains[value] = found = (self._chains[value] if value in self._chains
                                         else self._signer_key(value))
                if found is not None:
                    public_keys[found[0]] = found[1]
        self._chains = chains
        return Verifier(public_keys)

    def _signer_key(self, chain_pem: bytes) -> tuple[str, ec.EllipticCurvePublicKey] | None:
        """The key of a signer chain, if it chains to our roots. The answer depends only on the
        chain (the validity period is not checked), so it is remembered while stored."""
        try:
            return signer_public_key(chain_pem, self._roots, self.trust_domain, check_time=False)
        except ValueRejected:
            return None

    # -- writing ---------------------------------------------------------------------------

    async def apply(self, objects: list[tuple[str, Message]], actor: str, dry_run: bool) -> Outcome:
        """Validate `objects` (source, message) against the world and write them atomically."""
        return await self._write(lambda loaded: self._plan_apply(objects, loaded), actor, dry_run)

    async def delete(self, refs: list[Ref], actor: str, dry_run: bool) -> Outcome:
        return await self._write(lambda loaded: self._plan_delete(refs, loaded), actor, dry_run)

    async def _write(self, plan, actor: str, dry_run: bool) -> Outcome:  # type: ignore[no-untyped-def]
        async with contextlib.nullcontext() if dry_run else self._writing:
            return await self._plan_and_commit(plan, actor, dry_run)

    async def _plan_and_commit(self, plan, actor: str, dry_run: bool) -> Outcome:  # type: ignore[no-untyped-def]
        for _ in range(MAX_RETRIES):
            loaded = await self.load()
            planned: list[Planned] = plan(loaded)
            changed = [p for p in planned if p.action != api.APPLY_ACTION_UNCHANGED]
            if dry_run or not changed and keys.signer_key(self._signer.key_id) in loaded.raw:
                return Outcome(planned, loaded.version)
            version = loaded.version + 1
            changes, history = [], []
            for p in changed:
                kind, org, name = p.ref
                key = keys.resource_key(kind, org, name)
                if p.new is not None:
                    meta = p.new.metadata  # type: ignore[attr-defined]
                    meta.config_version = version
                    meta.updated_by = actor
                    meta.resource_version = ""
                    changes.append(Change(key, kind, p.new.SerializeToString()))
                else:
                    changes.append(Change(key, kind, None))
                entry = api.HistoryEntry(config_version=version, action=p.action, updated_by=actor,
                                         object_json=object_json(p.new or p.old))
                entry.applied_at.FromDatetime(_now())
                history.append(Put(keys.history_key(kind, org, name, version).encode(),
                                   entry.SerializeToString()))
            raw_puts = {}
            if keys.signer_key(self._signer.key_id) not in loaded.raw:
                raw_puts[keys.signer_key(self._signer.key_id)] = self._signer_chain
            commit = self._commit(loaded, changes, raw_puts)
            guards = [Compare(keys.resource_key(*p.ref).encode(),
                              loaded.mod_revisions.get(keys.resource_key(*p.ref), 0)) for p in changed]
            try:
                result = await self._store.txn([*commit.compares, *guards], [*commit.ops, *history])
            except StoreError as exc:
                raise Unavailable(f"etcd: {exc}") from None
            if result.succeeded:
                log.info("config_written", version=commit.version, actor=actor,
                         changed=[f"{k}/{o or '-'}/{n}" for (k, o, n) in (p.ref for p in changed)])
                for p in planned:
                    if p.new is not None and p.action != api.APPLY_ACTION_UNCHANGED:
                        p.new.metadata.resource_version = str(result.revision)  # type: ignore[attr-defined]
                self._remember(commit, result.revision, changed)
                return Outcome(planned, commit.version)
            # Someone else wrote in between: plan again against what is there now.
        raise Unavailable("the config kept changing under this write; try again")

    def _plan_apply(self, objects: list[tuple[str, Message]], loaded: Loaded) -> list[Planned]:
        world = dict(loaded.objects)
        errors: list[FieldError] = []
        planned: list[Planned] = []
        seen: dict[Ref, str] = {}
        for source, message in objects:
            ref = ref_of(message)
            if ref in seen:
                errors.append(FieldError(f"{source}", f"{ref[0]} {ref[1] or '-'}/{ref[2]} also in {seen[ref]}"))
            seen[ref] = source
            old = loaded.objects.get(ref)
            wanted = message.metadata.resource_version  # type: ignore[attr-defined]
            current = old.metadata.resource_version if old is not None else "0"  # type: ignore[attr-defined]
            if wanted and wanted != current:
                raise Conflict(f"{ref[0]} {ref[1] or '-'}/{ref[2]}: resourceVersion {wanted} is stale "
                               f"(stored: {current if old is not None else 'none'})")
            new = _prepare(message, old)
            world[ref] = new
            action = (api.APPLY_ACTION_CREATED if old is None
                      else api.APPLY_ACTION_UNCHANGED if _same(old, new)
                      else api.APPLY_ACTION_CONFIGURED)
            planned.append(Planned(ref, action, new, old, source))
        errors += self._validate(world, {p.ref: p.source for p in planned}, loaded)
        if errors:
            raise Invalid(errors)
        return planned

    def _plan_delete(self, refs: list[Ref], loaded: Loaded) -> list[Planned]:
        world = dict(loaded.objects)
        planned = []
        for ref in refs:
            old = world.pop(ref, None)
            if old is None:
                raise NotFound(f"{ref[0]} {ref[1] or '-'}/{ref[2]} not found")
            planned.append(Planned(ref, api.APPLY_ACTION_DELETED, None, old))
        errors = self._validate(world, {}, loaded, deleted={ref[0] for ref in refs})
        if errors:
            raise Invalid(errors)
        return planned

    def _validate(self, objects: dict[Ref, Message], changed: dict[Ref, str], loaded: Loaded,
                  deleted: frozenset[str] | set[str] = frozenset()) -> list[FieldError]:
        """Changed objects are checked fully; every other object only for broken references
        (which this change could have caused), reported as such. An object is re-checked only
        if the change touched a kind its references read (the kinds of `changed`, and the
        `deleted` kinds): otherwise its references are what they were before."""
        world = World(objects, self.trust_domain, previous=loaded.objects)
        before = World(loaded.objects, self.trust_domain)
        touched = {ref[0] for ref in changed} | set(deleted)
        recheck = {kind: references_may_break(kind, touched) for kind in KINDS}
        errors = []
        for ref, message in objects.items():
            if ref in changed:
                label = f"{changed[ref]} {ref[0]} {ref[1] or '-'}/{ref[2]}".strip()
                errors += [FieldError(f"{label}: {e.path}" if e.path else label, e.message)
                           for e in validate_object(message, world)]
                continue
            if not recheck.get(ref[0], True):
                continue
            broken = check_references(message, world)
            if broken:
                already = check_references(message, before)
                errors += [FieldError(f"{ref[0]} {ref[1] or '-'}/{ref[2]}: {e.path}",
                                      f"{e.message} (after this change)")
                           for e in broken if e not in already]
        return errors

    async def internal(self, key: str, message: Message) -> Message | None:
        """The verified internal value (TrustBundle, DenyList) at `key`, or None."""
        loaded = await self.load()
        raw = loaded.raw.get(key)
        if raw is None:
            return None
        try:
            value = loaded.verifier.verify(key, raw)
        except ValueRejected:
            return None
        message.ParseFromString(value.payload)
        return message

    async def denied(self) -> frozenset[str]:
        deny = await self.internal(keys.DENYLIST_KEY, signed_pb2.DenyList())
        return frozenset(e.spiffe_id for e in deny.entries) if deny else frozenset()  # type: ignore[attr-defined]

    async def put_internal(self, key: str, message: Message, actor: str) -> int:
        """Write an internal value (and the signer chain if missing) unless already equal."""
        async with self._writing:
            return await self._put_internal(key, message, actor)

    async def _put_internal(self, key: str, message: Message, actor: str) -> int:
        payload = message.SerializeToString(deterministic=True)
        for _ in range(MAX_RETRIES):
            loaded = await self.load()
            current = await self.internal(key, type(message)())
            signer_key = keys.signer_key(self._signer.key_id)
            if (current is not None and current.SerializeToString(deterministic=True) == payload
                    and signer_key in loaded.raw):
                return loaded.version
            raw_puts = {} if signer_key in loaded.raw else {signer_key: self._signer_chain}
            commit = self._commit(loaded, [Change(key, message.DESCRIPTOR.name, payload)], raw_puts)
            try:
                result = await self._store.txn(commit.compares, commit.ops)
            except StoreError as exc:
                raise Unavailable(f"etcd: {exc}") from None
            if result.succeeded:
                log.info("config_written", version=commit.version, actor=actor, changed=[key])
                self._remember(commit, result.revision, [])
                return commit.version
        raise Unavailable("the config kept changing under this write; try again")

    async def resign(self, actor: str) -> int:
        """Re-sign every value that another signer wrote (a rotated or expiring signer key),
        in one commit, so sidecars never depend on a signer that is about to expire."""
        async with self._writing:
            return await self._resign(actor)

    async def _resign(self, actor: str) -> int:
        for _ in range(MAX_RETRIES):
            loaded = await self.load()
            verifier = loaded.verifier
            changes = []
            for key, raw in loaded.raw.items():
                if key == keys.HEAD_KEY or key.startswith(keys.SIGNER_PREFIX):
                    continue
                try:
                    value = verifier.verify(key, raw)
                except ValueRejected:
                    continue  # removed by the commit as tampered
                if value.key_id != self._signer.key_id:
                    changes.append(Change(key, value.kind, value.payload))
            signer_key = keys.signer_key(self._signer.key_id)
            if not changes and signer_key in loaded.raw:
                return loaded.version
            raw_puts = {} if signer_key in loaded.raw else {signer_key: self._signer_chain}
            commit = self._commit(loaded, changes, raw_puts)
            try:
                result = await self._store.txn(commit.compares, commit.ops)
            except StoreError as exc:
                raise Unavailable(f"etcd: {exc}") from None
            if result.succeeded:
                log.info("config_resigned", version=commit.version, actor=actor, values=len(changes))
                self._remember(commit, result.revision, [])
                return commit.version
        raise Unavailable("the config kept changing under this write; try again")

    def _remember(self, commit: Commit, revision: int, changed: list[Planned]) -> None:
        """Keep what `commit` wrote at `revision` for the next load (_Written)."""
        puts = {op.key.decode(): op.value for op in commit.ops if isinstance(op, Put)}
        resources = {}
        for p in changed:
            key = keys.resource_key(*p.ref)
            if p.new is not None and key in puts:
                message = type(p.new)()
                message.CopyFrom(p.new)  # its resourceVersion is the revision, as _decode sets it
                resources[key] = _Decoded(puts[key], revision, self._signer.key_id, p.ref, message)
        self._written = _Written(revision, commit.version, puts[keys.HEAD_KEY], resources)

    def _commit(self, loaded: Loaded, changes: list[Change], raw_puts: dict[str, bytes]) -> Commit:
        """The signed transaction writing `changes` over `loaded`."""
        commit = build_commit(self._signer, loaded.verifier, loaded.raw, loaded.head_mod_revision,
                              loaded.version, changes, raw_puts, previous=self._committed)
        self._committed = commit.committed
        return commit

    async def history(self, ref: Ref) -> list[api.HistoryEntry]:
        try:
            kvs, _ = await self._store.range(keys.history_prefix(*ref).encode())
        except StoreError as exc:
            raise Unavailable(f"etcd: {exc}") from None
        entries = []
        for kv in reversed(kvs):
            entry = api.HistoryEntry()
            entry.ParseFromString(kv.value)
            entries.append(entry)
        return entries


def _prepare(message: Message, old: Message | None) -> Message:
    """The object to store: operator fields from `message`, system fields carried or set."""
    new = type(message)()
    new.CopyFrom(message)
    meta = new.metadata  # type: ignore[attr-defined]
    new.ClearField("status")
    meta.ClearField("creation_timestamp")
    meta.generation = 1
    meta.config_version = 0
    meta.updated_by = ""
    if old is not None:
        old_meta = old.metadata  # type: ignore[attr-defined]
        meta.creation_timestamp.CopyFrom(old_meta.creation_timestamp)
        same_spec = old.spec.SerializeToString(deterministic=True) == new.spec.SerializeToString(deterministic=True)  # type: ignore[attr-defined]
        meta.generation = old_meta.generation if same_spec else old_meta.generation + 1
        meta.config_version = old_meta.config_version
        meta.updated_by = old_meta.updated_by
    else:
        meta.creation_timestamp.FromDatetime(_now())
    new.status.observed_generation = meta.generation  # type: ignore[attr-defined]
    condition = new.status.conditions.add()  # type: ignore[attr-defined]
    condition.type, condition.status, condition.reason = "Accepted", "True", "Validated"
    condition.observed_generation = meta.generation
    return new


def _same(old: Message, new: Message) -> bool:
    o, n = old.metadata, new.metadata  # type: ignore[attr-defined]
    return (old.spec.SerializeToString(deterministic=True) == new.spec.SerializeToString(deterministic=True)  # type: ignore[attr-defined]
            and dict(o.labels) == dict(n.labels))

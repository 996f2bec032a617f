"""The etcd key layout of the mesh: one place that names every key the programs use.

Everything sidecars may read lives under CONFIG_PREFIX (their etcd role is read-only on
exactly that range). History, status, join tokens and audit checkpoints live beside it, out
of the sidecars' reach.
"""

from __future__ import annotations

PREFIX = "/tsunagi/v1/"
CONFIG_PREFIX = PREFIX + "config/"
RESOURCE_PREFIX = CONFIG_PREFIX + "res/"
HEAD_KEY = CONFIG_PREFIX + "_head"
SIGNER_PREFIX = CONFIG_PREFIX + "_signer/"
TRUST_BUNDLE_KEY = CONFIG_PREFIX + "_trust/bundle"
DENYLIST_KEY = CONFIG_PREFIX + "_trust/denylist"
HISTORY_PREFIX = PREFIX + "history/"
STATUS_PREFIX = PREFIX + "status/"
TOKEN_PREFIX = PREFIX + "tokens/"
CHECKPOINT_PREFIX = PREFIX + "checkpoints/"
PLATFORM_ORG = "-"  # stands in the org segment of platform-owned kinds

# The largest value the control plane writes and a sidecar accepts (etcd's own default
# request limit is 1.5 MiB).
MAX_VALUE_BYTES = 1024 * 1024


def resource_key(kind: str, org: str, name: str) -> str:
    """The config key of one resource."""
    return f"{RESOURCE_PREFIX}{kind}/{org or PLATFORM_ORG}/{name}"


def parse_resource_key(key: str) -> tuple[str, str, str] | None:
    """(kind, org, name) of a resource key; None for any other key."""
    if not key.startswith(RESOURCE_PREFIX):
        return None
    parts = key[len(RESOURCE_PREFIX):].split("/")
    if len(parts) != 3 or not all(parts):
        return None
    kind, org, name = parts
    return kind, ("" if org == PLATFORM_ORG else org), name


def signer_key(key_id: str) -> str:
    return SIGNER_PREFIX + key_id


def history_key(kind: str, org: str, name: str, version: int) -> str:
    """History entries sort by version within a resource (zero-padded)."""
    return f"{HISTORY_PREFIX}{kind}/{org or PLATFORM_ORG}/{name}/{version:020d}"


def history_prefix(kind: str, org: str, name: str) -> str:
    return f"{HISTORY_PREFIX}{kind}/{org or PLATFORM_ORG}/{name}/"


def status_key(spiffe_id: str, instance: str) -> str:
    return f"{STATUS_PREFIX}{spiffe_id.removeprefix('spiffe://')}#{instance}"


def checkpoint_prefix(spiffe_id: str = "", log_id: str = "") -> str:
    """The witness's checkpoints of one writer (and one of its logs, given `log_id`); every
    writer's without arguments. '#' ends the writer: it cannot occur in a SPIFFE ID."""
    if not spiffe_id:
        return CHECKPOINT_PREFIX
    return f"{CHECKPOINT_PREFIX}{spiffe_id.removeprefix('spiffe://')}#{log_id + '/' if log_id else ''}"


def checkpoint_key(spiffe_id: str, log_id: str, slot: int | None = None) -> str:
    """The latest checkpoint of a log (slot None), or one slot of its bounded history ring."""
    base = checkpoint_prefix(spiffe_id, log_id)
    return f"{base}latest" if slot is None else f"{base}history/{slot:05d}"


def parse_checkpoint_key(key: str) -> tuple[str, str, bool] | None:
    """(writer's SPIFFE ID, log_id, whether it is the latest) of a checkpoint key; else None."""
    if not key.startswith(CHECKPOINT_PREFIX):
        return None
    writer, _, rest = key[len(CHECKPOINT_PREFIX):].partition("#")
    log_id, _, slot = rest.partition("/")
    if not writer or not log_id or not (slot == "latest" or slot.startswith("history/")):
        return None
    return f"spiffe://{writer}", log_id, slot == "latest"

# Held (under a lease) by the control-plane replica that runs the once-only background work.
LEADER_KEY = PREFIX + "leader"

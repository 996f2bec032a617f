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

# Held (under a lease) by the control-plane replica that runs the once-only background work.
LEADER_KEY = PREFIX + "leader"

"""The benchmark's PKI: a root, an intermediate, and the consumer and provider workload
identities that every mTLS hop (nginx, bare forwarder, sidecar) presents and pins."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from certs.bundle import write_bundle, write_identity
from certs.ca import create_intermediate, create_root, issue_workload
from certs.spiffe_id import dns_name_for

TRUST_DOMAIN = "bench.test"
CONSUMER_ID = f"spiffe://{TRUST_DOMAIN}/org/131016/sys/consumer"
PROVIDER_ID = f"spiffe://{TRUST_DOMAIN}/org/131016/sys/provider"


@dataclass(frozen=True, slots=True)
class Identity:
    """One workload's files on disk, and the DNS name a client pins to reach it."""

    spiffe_id: str
    cert: Path  # leaf followed by the intermediate
    key: Path  # mode 0600
    server_name: str


@dataclass(frozen=True, slots=True)
class Pki:
    """The trust bundle (the root) and the two workload identities."""

    bundle: Path
    consumer: Identity
    provider: Identity


def create_pki(directory: Path) -> Pki:
    """Issue fresh identities into `directory` (keys 0600) and return where they are."""
    directory.mkdir(parents=True, exist_ok=True)
    root = create_root(trust_domain=TRUST_DOMAIN)
    intermediate = create_intermediate(root)
    bundle = write_bundle(directory / "bundle.pem", [root.cert])
    identities = []
    for name, spiffe_id in (("consumer", CONSUMER_ID), ("provider", PROVIDER_ID)):
        cert, key = write_identity(directory, name, issue_workload(intermediate, spiffe_id))
        identities.append(Identity(spiffe_id, cert, key, dns_name_for(spiffe_id)))
    return Pki(bundle=bundle, consumer=identities[0], provider=identities[1])

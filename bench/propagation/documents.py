"""The benchmark mesh as operators' YAML: one org, one provider System with its Service, and
N consumer Systems each with a Route to that Service; plus the one-Route change that is timed."""

from __future__ import annotations

from dataclasses import dataclass

from certs.spiffe_id import workload_id
from demo import resources as demo
from demo.v1 import registry_pb2

ORG = "131016"  # 千代田区: a municipality code with a valid check digit
PROVIDER = "provider"
SERVICE_NAME = "registry"
GRPC_SERVICE = "demo.v1.ResidentRegistry"
# Nothing listens here: the clients only compile the route, no call is made through it.
PROVIDER_ENDPOINT = "127.0.0.1:9"
MAX_BATCH = 150  # documents per apply (the control plane takes at most 200)
BASE_TIMEOUT_MS = 5000
MAX_TIMEOUT_MS = 300_000  # RouteSpec.timeout is at most 300s


def consumer(index: int) -> str:
    """The System name of client `index`."""
    return f"c{index}"


def route_name(index: int) -> str:
    return f"r{index}"


def consumer_id(trust_domain: str, index: int) -> str:
    """The SPIFFE ID of client `index`: each client is a different consumer System."""
    return workload_id(trust_domain, ORG, consumer(index))


def timeout_for(seq: int) -> float:
    """The route timeout (seconds) the `seq`-th change sets: unique per change, so every
    change really changes something (an unchanged apply writes nothing)."""
    ms = BASE_TIMEOUT_MS + seq
    if ms > MAX_TIMEOUT_MS:
        raise ValueError(f"change {seq} would exceed the 300s route timeout")
    return ms / 1000


def route_doc(index: int, timeout_s: float) -> dict:
    return demo.route(ORG, route_name(index), consumer(index), GRPC_SERVICE, f"{timeout_s:.3f}s")


def mesh_documents(trust_domain: str, clients: int) -> list[dict]:
    """Every document, in an order each batch can be applied in (referents first)."""
    docs = [
        demo.organization(ORG, "千代田区"),
        demo.system(trust_domain, ORG, PROVIDER, "provider"),
        demo.service(ORG, SERVICE_NAME, PROVIDER, [GRPC_SERVICE], [registry_pb2.DESCRIPTOR],
                     [PROVIDER_ENDPOINT]),
    ]
    docs += [demo.system(trust_domain, ORG, consumer(i), consumer(i)) for i in range(clients)]
    docs += [route_doc(i, BASE_TIMEOUT_MS / 1000) for i in range(clients)]
    return docs


def batches(docs: list[dict], size: int = MAX_BATCH) -> list[str]:
    """The documents as multi-document YAML texts of at most `size` documents each."""
    return [demo.dump(*docs[i:i + size]) for i in range(0, len(docs), size)]


@dataclass(frozen=True, slots=True)
class RouteChange:
    """The seq-th change: client `index`'s route gets `timeout_s`."""

    seq: int
    index: int
    timeout_s: float

    @property
    def text(self) -> str:
        return demo.dump(route_doc(self.index, self.timeout_s))


def change(seq: int, clients: int) -> RouteChange:
    """Change `seq` (from 1) toggles the route of a client that moves around the fleet, so
    consecutive changes land on different worker processes."""
    stride = 7 if clients % 7 else 1
    return RouteChange(seq, (seq * stride) % clients, timeout_for(seq))

"""Reserved metadata and method paths: what an app can and cannot slip through."""

from __future__ import annotations

import pytest

from sidecar.metadata import is_exchange_id, new_exchange_id, strip_reserved, take_exchange_id
from sidecar.snapshot import Snapshot, Upstream, split_method


@pytest.mark.parametrize("key", ["x-mesh-caller", "X-Mesh-Caller", "X-MESH-PURPOSE", "x-mesh-", "x-mesh-a-bin"])
def test_reserved_keys_are_dropped_whatever_their_case(key: str) -> None:
    """Every x-mesh-* key goes, in any case."""
    assert strip_reserved([(key, "v"), ("keep", "1")]) == [("keep", "1")]


def test_per_hop_keys_are_dropped_and_the_rest_kept_in_order() -> None:
    """grpc-managed keys are not copied; app keys keep their order and repeats."""
    md = [("user-agent", "x"), ("a", "1"), ("grpc-timeout", "1S"), ("a", "2"), ("b-bin", b"\x00")]
    assert strip_reserved(md) == [("a", "1"), ("a", "2"), ("b-bin", b"\x00")]


def test_exchange_id_is_taken_only_when_single_and_well_formed() -> None:
    """A duplicated or malformed exchange id from a peer is not trusted."""
    good = new_exchange_id()
    assert is_exchange_id(good)
    assert take_exchange_id([("x-mesh-exchange-id", good)]) == good
    assert take_exchange_id([("x-mesh-exchange-id", good), ("x-mesh-exchange-id", good)]) is None
    assert take_exchange_id([("x-mesh-exchange-id", "nope\n")]) is None
    assert take_exchange_id(None) is None


@pytest.mark.parametrize("path,expected", [
    ("/pkg.Svc/M", ("pkg.Svc", "M")),
    ("pkg.Svc/M", None), ("//pkg.Svc/M", None), ("/pkg.Svc//M", None), ("/pkg.Svc/M/", None),
    ("/pkg.Svc", None), ("/", None), ("", None), ("/pkg.Svc/", None),
])
def test_only_the_exact_method_shape_splits(path: str, expected: tuple[str, str] | None) -> None:
    """Only /pkg.Service/Method is a method path."""
    assert split_method(path) == expected


def test_exact_route_wins_over_wildcard() -> None:
    """An exact service entry beats "*"; "*" catches the rest."""
    a, b = Upstream("127.0.0.1:1", "spiffe://t/a"), Upstream("127.0.0.1:2", "spiffe://t/b")
    snapshot = Snapshot(routes={"x.S": a, "*": b})
    assert snapshot.route("x.S") is a and snapshot.route("y.S") is b
    assert Snapshot(routes={"x.S": a}).route("y.S") is None

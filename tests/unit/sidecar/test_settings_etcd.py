"""Sidecar settings with an etcd config source: what it requires and what it forbids."""

from __future__ import annotations

from pathlib import Path

import pytest

from sidecar.errors import ConfigError
from sidecar.settings import parse_config, to_settings

BASE = """
identity: {spiffeId: "spiffe://t.test/org/131016/sys/a", certFile: a.crt, keyFile: a.key, bundleFile: b.pem}
admin: {address: "127.0.0.1:9000"}
outbound: {address: "127.0.0.1:9001"}
"""
ETCD = 'etcd: {endpoints: ["127.0.0.1:2379"], certFile: e.crt, keyFile: e.key, caFile: ca.pem}\n'


def _problems(text: str) -> list[str]:
    with pytest.raises(ConfigError) as err:
        to_settings(parse_config(text))
    return err.value.problems


def test_an_etcd_source_resolves_its_files_and_state_dir() -> None:
    """Relative paths resolve against the config's folder."""
    settings = to_settings(parse_config(BASE + ETCD + "stateDir: state\n"), base=Path("/etc/sc"))
    assert settings.etcd is not None and settings.etcd.endpoints == ("127.0.0.1:2379",)
    assert settings.etcd.key_file == Path("/etc/sc/e.key")
    assert settings.state_dir == Path("/etc/sc/state")


def test_without_etcd_the_static_routes_stand() -> None:
    """No etcd: no etcd settings, and the static path is unchanged."""
    settings = to_settings(parse_config(BASE))
    assert settings.etcd is None and settings.state_dir is None


def test_etcd_requires_a_state_dir() -> None:
    """The last-known-good config needs a directory."""
    assert any(p.startswith("stateDir:") for p in _problems(BASE + ETCD))


def test_etcd_forbids_static_routes() -> None:
    """Routes come from the signed config only; a static table beside it is refused."""
    text = BASE + ETCD + 'stateDir: s\nroutes: [{service: "a.B", endpoint: "127.0.0.1:1", identity: "spiffe://t.test/x"}]\n'
    assert any(p.startswith("routes:") for p in _problems(text))


@pytest.mark.parametrize("etcd,path", [
    ("etcd: {certFile: e.crt, keyFile: e.key, caFile: ca.pem}", "etcd.endpoints"),
    ('etcd: {endpoints: ["nope"], certFile: e.crt, keyFile: e.key, caFile: ca.pem}', "etcd.endpoints[0]"),
    ('etcd: {endpoints: ["http://127.0.0.1:2379"], certFile: e.crt, keyFile: e.key, caFile: ca.pem}',
     "etcd.endpoints[0]"),
    ('etcd: {endpoints: ["127.0.0.1:2379"], keyFile: e.key, caFile: ca.pem}', "etcd.certFile"),
    ('etcd: {endpoints: ["127.0.0.1:2379"], certFile: e.crt, caFile: ca.pem}', "etcd.keyFile"),
    ('etcd: {endpoints: ["127.0.0.1:2379"], certFile: e.crt, keyFile: e.key}', "etcd.caFile"),
], ids=["no-endpoints", "bad-endpoint", "plaintext-endpoint", "no-cert", "no-key", "no-ca"])
def test_an_incomplete_etcd_source_names_the_field(etcd: str, path: str) -> None:
    """Every missing or malformed etcd field is reported with its path."""
    problems = _problems(BASE + etcd + "\nstateDir: s\n")
    assert any(p.split(":")[0] == path for p in problems), problems

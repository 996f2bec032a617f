"""Control-plane settings: plaintext listeners stay on loopback; every problem is listed."""

from __future__ import annotations

from pathlib import Path

import pytest

from control_plane.settings import SettingsError, load_settings


def test_admin_listener_off_loopback_is_refused(tmp_path: Path) -> None:
    """The plaintext admin listener on a routable address is a settings error naming the field."""
    config = tmp_path / "cp.yaml"
    config.write_text("trustDomain: t.test\nlisten: 0.0.0.0:8443\nadmin: 0.0.0.0:15000\nhealth: nope\n")
    with pytest.raises(SettingsError) as err:
        load_settings(config)
    problems = err.value.problems
    assert any(p.startswith("admin: '0.0.0.0:15000' is plaintext") for p in problems)
    assert any(p.startswith("health:") for p in problems)
    assert any(p.startswith("identity.certFile") for p in problems)  # all problems, not the first

"""meshctl dev up keeps plaintext on loopback."""

from __future__ import annotations

import pytest

from control_plane.cli import main


@pytest.mark.parametrize("flag,address", [("--upstream", "10.0.0.1:50051"), ("--listen", "0.0.0.0:15001")])
def test_dev_up_refuses_plaintext_off_loopback(flag: str, address: str, capsys: pytest.CaptureFixture[str]) -> None:
    """A non-loopback upstream or listen address is refused before anything starts (exit 2)."""
    args = {"--upstream": "127.0.0.1:50051", "--listen": "127.0.0.1:15001", flag: address}
    assert main(["dev", "up", *[x for kv in args.items() for x in kv]]) == 2
    assert "plaintext must stay on loopback" in capsys.readouterr().err

"""meshctl dev up keeps plaintext on loopback."""

from __future__ import annotations

import pytest

from control_plane.cli import build_parser


@pytest.mark.parametrize("flag,address", [("--upstream", "10.0.0.1:50051"), ("--listen", "0.0.0.0:15001")])
def test_dev_up_refuses_plaintext_off_loopback(flag: str, address: str, capsys: pytest.CaptureFixture[str]) -> None:
    """A non-loopback upstream or listen address is refused before anything starts (exit 2)."""
    values = {"--upstream": "127.0.0.1:50051", "--listen": "127.0.0.1:15001", flag: address}
    args = build_parser().parse_args(["dev", "up", *[x for kv in values.items() for x in kv]])
    assert args.func(args) == 2  # (not main(): it would reconfigure logging for the whole session)
    assert "plaintext must stay on loopback" in capsys.readouterr().err


def test_reflection_and_health_probes_refuse_plaintext_off_loopback() -> None:
    """The helpers that dial plaintext refuse a routable address before dialling."""
    from control_plane.localmesh import health_serving
    from control_plane.reflection import describe

    with pytest.raises(ValueError, match="loopback"):
        describe("192.0.2.1:50051")
    with pytest.raises(ValueError, match="loopback"):
        health_serving("192.0.2.1:15000")

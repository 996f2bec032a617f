"""Listen and dial addresses: which ones may carry plaintext (loopback and Unix sockets only)."""

from __future__ import annotations

import ipaddress


def is_local_address(address: str) -> bool:
    """True for a Unix socket or a loopback HOST:PORT, the only places plaintext may go."""
    if address.startswith("unix:"):
        return len(address) > len("unix:")
    host, sep, port = address.rpartition(":")
    if not sep or not port.isdigit():
        return False
    host = host.strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def is_host_port(address: str) -> bool:
    """True for HOST:PORT with a numeric port."""
    host, sep, port = address.rpartition(":")
    return bool(sep and host and port.isdigit() and 0 <= int(port) <= 65535)

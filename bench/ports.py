"""Free loopback ports, picked by binding port 0 (never fixed numbers)."""

from __future__ import annotations

import contextlib
import socket


def free_ports(count: int) -> list[int]:
    """`count` distinct ports on 127.0.0.1 that were free a moment ago.

    All sockets stay bound until every port is chosen, so the ports are distinct. Another
    process may still take one before our server binds it; every server in the benchmark
    sets grpc.so_reuseport=0 (nginx never shares), so that shows up as a failed start,
    never as a silently shared port.
    """
    with contextlib.ExitStack() as stack:
        ports = []
        for _ in range(count):
            sock = stack.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
            sock.bind(("127.0.0.1", 0))
            ports.append(sock.getsockname()[1])
        return ports

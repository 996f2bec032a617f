"""`make demo`: what the mesh does, shown with real processes on 127.0.0.1.

Each step prints what it does and what happened. It exits 0 only if every step behaved.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from contextlib import ExitStack
from pathlib import Path

os.environ.setdefault("GRPC_VERBOSITY", "ERROR")  # keep grpc core's handshake chatter out of the story

import grpc  # noqa: E402

from demo.v1 import registry_pb2 as pb
from demo.v1 import registry_pb2_grpc as rpc

REPO = Path(__file__).resolve().parent.parent
PY = sys.executable


def step(title: str) -> None:
    print(f"\n== {title}", flush=True)


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_line(proc: subprocess.Popen[str], prefix: str, timeout: float) -> str:
    """The first stdout line starting with prefix; fail if the process exits or time runs out."""
    assert proc.stdout is not None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if line.startswith(prefix):
            return line.strip()
        if not line and proc.poll() is not None:
            raise SystemExit(f"demo: process exited with {proc.returncode} before '{prefix}'")
    raise SystemExit(f"demo: no '{prefix}' line within {timeout}s")


def stop(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()


def show_resident(r: pb.Resident) -> str:
    return f"{r.shimei} ({r.shimei_kana}) 生年月日 {r.seinengappi} 性別 {r.seibetsu} {r.yubin_bango}"


def main() -> int:
    app_port, listen = free_port(), f"127.0.0.1:{free_port()}"
    with ExitStack() as stack:
        step(f"City A's resident registry starts on 127.0.0.1:{app_port} (plain gRPC, knows nothing of the mesh)")
        app = subprocess.Popen([PY, "-m", "demo.registry", "--port", str(app_port)], cwd=REPO, text=True)
        stack.callback(stop, app)

        step(f"meshctl dev up: a CA, a provider sidecar in front of the registry, a consumer sidecar on {listen}")
        dev = subprocess.Popen(
            [str(Path(PY).parent / "meshctl"), "dev", "up", "--upstream", f"127.0.0.1:{app_port}", "--listen", listen],
            cwd=REPO, stdout=subprocess.PIPE, text=True,
        )
        stack.callback(stop, dev)
        ready = wait_for_line(dev, "ready", 60)
        print(f"  {ready}")
        inbound = re.search(r"inbound=(\S+)", ready).group(1)  # type: ignore[union-attr]

        with grpc.insecure_channel(listen) as channel:
            stub = rpc.ResidentRegistryStub(channel)
            step("The welfare office's app calls the registry through its own sidecar (h2c on loopback → mTLS → h2c)")
            resident = stub.GetResident(pb.GetResidentRequest(resident_code="12345678901"), timeout=10)
            print(f"  got: {show_resident(resident)}")

            step("A server stream (ListHousehold) crosses the sidecars message by message")
            for member in stub.ListHousehold(pb.ListHouseholdRequest(household_id="H-0001"), timeout=10):
                print(f"  member: {show_resident(member)}")

            step("The registry's own error, with its Japanese message, arrives untouched")
            try:
                stub.GetResident(pb.GetResidentRequest(resident_code="99999999999"), timeout=10)
                raise SystemExit("demo: expected NOT_FOUND")
            except grpc.RpcError as err:
                print(f"  {err.code().name}: {err.details()}")
                assert err.code() == grpc.StatusCode.NOT_FOUND

            step("The app tries to claim another identity with x-mesh-caller: the sidecars drop it")
            stub.GetResident(pb.GetResidentRequest(resident_code="12345678903"), timeout=10,
                             metadata=(("x-mesh-caller", "spiffe://evil.example/org/000000/sys/x"),))
            print("  (the registry line above shows the real caller, from the certificate)")

        step(f"A client with no mesh certificate goes straight to the provider's inbound port {inbound}")
        no_cert = grpc.ssl_channel_credentials()  # trusts public roots only, presents no certificate
        for label, channel in (("TLS without a client certificate", grpc.secure_channel(inbound, no_cert)),
                               ("plaintext", grpc.insecure_channel(inbound))):
            with channel:
                try:
                    rpc.ResidentRegistryStub(channel).GetResident(
                        pb.GetResidentRequest(resident_code="12345678901"), timeout=5)
                    raise SystemExit(f"demo: {label} call was accepted")
                except grpc.RpcError as err:
                    print(f"  {label}: refused ({err.code().name})")

        step("Stopping: SIGTERM drains the sidecars, dev up removes its temp CA")
    print("\ndemo finished: every step behaved as described.")
    return 0


if __name__ == "__main__":
    sys.exit(main())

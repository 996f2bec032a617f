"""`make demo`: what the mesh does, shown with real processes on 127.0.0.1.

Each step prints what it does and what happened. It exits 0 only if every step behaved.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from contextlib import ExitStack
from pathlib import Path

os.environ.setdefault("GRPC_VERBOSITY", "ERROR")  # keep grpc core's handshake chatter out of the story

import grpc  # noqa: E402

from demo.v1 import registry_pb2 as pb  # noqa: E402
from demo.v1 import registry_pb2_grpc as rpc  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
PY = sys.executable
MESHCTL = str(Path(PY).parent / "meshctl")


def step(title: str) -> None:
    print(f"\n== {title}", flush=True)


def fail(message: str) -> None:
    raise SystemExit(f"demo: {message}")


def free_port() -> int:
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
            fail(f"process exited with {proc.returncode} before '{prefix}'")
    fail(f"no '{prefix}' line within {timeout}s")
    raise AssertionError


def stop(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()


def meshctl(meshconfig: str, *args: str, stdin: str | None = None, show: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([MESHCTL, *args, "--meshconfig", meshconfig], input=stdin, capture_output=True,
                            text=True, timeout=60)
    if show:
        print(f"  $ meshctl {' '.join(args)}")
        for line in (result.stdout + result.stderr).rstrip().splitlines():
            print(f"    {line}")
    return result


def show_resident(r: pb.Resident) -> str:
    return f"{r.shimei} ({r.shimei_kana}) 生年月日 {r.seinengappi} 性別 {r.seibetsu} {r.yubin_bango}"


ROUTE = """apiVersion: mesh.tsunagi.dev/v1
kind: Route
metadata: {{name: route-0, org: "131016"}}
spec: {{consumer: consumer, grpcService: demo.v1.ResidentRegistry, timeout: {timeout}}}
"""
BROKEN = """apiVersion: mesh.tsunagi.dev/v1
kind: Route
metadata: {name: Route_1, org: "131016"}
spec: {consumer: nobody, grpcService: demo.v1.NoSuchService, timeout: 900s}
"""


def main() -> int:
    app_port, listen = free_port(), f"127.0.0.1:{free_port()}"
    with ExitStack() as stack:
        step(f"City A's resident registry starts on 127.0.0.1:{app_port} (plain gRPC, knows nothing of the mesh)")
        app = subprocess.Popen([PY, "-m", "demo.registry", "--port", str(app_port)], cwd=REPO, text=True)
        stack.callback(stop, app)

        step("meshctl dev up: a CA, etcd (TLS + auth), the control plane, and two sidecars that join with "
             "one-time tokens and take their signed config from etcd")
        dev = subprocess.Popen([MESHCTL, "dev", "up", "--upstream", f"127.0.0.1:{app_port}", "--listen", listen],
                               cwd=REPO, stdout=subprocess.PIPE, text=True)
        stack.callback(stop, dev)
        ready = wait_for_line(dev, "ready", 120)
        print("  " + ready.replace(" ", "\n    "))
        inbound = re.search(r"inbound=(\S+)", ready).group(1)  # type: ignore[union-attr]
        meshconfig = re.search(r"meshconfig=(\S+)", ready).group(1)  # type: ignore[union-attr]

        step("1. The apply dev up made through the control plane's API: what is live now")
        meshctl(meshconfig, "get", "systems", "-o", "wide")
        meshctl(meshconfig, "get", "routes", "-o", "wide")

        with grpc.insecure_channel(listen) as channel:
            stub = rpc.ResidentRegistryStub(channel)
            step("2. The welfare office's app calls the registry through its own sidecar (h2c → mTLS → h2c)")
            resident = stub.GetResident(pb.GetResidentRequest(resident_code="12345678901"), timeout=10)
            print(f"  got: {show_resident(resident)}")
            for member in stub.ListHousehold(pb.ListHouseholdRequest(household_id="H-0001"), timeout=10):
                print(f"  household member (server stream): {show_resident(member)}")
            try:
                stub.GetResident(pb.GetResidentRequest(resident_code="99999999999"), timeout=10)
                fail("expected NOT_FOUND")
            except grpc.RpcError as err:
                print(f"  the registry's own error arrives untouched: {err.code().name}: {err.details()}")
            stub.GetResident(pb.GetResidentRequest(resident_code="12345678903"), timeout=10,
                             metadata=(("x-mesh-caller", "spiffe://evil.example/org/000000/sys/x"),))
            print("  an app that claims another identity in x-mesh-caller is ignored (see the registry line above)")

            step("3. A changed route takes effect: the route's timeout drops to 1ms")
            started = time.monotonic()
            meshctl(meshconfig, "apply", "-f", "-", stdin=ROUTE.format(timeout="0.001s"))
            deadline = started + 10
            while True:
                try:
                    stub.GetResident(pb.GetResidentRequest(resident_code="12345678901"), timeout=5)
                except grpc.RpcError as err:
                    if err.code() == grpc.StatusCode.DEADLINE_EXCEEDED:
                        break
                if time.monotonic() > deadline:
                    fail("the route change did not take effect within 10 s")
            elapsed_ms = (time.monotonic() - started) * 1000
            print(f"  calls now end in DEADLINE_EXCEEDED: in effect {elapsed_ms:.0f} ms after the apply "
                  "(meshctl's own start-up included)")
            meshctl(meshconfig, "apply", "-f", "-", stdin=ROUTE.format(timeout="10s"))
            deadline = time.monotonic() + 10
            while True:
                try:
                    stub.GetResident(pb.GetResidentRequest(resident_code="12345678901"), timeout=5)
                    break
                except grpc.RpcError:
                    if time.monotonic() > deadline:
                        fail("the restored route did not take effect")
            print("  restored: calls succeed again")

        step("4. meshctl status: every sidecar reports the config version it has applied")
        deadline = time.monotonic() + 15
        while True:
            status = meshctl(meshconfig, "status", show=False)
            rows = [line for line in status.stdout.splitlines() if line.startswith("spiffe://")]
            if len(rows) == 2 and all(" yes " in row for row in rows):
                break
            if time.monotonic() > deadline:
                fail(f"sidecars did not converge: {status.stdout}")
        meshctl(meshconfig, "status")

        step("5. A refused apply: every problem with its field path, and nothing is written")
        result = meshctl(meshconfig, "apply", "-f", "-", stdin=BROKEN)
        if result.returncode != 1 or "spec.consumer" not in result.stderr:
            fail("the broken apply was not refused as expected")

        step(f"6. A client with no mesh certificate goes straight to the provider's inbound port {inbound}")
        no_cert = grpc.ssl_channel_credentials()  # trusts public roots only, presents no certificate
        for label, channel in (("TLS without a client certificate", grpc.secure_channel(inbound, no_cert)),
                               ("plaintext", grpc.insecure_channel(inbound))):
            with channel:
                try:
                    rpc.ResidentRegistryStub(channel).GetResident(
                        pb.GetResidentRequest(resident_code="12345678901"), timeout=5)
                    fail(f"{label} call was accepted")
                except grpc.RpcError as err:
                    print(f"  {label}: refused ({err.code().name})")

        step("Stopping: SIGTERM drains the sidecars; dev up stops etcd and the control plane and removes its temp dir")
    print("\n\n######## Act 2: purpose-bound, field-level access policy and the audit trail", flush=True)
    from scripts import demo_policy

    demo_policy.main()
    print("\n\n######## Act 3: translation between systems that keep their own schemas", flush=True)
    from scripts import demo_translation

    demo_translation.main()
    print("\ndemo finished: every step behaved as described.")
    return 0


if __name__ == "__main__":
    sys.exit(main())

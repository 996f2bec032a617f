"""`python -m control_plane.bootstrap_etcd`: create etcd's users and roles and enable auth.

Run once per cluster (the Kubernetes Job), with the root user's client certificate. Safe to
run again. Exits non-zero while etcd cannot be reached, so the Job retries.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from mesh import keys, logs
from mesh.store.errors import StoreError
from mesh.store.etcd import EtcdStore
from mesh.store.etcd_auth import bootstrap_auth


async def main(args: argparse.Namespace) -> int:
    store = EtcdStore(args.endpoints.split(","), Path(args.ca_file).read_bytes(),
                      Path(args.cert_file).read_bytes(), Path(args.key_file).read_bytes())
    try:
        await bootstrap_auth(store, keys.PREFIX.encode(), args.writer_user, args.reader_user,
                             reader_prefix=keys.CONFIG_PREFIX.encode())
    except StoreError as exc:
        print(f"error: etcd: {exc}", file=sys.stderr)
        return 1
    finally:
        await store.close()
    print("etcd auth bootstrapped")
    return 0


def run() -> None:
    parser = argparse.ArgumentParser(prog="python -m control_plane.bootstrap_etcd", description=__doc__)
    parser.add_argument("--endpoints", required=True, help="comma-separated HOST:PORT")
    parser.add_argument("--ca-file", required=True)
    parser.add_argument("--cert-file", required=True, help="root user's client certificate (CN=root)")
    parser.add_argument("--key-file", required=True)
    parser.add_argument("--writer-user", default="control-plane")
    parser.add_argument("--reader-user", default="sidecar")
    args = parser.parse_args()
    logs.configure(console=True, level="warning")
    sys.exit(asyncio.run(main(args)))


if __name__ == "__main__":
    run()

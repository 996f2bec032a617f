"""LocalEtcd, the real-etcd harness: fresh data dirs only, logs in files, restarts that
keep data."""

from __future__ import annotations

from pathlib import Path

import pytest

from mesh.store.etcd import EtcdStore
from mesh.store.local_etcd import LocalEtcd
from tests.support.etcd import new_local_etcd


async def test_start_refuses_a_data_dir_from_an_earlier_cluster(tmp_path: Path) -> None:
    """Ports and certificates are new each run, so old member data must not be reused."""
    etcd = new_local_etcd(tmp_path)
    (etcd.members[0].directory / "data").mkdir(parents=True)
    with pytest.raises(FileExistsError):
        await etcd.start()
    assert not etcd.is_running(0)


async def test_member_logs_go_to_a_file_in_its_directory(local_etcd: LocalEtcd) -> None:
    """etcd's output lands in <member dir>/etcd.log, not on the terminal."""
    log_file = local_etcd.members[0].directory / "etcd.log"
    assert b"starting an etcd server" in log_file.read_bytes()


async def test_killed_member_restarts_with_its_data(local_etcd: LocalEtcd, etcd_writer: EtcdStore) -> None:
    """SIGKILL then restart: the member serves again and the committed write survived."""
    key = local_etcd.prefix + b"durable"
    await etcd_writer.put(key, b"1")
    await local_etcd.kill(0)
    assert not local_etcd.is_running(0)
    await local_etcd.restart(0)
    assert local_etcd.is_running(0) and await local_etcd.leader_index() == 0
    store = local_etcd.store_for(local_etcd.writer_user)
    try:
        kv = await store.get(key)
    finally:
        await store.close()
    assert kv is not None and kv.value == b"1"

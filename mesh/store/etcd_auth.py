"""etcd auth bootstrap: the root, writer and reader users (certificate CN, no password),
the mesh-writer / mesh-reader roles on the mesh's key prefix, then auth on."""

from __future__ import annotations

import structlog
from aetcd import rpc

from mesh.store.etcd import EtcdStore
from mesh.store.etcd_errors import map_etcd_errors
from mesh.store.keyrange import prefix_end

WRITER_ROLE = "mesh-writer"
READER_ROLE = "mesh-reader"
# The superuser: AuthEnable requires a user "root" holding etcd's built-in role "root"
# (granted without RoleAdd; RoleList does not show it).
ROOT = "root"

log = structlog.get_logger(__name__)


async def bootstrap_auth(
    root_store: EtcdStore, prefix: bytes, writer_user: str, reader_user: str, reader_prefix: bytes | None = None
) -> None:
    """Create what is missing, grant, and enable auth. Safe to run again: on an enabled
    cluster `root_store` must then be the root user (client certificate CN "root").

    Users get no password (etcd >= 3.4 `--no-password`): with --client-cert-auth etcd
    takes the user from the certificate's CN, so a password would only be a second,
    weaker way in. The reader may read `reader_prefix` (default: all of `prefix`), so sidecars
    can be confined to the config range and kept out of tokens, history and status."""
    if len({ROOT, writer_user, reader_user}) != 3:
        raise ValueError("root, writer and reader must be three different users")
    auth = rpc.AuthStub(root_store.admin_channel())
    timeout = 10.0
    with map_etcd_errors():
        users = set((await auth.UserList(rpc.AuthUserListRequest(), timeout=timeout)).users)
        roles = set((await auth.RoleList(rpc.AuthRoleListRequest(), timeout=timeout)).roles)
        for user in (ROOT, writer_user, reader_user):
            if user not in users:
                options = rpc.UserAddOptions(no_password=True)
                await auth.UserAdd(rpc.AuthUserAddRequest(name=user, options=options), timeout=timeout)
        grants = ((WRITER_ROLE, rpc.Permission.READWRITE, prefix),
                  (READER_ROLE, rpc.Permission.READ, reader_prefix or prefix))
        for role, perm_type, granted in grants:
            if role not in roles:
                await auth.RoleAdd(rpc.AuthRoleAddRequest(name=role), timeout=timeout)
            # Granting again replaces the type of the same range, so this is idempotent.
            perm = rpc.Permission(permType=perm_type, key=granted, range_end=prefix_end(granted))
            await auth.RoleGrantPermission(rpc.AuthRoleGrantPermissionRequest(name=role, perm=perm), timeout=timeout)
        for user, role in ((ROOT, ROOT), (writer_user, WRITER_ROLE), (reader_user, READER_ROLE)):
            await auth.UserGrantRole(rpc.AuthUserGrantRoleRequest(user=user, role=role), timeout=timeout)
        await auth.AuthEnable(rpc.AuthEnableRequest(), timeout=timeout)
    log.info("etcd_auth_bootstrapped", writer=writer_user, reader=reader_user)

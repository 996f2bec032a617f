"""Who may do what: operator identities (from certificates) bound to roles.

Roles: `platform-admin` (everything), `org-admin` of org X (only resources whose
metadata.org is X, and reading platform kinds), `viewer` (read everything). Sidecars (workload
identities) hold no operator role at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Literal

from control_plane.errors import Forbidden
from mesh.resources import Kind

Role = Literal["platform-admin", "org-admin", "viewer"]
ROLES: tuple[Role, ...] = ("platform-admin", "org-admin", "viewer")


@dataclass(frozen=True, slots=True)
class Binding:
    """One operator identity's role; `org` only for org-admin."""

    operator: str
    role: Role
    org: str = ""


class Authorizer:
    """Answers read/write questions for an identity; everything unbound is denied."""

    def __init__(self, bindings: Iterable[Binding]) -> None:
        self._bindings: dict[str, list[Binding]] = {}
        for binding in bindings:
            self._bindings.setdefault(binding.operator, []).append(binding)

    def roles(self, identity: str) -> list[Binding]:
        return list(self._bindings.get(identity, ()))

    def is_operator(self, identity: str) -> bool:
        return identity in self._bindings

    def can_read(self, identity: str, kind: Kind, org: str) -> bool:
        for b in self._bindings.get(identity, ()):
            if b.role in ("platform-admin", "viewer"):
                return True
            if b.role == "org-admin" and (kind.scope == "platform" or org == b.org):
                return True
        return False

    def can_write(self, identity: str, kind: Kind, org: str) -> bool:
        for b in self._bindings.get(identity, ()):
            if b.role == "platform-admin":
                return True
            if b.role == "org-admin" and kind.scope == "org" and org == b.org:
                return True
        return False

    def require_write(self, identity: str, kind: Kind, org: str, name: str) -> None:
        if not self.can_write(identity, kind, org):
            owner = f"org {org}" if org else "the platform"
            raise Forbidden(f"{identity} may not write {kind.name} {name!r} owned by {owner}")

    def require_operator(self, identity: str) -> None:
        if not self.is_operator(identity):
            raise Forbidden(f"{identity} is not an operator")

    def can_mint_token_for(self, identity: str, org: str) -> bool:
        return any(b.role == "platform-admin" or (b.role == "org-admin" and b.org == org)
                   for b in self._bindings.get(identity, ()))

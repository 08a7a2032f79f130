"""Who may do what. One policy function per kind of access; servicers call these
after loading the target structure's tenant."""

from __future__ import annotations

from enum import StrEnum

from .errors import PermissionDenied
from .storage.tokens import Principal, Role


class Access(StrEnum):
    READ = "read"  # registry, status, archive queries
    WRITE = "write"  # registry changes
    INGEST = "ingest"  # stream samples


# Roles and what they may do within their tenant. hq and drill read across tenants
# when their token has no tenant (a provincial headquarters sees the province).
_ALLOWED: dict[Role, frozenset[Access]] = {
    Role.ADMIN: frozenset(Access),
    Role.OWNER: frozenset(Access),
    Role.GATEWAY: frozenset({Access.READ, Access.WRITE, Access.INGEST}),
    Role.HQ: frozenset({Access.READ}),
    Role.DRILL: frozenset({Access.READ}),
}


def check_structure_access(p: Principal, structure_tenant: str, access: Access, structure_id: str) -> None:
    """Raise PermissionDenied unless ``p`` may ``access`` a structure of ``structure_tenant``."""
    if access not in _ALLOWED[p.role]:
        raise PermissionDenied(f"role {p.role.value!r} may not {access.value} structure {structure_id!r}")
    if p.tenant is not None and p.tenant != structure_tenant:
        raise PermissionDenied(f"structure {structure_id!r} belongs to another tenant")


def tenant_for_new_structure(p: Principal, requested: str) -> str:
    """The tenant a structure created by ``p`` belongs to."""
    if Access.WRITE not in _ALLOWED[p.role]:
        raise PermissionDenied(f"role {p.role.value!r} may not register structures")
    if p.tenant is not None:
        if requested and requested != p.tenant:
            raise PermissionDenied(f"tenant: a token of tenant {p.tenant!r} cannot create structures for {requested!r}")
        return p.tenant
    return requested or "default"


def visible_tenant(p: Principal) -> str | None:
    """Tenant filter for list queries (None = all)."""
    return p.tenant


def require_admin(p: Principal) -> None:
    if p.role is not Role.ADMIN or p.tenant is not None:
        raise PermissionDenied("only an admin token without tenant may do this")

"""Bearer tokens: ``qw_<token_id>_<secret>``.

The secret carries 256 bits from :func:`secrets.token_urlsafe`, so a single SHA-256
is a sufficient at-rest hash (no password stretching is needed for random keys);
comparison is constant-time.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from .models import ApiToken, utcnow

_TOKEN_RE = re.compile(r"^qw_([a-z0-9]{12})_([A-Za-z0-9_-]{43})$")


class Role(StrEnum):
    ADMIN = "admin"
    OWNER = "owner"
    HQ = "hq"
    DRILL = "drill"
    GATEWAY = "gateway"


TENANT_REQUIRED = frozenset({Role.OWNER, Role.GATEWAY})


@dataclass(frozen=True)
class Principal:
    """Who is calling: the token's id, role and tenant (None = all tenants)."""

    token_id: str
    role: Role
    tenant: str | None


def _sha256(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def parse_role(value: str) -> Role:
    try:
        return Role(value)
    except ValueError:
        allowed = ", ".join(r.value for r in Role)
        raise ValueError(f"role: {value!r} is not one of {allowed}") from None


def create_token(engine: Engine, role: Role | str, tenant: str | None = None, description: str = "") -> tuple[str, Principal]:
    """Store a new token and return ``(token, principal)``; the token is shown once."""
    role = parse_role(str(role))
    if role in TENANT_REQUIRED and not tenant:
        raise ValueError(f"tenant: role {role.value!r} needs a tenant")
    token_id = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    with Session(engine) as s:
        s.add(ApiToken(token_id=token_id, secret_sha256=_sha256(secret), role=role.value, tenant=tenant or None, description=description))
        s.commit()
    return f"qw_{token_id}_{secret}", Principal(token_id, role, tenant or None)


def verify_token(engine: Engine, token: str) -> Principal | None:
    """The principal of a valid, unrevoked token, else None."""
    m = _TOKEN_RE.match(token)
    if not m:
        return None
    token_id, secret = m.groups()
    with Session(engine) as s:
        row = s.get(ApiToken, token_id)
    if row is None or row.revoked_at is not None:
        return None
    if not hmac.compare_digest(row.secret_sha256, _sha256(secret)):
        return None
    return Principal(row.token_id, Role(row.role), row.tenant)


def revoke_token(engine: Engine, token_id: str) -> bool:
    with Session(engine) as s:
        row = s.exec(select(ApiToken).where(ApiToken.token_id == token_id)).first()
        if row is None:
            return False
        row.revoked_at = utcnow()
        s.add(row)
        s.commit()
    return True


def list_tokens(engine: Engine) -> list[ApiToken]:
    """Every token (id, role, tenant, dates); the stored hash is not a secret but is
    never shown either."""
    with Session(engine) as s:
        return list(s.exec(select(ApiToken).order_by(ApiToken.created_at)))  # type: ignore[arg-type]


def is_active(engine: Engine, token_id: str) -> bool:
    """True while the token exists and is not revoked (long-lived streams re-check)."""
    with Session(engine) as s:
        row = s.get(ApiToken, token_id)
    return row is not None and row.revoked_at is None

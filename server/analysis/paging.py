"""Keyset paging shared by the stored products (events, modal results, assessments):
newest first by (time, id), an opaque token naming the last row returned."""

from __future__ import annotations

import base64
from typing import Any, TypeVar

from sqlmodel import Session, SQLModel, col, or_, select

from ..auth import Access, check_structure_access, visible_tenant
from ..errors import InvalidInput, NotFound
from ..storage.models import Structure
from ..storage.tokens import Principal

MAX_PAGE = 1000
Row = TypeVar("Row", bound=SQLModel)


def token(time_ns: int, row_id: str) -> str:
    return base64.urlsafe_b64encode(f"{time_ns}:{row_id}".encode()).decode()


def parse_token(page_token: str, rpc: str) -> tuple[int, str]:
    try:
        t, rid = base64.urlsafe_b64decode(page_token.encode()).decode().split(":", 1)
        return int(t), rid
    except (ValueError, UnicodeDecodeError):
        raise InvalidInput(f"page_token: not a token returned by {rpc}", field="page_token") from None


def page(s: Session, p: Principal, model: type[Row], time_attr: str, id_attr: str, *, rpc: str,
         structure_id: str = "", start_ns: int = 0, end_ns: int = 0, page_size: int = 0,
         page_token: str = "", where: tuple[Any, ...] = ()) -> tuple[list[Row], str]:
    """Rows newest first, filtered to what ``p`` may read; returns (rows, next token)."""
    if page_size < 0 or page_size > MAX_PAGE:
        raise InvalidInput(f"page_size: must be 0..{MAX_PAGE}, got {page_size}", field="page_size")
    size = page_size or 100
    t_col, id_col = col(getattr(model, time_attr)), col(getattr(model, id_attr))
    q = select(model)
    if structure_id:
        st = s.get(Structure, structure_id)
        if st is None:
            raise NotFound(f"structure_id: {structure_id!r} is not registered", field="structure_id")
        check_structure_access(p, st.tenant, Access.READ, structure_id)
        q = q.where(col(getattr(model, "structure_id")) == structure_id)
    scope = visible_tenant(p)
    if scope is not None:
        q = q.where(col(getattr(model, "tenant")) == scope)
    if start_ns:
        q = q.where(t_col >= start_ns)
    if end_ns:
        q = q.where(t_col < end_ns)
    for cond in where:
        q = q.where(cond)
    if page_token:
        t, rid = parse_token(page_token, rpc)
        q = q.where(or_(t_col < t, (t_col == t) & (id_col < rid)))
    rows = list(s.exec(q.order_by(t_col.desc(), id_col.desc()).limit(size + 1)))
    more = len(rows) > size
    rows = rows[:size]
    nxt = token(getattr(rows[-1], time_attr), getattr(rows[-1], id_attr)) if more else ""
    return rows, nxt

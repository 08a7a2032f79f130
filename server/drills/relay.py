"""Drill participants hear of the plan the way they would in reality.

A drill server is an exercise server: the plan's notifications are written
``suppressed`` and never reach the addresses in the plan (``decision/notify.py``).  A
participant of the scenario that names a ``webhook`` and the plan roles it plays
(``plan_roles``) gets, instead, every suppressed message of those roles POSTed to that
webhook, with the same JSON document (``"exercise": true``) and idempotency key: the
message a duty officer would have received, at the time they would have received it,
sent only to the drill's own participant.  :func:`relay_once` is one pass; the drill
runs it every :data:`RELAY_INTERVAL_S` and lists what it relayed in its report (a
failed POST is tried again on the next passes, :data:`MAX_ATTEMPTS` times).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from ..decision.notify import Post, http_post, post_message
from ..storage.models import PlanNotification

__all__ = ["MAX_ATTEMPTS", "RELAY_INTERVAL_S", "RelayState", "relay_once"]

#: seconds between passes
RELAY_INTERVAL_S = 1.0
#: how long one POST to a participant may take
TIMEOUT_S = 5.0
#: failed POSTs of one message to one participant before it is given up
MAX_ATTEMPTS = 5


@dataclass
class RelayState:
    """What was relayed (pairs of notification id and participant) and how often each
    pair failed; a pair is given up after :data:`MAX_ATTEMPTS` failures."""

    delivered: set[tuple[str, str]] = field(default_factory=set)
    failures: dict[tuple[str, str], int] = field(default_factory=dict)
    log: list[dict[str, Any]] = field(default_factory=list)


def relay_once(engine: Engine, recipients: Mapping[str, list[tuple[str, str]]], state: RelayState, *,
               post: Post = http_post) -> list[dict[str, Any]]:
    """POST every suppressed message whose plan role has recipients and that was not yet
    relayed to them; returns (and appends to ``state.log``) what was tried, with the
    answer.  ``recipients`` maps a plan role to its participants' (name, webhook URL).
    """
    if not recipients:
        return []
    with Session(engine) as s:
        rows = list(s.exec(select(PlanNotification).where(col(PlanNotification.status) == "suppressed")
                           .where(col(PlanNotification.role).in_(list(recipients)))
                           .order_by(col(PlanNotification.created_at))).all())
    out = []
    for row in rows:
        for name, url in recipients[row.role]:
            key = (row.notification_id, name)
            if key in state.delivered or state.failures.get(key, 0) >= MAX_ATTEMPTS:
                continue
            ok, error = post_message(post, url, row.notification_id, row.payload_json, TIMEOUT_S, "quakewatch-drill/1")
            if ok:
                state.delivered.add(key)
            else:
                state.failures[key] = state.failures.get(key, 0) + 1
            out.append({"notification": row.notification_id, "kind": row.kind, "role": row.role, "participant": name,
                        "webhook": url, "delivered": ok, "error": error or None,
                        "time": datetime.now(UTC).isoformat()})
    state.log += out
    return out

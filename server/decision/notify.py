"""Plan notifications: a durable outbox written with the activation, delivered by a job.

A plan lists whom it notifies (``notifications``: role, channel, address, levels).  Three
things an activation does produce messages:

* ``activation``: the plan is activated at a level: every target of that level;
* ``level_change``: a revision moves the level: every target of the new level;
* ``escalation``: an action passed its deadline and escalates to a role: that role's
  targets of the activation's level.

The messages are rows of ``plan_notification`` added in the same transaction as the
change that caused them (the transactional outbox: an activation is never stored
without its messages, and a message never leaves for a change that was rolled back).
:func:`deliver_due` (the ``plan-notification`` job, every
``decision.notification_interval_s``) sends what is due.  A webhook gets an HTTP POST of
the JSON document of :func:`payload` with the header ``Idempotency-Key: <notification_id>``
(a 307 or 308 redirect is followed with the same POST; 301/302/303 are not, urllib would
resend them as a GET without the message):
delivery is at least once (a receiver that answered 2xx after the job's deadline gets the
message again), so receivers drop repeats by that key.  Anything but a 2xx answer within
``decision.notification_timeout_s`` is retried after 5 s, 10 s, 20 s ... (at most
10 min apart) until ``decision.notification_attempts`` attempts, then the message is
``failed``; the outcome is audited (``plan.notify``).

What is never sent:

* on an exercise server (``exercise: true``, every drill server) the messages are written
  ``suppressed``: a drill's activation shows whom the plan would have told and when,
  and cannot reach a real duty officer;
* phone, SMS, fax, radio and gRPC targets are written ``undeliverable`` (no gateway for
  them in this service); they remain the duty roster of the activation's document.  So
  are webhooks and e-mail addresses in the documentation domains of RFC 2606 (the
  shipped example plans' ``example.org`` addresses);
* e-mail goes through the operator's mail server (``decision.smtp``, :mod:`.mail`);
  without one configured the job marks e-mail messages ``undeliverable`` when it first
  picks them up.
"""

from __future__ import annotations

import email.utils
import json
import logging
import secrets
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from ..storage import audit
from ..storage.models import PlanActivation, PlanNotification, as_utc
from .mail import Mailer, compose
from .plan_loader import LoadedPlan
from .plan_schema import Level

__all__ = ["DELIVERED_CHANNELS", "Delivery", "deliver_due", "enqueue", "http_post", "listed", "payload", "placeholder",
           "post_message"]

log = logging.getLogger(__name__)

#: channels this service delivers (e-mail when a mail server is configured; the others need a gateway)
DELIVERED_CHANNELS = frozenset({"webhook", "email"})
#: why an e-mail message stays unsent without a mail server
NO_MAIL_SERVER = "no mail server configured (decision.smtp)"
#: first retry delay and the longest one
RETRY_FIRST = timedelta(seconds=5)
RETRY_MAX = timedelta(minutes=10)
#: messages sent per job run, and at once
BATCH = 200
SENDERS = 4

Post = Callable[[str, bytes, dict[str, str], float], tuple[int | None, str]]


def payload(row: PlanActivation, loaded: LoadedPlan, kind: str, role: str, level: str, created_at: datetime,
            notification_id: str, details: dict[str, Any]) -> dict[str, Any]:
    """The JSON document a target receives (schema ``quakewatch-notification/1``)."""
    plan = loaded.plan
    title = " ".join(plan.title.split())  # one line (a folded YAML title ends with a line break)
    spec = plan.level_spec_by_name(level) if level else None
    named = (f"level {level}" + (f" ({spec.name})" if spec else "")) if level else "no level"
    if kind == "escalation":
        text = f"{title}: action {details['action']!r} is overdue (due {details['due']}) and escalates to {role} ({named})"
    elif kind == "level_change":
        text = f"{title}: {named}, changed from level {details.get('from_level') or 'none'}"
    else:
        text = f"{title}: {named} activated"
    return {
        "schema": "quakewatch-notification/1", "notification_id": notification_id, "kind": kind,
        "exercise": bool(row.exercise), "activation_id": row.activation_id, "role": role,
        "plan": {"id": plan.id, "version": plan.version, "sha256": loaded.sha256, "title": plan.title},
        "level": level or None, "level_name": spec.name if spec else None,
        "origin_time": row.origin_time.isoformat(), "created_at": created_at.isoformat(), "message": text,
        **details,
    }


def placeholder(address: str) -> bool:
    """A URL or e-mail address whose host is in a domain reserved for documentation and
    testing (RFC 2606: ``example.com/.net/.org`` and the ``.example``, ``.test`` and
    ``.invalid`` top-level domains): the shipped example plans' addresses, never to be
    called."""
    a = address.strip()
    if "@" in a and "://" not in a:  # the address a mail server would take from it ("Name <x@y>" too)
        host = email.utils.parseaddr(a)[1].rpartition("@")[2]
    else:
        host = urllib.parse.urlsplit(a).hostname or ""
    host = host.rstrip(".").lower()
    return (host.rsplit(".", 1)[-1] in ("example", "test", "invalid")
            or any(host == d or host.endswith("." + d) for d in ("example.com", "example.net", "example.org")))


def enqueue(s: Session, row: PlanActivation, loaded: LoadedPlan, kind: str, level: str, now: datetime, *,
            roles: Iterable[str] | None = None, details: dict[str, Any] | None = None) -> list[PlanNotification]:
    """Add the messages of one change to the session (committed with it): every target
    of ``level`` (none without a level), or of those ``roles`` only."""
    if not level:
        return []
    lv = Level(level)
    wanted = None if roles is None else set(roles)
    out = []
    for n in loaded.plan.notifications:
        if (n.levels is not None and lv not in n.levels) or (wanted is not None and n.role not in wanted):
            continue
        nid = secrets.token_hex(8)
        if row.exercise:
            status, why = "suppressed", "exercise server: recorded, never sent"
        elif n.channel not in DELIVERED_CHANNELS:
            status, why = "undeliverable", f"no {n.channel} gateway in this service"
        elif placeholder(n.address):
            status, why = "undeliverable", "placeholder address (a domain reserved for documentation, RFC 2606)"
        else:
            status, why = "pending", ""
        doc = payload(row, loaded, kind, n.role, level, now, nid, details or {})
        msg = PlanNotification(notification_id=nid, activation_id=row.activation_id, tenant=row.tenant, kind=kind,
                               role=n.role, channel=n.channel, address=n.address, payload_json=json.dumps(doc),
                               status=status, last_error=why, next_attempt_at=now, created_at=now)
        s.add(msg)
        out.append(msg)
    return out


def listed(s: Session, activation_id: str) -> list[dict[str, Any]]:
    """The messages of an activation, oldest first (for its document)."""
    rows = s.exec(select(PlanNotification).where(col(PlanNotification.activation_id) == activation_id)
                  .order_by(col(PlanNotification.created_at), col(PlanNotification.notification_id))).all()
    return [{"id": r.notification_id, "kind": r.kind, "role": r.role, "channel": r.channel, "address": r.address,
             "status": r.status, "attempts": r.attempts, "last_error": r.last_error or None,
             "created_at": as_utc(r.created_at).isoformat(),
             "delivered_at": as_utc(r.delivered_at).isoformat() if r.delivered_at else None} for r in rows]



#: redirects a webhook POST follows (307 and 308 keep the method and the body, RFC 9110 15.4)
MAX_REDIRECTS = 5


class _PostRedirects(urllib.request.HTTPRedirectHandler):
    """Follow 307/308 with the same POST and body; refuse 301/302/303, which urllib
    would turn into a GET without the body (a "delivered" message nobody received)."""

    max_redirections = MAX_REDIRECTS

    def redirect_request(self, req: urllib.request.Request, fp: Any, code: int, msg: str, headers: Any,
                         newurl: str) -> urllib.request.Request | None:
        if code not in (307, 308):
            raise urllib.error.HTTPError(req.full_url, code, f"redirected to {newurl}: a webhook must take the POST "
                                         "itself (307 and 308 redirects are followed)", headers, fp)
        if urllib.parse.urlsplit(newurl).scheme not in ("http", "https"):
            raise urllib.error.HTTPError(req.full_url, code, f"redirected to {newurl}: not http(s)", headers, fp)
        return urllib.request.Request(newurl, data=req.data, headers=dict(req.header_items()), method="POST")


_OPENER = urllib.request.build_opener(_PostRedirects())


def http_post(url: str, body: bytes, headers: dict[str, str], timeout_s: float) -> tuple[int | None, str]:
    """POST ``body``; (HTTP status, "") on an answer, (None, reason) on none.  307/308
    redirects are followed (at most ``MAX_REDIRECTS``) with the same body; other
    redirects are answers that did not take the message."""
    req = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with _OPENER.open(req, timeout=timeout_s) as resp:  # the plan's own http(s) URL
            return int(resp.status), ""
    except urllib.error.HTTPError as exc:
        return int(exc.code), str(exc.reason)
    except (urllib.error.URLError, OSError, ValueError) as exc:
        return None, str(getattr(exc, "reason", exc))


def post_message(post: Post, url: str, notification_id: str, body: str, timeout_s: float,
                 user_agent: str) -> tuple[bool, str]:
    """POST one message (JSON, ``Idempotency-Key: notification_id``): (answered 2xx, why not)."""
    headers = {"Content-Type": "application/json", "Idempotency-Key": notification_id, "User-Agent": user_agent}
    code, why = post(url, body.encode("utf-8"), headers, timeout_s)
    if code is not None and 200 <= code < 300:
        return True, ""
    return False, (f"HTTP {code} {why}".strip() if code is not None else why or "no answer")[:512]


@dataclass(frozen=True)
class Delivery:
    notification_id: str
    activation_id: str
    address: str
    status: str
    attempts: int
    error: str


def retry_delay(attempts: int) -> timedelta:
    """Wait after the ``attempts``-th failed attempt: 5 s doubled each time, at most 10 min."""
    return min(RETRY_FIRST * 2 ** max(attempts - 1, 0), RETRY_MAX)


def deliver_due(engine: Engine, now: datetime, *, max_attempts: int, timeout_s: float, post: Post = http_post,
                mailer: Mailer | None = None, user_agent: str = "quakewatch-notification/1") -> list[Delivery]:
    """Send every pending message whose time has come (one job run): webhooks by ``post``,
    e-mail by ``mailer`` (without one, e-mail messages become ``undeliverable``)."""
    with Session(engine) as s:
        due = list(s.exec(select(PlanNotification).where(col(PlanNotification.status) == "pending")
                          .where(col(PlanNotification.next_attempt_at) <= now)
                          .order_by(col(PlanNotification.next_attempt_at)).limit(BATCH)).all())
    if not due:
        return []

    def send(msg: PlanNotification) -> tuple[bool | None, str]:
        """(True: delivered | False: try again | None: cannot be sent, why)."""
        try:
            if msg.channel == "email":
                if mailer is None:
                    return None, NO_MAIL_SERVER
                return mailer.send(compose(msg.notification_id, msg.address, mailer.from_address, msg.payload_json),
                                   timeout_s)
            return post_message(post, msg.address, msg.notification_id, msg.payload_json, timeout_s, user_agent)
        except Exception as exc:  # one bad message must not stop the batch from being recorded
            log.exception("plan notification %s could not be sent", msg.notification_id)
            return False, f"{type(exc).__name__}: {exc}"[:512]

    with ThreadPoolExecutor(max_workers=min(SENDERS, len(due))) as pool:
        answers = list(pool.map(send, due))
    out = []
    for msg, (ok, error) in zip(due, answers):
        attempts = msg.attempts + (ok is not None)
        values: dict[str, Any]
        if ok is None:
            status, values = "undeliverable", {}
        elif ok:
            status, values = "delivered", {"delivered_at": now}
        else:
            status = "failed" if attempts >= max_attempts else "pending"
            values = {"next_attempt_at": now + retry_delay(attempts)}
        out.append(Delivery(msg.notification_id, msg.activation_id, msg.address, status, attempts, error))
        _record(engine, msg, status, attempts, error, values)
    return out


@audit.retry_chain_conflicts
def _record(engine: Engine, msg: PlanNotification, status: str, attempts: int, error: str, values: dict[str, Any]) -> None:
    with Session(engine) as s:
        # conditional on the attempt count read: two deliverers never both book one attempt
        res = s.execute(update(PlanNotification).where(col(PlanNotification.notification_id) == msg.notification_id)
                        .where(col(PlanNotification.attempts) == msg.attempts)
                        .values(status=status, attempts=attempts, last_error=error, **values))
        if res.rowcount != 1:  # type: ignore[attr-defined]
            s.rollback()
            return
        if status != "pending":
            audit.add(s, actor="scheduler", role="system", tenant=msg.tenant, action="plan.notify", target=msg.activation_id,
                      details={"notification": msg.notification_id, "kind": msg.kind, "role": msg.role,
                               "channel": msg.channel, "address": msg.address, "status": status, "attempts": attempts,
                               "error": error or None})
        s.commit()
    if status == "failed":
        log.error("plan notification failed id=%s address=%s attempts=%d error=%s", msg.notification_id, msg.address,
                  attempts, error)

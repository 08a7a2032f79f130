"""Plan notifications: the outbox written with the activation, webhooks POSTed to a real
HTTP server on a socket, retries, give-up, exercise suppression, and the end to end path
over gRPC.  SQLite and PostgreSQL (the ``engine`` fixture)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session, select

from conftest import run, running_server
from quakewatch.server.decision import activation_store
from quakewatch.server.decision.activation import Situation
from quakewatch.server.decision.notify import deliver_due, placeholder, retry_delay
from quakewatch.server.decision.plan_loader import check_plan, parse_plan_text
from quakewatch.server.decision.plan_schema import HealthStatus
from quakewatch.server.storage.audit import list_entries, verify_chain
from quakewatch.server.storage.models import PlanNotification
from quakewatch.server.storage.tokens import create_token
from quakewatch.v1 import decision_pb2
from test_plans import PLAN


class Receiver:
    """An HTTP server on 127.0.0.1 that records every POST and answers with the next of
    ``codes`` (then 200)."""

    def __init__(self, codes: list[int] | None = None, redirects: dict[str, tuple[int, str]] | None = None) -> None:
        self.codes = list(codes or [])
        self.redirects = dict(redirects or {})  # path -> (status, Location)
        self.posts: list[dict[str, Any]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if self.path in outer.redirects:
                    code, location = outer.redirects[self.path]
                    self.send_response(code)
                    self.send_header("Location", location)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                outer.posts.append({"path": self.path, "headers": dict(self.headers), "body": json.loads(body)})
                code = outer.codes.pop(0) if outer.codes else 200
                self.send_response(code)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


def plan_with(url: str) -> str:
    return PLAN + (
        "notifications:\n"
        f"  - {{role: commander, channel: webhook, address: '{url}/duty'}}\n"
        f"  - {{role: rescue, channel: webhook, address: '{url}/rescue', levels: [I, II]}}\n"
        "  - {role: relief, channel: sms, address: '+86 139 0000 0000'}\n")


def _loaded(url: str) -> Any:
    loaded, errors = parse_plan_text(plan_with(url), "plan.yaml")
    assert loaded is not None, errors
    return loaded


def _messages(engine: Any, activation_id: str) -> list[PlanNotification]:
    with Session(engine) as s:
        return list(s.exec(select(PlanNotification).where(PlanNotification.activation_id == activation_id)
                           .order_by(PlanNotification.created_at, PlanNotification.kind, PlanNotification.role)).all())


def test_activation_writes_its_messages_and_the_job_posts_the_webhooks(engine: Any, receiver: Receiver) -> None:
    _, hq = create_token(engine, "hq", None)
    origin = datetime.now(UTC) - timedelta(minutes=5)
    now = datetime.now(UTC)
    act = activation_store.create(engine, hq, _loaded(receiver.url), plan_with(receiver.url),
                                  Situation(origin_time=origin, deaths=300.0), now=now)
    assert act.row.level == "I"
    # level I: commander and rescue by webhook, relief by SMS (no gateway here)
    got = {(m["role"], m["channel"], m["status"]) for m in act.notifications}
    assert got == {("commander", "webhook", "pending"), ("rescue", "webhook", "pending"), ("relief", "sms", "undeliverable")}
    assert receiver.posts == []  # written with the activation, sent by the job

    sent = deliver_due(engine, now, max_attempts=3, timeout_s=5.0)
    assert sorted(d.status for d in sent) == ["delivered", "delivered"]
    by_path = {p["path"]: p for p in receiver.posts}
    assert set(by_path) == {"/duty", "/rescue"}
    duty = by_path["/duty"]
    assert duty["headers"]["Content-Type"] == "application/json"
    body = duty["body"]
    assert duty["headers"]["Idempotency-Key"] == body["notification_id"]
    assert body["schema"] == "quakewatch-notification/1" and body["kind"] == "activation" and body["level"] == "I"
    assert body["activation_id"] == act.row.activation_id and body["role"] == "commander" and body["exercise"] is False
    assert body["plan"] == {"id": "test-province", "version": "3", "sha256": act.plan.sha256,
                            "title": "Test provincial earthquake plan"}
    assert "level I (especially major) activated" in body["message"]
    # nothing is sent twice, and the outcome is in the activation and in the audit chain
    assert deliver_due(engine, now + timedelta(hours=1), max_attempts=3, timeout_s=5.0) == []
    assert len(receiver.posts) == 2
    doc = activation_store.get(engine, hq, act.row.activation_id, now=now).document(now)
    assert sorted(m["status"] for m in doc["notifications"]) == ["delivered", "delivered", "undeliverable"]
    entries = [e for e in list_entries(engine) if e.action == "plan.notify"]
    assert sorted(json.loads(e.details_json)["address"] for e in entries) == [f"{receiver.url}/duty", f"{receiver.url}/rescue"]
    assert verify_chain(engine)


def test_escalation_and_level_change_notify_their_roles(engine: Any, receiver: Receiver) -> None:
    _, hq = create_token(engine, "hq", None)
    origin = datetime.now(UTC)
    act = activation_store.create(engine, hq, _loaded(receiver.url), plan_with(receiver.url),
                                  Situation(origin_time=origin, deaths=300.0), now=origin)
    # convene (30 min at level I) overdue: escalates to the commander (the plan's escalation role)
    later = origin + timedelta(minutes=31)
    activation_store.escalate_open(engine, now=later)
    escalations = [m for m in _messages(engine, act.row.activation_id) if m.kind == "escalation"]
    assert [(m.role, m.channel) for m in escalations] == [("commander", "webhook")]
    body = json.loads(escalations[0].payload_json)
    assert body["action"] == "convene" and body["to"] == "commander" and body["count"] == 1
    assert "'convene' is overdue" in body["message"]
    # a revision to level III: commander and relief are level III targets, rescue (I, II) is not
    act = activation_store.revise_with(engine, hq, act.row.activation_id, Situation(origin_time=origin, deaths=12.0), now=later)
    assert act.row.level == "III"
    changes = [m for m in _messages(engine, act.row.activation_id) if m.kind == "level_change"]
    assert sorted(m.role for m in changes) == ["commander", "relief"]
    assert json.loads(changes[0].payload_json)["from_level"] == "I"
    # the same level again sends nothing new
    n = len(_messages(engine, act.row.activation_id))
    activation_store.revise_with(engine, hq, act.row.activation_id, Situation(origin_time=origin, deaths=13.0), now=later)
    assert len(_messages(engine, act.row.activation_id)) == n


def test_failures_are_retried_with_backoff_then_given_up(engine: Any) -> None:
    flaky = Receiver(codes=[503, 500])
    dead = Receiver()
    dead_url = dead.url
    dead.close()  # nothing listens there any more
    try:
        url_plan = PLAN + ("notifications:\n"
                           f"  - {{role: commander, channel: webhook, address: '{flaky.url}/a'}}\n"
                           f"  - {{role: rescue, channel: webhook, address: '{dead_url}/b'}}\n")
        loaded, _ = parse_plan_text(url_plan, "plan.yaml")
        _, hq = create_token(engine, "hq", None)
        t = datetime.now(UTC)
        act = activation_store.create(engine, hq, loaded, url_plan, Situation(origin_time=t, deaths=300.0), now=t)
        first = {d.address.rsplit("/", 1)[1]: d for d in deliver_due(engine, t, max_attempts=3, timeout_s=2.0)}
        assert first["a"].status == "pending" and first["a"].error.startswith("HTTP 503")
        assert first["b"].status == "pending" and first["b"].attempts == 1
        # not before the back-off
        assert deliver_due(engine, t + retry_delay(1) - timedelta(seconds=1), max_attempts=3, timeout_s=2.0) == []
        second = {d.address.rsplit("/", 1)[1]: d for d in deliver_due(engine, t + retry_delay(1), max_attempts=3, timeout_s=2.0)}
        assert second["a"].status == "pending" and second["a"].error.startswith("HTTP 500")
        third = {d.address.rsplit("/", 1)[1]: d for d in
                 deliver_due(engine, t + retry_delay(1) + retry_delay(2), max_attempts=3, timeout_s=2.0)}
        assert third["a"].status == "delivered" and third["a"].attempts == 3
        assert third["b"].status == "failed" and third["b"].attempts == 3
        assert len(flaky.posts) == 3 and len({p["body"]["notification_id"] for p in flaky.posts}) == 1  # one message, 3 tries
        rows = {m.role: m for m in _messages(engine, act.row.activation_id)}
        assert rows["rescue"].status == "failed" and rows["rescue"].last_error
        failed = [json.loads(e.details_json) for e in list_entries(engine) if e.action == "plan.notify"]
        assert {(d["role"], d["status"]) for d in failed} == {("commander", "delivered"), ("rescue", "failed")}
    finally:
        flaky.close()


def test_documentation_domains_are_never_called() -> None:
    for url in ("https://bridge-owner.example.org/hooks/quakewatch", "http://example.com", "https://a.b.example.net/x",
                "http://hq.test/", "https://x.invalid", "http://duty.example/"):
        assert placeholder(url), url
    for url in ("http://127.0.0.1:8080/duty", "https://example.org.cn/x", "https://myexample.org/", "https://hq.gov.cn/"):
        assert not placeholder(url), url


def test_shipped_plans_webhooks_are_recorded_not_sent(engine: Any) -> None:
    from quakewatch.server.decision.plan_loader import load_plan, shipped_plans

    path = next(p for p in shipped_plans() if p.stem == "bridge-owner-example")
    loaded = load_plan(path)
    _, owner = create_token(engine, "owner", "bridgeco")
    t = datetime.now(UTC)
    act = activation_store.create(engine, owner, loaded, path.read_text(encoding="utf-8"),
                                  Situation(origin_time=t, structure_health=HealthStatus.RED, pga_mps2=5.0), now=t)
    assert act.row.level and act.notifications
    hooks = [m for m in act.notifications if m["channel"] == "webhook"]
    assert hooks and all(m["status"] == "undeliverable" and "RFC 2606" in m["last_error"] for m in hooks)
    assert deliver_due(engine, t, max_attempts=3, timeout_s=1.0) == []


def test_backoff_doubles_to_ten_minutes() -> None:
    assert [retry_delay(n).total_seconds() for n in (1, 2, 3, 4)] == [5.0, 10.0, 20.0, 40.0]
    assert retry_delay(30) == timedelta(minutes=10)


def test_an_exercise_activation_never_sends(engine: Any, receiver: Receiver) -> None:
    _, hq = create_token(engine, "hq", None)
    t = datetime.now(UTC)
    act = activation_store.create(engine, hq, _loaded(receiver.url), plan_with(receiver.url),
                                  Situation(origin_time=t - timedelta(hours=1), deaths=300.0), now=t, exercise=True)
    activation_store.escalate_open(engine, now=t + timedelta(hours=3))
    rows = _messages(engine, act.row.activation_id)
    assert {m.kind for m in rows} == {"activation", "escalation"} and {m.status for m in rows} == {"suppressed"}
    assert all(json.loads(m.payload_json)["exercise"] is True for m in rows)
    assert deliver_due(engine, t + timedelta(days=1), max_attempts=3, timeout_s=2.0) == []
    assert receiver.posts == []
    assert act.document(t)["exercise"] is True


@pytest.mark.parametrize(("line", "message"), [
    ("{role: commander, channel: webhook, address: 'ftp://x.example.org/'}", "http:// or https:// URL"),
    ("{role: commander, channel: webhook, address: 'https://'}", "http:// or https:// URL"),
    ("{role: commander, channel: email, address: 'duty.example.org'}", "not an email address"),
    ("{role: commander, channel: sms, address: 'call the duty officer'}", "at least 3 digits"),
])
def test_plan_validation_checks_addresses_by_channel(tmp_path: Path, line: str, message: str) -> None:
    path = tmp_path / "plan.yaml"
    text = PLAN + "notifications:\n  - " + line + "\n"
    path.write_text(text, encoding="utf-8")
    errors = check_plan(path)
    assert len(errors) == 1 and message in errors[0].message and errors[0].field == "notifications[0].address"
    assert errors[0].line == len(text.splitlines())


def test_webhook_delivered_over_the_live_path(tmp_path: Path, receiver: Receiver) -> None:
    d = tmp_path / "data" / "decision" / "plans"
    d.mkdir(parents=True)
    (d / "province.yaml").write_text(plan_with(receiver.url), encoding="utf-8")
    origin = datetime.now(UTC)
    estimate = json.dumps({"totals": {"casualties": {"fatalities": 400.0}, "losses": {"structural": 1e9}},
                           "situation": {"deaths": 400.0, "origin_time": origin.isoformat()}})

    async def live() -> None:
        import asyncio
        import subprocess
        import sys

        from quakewatch.clients.client import AsyncClient
        from quakewatch.server.settings import DecisionSettings

        async with running_server(tmp_path / "data", decision=DecisionSettings(notification_interval_s=0.2)) as srv:
            tok, _ = create_token(srv.engine, "hq", None)
            async with AsyncClient(srv.address, tok) as c:
                act = await c.decision.Respond(decision_pb2.RespondRequest(plan="plans/province.yaml", estimate_json=estimate))
                for _ in range(100):
                    if len(receiver.posts) >= 2:
                        break
                    await asyncio.sleep(0.1)
                got = await c.decision.GetActivation(decision_pb2.GetActivationRequest(activation_id=act.activation_id))
            shown = await asyncio.to_thread(
                subprocess.run, [sys.executable, "-m", "quakewatch.clients.cli", "activation", "show", act.activation_id,
                                 "--server", srv.address, "--token", tok], capture_output=True, text=True, timeout=60)
        assert sorted(p["path"] for p in receiver.posts) == ["/duty", "/rescue"]
        doc = json.loads(got.document_json)
        assert sorted((m["role"], m["status"]) for m in doc["notifications"]) == [
            ("commander", "delivered"), ("relief", "undeliverable"), ("rescue", "delivered")]
        assert shown.returncode == 0, shown.stderr
        assert f"activation    commander      webhook  {receiver.url}/duty  delivered" in shown.stdout, shown.stdout
        assert "relief         sms      +86 139 0000 0000  undeliverable  (no sms gateway in this service)" in shown.stdout

    run(live())


def test_a_moved_webhook_is_followed_with_the_same_post_and_a_get_redirect_refused(engine: Any) -> None:
    """308/307 keep the method and body (RFC 9110 15.4.8-9) and are followed; 302 would be
    turned into a GET without the message by urllib, so it is an answer that did not take it."""
    hook = Receiver(redirects={"/duty": (308, "/v2/duty"), "/rescue": (302, "/v2/rescue")})
    try:
        _, hq = create_token(engine, "hq", None)
        now = datetime.now(UTC)
        act = activation_store.create(engine, hq, _loaded(hook.url), plan_with(hook.url),
                                      Situation(origin_time=now - timedelta(minutes=5), deaths=300.0), now=now)
        outcome = {d.address.rsplit("/", 1)[1]: d for d in deliver_due(engine, now, max_attempts=3, timeout_s=5.0)}
        assert outcome["duty"].status == "delivered"
        assert [p["path"] for p in hook.posts] == ["/v2/duty"]  # the 302 target never got a request
        moved = hook.posts[0]
        assert moved["body"]["activation_id"] == act.row.activation_id and moved["body"]["role"] == "commander"
        assert moved["headers"]["Idempotency-Key"] == moved["body"]["notification_id"]
        assert outcome["rescue"].status == "pending" and "HTTP 302" in outcome["rescue"].error
        assert "307 and 308 redirects are followed" in outcome["rescue"].error
    finally:
        hook.close()

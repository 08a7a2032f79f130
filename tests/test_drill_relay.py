"""A drill's plan notifications reach the participants' webhooks, never the plan's
addresses: a real HTTP server on a socket for each, real SQLite."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from quakewatch.server.decision import activation_store
from quakewatch.server.decision.activation import Situation
from quakewatch.server.decision.notify import deliver_due
from quakewatch.server.decision.plan_loader import parse_plan_text
from quakewatch.server.drills.relay import MAX_ATTEMPTS, RelayState, relay_once
from quakewatch.server.storage.tokens import create_token
from test_plan_notifications import Receiver, plan_with


@pytest.fixture
def sqlite_engine(tmp_path: Any) -> Any:
    from quakewatch.server.storage import migrate
    from quakewatch.server.storage.engine import default_url, make_engine

    e = make_engine(default_url(tmp_path))
    migrate.upgrade(e)
    yield e
    e.dispose()


def test_participants_get_their_roles_messages_and_the_plans_addresses_nothing(sqlite_engine: Any) -> None:
    duty, participant = Receiver(), Receiver(codes=[500] * (MAX_ATTEMPTS + 2))
    try:
        text = plan_with(duty.url)  # the plan's real duty addresses
        loaded, _ = parse_plan_text(text, "plan.yaml")
        _, hq = create_token(sqlite_engine, "hq", None)
        t = datetime.now(UTC)
        act = activation_store.create(sqlite_engine, hq, loaded, text, Situation(origin_time=t - timedelta(hours=1), deaths=300.0),
                                      now=t, exercise=True)
        assert {m["status"] for m in act.notifications} == {"suppressed"}
        ok = Receiver()
        try:
            state = RelayState()
            recipients = {"commander": [("duty officer", f"{ok.url}/drill")], "rescue": [("rescue lead", f"{participant.url}/r")]}
            first = relay_once(sqlite_engine, recipients, state)
            assert {(r["participant"], r["delivered"]) for r in first} == {("duty officer", True), ("rescue lead", False)}
            # the commander's activation and escalation messages, as a duty officer would get them
            bodies = [p["body"] for p in ok.posts]
            assert {b["kind"] for b in bodies} == {"activation", "escalation"} and all(b["exercise"] is True for b in bodies)
            assert all(b["role"] == "commander" for b in bodies)
            assert [p["headers"]["Idempotency-Key"] for p in ok.posts] == [b["notification_id"] for b in bodies]
            # nothing twice; the failing participant is tried again, then given up
            for _ in range(MAX_ATTEMPTS + 1):
                relay_once(sqlite_engine, recipients, state)
            assert len(ok.posts) == len(bodies) and len(participant.posts) == MAX_ATTEMPTS
            assert len(state.log) == len(bodies) + MAX_ATTEMPTS
        finally:
            ok.close()
        # the plan's own addresses, even with the delivery job run, hear nothing
        assert deliver_due(sqlite_engine, t + timedelta(days=1), max_attempts=3, timeout_s=1.0) == []
        assert duty.posts == []
        assert relay_once(sqlite_engine, {}, RelayState()) == []
    finally:
        for r in (duty, participant):
            r.close()


@pytest.mark.e2e
def test_a_drill_relays_the_plan_to_its_participant(tmp_path: Any) -> None:
    """``quakewatch drill run`` on the shipped coal-mine scenario with a participant that
    plays the dispatcher: the plan's dispatcher messages reach its webhook."""
    import subprocess
    import sys
    from pathlib import Path

    import yaml

    hook = Receiver()
    try:
        doc = yaml.safe_load((Path(__file__).resolve().parents[1] / "plans" / "scenarios" / "coal-mine-rockburst.yaml").read_text())
        doc["participants"].append({"role": "owner", "tenant": "jinneng-coal", "name": "dispatcher on duty",
                                    "webhook": f"{hook.url}/drill", "plan_roles": ["dispatcher"]})
        path = tmp_path / "mine.yaml"
        path.write_text(yaml.safe_dump(doc))
        out = subprocess.run([sys.executable, "-m", "quakewatch.clients.cli", "drill", "run", str(path), "--json",
                              "--data-dir", str(tmp_path / "d")], capture_output=True, text=True, timeout=600)
        assert out.returncode == 0, out.stderr[-3000:]
        report = json.loads(out.stdout)
    finally:
        hook.close()
    relayed = report["results"]["notifications_relayed"]
    plan_targets = [n for n in report["results"]["activation"]["notifications"] if n["role"] == "dispatcher"]
    assert plan_targets and {n["status"] for n in plan_targets} == {"suppressed"}
    assert len(relayed) == len(plan_targets) and all(r["delivered"] and r["participant"] == "dispatcher on duty" for r in relayed)
    assert sorted(p["body"]["notification_id"] for p in hook.posts) == sorted(r["notification"] for r in relayed)
    assert all(p["body"]["exercise"] is True and p["body"]["role"] == "dispatcher" for p in hook.posts)

"""The drills a live server runs for participants (``DrillService``).

Each drill is a :class:`~.runner.DrillRun` with its drill server under
``DATA_DIR/drills/<id>`` (database, archive, and ``drill.json``: the record and, once
ended, the final report), started in this process and stopped when the drill ends or the
server stops; at most ``MAX_RUNNING`` run at once. After a restart, ended drills are read
back from their records; drills the restart interrupted are marked so. The live server's
database never sees a drill's events, alerts, estimates, activations or dispatch plans:
they are the drill server's.

Who sees what: the coordinator (drill or admin token) every drill, its scenario and its
participants' tokens (only in the answer to ``StartDrill``); hq tokens every drill and owner
tokens the drills that name their tenant, as participants; in a blind drill a participant
sees neither the scenario nor the timeline before the injection has started.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import FailedPrecondition, InvalidInput, NotFound, PermissionDenied, ResourceExhausted
from ..storage.tokens import Principal, Role
from .runner import DrillRun, Participant
from .scenario import load_drill_scenario, shipped_scenario, shipped_scenarios

__all__ = ["COORDINATORS", "DrillManager", "DrillState"]

log = logging.getLogger(__name__)
COORDINATORS = frozenset({Role.ADMIN, Role.DRILL})
PARTICIPANTS = frozenset({Role.HQ, Role.OWNER})
MAX_START_IN_S = 86_400.0
MAX_RUNNING = 4  # drills running at once on one server (each runs a drill server)


@dataclass
class DrillState:
    """A drill of this server: running (``run`` set) or ended (``final`` set, also after a
    restart, read back from ``DATA_DIR/drills/<id>/drill.json``)."""

    drill_id: str
    scenario_id: str
    name: str
    blind: bool
    created_s: float
    scenario_text: str
    tenants: frozenset[str]
    participants: list[Participant]
    run: DrillRun | None = None
    task: asyncio.Task[Any] | None = None
    final: dict[str, Any] | None = field(default=None)
    ended_status: str = ""
    ended_injected_s: float | None = None

    @property
    def injected_s(self) -> float | None:
        return self.run.injected_s if self.run is not None else self.ended_injected_s

    @property
    def injected(self) -> bool:
        return self.injected_s is not None

    @property
    def status(self) -> str:
        return self.run.status if self.run is not None and self.final is None else self.ended_status

    @property
    def address(self) -> str:
        return self.run.address if self.run is not None and self.final is None else ""

    def record(self) -> dict[str, Any]:
        """What is kept on disk (never the participants' tokens)."""
        return {"drill_id": self.drill_id, "scenario_id": self.scenario_id, "name": self.name, "blind": self.blind,
                "created_s": self.created_s, "scenario_yaml": self.scenario_text, "tenants": sorted(self.tenants),
                "participants": [{"role": x.role, "tenant": x.tenant, "name": x.name} for x in self.participants],
                "injected_s": self.injected_s, "status": self.status, "report": self.final}


class DrillManager:
    def __init__(self, data_dir: Path, decision_dir: Path, listen: str, tls: dict[str, Any] | None = None) -> None:
        self.root = data_dir / "drills"
        self.tls = {k: v for k, v in (tls or {}).items() if v is not None}
        self.decision_dir = decision_dir
        host = listen.rsplit(":", 1)[0] if ":" in listen else "127.0.0.1"
        self.host = host or "127.0.0.1"
        self.drills: dict[str, DrillState] = {}
        self._load_ended()

    def _load_ended(self) -> None:
        """Drills of earlier runs of this server: ended ones with their report; ones a
        restart interrupted are marked so (their drill servers are gone)."""
        for f in sorted(self.root.glob("*/drill.json")) if self.root.is_dir() else []:
            try:
                d = json.loads(f.read_text(encoding="utf-8"))
                st = DrillState(d["drill_id"], d["scenario_id"], d["name"], bool(d["blind"]), float(d["created_s"]),
                                d["scenario_yaml"], frozenset(d["tenants"]),
                                [Participant(x["role"], x["tenant"], x["name"], "") for x in d["participants"]],
                                ended_status=d["status"], ended_injected_s=d["injected_s"])
            except (OSError, ValueError, KeyError, TypeError) as exc:
                log.warning("drill record %s unreadable: %s", f, exc)
                continue
            if d.get("report") is None:
                st.ended_status = "interrupted"
                st.final = {"drill_id": st.drill_id, "status": "interrupted", "milestones": [],
                            "summary": {"milestones": 0, "met": 0, "missed": 0, "open": 0},
                            "note": "the server stopped during the drill; its drill server's database is kept in this directory"}
                self._save(st)
            else:
                st.final = d["report"]
            self.drills[st.drill_id] = st

    def _save(self, st: DrillState) -> None:
        d = self.root / st.drill_id
        d.mkdir(parents=True, exist_ok=True)
        tmp = d / "drill.json.tmp"
        tmp.write_text(json.dumps(st.record(), indent=1, default=str), encoding="utf-8")
        tmp.replace(d / "drill.json")

    def _scenario_path(self, name: str) -> Path:
        shipped = shipped_scenario(name)
        if shipped is not None:
            return shipped
        base = self.decision_dir.resolve()
        p = (base / name).resolve()
        if not p.is_relative_to(base):
            raise InvalidInput(f"scenario: {name!r} leaves the decision data directory", field="scenario")
        if not p.is_file():
            raise InvalidInput(f"scenario: no shipped scenario {name!r} (shipped: {', '.join(shipped_scenarios())}) "
                               "and no such file in the decision data directory", field="scenario")
        return p

    async def start(self, p: Principal, scenario: str, blind: bool, start_in_s: float) -> DrillState:
        if p.role not in COORDINATORS:
            raise PermissionDenied("starting a drill needs a drill or admin token (the coordinator)")
        if not (0.0 <= start_in_s <= MAX_START_IN_S):
            raise InvalidInput(f"start_in_s: must be within [0, {MAX_START_IN_S:g}] s, got {start_in_s}", field="start_in_s")
        running = sum(1 for st in self.drills.values() if st.final is None)
        if running >= MAX_RUNNING:
            raise ResourceExhausted(f"{running} drills are running (at most {MAX_RUNNING}): end one first")
        path = self._scenario_path(scenario)
        sc, base = await asyncio.to_thread(load_drill_scenario, path)
        drill_id = uuid.uuid4().hex[:12]
        run = DrillRun(sc, base, path, self.root / drill_id, host=self.host, drill_id=drill_id, tls=self.tls)
        try:
            await run.prepare()
        except BaseException:
            await run.stop()
            raise
        st = DrillState(drill_id, sc.id, sc.name, blind, time.time(), path.read_text(encoding="utf-8"),
                        frozenset(x.tenant for x in sc.participants if x.tenant), list(run.participants), run)
        self.drills[drill_id] = st
        self._save(st)
        st.task = asyncio.create_task(self._inject_later(st, start_in_s))
        log.info("drill %s started: scenario %s, blind=%s, injection in %.0f s, drill server %s", run.drill_id, sc.id, blind,
                 start_in_s, run.address)
        return st

    async def _inject_later(self, st: DrillState, delay_s: float) -> None:
        assert st.run is not None
        await asyncio.sleep(delay_s)
        try:
            await st.run.inject()
        except Exception:  # noqa: BLE001 - the drill fails, the server goes on
            log.exception("drill %s: the injection failed", st.drill_id)
        self._save(st)

    def get(self, p: Principal, drill_id: str) -> DrillState:
        st = self.drills.get(drill_id)
        if st is None or not self._may_see(p, st):
            raise NotFound(f"drill_id: no drill {drill_id!r}", field="drill_id")
        return st

    @staticmethod
    def _may_see(p: Principal, st: DrillState) -> bool:
        if p.role in COORDINATORS or p.role == Role.HQ:
            return True
        return p.role == Role.OWNER and p.tenant in st.tenants

    @staticmethod
    def hidden_from(p: Principal, st: DrillState) -> bool:
        """A participant of a blind drill before the injection."""
        return st.blind and not st.injected and p.role in PARTICIPANTS

    def scenario(self, p: Principal, drill_id: str) -> str:
        st = self.get(p, drill_id)
        if self.hidden_from(p, st):
            raise PermissionDenied("the drill is blind: its scenario is revealed to participants only by the injection")
        return st.scenario_text

    async def acknowledge(self, p: Principal, drill_id: str, action_id: str, status: str, note: str,
                          activation_id: str = "") -> DrillState:
        """A participant's acknowledgement, applied to the activation on the drill server."""
        from sqlmodel import Session, col, select

        from ..decision.activation import ActionStatus
        from ..decision.activation_store import set_status
        from ..storage.models import PlanActivation

        st = self.get(p, drill_id)
        if st.final is not None or st.run is None or st.run.server is None:
            raise FailedPrecondition(f"drill_id: drill {drill_id!r} has ended")
        try:
            state = ActionStatus(status or "acknowledged")
        except ValueError:
            raise InvalidInput(f"status: acknowledged or done, got {status!r}", field="status") from None
        if len(note) > 2000:
            raise InvalidInput(f"note: at most 2000 characters, got {len(note)}", field="note")
        engine = st.run.server.engine
        if not activation_id:
            with Session(engine) as s:
                first = s.exec(select(PlanActivation).order_by(col(PlanActivation.created_at))).first()
            if first is None:
                raise FailedPrecondition("no plan has been activated in this drill yet")
            activation_id = first.activation_id
        # the participant acts on the drill server under their live token's role and tenant
        who = Principal(f"live:{p.token_id}", p.role, p.tenant)
        await asyncio.to_thread(set_status, engine, who, activation_id, action_id, state, note)
        return st

    def report(self, st: DrillState) -> dict[str, Any]:
        if st.final is not None or st.run is None:
            return st.final or {}
        return st.run.report()

    async def end(self, p: Principal, drill_id: str) -> DrillState:
        if p.role not in COORDINATORS:
            raise PermissionDenied("ending a drill needs a drill or admin token (the coordinator)")
        st = self.get(p, drill_id)
        if st.final is None and st.run is not None:
            if st.task is not None and not st.task.done():
                st.task.cancel()
            report = st.run.report()
            await st.run.stop()
            st.ended_status = report["status"] = st.run.status
            st.ended_injected_s = st.run.injected_s
            st.final = report
            self._save(st)
        return st

    async def shutdown(self) -> None:
        for st in self.drills.values():
            if st.task is not None:
                st.task.cancel()
            if st.final is None and st.run is not None:
                try:
                    await st.run.stop()
                except Exception:  # noqa: BLE001 - stopping the live server must go on
                    log.exception("drill %s: stopping its drill server failed", st.run.drill_id)

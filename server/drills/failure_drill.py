"""The structural-failure drill (``kind: structural_failure``): the structure registered
with its kind's synthetic layout, its monitoring history before and after the damage
streamed at full speed, the health analysis read back (the first periodic assessment that
is not GREEN after the damage, false alarms before it, the identified fundamental before
and after), and the built-in owner who activates the plan at that status."""

from __future__ import annotations

import asyncio
import json
import math
import time
from typing import TYPE_CHECKING, Any

import numpy as np
from sqlmodel import Session, col, select

from quakewatch.v1 import common_pb2, decision_pb2, registry_pb2

from .timeline import NS, timestamp

if TYPE_CHECKING:
    from .runner import DrillRun

__all__ = ["health_flag", "inject_failure", "register_structure", "structure_owner"]


async def register_structure(run: DrillRun, c: Any) -> None:
    """The failing structure with the layout of its kind's synthetic model."""
    from quakewatch.clients.simulate import layout_channels
    from quakewatch.ext.synthetic import structure_model

    st = run.sc.structure
    assert st is not None
    _, layout = structure_model(st.kind, st.channels, st.seed, fs_hz=st.rate_hz)
    kind = registry_pb2.StructureKind.Value(f"STRUCTURE_KIND_{st.kind.upper()}")
    await c.registry.PutStructure(registry_pb2.PutStructureRequest(structure=registry_pb2.Structure(
        structure_id=st.id, name=f"{st.kind} {st.id} (drill)", kind=kind, tenant=st.tenant,
        location=common_pb2.GeoPoint(longitude_deg=st.lon, latitude_deg=st.lat))))
    await c.registry.PutChannels(registry_pb2.PutChannelsRequest(structure_id=st.id, channels=layout_channels(layout, st.rate_hz)))


async def inject_failure(run: DrillRun, on_origin: Any) -> None:
    """Ambient vibration of the structure before and after the damage, streamed at full
    speed and ending now (the structure's monitoring history up to the present, as a
    gateway backfilling); then the health analysis of every window is awaited."""
    from quakewatch.clients.client import AsyncClient
    from quakewatch.clients.gateway import Gateway
    from quakewatch.ext.synthetic import AmbientVibration, ModalModel, structure_model

    st, fail = run.sc.structure, run.sc.failure
    assert st is not None and fail is not None
    model, layout = structure_model(st.kind, st.channels, st.seed, fs_hz=st.rate_hz)
    damaged = ModalModel(model.frequencies_hz * math.sqrt(1.0 - fail.stiffness_loss), model.damping_ratios, model.mode_shapes)
    run.results["failure_truth"] = {"frequencies_before_hz": model.frequencies_hz.round(4).tolist(),
                                     "frequencies_after_hz": damaged.frequencies_hz.round(4).tolist(),
                                     "frequency_drop": 1.0 - math.sqrt(1.0 - fail.stiffness_loss)}
    fs = st.rate_hz
    n_total, n_fail, n_blk = round(run.sc.record_s * fs), round(fail.after_s * fs), round(fs)
    ids = [x.channel_id for x in layout]
    seed = int.from_bytes(run.sc.id.encode()[:4], "little")
    before, after = AmbientVibration(model, fs, seed=seed), AmbientVibration(damaged, fs, seed=seed + 1)
    async with AsyncClient(run.local_address, run.admin_token) as c:
        gw = Gateway(c, st.id, "drill")
        last_end = await gw.resume()
        start_ns = max(time.time_ns() - round(run.sc.record_s * NS), last_end)
        on_origin(start_ns + round(fail.after_s * NS))

        async def produce() -> None:
            done = 0
            while done < n_total:
                n = min(n_blk, n_total - done, n_fail - done if done < n_fail else n_blk)
                src = before if done < n_fail else after
                await gw.put(start_ns + round(done * NS / fs), fs, ids, src.next_block(n))
                done += n
            gw.producer_done()

        stats = await gw.stream(produce())
    run.replay = {"structure": st.id, "samples_expected": n_total * len(ids), "samples_acked": stats.samples_acked}
    await asyncio.to_thread(run.server.shm.drain)  # every window analysed


def health_flag(run: DrillRun) -> tuple[Any, int]:
    """The first periodic assessment that is not GREEN after the damage, and how many
    were not GREEN before it (false alarms)."""
    from quakewatch.server.storage.models import AssessmentRecord, ModalResultRecord

    assert run.origin_s is not None and run.sc.structure is not None
    sid = run.sc.structure.id
    with Session(run.server.engine) as s:
        rows = list(s.exec(select(AssessmentRecord).where(AssessmentRecord.structure_id == sid, AssessmentRecord.kind == "periodic")
                           .order_by(col(AssessmentRecord.time_ns))))
        results = list(s.exec(select(ModalResultRecord).where(ModalResultRecord.structure_id == sid)))
    origin_ns = round(run.origin_s * NS)
    lowest: dict[bool, list[float]] = {False: [], True: []}  # after the damage? -> lowest identified frequency per window
    for r in results:
        modes = json.loads(r.result_json).get("modes", [])
        if modes:
            lowest[r.window_end_ns > origin_ns + round(run.sc.health_window_s * NS)].append(min(m["frequencyHz"] for m in modes))
    run.results["identified_lowest_hz"] = {k: float(np.median(v)) if v else None
                                            for k, v in (("before_damage", lowest[False]), ("after_damage", lowest[True]))}
    false_alarms = sum(1 for r in rows if r.time_ns <= origin_ns and r.status != "green")
    flag = next((r for r in rows if r.time_ns > origin_ns and r.status != "green"), None)
    run.results["health"] = {"periodic_assessments": len(rows), "before_damage": sum(1 for r in rows if r.time_ns <= origin_ns),
                              "false_alarms_before_damage": false_alarms,
                              "flag": None if flag is None else {"status": flag.status.upper(), "time_ns": flag.time_ns,
                                                                 "reasons": json.loads(flag.assessment_json).get("reasons", [])}}
    return flag, false_alarms


async def structure_owner(run: DrillRun) -> None:
    """The owner: once the health analysis has flagged the structure, activates the plan
    with that status."""
    from quakewatch.clients.client import AsyncClient

    st = run.sc.structure
    assert st is not None
    while run.status == "injecting" or run.replay is None:  # the flag comes from the analysed record
        if run.status == "failed":
            return
        await asyncio.sleep(0.5)
    flag, _ = await asyncio.to_thread(health_flag, run)
    if flag is None or run.sc.plan is None:
        return
    who = next((p for p in run.participants if p.role == "owner" and p.tenant == st.tenant),
               next(p for p in run.participants if p.role == "hq"))
    async with AsyncClient(run.local_address, who.token) as c:
        await c.decision.Respond(decision_pb2.RespondRequest(plan=str(run.sc.plan), origin_time=timestamp(flag.time_ns / NS),
                                                             structure_health=flag.status.upper()))

"""The mine-tremor drill (``kind: mine_tremor``): the mine and its array registered on the
drill server, the tremor's array records (:mod:`quakewatch.ext.mine_synthetic`) streamed in
real time like the mine's acquisition system, and the built-in dispatcher who activates
the mine plan at the grade of the alert."""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Any

import numpy as np

from quakewatch.v1 import common_pb2, decision_pb2, registry_pb2

from .timeline import NS, timestamp

if TYPE_CHECKING:
    from .runner import DrillRun

__all__ = ["MINE_Q", "inject_mine", "mine_owner", "register_mine"]

MINE_Q = (150.0, 100.0)  # P and S quality factors of the drill's mine rock (synthesis and location alike)


async def register_mine(run: DrillRun, c: Any) -> None:
    mine = run.sc.mine
    assert mine is not None
    await c.registry.PutStructure(registry_pb2.PutStructureRequest(structure=registry_pb2.Structure(
        structure_id=mine.id, name=f"mine {mine.id} (drill)", kind=registry_pb2.STRUCTURE_KIND_MINE, tenant=mine.tenant,
        location=common_pb2.GeoPoint(longitude_deg=mine.lon, latitude_deg=mine.lat))))
    chans = [registry_pb2.Channel(channel_id=f"S{k:02d}.{comp}", array_id=f"S{k:02d}", orientation=comp, azimuth_deg=az, dip_deg=dip,
                                  x_m=x, y_m=y, z_m=z, units=registry_pb2.CHANNEL_UNITS_VELOCITY_MPS, sample_rate_hz=mine.rate_hz)
             for k, (x, y, z) in enumerate(mine.sensors) for comp, az, dip in (("E", 90.0, 0.0), ("N", 0.0, 0.0), ("Z", 0.0, -90.0))]
    await c.registry.PutChannels(registry_pb2.PutChannelsRequest(structure_id=mine.id, channels=chans))


async def inject_mine(run: DrillRun, on_origin: Any) -> None:
    """The mine array's record (noise, the tremor at the origin) streamed in real time
    in 0.1-s blocks by one gateway, like the mine's acquisition system."""
    from quakewatch.clients.client import AsyncClient
    from quakewatch.clients.gateway import Gateway
    from quakewatch.ext.mine_synthetic import MineTremor, tremor_array_records

    mine, tr = run.sc.mine, run.sc.tremor
    assert mine is not None and tr is not None
    fs = mine.rate_hz
    ids = [f"S{k:02d}.{c}" for k in range(len(mine.sensors)) for c in "ENZ"]
    async with AsyncClient(run.local_address, run.admin_token) as c:
        gw = Gateway(c, mine.id, "drill")
        last_end = await gw.resume()
        start_ns = max(time.time_ns(), last_end)
        on_origin(start_ns + round(run.sc.origin_after_s * NS))
        assert run.origin_s is not None
        tremor = MineTremor(tr.x_m, tr.y_m, tr.z_m, tr.mw, origin_s=run.sc.origin_after_s, strike_deg=tr.strike_deg,
                            dip_deg=tr.dip_deg, rake_deg=tr.rake_deg)
        data = await asyncio.to_thread(tremor_array_records, np.array(mine.sensors), tremor, fs, 0.0, run.sc.record_s,
                                       q_p=MINE_Q[0], q_s=MINE_Q[1], seed=int.from_bytes(run.sc.id.encode()[:4], "little"))
        run.replay = {"mine": mine.id, "samples_expected": int(data.size)}
        n_blk = round(0.1 * fs)
        wall0 = time.monotonic()

        async def produce() -> None:
            for b in range(0, data.shape[1], n_blk):
                n = min(n_blk, data.shape[1] - b)
                await asyncio.sleep(max(0.0, wall0 + (b + n) / fs - time.monotonic()))
                await gw.put(start_ns + round(b * NS / fs), fs, ids, data[:, b:b + n])
            gw.producer_done()

        stats = await gw.stream(produce())
        run.replay["samples_acked"] = stats.samples_acked


async def mine_owner(run: DrillRun, origin_s: float) -> None:
    """The mine's dispatcher: activates the mine plan at the grade of the alert."""
    from quakewatch.clients.client import AsyncClient

    mine = run.sc.mine
    assert mine is not None
    try:
        await asyncio.wait_for(run.product_seen.wait(), max(1.0, origin_s + 30.0 - time.time()))
    except TimeoutError:
        return
    if run.sc.plan is None or run.grade_alert is None:
        return
    who = next((p for p in run.participants if p.role == "owner" and p.tenant == mine.tenant),
               next(p for p in run.participants if p.role == "hq"))
    async with AsyncClient(run.local_address, who.token) as c:
        await c.decision.Respond(decision_pb2.RespondRequest(plan=str(run.sc.plan), origin_time=timestamp(origin_s),
                                                             mine_risk_grade=run.grade_alert.mine_grade.grade))

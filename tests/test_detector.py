"""Streaming event detection of one structure (server/analysis/detector.py).

The reference test runs ObsPy's coincidence_trigger on the same band-passed channels
as the oracle for when an event opens; the others check block-split invariance, resent
blocks, gaps, and that ambient vibration alone opens nothing.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.signal import butter, sosfilt, sosfilt_zi

from quakewatch.server.analysis.detector import NS, ChannelMeta, StructureDetector
from quakewatch.server.settings import EventSettings

FS = 100.0
T0_NS = 1_700_000_000 * NS


def _metas(n: int) -> dict[str, ChannelMeta]:
    return {f"c{i}": ChannelMeta(f"c{i}", array_id=f"a{i // 3}", orientation="ENZ"[i % 3], dip_deg=-90.0 if i % 3 == 2 else 0.0) for i in range(n)}


def _record(n_ch: int, seconds: float, burst_at_s: float, burst_channels: int, seed: int = 1) -> np.ndarray:
    """White noise (1e-3 m/s^2) with a 4-s, 5 Hz burst (0.05 m/s^2) on the first channels."""
    rng = np.random.default_rng(seed)
    n = int(seconds * FS)
    x = 1e-3 * rng.standard_normal((n_ch, n))
    t = np.arange(int(4 * FS)) / FS
    burst = 0.05 * np.sin(2 * np.pi * 5 * t) * np.exp(-t / 1.5)
    i0 = int(burst_at_s * FS)
    for c in range(burst_channels):
        x[c, i0 + 3 * c: i0 + 3 * c + burst.size] += burst  # a few samples apart
    return x


def _run(det: StructureDetector, x: np.ndarray, cuts: list[int]) -> list[tuple[str, int, int]]:
    ids = tuple(f"c{i}" for i in range(x.shape[0]))
    out = []
    edges = [0, *cuts, x.shape[1]]
    for a, b in zip(edges[:-1], edges[1:], strict=True):
        for ch in det.process(ids, T0_NS + round(a * NS / FS), FS, x[:, a:b]):
            if ch.kind != "updated":
                out.append((ch.kind, ch.event.trigger_time_ns, ch.event.end_time_ns))
    return out


@pytest.mark.reference
def test_event_opens_when_obspy_coincidence_fires() -> None:
    from obspy import Stream, Trace, UTCDateTime
    from obspy.signal.trigger import coincidence_trigger

    cfg = EventSettings()
    x = _record(6, 60.0, 30.0, 4)
    det = StructureDetector("s", _metas(6), cfg)
    changes = _run(det, x, list(range(100, 6000, 100)))
    opened = [c for c in changes if c[0] == "opened"]
    assert len(opened) == 1
    # oracle: the same causal band-pass, then ObsPy's recursive STA/LTA and coincidence
    sos = butter(2, list(cfg.band_hz), btype="bandpass", fs=FS, output="sos")
    st = Stream()
    for i in range(6):
        y, _ = sosfilt(sos, x[i], zi=sosfilt_zi(sos) * x[i, 0])
        st += Trace(y, header={"sampling_rate": FS, "station": f"c{i}", "starttime": UTCDateTime(T0_NS / NS)})
    thr = max(cfg.coincidence_min_channels, int(np.ceil(cfg.coincidence_fraction * 6)))
    ev = coincidence_trigger("recstalta", cfg.trigger_on, cfg.trigger_off, st, thr, sta=cfg.sta_s, lta=cfg.lta_s)
    assert len(ev) == 1
    expected_ns = ev[0]["time"].ns
    assert abs(opened[0][1] - expected_ns) <= NS / FS  # within one sample


def test_block_boundaries_do_not_change_events() -> None:
    x = _record(6, 60.0, 30.0, 4, seed=2)
    ref = _run(StructureDetector("s", _metas(6), EventSettings()), x, list(range(100, 6000, 100)))
    assert [c[0] for c in ref] == ["opened", "closed"]
    rng = np.random.default_rng(3)
    cuts = sorted(set(rng.integers(1, x.shape[1], 90).tolist()))
    assert _run(StructureDetector("s", _metas(6), EventSettings()), x, cuts) == ref


def test_resent_blocks_are_not_detected_twice() -> None:
    x = _record(3, 50.0, 25.0, 3, seed=4)
    ids = ("c0", "c1", "c2")
    det = StructureDetector("s", _metas(3), EventSettings())
    kinds = []
    for a in range(0, 5000, 100):
        for _ in range(2 if a in (2400, 2500, 2600) else 1):  # resend around the burst
            kinds += [c.kind for c in det.process(ids, T0_NS + round(a * NS / FS), FS, x[:, a:a + 100])]
    assert [k for k in kinds if k != "updated"] == ["opened", "closed"]


def test_gap_restarts_the_warm_up() -> None:
    cfg = EventSettings()
    x = _record(3, 40.0, 12.0, 3, seed=5)
    ids = ("c0", "c1", "c2")
    det = StructureDetector("s", _metas(3), cfg)
    det.process(ids, T0_NS, FS, x[:, :1000])  # 10 s
    # 5 s gap, then the burst 2 s after the restart: inside the new warm-up, no event
    out = det.process(ids, T0_NS + 15 * NS, FS, x[:, 1000:])
    assert not [c for c in out if c.kind == "opened"]


def test_constant_offset_and_silence_open_nothing() -> None:
    det = StructureDetector("s", _metas(3), EventSettings())
    ids = ("c0", "c1", "c2")
    for k in range(60):
        blk = np.zeros((3, 100))
        blk[0] = 3.7  # an accelerometer offset
        assert det.process(ids, T0_NS + k * NS, FS, blk) == []


def test_ambient_vibration_alone_opens_nothing() -> None:
    from quakewatch.ext.synthetic import AmbientVibration, structure_model

    model, layout = structure_model("bridge", 12, seed=7, fs_hz=200.0)
    metas = {c.channel_id: ChannelMeta(c.channel_id, array_id=c.array_id, orientation=c.orientation) for c in layout}
    det = StructureDetector("b", metas, EventSettings())
    src = AmbientVibration(model, 200.0, seed=7)
    ids = tuple(c.channel_id for c in layout)
    for k in range(600):  # ten minutes
        assert det.process(ids, T0_NS + k * NS, 200.0, src.next_block(200)) == []


def test_temperature_channels_never_vote() -> None:
    metas = _metas(3) | {"t0": ChannelMeta("t0", units="temperature_c"), "t1": ChannelMeta("t1", units="temperature_c")}
    det = StructureDetector("s", metas, EventSettings())
    x = _record(5, 30.0, 15.0, 0, seed=8)
    x[3:] = 20.0 + np.where(np.arange(x.shape[1]) > 1500, 5.0, 0.0)  # a temperature step
    ids = ("c0", "c1", "c2", "t0", "t1")
    kinds = [c.kind for a in range(0, 3000, 100) for c in det.process(ids, T0_NS + a * NS // 100, FS, x[:, a:a + 100])]
    assert kinds == []
    assert det.threshold() == 2


def test_counts_and_physical_units_give_the_same_event() -> None:
    """int32 counts with a sensitivity and the same motion streamed in m/s^2: same
    onset, and the event windows come out in m/s^2 either way."""
    x = _record(3, 50.0, 25.0, 3, seed=9)
    sens = 4.0e5  # counts per m/s^2
    counts = np.round(x * sens).astype(np.int32)
    phys = (counts / sens).astype(np.float64)
    ids = ("c0", "c1", "c2")
    out = []
    for data, s in ((counts, sens), (phys, 1.0)):
        metas = {c: ChannelMeta(c, sensitivity=s) for c in ids}
        det = StructureDetector("s", metas, EventSettings())
        closed = [ch.event for a in range(0, 5000, 100) for ch in det.process(ids, T0_NS + a * NS // 100, FS, data[:, a:a + 100]) if ch.kind == "closed"]
        assert len(closed) == 1
        out.append(closed[0])
    assert out[0].trigger_time_ns == out[1].trigger_time_ns
    (wc,), (wp,) = out[0].windows, out[1].windows
    assert wc.start_ns == wp.start_ns
    np.testing.assert_allclose(wc.data, wp.data, rtol=1e-6, atol=1e-9)  # the ring keeps float32
    assert 0.04 < np.abs(wc.data).max() < 0.06  # the 0.05 m/s^2 burst, in m/s^2

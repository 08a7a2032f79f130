"""Streaming triggers: bit-identical whatever the block boundaries (hypothesis, seeded),
equal to the batch functions on the concatenated record, and checked per dtype
against slow, obviously-correct NumPy twins written here from the definitions in
``quakewatch.ext.trigger``; the causal Z-detector and the streaming onset detector
are also checked against ObsPy (independent oracle)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from quakewatch.ext import trigger as qt

DTYPES = [np.float32, np.float64, np.int32]
# Samples are converted exactly to float64, so every dtype meets the same tolerance;
# kept per dtype so a kernel that computes in the sample type would show up here.
RTOL = {np.float32: 1e-10, np.float64: 1e-10, np.int32: 1e-10}


def _signal(rng: np.random.Generator, shape: tuple[int, ...], dtype: type) -> np.ndarray:
    """Noise with two events (x30, x300) in physical-ish units or counts."""
    n = shape[-1]
    x = rng.normal(0.0, 1.0, shape)
    x[..., n // 3: n // 3 + n // 20] *= 30.0
    x[..., 2 * n // 3: 2 * n // 3 + n // 30] *= 300.0
    if dtype is np.int32:
        return np.round(x * 1000).astype(np.int32)
    return x.astype(dtype)


# ---------------------------------------------------------------------------
# NumPy twins (definitions only; slow)


def twin_recursive(x: np.ndarray, nsta: int, nlta: int) -> np.ndarray:
    x = x.astype(np.float64)
    sta, lta = 0.0, 1e-99
    out = np.zeros(len(x))
    for k in range(1, len(x)):
        sq = x[k] * x[k]
        sta = (1.0 / nsta) * sq + (1.0 - 1.0 / nsta) * sta
        lta = (1.0 / nlta) * sq + (1.0 - 1.0 / nlta) * lta
        out[k] = sta / lta
    out[:nlta] = 0.0
    return out


def twin_classic(x: np.ndarray, nsta: int, nlta: int) -> np.ndarray:
    sq = x.astype(np.float64) ** 2
    out = np.zeros(len(x))
    for k in range(nlta - 1, len(x)):
        out[k] = np.sum(sq[k - nsta + 1: k + 1]) / nsta / (np.sum(sq[k - nlta + 1: k + 1]) / nlta)
    return out


def _trailing_mean(v: np.ndarray, w: int, first: int) -> np.ndarray:
    """m[k] = mean(v[k-w .. k-1]) for k >= first, else 0."""
    m = np.zeros(len(v))
    for k in range(first, len(v)):
        m[k] = np.sum(v[k - w: k]) / w
    return m


def twin_carl(x: np.ndarray, nsta: int, nlta: int, ratio: float, quiet: float) -> np.ndarray:
    x = x.astype(np.float64)
    sta = _trailing_mean(x, nsta, nsta)
    lta = np.zeros(len(x))
    lta[1:] = _trailing_mean(sta, nlta, nlta)[:-1]
    star = _trailing_mean(np.abs(x - lta), nsta, nsta)
    ltar = _trailing_mean(star, nlta, nlta)
    eta = star - ratio * ltar - np.abs(sta - lta) - quiet
    eta[:nlta] = -1.0
    return eta


def twin_zdetect_causal(x: np.ndarray, nsta: int) -> np.ndarray:
    x = x.astype(np.float64)
    s = np.zeros(len(x))
    for k in range(nsta, len(x)):
        s[k] = np.sum(x[k - nsta: k] ** 2)
    z = np.zeros(len(x))
    for k in range(len(x)):
        sd = np.std(s[: k + 1])
        z[k] = (s[k] - np.mean(s[: k + 1])) / sd if sd > 0 else 0.0
    return z


Factory = Callable[[int], object]
STREAMS: dict[str, tuple[Factory, Callable[..., np.ndarray], Callable[..., np.ndarray] | None]] = {
    # name: (make(n_channels), numpy twin(x), batch(x) or None)
    "recursive": (lambda c: qt.RecursiveStaLta(7, 60, c), lambda x: twin_recursive(x, 7, 60),
                  lambda x: qt.recursive_sta_lta(x, 7, 60)),
    "classic": (lambda c: qt.ClassicStaLta(7, 60, c), lambda x: twin_classic(x, 7, 60),
                lambda x: qt.classic_sta_lta(x, 7, 60)),
    "carl": (lambda c: qt.CarlStaTrig(5, 40, 0.8, 0.5, c), lambda x: twin_carl(x, 5, 40, 0.8, 0.5),
             lambda x: qt.carl_sta_trig(x, 5, 40, 0.8, 0.5)),
    "zdetect": (lambda c: qt.ZDetect(9, c), lambda x: twin_zdetect_causal(x, 9), None),
}


def _run(det: object, x: np.ndarray, cuts: list[int]) -> np.ndarray:
    bounds = [0, *sorted(set(c for c in cuts if 0 < c < x.shape[-1])), x.shape[-1]]
    parts = [det.process(x[..., a:b]) for a, b in zip(bounds[:-1], bounds[1:])]  # type: ignore[attr-defined]
    return np.concatenate(parts, axis=-1)


@pytest.mark.parametrize("name", sorted(STREAMS))
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
def test_stream_matches_numpy_twin(name: str, dtype: type) -> None:
    make, twin, _ = STREAMS[name]
    x = _signal(np.random.default_rng(1), (1500,), dtype)
    out = _run(make(1), x, [1, 2, 100, 101, 777])
    scale = np.max(np.abs(x.astype(np.float64))) if name == "carl" else 0.0
    np.testing.assert_allclose(out, twin(x), rtol=RTOL[dtype], atol=1e-12 * scale + (1e-9 if name == "zdetect" else 0))


@pytest.mark.parametrize("name", [n for n in sorted(STREAMS) if STREAMS[n][2] is not None])
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
def test_stream_equals_batch_bitwise(name: str, dtype: type) -> None:
    make, _, batch = STREAMS[name]
    assert batch is not None
    x = _signal(np.random.default_rng(2), (4, 3000), dtype)
    whole = batch(x)
    np.testing.assert_array_equal(_run(make(4), x, [1, 59, 60, 61, 200, 1999]), whole)
    np.testing.assert_array_equal(_run(make(1), x[2], [5, 6, 7, 2500]), whole[2])
    for c in range(4):
        np.testing.assert_array_equal(batch(x[c]), whole[c])


@settings(max_examples=60, deadline=None, derandomize=True)
@given(
    name=st.sampled_from(sorted(STREAMS)),
    dtype=st.sampled_from(DTYPES),
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(0, 700),
    cuts=st.lists(st.integers(0, 700), max_size=12),
    n_channels=st.integers(1, 3),
)
def test_block_boundaries_never_change_a_bit(
    name: str, dtype: type, seed: int, n: int, cuts: list[int], n_channels: int
) -> None:
    make, _, batch = STREAMS[name]
    x = _signal(np.random.default_rng(seed), (n_channels, n), dtype)
    one = make(n_channels).process(x)  # type: ignore[attr-defined]
    np.testing.assert_array_equal(_run(make(n_channels), x, cuts), one)
    if batch is not None:
        np.testing.assert_array_equal(one, batch(x))


@pytest.mark.reference
def test_causal_zdetect_is_obspy_z_detect_of_the_prefix() -> None:
    ot = pytest.importorskip("obspy.signal.trigger")
    x = _signal(np.random.default_rng(3), (800,), np.float64)
    z = qt.ZDetect(25).process(x)
    for k in range(26, 800, 37):  # prefixes longer than nsta + 1 (ObsPy needs them)
        np.testing.assert_allclose(z[k], ot.z_detect(x[: k + 1], 25)[-1], rtol=1e-9, atol=1e-9)
    np.testing.assert_array_equal(z[:25], 0.0)


def test_streaming_32_channels_equal_per_channel_batch() -> None:
    x = _signal(np.random.default_rng(4), (32, 2400), np.float32)
    rec, cla = qt.RecursiveStaLta(20, 400, n_channels=32), qt.ClassicStaLta(20, 400, n_channels=32)
    r = np.concatenate([rec.process(x[:, i: i + 200]) for i in range(0, 2400, 200)], axis=1)
    c = np.concatenate([cla.process(x[:, i: i + 200]) for i in range(0, 2400, 200)], axis=1)
    assert rec.n_processed == cla.n_processed == 2400
    for ch in (0, 13, 31):
        np.testing.assert_array_equal(r[ch], qt.recursive_sta_lta(x[ch], 20, 400))
        np.testing.assert_array_equal(c[ch], qt.classic_sta_lta(x[ch], 20, 400))


@pytest.mark.parametrize("name", sorted(STREAMS))
def test_reset_restarts_the_stream(name: str) -> None:
    make = STREAMS[name][0]
    x = _signal(np.random.default_rng(5), (2, 500), np.float64)
    det = make(2)
    first = det.process(x)  # type: ignore[attr-defined]
    det.process(x[:, ::-1].copy())  # type: ignore[attr-defined]
    det.reset()  # type: ignore[attr-defined]
    assert det.n_processed == 0  # type: ignore[attr-defined]
    np.testing.assert_array_equal(det.process(x), first)  # type: ignore[attr-defined]


@pytest.mark.parametrize("name", sorted(STREAMS))
def test_stream_input_handling(name: str) -> None:
    make = STREAMS[name][0]
    x = _signal(np.random.default_rng(6), (3, 400), np.float64)
    before = x.copy()
    ref = make(3).process(x)  # type: ignore[attr-defined]
    np.testing.assert_array_equal(x, before)  # not mutated
    assert ref.dtype == np.float64 and ref.shape == x.shape
    # non-contiguous, big-endian and int64 inputs take the slow path with the same result
    np.testing.assert_array_equal(make(3).process(np.asfortranarray(x)), ref)  # type: ignore[attr-defined]
    np.testing.assert_array_equal(make(3).process(x.astype(">f8")), ref)  # type: ignore[attr-defined]
    counts = np.round(x * 100)
    np.testing.assert_array_equal(
        make(3).process(counts.astype(np.int64)), make(3).process(counts)  # type: ignore[attr-defined]
    )
    with pytest.raises(ValueError, match=r"block must have 3 rows"):
        make(3).process(x[:2])  # type: ignore[attr-defined]
    with pytest.raises(ValueError, match=r"1-D block needs n_channels == 1"):
        make(3).process(x[0])  # type: ignore[attr-defined]
    with pytest.raises(TypeError, match=r"real-valued"):
        make(3).process(x.astype(complex))  # type: ignore[attr-defined]
    assert make(3).process(x[:, :0]).shape == (3, 0)  # type: ignore[attr-defined]


def test_invalid_constructor_arguments_name_the_parameter() -> None:
    with pytest.raises(ValueError, match=r"nsta must be >= 1, got 0"):
        qt.RecursiveStaLta(0, 10)
    with pytest.raises(ValueError, match=r"nlta must be > nsta \(10\), got 10"):
        qt.ClassicStaLta(10, 10)
    with pytest.raises(ValueError, match=r"n_channels must be >= 1, got 0"):
        qt.CarlStaTrig(2, 10, 0.8, 0.8, n_channels=0)
    with pytest.raises(ValueError, match=r"quiet must be finite"):
        qt.CarlStaTrig(2, 10, 0.8, float("nan"))
    with pytest.raises(TypeError, match=r"nsta must be an int"):
        qt.ZDetect(2.0)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"max_len must be >= 0"):
        qt.TriggerOnset(3.0, 1.0, max_len=-1)


def test_nan_poisons_until_reset() -> None:
    x = np.random.default_rng(7).normal(size=300)
    for det in (qt.RecursiveStaLta(5, 50), qt.ClassicStaLta(5, 50)):
        det.process(x)
        bad = x.copy()
        bad[10] = np.nan
        assert np.all(np.isnan(det.process(bad)[10:]))
        assert np.all(np.isnan(det.process(x)))  # still poisoned in the next block
        det.reset()
        assert np.all(np.isfinite(det.process(x)))


# ---------------------------------------------------------------------------
# streaming trigger on/off


def _stream_onsets(det: qt.TriggerOnset, cf: np.ndarray, cuts: list[int]) -> tuple[list[qt.OnsetUpdate], qt.OnsetUpdate]:
    bounds = [0, *sorted(set(c for c in cuts if 0 < c < cf.shape[-1])), cf.shape[-1]]
    ups = [det.process(cf[..., a:b]) for a, b in zip(bounds[:-1], bounds[1:])]
    return ups, det.flush()


def _pairs(ups: list[qt.OnsetUpdate], channel: int = 0) -> np.ndarray:
    rows = [u.pairs[u.pairs[:, 0] == channel, 1:] for u in ups]
    return np.concatenate(rows) if rows else np.empty((0, 2), dtype=np.int64)


ONSET_PARAMS = [
    (3.0, 1.0, {}),
    (2.0, 2.0, {}),
    (1.2, 2.0, {}),
    (3.0, 1.0, {"max_len": 9}),
    (3.0, 1.0, {"max_len": 6.5}),
    (3.0, 0.5, {"max_len": 4, "max_len_delete": True}),
]


@settings(max_examples=60, deadline=None, derandomize=True)
@given(
    params=st.sampled_from(ONSET_PARAMS),
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(1, 600),
    cuts=st.lists(st.integers(0, 600), max_size=15),
    open_end=st.booleans(),
)
def test_streaming_onsets_concatenate_to_batch(
    params: tuple[float, float, dict[str, float]], seed: int, n: int, cuts: list[int], open_end: bool
) -> None:
    on, off, kw = params
    cf = np.abs(np.random.default_rng(seed).standard_cauchy(n))
    if open_end:
        cf[-3:] = 10.0
    det = qt.TriggerOnset(on, off, **kw)
    ups, last = _stream_onsets(det, cf, cuts)
    batch = qt.trigger_onset(cf, on, off, **kw)
    # closed pairs during the stream, then the end-of-record rule of flush(): == batch
    np.testing.assert_array_equal(np.concatenate([_pairs(ups), _pairs([last])]), batch)
    # every reported pair was announced by an `on` event, in time order
    ons = np.concatenate([u.on for u in ups])
    assert np.all(np.diff(ons[:, 1]) > 0)
    assert set(_pairs(ups)[:, 0]) <= set(ons[:, 1])
    assert det.n_processed == 0 and not det.active.any()  # flush() resets


@pytest.mark.reference
@pytest.mark.parametrize("on,off,kw", ONSET_PARAMS, ids=[str(p) for p in ONSET_PARAMS])
def test_streaming_onsets_match_obspy(on: float, off: float, kw: dict[str, float]) -> None:
    ot = pytest.importorskip("obspy.signal.trigger")
    cf = np.abs(np.random.default_rng(8).standard_cauchy(5000))
    if kw.get("max_len_delete") and on < off:
        pytest.skip("ObsPy raises OverflowError for an unterminated trigger in delete mode")
    ups, last = _stream_onsets(qt.TriggerOnset(on, off, **kw), cf, list(range(0, 5000, 200)))
    ref = np.asarray(ot.trigger_onset(cf, on, off, **kw), dtype=np.int64).reshape(-1, 2)
    np.testing.assert_array_equal(np.concatenate([_pairs(ups), _pairs([last])]), ref)


def test_open_trigger_is_reported_only_when_it_closes() -> None:
    cf = np.array([0, 0, 5, 5, 5, 5, 5, 0.5, 0, 0], dtype=float)
    det = qt.TriggerOnset(3.0, 1.0)
    u1 = det.process(cf[:5])
    assert u1.on.tolist() == [[0, 2]] and u1.pairs.shape == (0, 3)
    assert det.active.tolist() == [True] and det.n_processed == 5
    # batch on the first 5 samples closes it at n - 1 = 4: the stream keeps it open
    assert qt.trigger_onset(cf[:5], 3.0, 1.0).tolist() == [[2, 4]]
    u2 = det.process(cf[5:])
    assert u2.off.tolist() == [[0, 6]] and u2.pairs.tolist() == [[0, 2, 6]]
    assert not det.active.any() and not det.flush()


def test_onset_32_channels_time_order_and_per_channel_equality() -> None:
    rng = np.random.default_rng(9)
    cf = np.abs(rng.standard_cauchy((32, 2000)))
    det = qt.TriggerOnset(4.0, 1.0, n_channels=32)
    ups = [det.process(cf[:, i: i + 200]) for i in range(0, 2000, 200)]
    last = det.flush()
    for u in ups:
        key = u.on[:, 1] * 64 + u.on[:, 0]
        assert np.all(np.diff(key) > 0)
        key = u.off[:, 1] * 64 + u.off[:, 0]
        assert np.all(np.diff(key) > 0)
        np.testing.assert_array_equal(u.off, u.pairs[:, [0, 2]])
    for ch in (0, 5, 31):
        got = np.concatenate([_pairs(ups, ch), _pairs([last], ch)])
        np.testing.assert_array_equal(got, qt.trigger_onset(cf[ch], 4.0, 1.0))


def test_dropped_triggers_are_reported() -> None:
    cf = np.array([0, 5, 5, 5, 5, 5, 5, 0, 0, 5, 0, 0], dtype=float)
    det = qt.TriggerOnset(3.0, 1.0, max_len=3, max_len_delete=True)
    u = det.process(cf)
    assert u.on.tolist() == [[0, 1], [0, 9]]
    assert u.dropped.tolist() == [[0, 1]]
    assert u.pairs.tolist() == [[0, 9, 9]]
    assert qt.trigger_onset(cf, 3.0, 1.0, max_len=3, max_len_delete=True).tolist() == [[9, 9]]


def test_onset_update_is_read_only() -> None:
    u = qt.TriggerOnset(1.0, 0.5).process(np.array([0.0, 2.0, 0.0]))
    with pytest.raises(ValueError):
        u.pairs[0, 0] = 1
    with pytest.raises(AttributeError):
        u.on = np.zeros((0, 2), dtype=np.int64)  # type: ignore[misc]

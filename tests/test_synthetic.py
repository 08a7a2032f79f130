"""Tests of quakewatch.ext.synthetic (synthetic ambient vibration).

Independent truths (``reference``): the stationary variance of a white-noise-driven SDOF
oscillator [Newland], the resonance peak of its acceleration receptance, the closed-form
modes of a uniform shear building [Chopra] and the j**2 law of a simply supported beam
[Blevins]. Everything else is contract: shapes, dtypes, determinism, chunk invariance,
validation.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.signal import welch

from quakewatch.ext.synthetic import (
    KINDS,
    AmbientVibration,
    ChannelLayout,
    ModalModel,
    layout_model,
    structure_model,
)


def _sdof(f_hz: float, zeta: float) -> ModalModel:
    return ModalModel(np.array([f_hz]), np.array([zeta]), np.array([[1.0]]))


def _sdof_acc_variance(f_hz: float, zeta: float, fs_hz: float, sigma: float) -> float:
    """Stationary variance of ``a = u - 2 zeta w v - w^2 x`` for ZOH white force ``u``.

    The sampled force (variance ``sigma^2``, held for ``dt``) has two-sided PSD
    ``S0 = sigma^2 dt / (2 pi)``; then ``var x = pi S0 / (2 zeta w^3)`` and
    ``var v = pi S0 / (2 zeta w)`` [Newland]. ``u_k`` is independent of the state at
    ``t_k`` (which only depends on earlier forces) and ``E[x v] = 0`` for a stationary
    process, so ``var a = sigma^2 + w^4 var x + 4 zeta^2 w^2 var v``.
    """
    w, dt = 2 * np.pi * f_hz, 1.0 / fs_hz
    s0 = sigma**2 * dt / (2 * np.pi)
    var_x = np.pi * s0 / (2 * zeta * w**3)
    var_v = np.pi * s0 / (2 * zeta * w)
    return sigma**2 + w**4 * var_x + 4 * zeta**2 * w**2 * var_v


# --------------------------------------------------------------------------- reference


@pytest.mark.reference
@pytest.mark.parametrize(
    ("f_hz", "zeta", "fs_hz"),
    [pytest.param(2.0, 0.05, 100.0, id="2Hz-5pct"), pytest.param(1.0, 0.02, 100.0, id="1Hz-2pct")],
)
def test_sdof_variance_matches_white_noise_theory(f_hz: float, zeta: float, fs_hz: float) -> None:
    sigma = 1e-3
    gen = AmbientVibration(_sdof(f_hz, zeta), fs_hz, seed=7, excitation_rms_mps2=sigma,
                           noise_rms_mps2=0.0)
    acc = gen.next_block(1_000_000)[0]  # 10,000 s >> correlation time 1/(zeta w) <= 8 s
    expected = _sdof_acc_variance(f_hz, zeta, fs_hz, sigma)
    # Tolerance: 4 standard errors from 40 batch means (each batch 250 s, >= 30
    # correlation times, so batches are nearly independent) plus the ZOH bias: a held
    # input has PSD reduced by sinc^2(w dt / 2) ~ 1 - (w dt)^2 / 12 at resonance.
    batch_var = (acc.reshape(40, -1) ** 2).mean(axis=1)
    std_err = batch_var.std(ddof=1) / np.sqrt(batch_var.size)
    zoh_bias = (2 * np.pi * f_hz / fs_hz) ** 2 / 12 * expected
    assert abs(acc.mean()) < 0.01 * sigma
    assert abs(batch_var.mean() - expected) < 4 * std_err + zoh_bias
    assert std_err < 0.02 * expected  # the test can tell a factor-of-two error apart


@pytest.mark.reference
def test_first_sample_is_already_stationary() -> None:
    """Ensemble over seeds at t = 0: a generator started from rest would give sigma^2."""
    f_hz, zeta, fs_hz, sigma = 0.5, 0.01, 50.0, 1e-3
    first = np.array([AmbientVibration(_sdof(f_hz, zeta), fs_hz, seed=s, excitation_rms_mps2=sigma,
                                       noise_rms_mps2=0.0).next_block(1)[0, 0] for s in range(400)])
    expected = _sdof_acc_variance(f_hz, zeta, fs_hz, sigma)  # = 2.57 sigma^2
    # sample variance of 400 Gaussian draws: relative standard error sqrt(2/400) = 7 %
    assert abs(first.var() / expected - 1) < 4 * np.sqrt(2 / first.size)


def _peak_errors_in_bins(kind: str, n_channels: int, seed: int) -> list[float]:
    """|Welch peak - resonance peak| / bin width for every mode, on its strongest channel.

    The acceleration receptance ``Omega^2 / (w^2 - Omega^2 + 2i zeta w Omega)`` peaks at
    ``f / sqrt(1 - 2 zeta^2)``. Each mode is analysed with a bin width between
    ``zeta f`` and ``2 zeta f`` (the half-power half-bandwidth), so the peak spans about
    three bins and the Welch scatter (> 150 averages) cannot move the maximum further.
    """
    model, _ = structure_model(kind, n_channels, seed=seed)
    fs_hz = 4 * np.ceil(model.frequencies_hz.max() / 0.4 / 4)
    acc = AmbientVibration(model, fs_hz, seed=seed + 1).next_block(int(2000 * fs_hz))
    errors = []
    for j, (f, zeta) in enumerate(zip(model.frequencies_hz, model.damping_ratios, strict=True)):
        ch = int(np.abs(model.mode_shapes[:, j]).argmax())
        seen = np.abs(model.mode_shapes[ch]) > 1e-9
        others = np.delete(model.frequencies_hz[seen], np.flatnonzero(np.flatnonzero(seen) == j))
        freq, psd = welch(acc[ch], fs_hz, nperseg=2 ** int(np.log2(fs_hz / (zeta * f))))
        lo = max([0.0] + [(f + o) / 2 for o in others if o < f])
        hi = min([fs_hz / 2] + [(f + o) / 2 for o in others if o > f])
        band = (freq > lo) & (freq < hi)
        peak = freq[band][np.argmax(psd[band])]
        errors.append(abs(peak - f / np.sqrt(1 - 2 * zeta**2)) / freq[1])
    return errors


@pytest.mark.reference
@pytest.mark.parametrize(("kind", "n_channels", "seed"),
                         [("building", 8, 0), ("building", 5, 3), ("bridge", 12, 0), ("bridge", 7, 5)])
def test_welch_peaks_at_model_frequencies(kind: str, n_channels: int, seed: int) -> None:
    errors = _peak_errors_in_bins(kind, n_channels, seed)
    assert len(errors) >= 4
    assert max(errors) <= 1.0


@pytest.mark.reference
@pytest.mark.parametrize(("n_channels", "seed"), [(1, 0), (2, 1), (7, 2), (20, 3)])
def test_shear_building_matches_closed_form(n_channels: int, seed: int) -> None:
    model, layout = structure_model("building", n_channels, seed=seed)
    n_storeys = max(lay.floor for lay in layout)  # the roof is always instrumented
    is_x = np.array([lay.orientation == "X" for lay in layout])
    x_modes = np.flatnonzero(np.all(model.mode_shapes[~is_x] == 0, axis=0))
    j = np.arange(1, x_modes.size + 1)
    closed = np.sin((2 * j - 1) * np.pi / (2 * (2 * n_storeys + 1)))
    np.testing.assert_allclose(model.frequencies_hz[x_modes] / model.frequencies_hz[x_modes[0]],
                               closed / closed[0], rtol=1e-10)
    floors = np.array([lay.floor for lay in layout])[is_x]
    shape = np.sin(np.outer(floors, 2 * j - 1) * np.pi / (2 * n_storeys + 1))
    got = model.mode_shapes[np.ix_(is_x, x_modes)]
    shape *= np.sign(shape[0]) * np.sign(got[0]) / np.abs(shape).max(axis=0)
    np.testing.assert_allclose(got, shape, atol=1e-10)
    assert 0.5 <= model.frequencies_hz[0] * n_storeys / 10.0 <= 2.0  # T1 ~ 0.1 N s


@pytest.mark.reference
def test_bridge_vertical_bending_follows_j_squared() -> None:
    model, layout = structure_model("bridge", 12, seed=4)
    z_chan = np.array([lay.orientation == "Z" for lay in layout])
    edge_pairs = model.mode_shapes[z_chan].reshape(-1, 2, model.n_modes)
    symmetric = np.all(np.isclose(edge_pairs[:, 0], edge_pairs[:, 1]), axis=0)  # not torsion
    vertical = np.all(model.mode_shapes[~z_chan] == 0, axis=0) & symmetric
    ratios = model.frequencies_hz[vertical] / model.frequencies_hz[vertical][0]
    np.testing.assert_allclose(ratios, [1.0, 4.0, 9.0], rtol=1e-12)
    assert 1.0 <= model.frequencies_hz[vertical][0] <= 3.0


# --------------------------------------------------------------------------- contract


@settings(max_examples=40, deadline=None)
@given(kind=st.sampled_from(KINDS), n_channels=st.integers(1, 9), seed=st.integers(0, 2**32),
       blocks=st.lists(st.integers(0, 300), max_size=8))
def test_chunk_invariance_is_bit_exact(kind: str, n_channels: int, seed: int,
                                       blocks: list[int]) -> None:
    model, _ = structure_model(kind, n_channels, seed=seed % 1000, fs_hz=200.0)
    split = AmbientVibration(model, 200.0, seed=seed)
    whole = AmbientVibration(model, 200.0, seed=seed)
    parts = [split.next_block(n) for n in blocks]
    joined = np.concatenate(parts + [np.empty((n_channels, 0))], axis=1)
    once = whole.next_block(sum(blocks))
    assert np.array_equal(joined, once)
    assert split.n_samples_generated == whole.n_samples_generated == sum(blocks)
    assert np.array_equal(split.next_block(17), whole.next_block(17))  # state carried on


def test_determinism_in_seed() -> None:
    model, layout = structure_model("dam", 6, seed=3)
    again, layout_again = structure_model("dam", 6, seed=3)
    assert layout == layout_again
    np.testing.assert_array_equal(model.mode_shapes, again.mode_shapes)
    np.testing.assert_array_equal(model.frequencies_hz, again.frequencies_hz)
    other, _ = structure_model("dam", 6, seed=4)
    assert not np.array_equal(model.frequencies_hz, other.frequencies_hz)
    a = AmbientVibration(model, 100.0, seed=1).next_block(500)
    np.testing.assert_array_equal(a, AmbientVibration(model, 100.0, seed=1).next_block(500))
    assert not np.allclose(a, AmbientVibration(model, 100.0, seed=2).next_block(500))


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("n_channels", [1, 3, 32])
def test_models_layouts_and_blocks_are_plausible(kind: str, n_channels: int) -> None:
    model, layout = structure_model(kind, n_channels, seed=11, fs_hz=200.0)
    assert model.mode_shapes.shape == (n_channels, model.n_modes)
    np.testing.assert_allclose(np.abs(model.mode_shapes).max(axis=0), 1.0)
    assert np.all(np.diff(model.frequencies_hz) >= 0)
    assert model.frequencies_hz.max() < 0.4 * 200.0
    max_zeta = 0.35 if kind in ("mine", "tunnel") else 0.05
    assert np.all((model.damping_ratios >= 0.01) & (model.damping_ratios <= max_zeta))
    assert [lay.channel_id for lay in layout] == [f"ch{i:02d}" for i in range(n_channels)]
    assert all(isinstance(lay, ChannelLayout) for lay in layout)
    for lay in layout:
        assert lay.orientation in ("E", "N", "Z", "X", "Y")
        assert lay.dip_deg == (-90.0 if lay.orientation == "Z" else 0.0)
        assert 0.0 <= lay.azimuth_deg < 360.0
    if kind in ("mine", "tunnel") and n_channels >= 3:
        assert [lay.orientation for lay in layout[:3]] in (["E", "N", "Z"], ["X", "Y", "Z"])
    gen = AmbientVibration(model, 200.0, seed=5)
    block = gen.next_block(12_000)
    assert block.dtype == np.float64 and block.shape == (n_channels, 12_000)
    assert block.flags.c_contiguous and np.all(np.isfinite(block))
    rms = np.sqrt((block**2).mean(axis=1))
    assert 1e-4 <= np.median(rms) and rms.max() <= 1e-2  # ambient structural range, m/s^2
    assert gen.next_block(0).shape == (n_channels, 0)


def test_model_arrays_are_read_only_copies() -> None:
    freqs = np.array([1.0, 3.0])
    model = ModalModel(freqs, np.array([0.02, 0.02]), np.array([[1.0, -1.0], [0.5, 0.2]]))
    freqs[0] = 99.0
    assert model.frequencies_hz[0] == 1.0
    with pytest.raises(ValueError, match="read-only"):
        model.mode_shapes[0, 0] = 2.0


def test_sensor_noise_alone_has_the_requested_rms() -> None:
    model = _sdof(1.0, 0.02)
    block = AmbientVibration(model, 100.0, excitation_rms_mps2=0.0, noise_rms_mps2=2e-4).next_block(40_000)
    assert abs(block.std() / 2e-4 - 1) < 4 * np.sqrt(0.5 / block.size)  # std error of a std


# --------------------------------------------------------------------------- validation


@pytest.mark.parametrize(
    ("call", "message"),
    [
        pytest.param(lambda: structure_model("bridge", 0), r"n_channels must be >= 1", id="n_channels"),
        pytest.param(lambda: structure_model("castle", 3),
                     r"kind must be one of bridge, dam, mine, building, tunnel, other", id="kind"),
        pytest.param(lambda: structure_model("mine", 3, fs_hz=0.0), r"fs_hz must be finite and > 0",
                     id="model-fs"),
        pytest.param(lambda: structure_model("dam", 3, fs_hz=5.0), r"fs_hz=5.0 too low", id="model-fs-low"),
        pytest.param(lambda: AmbientVibration(_sdof(1.0, 0.02), -1.0), r"fs_hz must be finite and > 0",
                     id="fs-negative"),
        pytest.param(lambda: AmbientVibration(_sdof(10.0, 0.02), 20.0),
                     r"fs_hz=20.0 too low: mode at 10 Hz is not below 0.45 \* fs_hz", id="fs-nyquist"),
        pytest.param(lambda: AmbientVibration(_sdof(1.0, 0.02), 100.0, noise_rms_mps2=-1.0),
                     r"noise_rms_mps2 must be finite and >= 0", id="noise"),
        pytest.param(lambda: AmbientVibration(_sdof(1.0, 0.02), 100.0).next_block(-1),
                     r"n_samples must be >= 0, got -1", id="n_samples"),
        pytest.param(lambda: ModalModel(np.array([1.0]), np.array([0.02]), np.array([[0.5]])),
                     r"max-abs normalised to 1", id="shape-norm"),
        pytest.param(lambda: ModalModel(np.array([1.0]), np.array([1.5]), np.array([[1.0]])),
                     r"damping_ratios .* \(0, 1\)", id="damping"),
    ],
)
def test_invalid_input_is_rejected(call, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call()


# ------------------------------------------------------------------ registered layouts


def _chan(cid: str, az: float, dip: float = 0.0, floor: int = 0, height: float = 0.0, z: float = 0.0) -> ChannelLayout:
    return ChannelLayout(cid, "X", az, dip, floor, height, 0.0, 0.0, z, "a")


def test_layout_model_is_a_shear_cantilever_with_the_code_period() -> None:
    """ASCE 7-16 eq. 12.8-7 (T = 0.0488 H^0.75, SI) and the shear-beam modes
    f_k = (2k - 1) f_1, sin((2k - 1) pi h / 2H) [Chopra]; the ground sees no mode."""
    h_top = 40.0
    layout = [_chan("ff-n", 0.0), _chan("ff-z", 0.0, dip=-90.0), _chan("top-n", 0.0, floor=12, height=h_top),
              _chan("mid-n", 0.0, floor=6, height=h_top / 2), _chan("top-e", 90.0, floor=12, height=h_top),
              _chan("top-z", 0.0, dip=-90.0, floor=12, height=h_top)]
    m = layout_model(layout, fs_hz=100.0)
    assert m is not None
    f1 = 1.0 / (0.0488 * h_top**0.75)
    north = [j for j in range(m.n_modes) if abs(m.mode_shapes[2, j]) > 0.5]
    assert np.allclose(m.frequencies_hz[north], f1 * np.array([1.0, 3.0, 5.0]))
    for k, j in enumerate(north):
        assert m.mode_shapes[3, j] / m.mode_shapes[2, j] == pytest.approx(np.sin((2 * k + 1) * np.pi / 4) / np.sin((2 * k + 1) * np.pi / 2))
    assert not m.mode_shapes[[0, 1, 5]].any()  # ground and vertical channels
    assert np.allclose(m.damping_ratios, 0.05)
    # nothing above the base, or every mode above 0.4 fs: no model
    assert layout_model(layout[:2]) is None
    assert layout_model([_chan("top", 0.0, floor=1, height=0.5)], fs_hz=10.0) is None

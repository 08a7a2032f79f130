"""Synthetic mine tremors against the analytic far field of a point double couple
[Aki & Richards 2002 eq. 4.29 / 4.33]: arrival times, pulse areas, silence before P."""

from __future__ import annotations

import math

import numpy as np
import pytest

from quakewatch.ext.mine_synthetic import MineTremor, double_couple, tremor_array_records

FS = 2000.0
VP, VS, RHO = 5800.0, 3350.0, 2700.0
SENSORS = np.array([[0.0, 0.0, 0.0], [1500.0, 100.0, -300.0], [200.0, 1600.0, -100.0], [900.0, 900.0, -800.0]])
SOURCE = np.array([300.0, 400.0, -250.0])
FAR = np.array([[4300.0, 400.0, 0.0], [300.0, 4400.0, -600.0], [-3000.0, -2800.0, -900.0]])  # S - P >= 0.5 s


@pytest.mark.reference
@pytest.mark.parametrize("mw", [0.5, 1.5, 2.3])
def test_pulse_areas_are_the_far_field_plateaus(mw: float) -> None:
    """The displacement pulse of each phase integrates to its zero-frequency plateau
    (R M0 / (4 pi rho c^3 r), the attenuation being 1 at f = 0), P and S apart."""
    tr = MineTremor(*SOURCE, mw=mw, origin_s=1.0)
    v = tremor_array_records(FAR, tr, FS, 0.0, 6.0, noise_mps=0.0)
    m = tr.moment_nm * double_couple(tr.strike_deg, tr.dip_deg, tr.rake_deg)
    checked = 0
    for k, xyz in enumerate(FAR):
        ray = xyz - SOURCE
        r = float(np.linalg.norm(ray))
        g = ray / r
        ip, i_s = round((1.0 + r / VP) * FS), round((1.0 + r / VS) * FS)
        disp = np.cumsum(v[3 * k:3 * k + 3], axis=1) / FS
        p_plateau = (g @ m @ g) * g / (4 * math.pi * RHO * VP**3 * r)
        s_plateau = (m @ g - (g @ m @ g) * g) / (4 * math.pi * RHO * VS**3 * r)
        if i_s - ip < 4 * FS / tr.corner_hz(VS):
            continue  # the P pulse has not ended when S arrives
        p_area = disp[:, ip - 20:i_s - 20].sum(axis=1) / FS
        s_area = disp[:, i_s - 20:].sum(axis=1) / FS
        assert p_area == pytest.approx(p_plateau, rel=0.03, abs=0.03 * np.abs(p_plateau).max())
        assert s_area == pytest.approx(s_plateau, rel=0.03, abs=0.03 * np.abs(s_plateau).max())
        checked += 1
    assert checked >= 2


def test_nothing_before_p_and_noise_as_asked() -> None:
    tr = MineTremor(*SOURCE, mw=1.8, origin_s=2.0)
    v = tremor_array_records(SENSORS, tr, FS, 0.5, 5.0, noise_mps=0.0)
    for k, xyz in enumerate(SENSORS):
        ip = round((2.0 - 0.5 + np.linalg.norm(xyz - SOURCE) / VP) * FS)
        rec = v[3 * k:3 * k + 3]
        assert np.abs(rec[:, :ip - 5]).max() < 1e-4 * np.abs(rec).max()
        assert np.abs(rec[:, ip:ip + 100]).max() > 100 * np.abs(rec[:, :ip - 5]).max()  # the P onset is there
    noisy = tremor_array_records(SENSORS, MineTremor(*SOURCE, mw=1.8, origin_s=100.0), FS, 0.0, 4.0, noise_mps=3e-7, seed=4)
    assert noisy.std() == pytest.approx(3e-7, rel=0.02)
    assert tremor_array_records(SENSORS, tr, FS, 0.5, 1.0, noise_mps=0.0, seed=1).shape == (12, 2000)


@pytest.mark.reference
@pytest.mark.parametrize(("strike", "dip", "rake"), [(0, 90, 0), (30, 60, 90), (120, 45, -90), (200, 80, 30)])
def test_double_couple_is_a_unit_double_couple(strike: float, dip: float, rake: float) -> None:
    m = double_couple(strike, dip, rake)
    assert np.allclose(m, m.T) and abs(np.trace(m)) < 1e-12
    assert np.allclose(np.sort(np.linalg.eigvalsh(m)), [-1.0, 0.0, 1.0])


@pytest.mark.reference
def test_vertical_strike_slip_on_a_north_fault_is_m_en() -> None:
    """Strike 0, dip 90, rake 0 (strike-slip on a vertical north-south fault): the only
    non-zero components are M_EN = M_NE (Aki & Richards box 4.4, M_xy with x north, y east)."""
    m = double_couple(0.0, 90.0, 0.0)
    assert abs(abs(m[0, 1]) - 1.0) < 1e-12 and np.count_nonzero(np.abs(m) > 1e-12) == 2


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"sensors_xyz": np.zeros((2, 2))}, "sensors_xyz"),
    ({"fs_hz": 0.0}, "fs_hz must be finite and > 0"),
    ({"noise_mps": -1.0}, "noise_mps"),
])
def test_bad_input_names_the_argument(kwargs: dict, message: str) -> None:
    args = {"sensors_xyz": SENSORS, "tremor": MineTremor(*SOURCE, mw=1.0, origin_s=0.5), "fs_hz": FS, "start_s": 0.0,
            "duration_s": 1.0, **kwargs}
    with pytest.raises(ValueError, match=message):
        tremor_array_records(**args)

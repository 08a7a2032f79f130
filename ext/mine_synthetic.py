"""Synthetic mine tremors recorded by an underground array (drills, tests, benchmarks).

Propagation: homogeneous full space, straight rays, far-field body waves of a point
moment tensor ``M`` [AR02 eq. 4.29 and 4.33]:

* P displacement ``(g^T M g) g / (4 pi rho alpha^3 r) Mdot(t - r/alpha)``,
* S displacement ``(M g - (g^T M g) g) / (4 pi rho beta^3 r) Mdot(t - r/beta)``,

with ``g`` the unit ray from the source to the sensor and ``Mdot`` Brune's (1970) moment
rate ``M0 (2 pi fc)^2 t exp(-2 pi fc t)`` (spectrum ``M0 / (1 + i f/fc)^2``), ``log10 M0
= 1.5 Mw + 9.1`` (N m) and the S corner ``fc = 0.372 beta (16 stress / (7 M0))^(1/3)``
[Brune1970, Madariaga1976]. Anelastic attenuation ``exp(-pi f t / Q)`` and an anti-alias
low-pass ``exp(-(f / (fs/4))^4)`` are applied as one minimum-phase filter (its real
cepstrum folded onto positive quefrencies [OS2010 sec. 13.8]), so the record is causal:
nothing arrives before ``r / alpha`` but the few-sample ramp of a band-limited fractional
delay (below 1e-4 of the peak five samples ahead). Sensors record particle velocity (m/s) on
E, N, Z (Z up) plus white noise. Synthesis is in the frequency domain over the whole
record (circular), which is long enough that nothing wraps.

References
----------
AR02 : K. Aki, P. G. Richards, Quantitative Seismology, 2nd ed., University Science
    Books, 2002.
Brune1970 : J. N. Brune, Tectonic stress and the spectra of seismic shear waves from
    earthquakes, JGR 75(26), 4997-5009, 1970.
Madariaga1976 : R. Madariaga, Dynamics of an expanding circular fault, BSSA 66(3),
    639-666, 1976 (the 0.372 of the S corner).
OS2010 : A. V. Oppenheim, R. W. Schafer, Discrete-Time Signal Processing, 3rd ed.,
    Pearson, 2010.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = ["MineTremor", "double_couple", "tremor_array_records"]

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class MineTremor:
    """A tremor: source position (m, mine frame, z up), moment magnitude, origin time (s)."""

    x_m: float
    y_m: float
    z_m: float
    mw: float
    origin_s: float
    strike_deg: float = 30.0
    dip_deg: float = 60.0
    rake_deg: float = 90.0  # reverse faulting, the usual rockburst mechanism over a longwall
    stress_drop_pa: float = 1.0e6

    @property
    def moment_nm(self) -> float:
        return float(10.0 ** (1.5 * self.mw + 9.1))

    def corner_hz(self, vs_mps: float) -> float:
        return float(0.372 * vs_mps * (16.0 * self.stress_drop_pa / (7.0 * self.moment_nm)) ** (1.0 / 3.0))


def double_couple(strike_deg: float, dip_deg: float, rake_deg: float) -> FloatArray:
    """Unit double couple in (E, N, Up) from strike, dip and rake [AR02 box 4.4], the
    moment tensor ``n d^T + d n^T`` of the fault normal ``n`` and the slip direction ``d``."""
    phi, delta, lam = (math.radians(v) for v in (strike_deg, dip_deg, rake_deg))
    # fault normal and slip in (N, E, Down) [AR02 fig. 4.13], then to (E, N, Up)
    n_ned = np.array([-math.sin(delta) * math.sin(phi), math.sin(delta) * math.cos(phi), -math.cos(delta)])
    d_ned = np.array([math.cos(lam) * math.cos(phi) + math.cos(delta) * math.sin(lam) * math.sin(phi),
                      math.cos(lam) * math.sin(phi) - math.cos(delta) * math.sin(lam) * math.cos(phi),
                      -math.sin(lam) * math.sin(delta)])
    to_enu = np.array([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, -1.0]])
    n, d = to_enu @ n_ned, to_enu @ d_ned
    return np.outer(n, d) + np.outer(d, n)


def _min_phase(log_amp: FloatArray, n: int) -> npt.NDArray[np.complex128]:
    """The minimum-phase spectrum with log amplitude ``log_amp`` (rfft grid of length n)."""
    c = np.fft.irfft(log_amp, n)
    c[1:n // 2] *= 2.0
    c[n // 2 + 1:] = 0.0
    return np.exp(np.fft.rfft(c))


def tremor_array_records(sensors_xyz: npt.ArrayLike, tremor: MineTremor, fs_hz: float, start_s: float, duration_s: float, *,
                         vp_mps: float = 5800.0, vs_mps: float = 3350.0, q_p: float = 150.0, q_s: float = 100.0,
                         density_kgpm3: float = 2700.0, noise_mps: float = 2e-8, seed: int = 0) -> FloatArray:
    """Particle velocity (m/s) at every sensor: rows E, N, Z of sensor 0, then sensor 1, ...

    Parameters
    ----------
    sensors_xyz : array (n_sensors, 3)
        Sensor positions in m (E, N, up), in the tremor's frame.
    tremor : MineTremor
    fs_hz : float
        Sampling rate, Hz (> 0).
    start_s, duration_s : float
        First sample's time (s, the tremor's time axis) and record length (s, > 0).
    noise_mps : float
        RMS of the white sensor noise (0: none).

    Returns
    -------
    ndarray, float64, shape (3 n_sensors, round(duration_s fs_hz))
    """
    xyz = np.asarray(sensors_xyz, dtype=np.float64)
    if xyz.ndim != 2 or xyz.shape[1] != 3 or xyz.shape[0] == 0 or not np.all(np.isfinite(xyz)):
        raise ValueError(f"sensors_xyz must be a finite (n_sensors >= 1, 3) array, got shape {xyz.shape}")
    for name, v in (("fs_hz", fs_hz), ("duration_s", duration_s), ("vp_mps", vp_mps), ("vs_mps", vs_mps), ("q_p", q_p),
                    ("q_s", q_s), ("density_kgpm3", density_kgpm3)):
        if not (math.isfinite(v) and v > 0):
            raise ValueError(f"{name} must be finite and > 0, got {v}")
    if not (math.isfinite(noise_mps) and noise_mps >= 0):
        raise ValueError(f"noise_mps must be finite and >= 0, got {noise_mps}")
    if not -1.0 <= tremor.mw <= 5.0:
        raise ValueError(f"tremor.mw must be within [-1, 5], got {tremor.mw}")
    n_out = int(round(duration_s * fs_hz))
    src = np.array([tremor.x_m, tremor.y_m, tremor.z_m])
    r_all = np.maximum(np.linalg.norm(xyz - src, axis=1), 1.0)
    # room for the last S coda after the record (the synthesis is circular)
    tail_s = float(r_all.max()) / vs_mps + 10.0 / tremor.corner_hz(vs_mps) + 1.0
    rng = np.random.default_rng(seed)
    out = np.zeros((3 * xyz.shape[0], n_out))
    if noise_mps:
        out += noise_mps * rng.standard_normal(out.shape)
    if tremor.origin_s >= start_s + duration_s or tremor.origin_s + tail_s <= start_s:
        return out  # the tremor is not in this record
    # a buffer from the earlier of the origin and the record start to the end of both:
    # the synthesis is circular, nothing may wrap into the record
    t0 = min(start_s, tremor.origin_s)
    span = max(start_s + duration_s, tremor.origin_s + tail_s) - t0
    n = int(2 ** math.ceil(math.log2(span * fs_hz + 16)))
    first = int(round((start_s - t0) * fs_hz))
    f = np.fft.rfftfreq(n, 1.0 / fs_hz)
    m = tremor.moment_nm * double_couple(tremor.strike_deg, tremor.dip_deg, tremor.rake_deg)
    fc = tremor.corner_hz(vs_mps)
    source = 1.0 / (1.0 + 1j * f / fc) ** 2  # moment-rate spectrum per unit moment
    shift = tremor.origin_s - t0
    for k in range(xyz.shape[0]):
        ray = xyz[k] - src
        r = float(r_all[k])
        g = ray / r
        p_rad = float(g @ m @ g)
        p_vec = p_rad * g / (4.0 * math.pi * density_kgpm3 * vp_mps**3 * r)
        s_vec = (m @ g - p_rad * g) / (4.0 * math.pi * density_kgpm3 * vs_mps**3 * r)
        spec = np.zeros((3, f.size), dtype=np.complex128)
        for vec, t_trav, q in ((p_vec, r / vp_mps, q_p), (s_vec, r / vs_mps, q_s)):
            loss = _min_phase(-np.pi * f * t_trav / q - (f / (0.25 * fs_hz)) ** 4, n)
            spec += vec[:, None] * (2j * np.pi * f * source * loss * np.exp(-2j * np.pi * f * (t_trav + shift)))[None, :]
        # continuous Fourier integral -> samples
        out[3 * k:3 * k + 3] += np.fft.irfft(spec, n, axis=1)[:, first:first + n_out] * fs_hz
    return out

"""Seeded synthetic blasts and tremors on a 12-station mine array (tests only).

Propagation: homogeneous full space, straight rays, constant ``VP``/``VS``,
far-field body waves [AR02 eq. 4.29 / 4.33]:

* P displacement ``(gamma^T M gamma) gamma / (4 pi rho alpha^3 r) Mdot(t - r/alpha)``,
* S displacement ``(M gamma - (gamma^T M gamma) gamma) / (4 pi rho beta^3 r) Mdot(t - r/beta)``,

with ``Mdot`` a Brune pulse (spectrum ``1 / (1 + (f/fc)^2)``), attenuation
``exp(-pi f t / Q)`` (zero phase), a zero-phase Gaussian anti-alias low-pass
(no sign-changing precursors), recorded as velocity (``2 pi i f``), plus white
Gaussian noise.  Everything is built in the frequency domain.

* Blast: ``M = I`` (all first motions compressional) and a weak S from
  near-source conversions, ``|S| / |P|`` uniform in [0.15, 0.6] per station
  with random polarisation normal to the ray; 70 % ripple-fired with 3-8
  shots ``d`` apart, ``d`` uniform in [17, 42] ms (0.5 ms timing scatter).
* Tremor: double couple ``M = n nu^T + nu n^T`` of random orientation
  (mixed quadrants, S about ``(alpha/beta)^3 ~ 5`` times P).

Catalogue (:func:`catalogue`): half blasts, half tremors.  70 % of blasts on
schedule (inside a window, at its face), 30 % off schedule (outside every
window; 70 % of those at a known face, 30 % at an unlisted heading, half of
all off-schedule blasts within a blasting shift).  15 % of tremors inside a
blasting window, half of those at the window's face; a further 25 % near
faces.  Locations carry a stated uncertainty ``sigma`` (5-25 m) and a
matching error; picks carry 1 ms errors.

:func:`tremor_records` gives a tremor of a stated moment magnitude in m/s, causal
(for picking and the live path).

[OS2010] Oppenheim, A. V. & Schafer, R. W. (2010), Discrete-Time Signal Processing,
3rd ed., Pearson.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from quakewatch.ext.blast_discrimination import BlastingWindow, EventOrigin, StationRecord

VP, VS = 5800.0, 3350.0
Q_P, Q_S = 150.0, 100.0
FS = 2000.0
N_SAMPLES = 2048
PRE_S = 0.1  # record starts this long before the origin
DAY_S = 86400.0
N_DAYS = 20
SHIFT_HOURS = (13.0, 1.0)  # scheduled blasts at 13:00-13:30 and 01:00-01:30
BLASTING_HOURS = ((12.0, 15.0), (0.0, 3.0))
WINDOW_S = 1800.0
FACE_RADIUS_M = 25.0


def stations() -> np.ndarray:
    """12 sensors over 1 km x 1 km x 500 m: 4 at the surface, 8 underground."""
    rng = np.random.default_rng(7)
    xyz = np.column_stack([rng.uniform(0.0, 1000.0, 12), rng.uniform(0.0, 1000.0, 12), -rng.uniform(0.0, 500.0, 12)])
    xyz[:4, 2] = 0.0
    xyz[:4, :2] = [[0.0, 0.0], [1000.0, 0.0], [0.0, 1000.0], [1000.0, 1000.0]]
    return xyz


def faces() -> np.ndarray:
    return np.array([[250.0, 300.0, -150.0], [700.0, 250.0, -220.0], [400.0, 750.0, -300.0],
                     [800.0, 700.0, -380.0], [550.0, 500.0, -450.0], [150.0, 850.0, -250.0]])


def schedule() -> list[BlastingWindow]:
    """Two shifts a day for N_DAYS days; each window fires two faces (rotating)."""
    fc = faces()
    out = []
    k = 0
    for day in range(N_DAYS):
        for h in SHIFT_HOURS:
            t = day * DAY_S + h * 3600.0
            for _ in range(2):
                j = k % len(fc)
                k += 1
                out.append(BlastingWindow(t, t + WINDOW_S, tuple(fc[j]), FACE_RADIUS_M, f"face-{j}"))
    return out


@dataclass(frozen=True)
class Event:
    label: str  # "blast" or "tremor"
    kind: str  # "scheduled", "off_schedule", "in_window_tremor", "tremor"
    origin: EventOrigin
    records: tuple[StationRecord, ...]
    true_xyz: np.ndarray
    delay_s: float | None  # ripple delay, None for a single shot or a tremor


def _random_unit(rng: np.random.Generator) -> np.ndarray:
    v = rng.normal(size=3)
    return v / np.linalg.norm(v)


def _brune_velocity(f: np.ndarray, fc: float, t: float, q: float, causal: bool = False) -> np.ndarray:
    """Velocity spectrum of a unit Brune pulse after travel time t (no delay phase).

    ``causal=False``: the zero-phase pulse (symmetric in time, energy on both sides of
    the arrival).  ``causal=True``: nothing before the arrival, as picking needs:
    Brune's (1970) ``t exp(-2 pi fc t)`` moment rate, spectrum ``1 / (1 + i f / fc)^2``
    (same modulus), and the attenuation and anti-alias factors made minimum phase (a
    zero-phase ``exp(-pi f t / Q)`` is a Lorentzian in time whose slow tails put energy
    tens of milliseconds ahead of the onset).  Minimum phase from the real cepstrum,
    folded onto positive quefrencies [OS2010 sec. 13.8]: the one causal filter with
    that amplitude response whose energy arrives first.
    """
    if not causal:
        return (2j * np.pi * f) / (1.0 + (f / fc) ** 2) * np.exp(-np.pi * f * t / q) * np.exp(-(f / (0.25 * FS)) ** 2)
    # the anti-alias factor reaches 1e-7 at Nyquist: a spectrum cut off there while still
    # finite rings (Gibbs) on both sides of the velocity step a Brune pulse starts with
    loss = np.exp(-np.pi * f * t / q) * np.exp(-((f / (0.25 * FS)) ** 4))
    n = 2 * (f.size - 1)
    c = np.fft.irfft(np.log(np.maximum(loss, 1e-300)), n)
    c[1 : n // 2] *= 2.0
    c[n // 2 + 1 :] = 0.0
    return (2j * np.pi * f) / (1.0 + 1j * f / fc) ** 2 * np.exp(np.fft.rfft(c))


def waveforms(rng: np.random.Generator, src: np.ndarray, t0: float, *, blast: bool, fc: float, amp: float,
              shots: np.ndarray | None = None, pick_sigma_s: float = 0.001, noise: float = 1.0,
              drop: int = 0, moment: np.ndarray | None = None, s_ratio: float | None = None,
              causal: bool = False, n_samples: int = N_SAMPLES, pre_s: float = PRE_S) -> tuple[StationRecord, ...]:
    """Records of one event at every station (``drop`` random stations left out).

    ``moment``: the double couple of a tremor (random when None); ``s_ratio``:
    the blast's ``|S| / |P|`` (uniform in [0.15, 0.6] per station when None).
    """
    st = stations()
    f = np.fft.rfftfreq(n_samples, 1.0 / FS)
    comb = np.ones_like(f, dtype=np.complex128)
    if shots is not None:
        w = rng.uniform(0.7, 1.3, shots.size)
        comb = (w[:, None] * np.exp(-2j * np.pi * f[None, :] * shots[:, None])).sum(axis=0) / w.sum()
    if blast:
        m = np.eye(3)
    elif moment is not None:
        m = np.asarray(moment, dtype=float)
    else:
        n_ = _random_unit(rng)
        nu = np.cross(n_, _random_unit(rng))
        nu /= np.linalg.norm(nu)
        m = np.outer(n_, nu) + np.outer(nu, n_)
    t_start = t0 - pre_s
    keep = np.sort(rng.choice(len(st), len(st) - drop, replace=False))
    out = []
    for i in keep:
        ray = st[i] - src
        r = max(float(np.linalg.norm(ray)), 10.0)
        g = ray / r
        tp, ts = r / VP, r / VS
        p_amp = float(g @ m @ g)
        p_vec = p_amp * g
        if blast:
            s_dir = np.cross(g, _random_unit(rng))
            s_vec = (rng.uniform(0.15, 0.6) if s_ratio is None else s_ratio) * s_dir / np.linalg.norm(s_dir)
        else:
            s_vec = (m @ g - p_amp * g) * (VP / VS) ** 3
        scale = amp * 300.0 / r
        shift = t0 - t_start
        sp_p = _brune_velocity(f, fc, tp, Q_P, causal) * np.exp(-2j * np.pi * f * (tp + shift)) * comb
        sp_s = _brune_velocity(f, fc, ts, Q_S, causal) * np.exp(-2j * np.pi * f * (ts + shift)) * comb
        spec = scale * (p_vec[:, None] * sp_p[None, :] + s_vec[:, None] * sp_s[None, :])
        data = np.fft.irfft(spec, n=n_samples, axis=1) + noise * rng.normal(size=(3, n_samples))
        out.append(StationRecord(st[i].copy(), data, FS, t_start, t0 + tp + rng.normal(0.0, pick_sigma_s),
                                 t0 + ts + rng.normal(0.0, pick_sigma_s)))
    return tuple(out)


def _located(rng: np.random.Generator, xyz: np.ndarray, t0: float) -> EventOrigin:
    sigma = rng.uniform(5.0, 25.0)
    est = xyz + rng.normal(0.0, sigma / np.sqrt(3.0), 3)
    return EventOrigin(t0 + rng.normal(0.0, 0.002), float(est[0]), float(est[1]), float(est[2]), float(sigma))


def _off_window_time(rng: np.random.Generator, sched: list[BlastingWindow], near_shift: bool) -> float:
    while True:
        if near_shift:
            day = rng.integers(N_DAYS)
            h = SHIFT_HOURS[rng.integers(2)]
            t = day * DAY_S + h * 3600.0 + rng.uniform(-1.0, 2.0) * 3600.0
        else:
            t = rng.uniform(0.0, N_DAYS * DAY_S)
        if all(not (w.start_s - 300.0 <= t <= w.end_s + 300.0) for w in sched):
            return float(t)


def _near(rng: np.random.Generator, centre: np.ndarray, r_min: float, r_max: float) -> np.ndarray:
    return centre + _random_unit(rng) * rng.uniform(r_min, r_max)


def event(rng: np.random.Generator, label: str, sched: list[BlastingWindow]) -> Event:
    fc_all = faces()
    amp = 10.0 ** rng.uniform(1.0, 2.3)
    drop = int(rng.integers(0, 4))
    delay = None
    if label == "blast":
        if rng.random() < 0.7:
            kind = "scheduled"
            w = sched[rng.integers(len(sched))]
            t0 = rng.uniform(w.start_s, w.end_s)
            xyz = _near(rng, np.array(w.face_xyz_m), 0.0, 0.8 * FACE_RADIUS_M)
        else:
            kind = "off_schedule"
            t0 = _off_window_time(rng, sched, near_shift=rng.random() < 0.5)
            if rng.random() < 0.7:
                xyz = _near(rng, fc_all[rng.integers(len(fc_all))], 0.0, 0.8 * FACE_RADIUS_M)
            else:
                xyz = np.array([rng.uniform(100, 900), rng.uniform(100, 900), -rng.uniform(100, 450)])
        shots = None
        if rng.random() < 0.7:
            delay = float(rng.uniform(0.017, 0.042))
            k = np.arange(rng.integers(3, 9))
            shots = k * delay + rng.normal(0.0, 0.0005, k.size)
            shots -= shots.min()
        recs = waveforms(rng, xyz, t0, blast=True, fc=rng.uniform(50.0, 150.0), amp=amp, shots=shots, drop=drop)
    else:
        u = rng.random()
        if u < 0.15:
            kind = "in_window_tremor"
            w = sched[rng.integers(len(sched))]
            t0 = rng.uniform(w.start_s, w.end_s)
            centre = np.array(w.face_xyz_m)
            xyz = _near(rng, centre, 0.0, FACE_RADIUS_M) if rng.random() < 0.5 else _near(rng, centre, 60.0, 300.0)
        else:
            kind = "tremor"
            t0 = rng.uniform(0.0, N_DAYS * DAY_S)
            if u < 0.4:
                xyz = _near(rng, fc_all[rng.integers(len(fc_all))], 10.0, 120.0)
            else:
                xyz = np.array([rng.uniform(0, 1000), rng.uniform(0, 1000), -rng.uniform(50, 600)])
        recs = waveforms(rng, xyz, t0, blast=False, fc=rng.uniform(25.0, 120.0), amp=amp, drop=drop)
    return Event(label, kind, _located(rng, xyz, t0), recs, xyz, delay)


def catalogue(seed: int, n: int) -> list[Event]:
    rng = np.random.default_rng(seed)
    sched = schedule()
    return [event(rng, "blast" if i % 2 == 0 else "tremor", sched) for i in range(n)]


def brune_corner_hz(mw: float, stress_drop_pa: float = 1.0e6) -> float:
    """Brune (1970) S corner, ``fc = 0.372 beta (16 stress / (7 M0))^(1/3)``."""
    m0 = 10.0 ** (1.5 * mw + 9.1)
    return 0.372 * VS * (16.0 * stress_drop_pa / (7.0 * m0)) ** (1.0 / 3.0)


def tremor_records(rng: np.random.Generator, mw: float, xyz: np.ndarray, t0: float, *,
                   noise_mps: float = 2e-8, density: float = 2700.0) -> tuple[StationRecord, ...]:
    """A double-couple tremor of moment magnitude ``mw`` in physical units (m/s).

    :func:`waveforms` builds ``amp * 300 / r`` times a unit Brune velocity
    spectrum and the P radiation ``gamma^T M gamma`` (the S part carries the
    ``(alpha / beta)^3`` of [AR02 eq. 4.33]), so ``amp * 300 = M0 / (4 pi rho
    alpha^3)`` gives the far-field displacement plateau of [AR02 eq. 4.29]; the
    factor ``FS`` turns the continuous spectrum into samples (``irfft`` divides
    by the sample count, the Fourier integral by the sample rate).  Records are 4 s
    long with 1 s before the origin, so that the S coda does not wrap (the synthesis is
    circular) into the noise ahead of P.
    """
    m0 = 10.0 ** (1.5 * mw + 9.1)
    amp = FS * m0 / (300.0 * 4.0 * np.pi * density * VP ** 3)
    return waveforms(rng, np.asarray(xyz, dtype=float), t0, blast=False, fc=brune_corner_hz(mw), amp=amp,
                     noise=noise_mps, causal=True, n_samples=8192, pre_s=1.0)


COMPONENTS = (("E", 90.0, 0.0), ("N", 0.0, 0.0), ("Z", 0.0, -90.0))  # SEED azimuth and dip (-90 = up)


def continuous(records: tuple[StationRecord, ...], start_s: float, duration_s: float, rng: np.random.Generator,
               noise_mps: float = 2e-8) -> np.ndarray:
    """Every station's E, N, Z rows (3 per station, station order) from ``start_s`` for
    ``duration_s``: white noise of ``noise_mps`` with each record laid in at its time
    (a record carries noise of the same level, so the joins are seamless)."""
    n = round(duration_s * FS)
    out = noise_mps * rng.normal(size=(3 * len(records), n))
    for k, r in enumerate(records):
        i0 = round((r.start_time_s - start_s) * FS)
        d = np.asarray(r.data)
        a, b = max(0, i0), min(n, i0 + d.shape[1])
        if a < b:
            out[3 * k : 3 * k + 3, a:b] = d[:, a - i0 : b - i0]
    return out

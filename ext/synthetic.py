"""Synthetic ambient vibration of a monitored structure, generated block by block.

Each mode ``j`` is a damped single-degree-of-freedom oscillator per unit modal mass,
``q'' + 2 zeta_j omega_j q' + omega_j**2 q = u_j(t)``, driven by its own white-noise
modal force ``u_j`` (m/s^2) held constant over each sample interval (zero-order hold,
so the excitation is white up to the Nyquist frequency). The modal acceleration
``u_j - 2 zeta_j omega_j q' - omega_j**2 q`` is sampled at the start of each interval.
Channel ``c`` records ``sum_j mode_shapes[c, j] * modal_acceleration_j`` plus
independent white sensor noise.

Each oscillator is discretised exactly for zero-order-hold input (matrix exponential of
the 2x2 state matrix, [Franklin] sec. 4.3.3, via ``scipy.signal.cont2discrete``) and run
as a second-order IIR filter whose state is carried across blocks. The initial state is
drawn from the stationary covariance of the discrete system (discrete Lyapunov
equation), so the record starts stationary. Random numbers are drawn time-major (all
modal forces and channel noises of sample ``k`` before sample ``k + 1``), so the output
does not depend on how the record is split into blocks, to the last bit.

With sampled force RMS ``sigma`` and step ``dt`` the continuous-time equivalent two-sided
force PSD is ``S0 = sigma**2 dt / (2 pi)`` (m^2 s^-3 per rad/s); the displacement
variance is then ``pi S0 / (2 zeta omega**3)`` [Newland]. Note that the response level
for a given ``sigma`` therefore falls as ``1/sqrt(fs)``.

Structure kinds (``structure_model``): uniform shear building [Chopra] with
``omega_j = 2 sqrt(k/m) sin((2j - 1) pi / (2 (2N + 1)))`` and fundamental period
``~ 0.1 N`` s; simply supported girder with vertical bending modes ``sin(j pi x / L)``,
``f_j = j**2 f_1`` [Blevins]; cantilever ("other": tower or mast) with Euler-Bernoulli
clamped-free modes [Blevins]; dam, mine and tunnel models are plausible, not derived.

References
----------
Blevins : R. D. Blevins, Formulas for Natural Frequency and Mode Shape, Van Nostrand
    Reinhold, 1979 (beam modes, tables 8-1/8-2).
Chopra : A. K. Chopra, Dynamics of Structures, 4th ed., Prentice Hall, 2012 (shear
    building, classical modal analysis).
Franklin : G. F. Franklin, J. D. Powell, M. Workman, Digital Control of Dynamic
    Systems, 3rd ed., Addison-Wesley, 1998 (exact ZOH discretisation).
Newland : D. E. Newland, An Introduction to Random Vibrations, Spectral and Wavelet
    Analysis, 3rd ed., Longman, 1993 (SDOF response to white noise).
SEED : SEED Reference Manual v2.4 (azimuth from north, dip -90 = up).
"""

from __future__ import annotations

import operator
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy.linalg import eigh, solve_discrete_lyapunov
from scipy.signal import cont2discrete, lfilter, ss2tf

__all__ = ["KINDS", "AmbientVibration", "ChannelLayout", "ModalModel", "layout_model", "structure_model"]

StructureKind = Literal["bridge", "dam", "mine", "building", "tunnel", "other"]
KINDS: tuple[str, ...] = ("bridge", "dam", "mine", "building", "tunnel", "other")
MODEL_FS_FRACTION = 0.4  # structure_model keeps modes below this fraction of fs_hz
MAX_FS_FRACTION = 0.45  # AmbientVibration rejects modes at or above this fraction
_CANTILEVER_BETA = np.array([1.8751040687, 4.6940911330, 7.8547574382])  # [Blevins]


@dataclass(frozen=True, eq=False)
class ModalModel:
    """Modal content of a structure as seen by its channels (arrays become read-only).

    Attributes
    ----------
    frequencies_hz : ndarray, shape (n_modes,)
        Undamped natural frequencies in Hz, > 0.
    damping_ratios : ndarray, shape (n_modes,)
        Viscous damping ratios, 0 < zeta < 1.
    mode_shapes : ndarray, shape (n_channels, n_modes)
        Real mode shapes at the channels, each column scaled so that its largest-magnitude
        entry is +1.
    """

    frequencies_hz: np.ndarray
    damping_ratios: np.ndarray
    mode_shapes: np.ndarray

    def __post_init__(self) -> None:
        f = np.array(self.frequencies_hz, dtype=np.float64)
        z = np.array(self.damping_ratios, dtype=np.float64)
        phi = np.array(self.mode_shapes, dtype=np.float64)
        if f.ndim != 1 or f.size == 0 or not np.all(np.isfinite(f) & (f > 0)):
            raise ValueError("frequencies_hz must be a non-empty 1-D array of finite values > 0")
        if z.shape != f.shape or not np.all((z > 0) & (z < 1)):
            raise ValueError("damping_ratios must match frequencies_hz and lie in (0, 1)")
        if phi.ndim != 2 or phi.shape[1] != f.size or phi.shape[0] < 1:
            raise ValueError("mode_shapes must have shape (n_channels >= 1, n_modes)")
        if not np.all(np.isfinite(phi)) or not np.allclose(np.abs(phi).max(axis=0), 1.0):
            raise ValueError("mode_shapes columns must be finite and max-abs normalised to 1")
        for name, arr in (("frequencies_hz", f), ("damping_ratios", z), ("mode_shapes", phi)):
            arr.setflags(write=False)
            object.__setattr__(self, name, arr)

    @property
    def n_modes(self) -> int:
        return int(self.frequencies_hz.size)

    @property
    def n_channels(self) -> int:
        return int(self.mode_shapes.shape[0])


@dataclass(frozen=True)
class ChannelLayout:
    """Where one sensor channel sits.

    Attributes
    ----------
    channel_id : str
        ``"ch00"``, ``"ch01"``, ...
    orientation : str
        ``"E"``, ``"N"``, ``"Z"`` (geographic) or ``"X"``, ``"Y"`` (structural axes).
    azimuth_deg, dip_deg : float
        Component direction in degrees per [SEED]: azimuth clockwise from north, dip 0
        horizontal, -90 vertical up.
    floor : int
        Storey index for buildings (0 = ground), 0 otherwise.
    height_m : float
        Height above the structure's base in m (0 for underground sensors).
    x_m, y_m, z_m : float
        Position in the structure's frame in m (x along its main axis, z up).
    array_id : str
        Sensor group, e.g. ``"deck"``, ``"crest"``, ``"floor-03"``.
    """

    channel_id: str
    orientation: str
    azimuth_deg: float
    dip_deg: float
    floor: int
    height_m: float
    x_m: float
    y_m: float
    z_m: float
    array_id: str


def _sensor(ch: int, comp: str, axis_az: float, array_id: str, x: float, y: float, z: float,
            floor: int = 0, height: float = 0.0) -> ChannelLayout:
    az = {"E": 90.0, "N": 0.0, "Z": 0.0, "X": axis_az, "Y": (axis_az + 90.0) % 360.0}[comp]
    return ChannelLayout(f"ch{ch:02d}", comp, float(az), -90.0 if comp == "Z" else 0.0,
                         int(floor), float(height), float(x), float(y), float(z), array_id)


def _levels(top: float, bottom: float, n: int) -> np.ndarray:
    """``n`` evenly spread levels from ``top`` down to ``bottom`` (``top`` first)."""
    return np.linspace(top, bottom, n) if n > 1 else np.array([top])


def _building(n_ch: int, rng: np.random.Generator):
    n_lev = -(-n_ch // 2)
    n_st = max(n_lev, int(rng.integers(3, 16)))
    storey_m = rng.uniform(3.0, 4.0)
    axis_az = rng.uniform(0.0, 90.0)
    f1 = 10.0 / n_st * rng.uniform(0.8, 1.25)  # T1 ~ 0.1 N s
    f1_y = f1 * rng.uniform(1.1, 1.3)  # stiffer in Y: no coincident X/Y pairs
    k = 2.0 * np.eye(n_st) - np.eye(n_st, k=1) - np.eye(n_st, k=-1)
    k[-1, -1] = 1.0  # free roof; unit storey stiffness and mass
    lam, phi = eigh(k)
    n_m = min(n_st, 5)
    ratio = np.sqrt(lam[:n_m] / lam[0])
    freqs = np.concatenate([f1 * ratio, f1_y * ratio])
    zeta = rng.uniform(0.02, 0.05, 2 * n_m)
    floors = np.floor(_levels(n_st, 1, n_lev) + 0.5).astype(int)  # distinct, roof first
    shapes = np.zeros((n_ch, 2 * n_m))
    layout = []
    for ch in range(n_ch):
        fl, axis = int(floors[ch // 2]), ch % 2
        shapes[ch, axis * n_m:(axis + 1) * n_m] = phi[fl - 1, :n_m]
        layout.append(_sensor(ch, "XY"[axis], axis_az, f"floor-{fl:02d}", 0.0, 0.0,
                              fl * storey_m, floor=fl, height=fl * storey_m))
    return freqs, zeta, shapes, layout


def _bridge(n_ch: int, rng: np.random.Generator):
    n_sec = -(-n_ch // 3)
    span_m, width_m = rng.uniform(40.0, 150.0), rng.uniform(10.0, 30.0)
    f1, axis_az = rng.uniform(1.0, 3.0), rng.uniform(0.0, 180.0)
    # vertical bending j = 1..3 (f_j = j^2 f1), lateral bending, torsion
    freqs = np.array([f1, 4 * f1, 9 * f1, f1 * rng.uniform(1.3, 1.8), f1 * rng.uniform(2.2, 3.2)])
    zeta = rng.uniform(0.01, 0.03, 5)
    shapes = np.zeros((n_ch, 5))
    layout = []
    for ch in range(n_ch):
        x = span_m * (ch // 3 + 0.5) / n_sec
        s = np.sin(np.arange(1, 4) * np.pi * x / span_m)
        comp, y = [("Z", width_m / 2), ("Z", -width_m / 2), ("Y", 0.0)][ch % 3]
        if comp == "Z":
            shapes[ch, :3], shapes[ch, 4] = s, s[0] * np.sign(y)
        else:
            shapes[ch, 3] = s[0]
        layout.append(_sensor(ch, comp, axis_az, "deck", x, y, 0.0))
    return freqs, zeta, shapes, layout


def _dam(n_ch: int, rng: np.random.Generator):
    n_pos = -(-n_ch // 3)
    n_crest = -(-2 * n_pos // 3)
    h_m = rng.uniform(50.0, 200.0)
    crest_m, axis_az = h_m * rng.uniform(1.5, 3.0), rng.uniform(0.0, 360.0)
    f1 = rng.uniform(3.0, 6.0)
    mn = [(1, 1), (2, 1), (3, 1), (1, 2), (2, 2)]  # (harmonic along crest, along height)
    freqs = f1 * np.array([1.0, 1.2, 1.9, 2.5, 3.1]) * rng.uniform(0.95, 1.05, 5)
    zeta = rng.uniform(0.015, 0.04, 5)
    shapes = np.zeros((n_ch, 5))
    layout = []
    for ch in range(n_ch):
        pos = ch // 3
        crest = pos < n_crest
        i, n = (pos, n_crest) if crest else (pos - n_crest, n_pos - n_crest)
        s, rel_h = (i + 0.5) / n, 1.0 if crest else 0.5
        comp = "XYZ"[ch % 3]
        for j, (m, k) in enumerate(mn):
            height = 1.0 - np.cos(0.5 * np.pi * rel_h) if k == 1 else np.sin(1.5 * np.pi * rel_h)
            along = {"X": np.sin(m * np.pi * s), "Y": 0.25 * np.cos(m * np.pi * s),
                     "Z": 0.1 * np.sin(m * np.pi * s)}[comp]
            shapes[ch, j] = along * height
        layout.append(_sensor(ch, comp, axis_az, "crest" if crest else "gallery",
                              s * crest_m, 0.0, rel_h * h_m, height=rel_h * h_m))
    return freqs, zeta, shapes, layout


def _ground(n_ch: int, rng: np.random.Generator, kind: str):
    """Mine (deep tri-axial E/N/Z sets) or tunnel (X/Y/Z along the lining): broad modes."""
    n_sta, n_m = -(-n_ch // 3), 5
    if kind == "mine":
        freqs = np.geomspace(5.0, 36.0, n_m) * rng.uniform(0.9, 1.1, n_m)
        zeta, comps = rng.uniform(0.15, 0.35, n_m), "ENZ"
        xyz = np.column_stack([rng.uniform(-500, 500, (n_sta, 2)), -rng.uniform(300, 1200, n_sta)])
    else:
        freqs = np.geomspace(4.0, 30.0, n_m) * rng.uniform(0.9, 1.1, n_m)
        zeta, comps = rng.uniform(0.05, 0.15, n_m), "XYZ"
        xyz = np.column_stack([25.0 * np.arange(n_sta), np.zeros(n_sta), -rng.uniform(10, 40, n_sta)])
    wavelength = rng.uniform(50.0, 300.0, n_m)
    phase = rng.uniform(0.0, 2 * np.pi, n_m)
    polar = rng.normal(size=(n_sta, n_m, 3)) * np.array([1.0, 1.0, 1.5])  # Z a little stronger
    axis_az = rng.uniform(0.0, 360.0)
    shapes = np.zeros((n_ch, n_m))
    layout = []
    for ch in range(n_ch):
        sta = ch // 3
        x, y, z = xyz[sta]
        spatial = 0.6 + 0.4 * np.cos(2 * np.pi * x / wavelength + phase)
        shapes[ch] = spatial * polar[sta, :, ch % 3]
        array_id = f"level-{-z:.0f}m" if kind == "mine" else "lining"
        layout.append(_sensor(ch, comps[ch % 3], axis_az, array_id, x, y, z))
    return freqs, zeta, shapes, layout


def _cantilever(n_ch: int, rng: np.random.Generator):
    """Tower or mast: clamped-free Euler-Bernoulli bending in two directions [Blevins]."""
    n_lev = -(-n_ch // 2)
    h_m, axis_az = rng.uniform(30.0, 150.0), rng.uniform(0.0, 90.0)
    f1 = rng.uniform(0.5, 2.5)
    ratio = (_CANTILEVER_BETA / _CANTILEVER_BETA[0]) ** 2
    freqs = np.concatenate([f1 * ratio, f1 * rng.uniform(1.05, 1.2) * ratio])
    zeta = rng.uniform(0.01, 0.03, 6)
    b = _CANTILEVER_BETA
    sig = (np.cosh(b) + np.cos(b)) / (np.sinh(b) + np.sin(b))
    shapes = np.zeros((n_ch, 6))
    layout = []
    for ch in range(n_ch):
        xi = _levels(1.0, 1.0 / n_lev, n_lev)[ch // 2]
        axis = ch % 2
        shapes[ch, 3 * axis:3 * axis + 3] = (np.cosh(b * xi) - np.cos(b * xi)
                                             - sig * (np.sinh(b * xi) - np.sin(b * xi)))
        layout.append(_sensor(ch, "XY"[axis], axis_az, "tower", 0.0, 0.0, xi * h_m, height=xi * h_m))
    return freqs, zeta, shapes, layout


def structure_model(kind: str, n_channels: int, seed: int = 0, *,
                    fs_hz: float | None = None) -> tuple[ModalModel, list[ChannelLayout]]:
    """Plausible modal model and sensor layout of a structure kind.

    Parameters
    ----------
    kind : {"bridge", "dam", "mine", "building", "tunnel", "other"}
        ``"other"`` is a tower or mast (cantilever).
    n_channels : int
        Number of channels, >= 1. Buildings and towers get X/Y pairs per level from the
        roof down; bridges Z/Z/Y per deck section (both edges, centre); dams X/Y/Z
        (stream, cross-stream, vertical) per crest or gallery position; mines E/N/Z and
        tunnels X/Y/Z per station.
    seed : int, default 0
        Seed of the geometry and modal parameters (deterministic), >= 0.
    fs_hz : float, optional
        Sampling rate in Hz; if given, modes at or above ``0.4 * fs_hz`` are dropped.

    Returns
    -------
    model : ModalModel
        Modes sorted by frequency; modes that no channel observes are dropped.
    layout : list of ChannelLayout
        One entry per channel.
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}; got {kind!r}")
    n_channels = operator.index(n_channels)
    if n_channels < 1:
        raise ValueError(f"n_channels must be >= 1, got {n_channels}")
    if operator.index(seed) < 0:
        raise ValueError(f"seed must be >= 0, got {seed}")
    if fs_hz is not None and not (np.isfinite(fs_hz) and fs_hz > 0):
        raise ValueError(f"fs_hz must be finite and > 0, got {fs_hz}")
    rng = np.random.default_rng(seed)
    if kind in ("mine", "tunnel"):
        freqs, zeta, shapes, layout = _ground(n_channels, rng, kind)
    else:
        build = {"building": _building, "bridge": _bridge, "dam": _dam, "other": _cantilever}
        freqs, zeta, shapes, layout = build[kind](n_channels, rng)
    keep = np.abs(shapes).max(axis=0) > 1e-6
    if fs_hz is not None:
        keep &= freqs < MODEL_FS_FRACTION * fs_hz
    if not keep.any():
        raise ValueError(f"fs_hz={fs_hz} too low for this {kind}: its lowest mode at "
                         f"{freqs.min():.3g} Hz needs fs_hz > {freqs.min() / MODEL_FS_FRACTION:.3g}")
    order = np.argsort(freqs[keep], kind="stable")
    freqs, zeta, shapes = freqs[keep][order], zeta[keep][order], shapes[:, keep][:, order]
    peak = shapes[np.abs(shapes).argmax(axis=0), np.arange(shapes.shape[1])]
    return ModalModel(freqs, zeta, shapes / peak), layout


def layout_model(layout: Sequence[ChannelLayout], *, fs_hz: float | None = None,
                 n_modes: int = 3, damping: float = 0.05) -> ModalModel | None:
    """A generic modal model for a sensor layout registered by an owner (not one of
    :func:`structure_model`'s own layouts), for synthetic records only.

    Channels above the base (``height_m > 0`` or ``floor > 0``) see the first ``n_modes``
    modes of a uniform shear cantilever of the tallest sensor's height ``H`` in each of
    two horizontal directions (north and east): ``f_k = (2k - 1) f_1``, shape
    ``sin((2k - 1) pi h / (2 H))`` [Chopra], times the cosine between the channel and the
    mode direction (vertical channels see none); the east direction is 10 % stiffer so
    that no two modes coincide. ``f_1 = 1 / T_a`` with the approximate fundamental period
    ``T_a = 0.0488 H^0.75`` s (H in m; ASCE 7-16 eq. 12.8-7, "all other structural
    systems"). Every mode has damping ``damping``. Channels at the base (ground, free
    field) and below it have no modal content.

    Returns
    -------
    ModalModel or None
        None when no channel is above the base (or every mode is at or above
        ``0.4 fs_hz``).
    """
    n_modes = operator.index(n_modes)
    if n_modes < 1 or not 0 < damping < 1:
        raise ValueError(f"n_modes must be >= 1 and damping in (0, 1); got {n_modes}, {damping}")
    height = np.array([max(c.height_m, 0.0) if c.z_m >= 0 else 0.0 for c in layout], dtype=np.float64)
    above = (height > 0) | np.array([c.floor > 0 and c.z_m >= 0 for c in layout])
    if not above.any():
        return None
    h_top = float(height.max()) if height.max() > 0 else 3.5 * max(c.floor for c in layout)
    h = np.where(height > 0, height, 3.5 * np.array([max(c.floor, 0) for c in layout]))
    f1 = 1.0 / (0.0488 * h_top**0.75)
    k = 2 * np.arange(1, n_modes + 1) - 1
    az = np.radians([c.azimuth_deg for c in layout])
    horiz = np.cos(np.radians([c.dip_deg for c in layout]))
    freqs, shapes = [], []
    for direction_az, stiffer in ((0.0, 1.0), (np.pi / 2, 1.1)):
        cosine = horiz * np.cos(az - direction_az)
        cosine[np.abs(cosine) < 1e-9] = 0.0  # exactly orthogonal (or vertical): no content
        for kk in k:
            freqs.append(kk * f1 * stiffer)
            shapes.append(np.where(above, np.sin(kk * np.pi * np.minimum(h / h_top, 1.0) / 2.0) * cosine, 0.0))
    f, phi = np.array(freqs), np.column_stack(shapes)
    keep = np.abs(phi).max(axis=0) > 1e-6
    if fs_hz is not None:
        keep &= f < MODEL_FS_FRACTION * fs_hz
    if not keep.any():
        return None
    order = np.argsort(f[keep], kind="stable")
    f, phi = f[keep][order], phi[:, keep][:, order]
    peak = phi[np.abs(phi).argmax(axis=0), np.arange(phi.shape[1])]
    return ModalModel(f, np.full(f.size, damping), phi / peak)


def _mode_filter(f_hz: float, zeta: float, fs_hz: float, sigma: float):
    """ZOH-exact IIR ``(b, a)`` from unit white noise to modal acceleration (m/s^2), the
    map from the physical state ``(q, q')`` to lfilter's DF2T state, and the stationary
    covariance of ``(q, q')``."""
    w = 2 * np.pi * f_hz
    a_c = np.array([[0.0, 1.0], [-w * w, -2 * zeta * w]])
    c_c = np.array([[-w * w, -2 * zeta * w]])
    a_d, b_d, c_d, d_d, _ = cont2discrete((a_c, np.array([[0.0], [sigma]]), c_c, [[sigma]]),
                                          1.0 / fs_hz, method="zoh")
    num, den = ss2tf(a_d, b_d, c_d, d_d)
    # DF2T: y_k = z0 + b0 u_k; matching [y_k, y_k+1] of the free response gives z = T s.
    to_df2t = np.array([[1.0, 0.0], [den[1], 1.0]]) @ np.vstack([c_d, c_d @ a_d])
    cov = solve_discrete_lyapunov(a_d, b_d @ b_d.T)
    return num[0], den, to_df2t, cov


def _chol2(cov: np.ndarray) -> np.ndarray:
    """Lower Cholesky factor of a 2x2 positive semi-definite matrix (zero-safe)."""
    l11 = np.sqrt(max(cov[0, 0], 0.0))
    l21 = cov[1, 0] / l11 if l11 > 0 else 0.0
    return np.array([[l11, 0.0], [l21, np.sqrt(max(cov[1, 1] - l21 * l21, 0.0))]])


class AmbientVibration:
    """Stationary ambient acceleration of a modal model, generated block by block.

    Parameters
    ----------
    model : ModalModel
        Modes and channel mode shapes.
    fs_hz : float
        Sampling rate in Hz, > 0; every mode must lie below ``0.45 * fs_hz``.
    seed : int, default 0
        Seed of ``np.random.default_rng``, >= 0.
    excitation_rms_mps2 : float, default 1e-3
        RMS of each mode's sampled white-noise force per unit modal mass, m/s^2, >= 0.
    noise_rms_mps2 : float, default 5e-5
        RMS of the independent white sensor noise per channel, m/s^2, >= 0.
    """

    def __init__(self, model: ModalModel, fs_hz: float, *, seed: int = 0,
                 excitation_rms_mps2: float = 1e-3, noise_rms_mps2: float = 5e-5) -> None:
        if not isinstance(model, ModalModel):
            raise TypeError(f"model must be a ModalModel, got {type(model).__name__}")
        if not (np.isfinite(fs_hz) and fs_hz > 0):
            raise ValueError(f"fs_hz must be finite and > 0, got {fs_hz}")
        f_max = float(model.frequencies_hz.max())
        if f_max >= MAX_FS_FRACTION * fs_hz:
            raise ValueError(f"fs_hz={fs_hz} too low: mode at {f_max:.4g} Hz is not below "
                             f"{MAX_FS_FRACTION} * fs_hz = {MAX_FS_FRACTION * fs_hz:.4g} Hz")
        for name, val in (("excitation_rms_mps2", excitation_rms_mps2),
                          ("noise_rms_mps2", noise_rms_mps2)):
            if not (np.isfinite(val) and val >= 0):
                raise ValueError(f"{name} must be finite and >= 0, got {val}")
        if operator.index(seed) < 0:
            raise ValueError(f"seed must be >= 0, got {seed}")
        self.model, self.fs_hz = model, float(fs_hz)
        self._noise_rms = float(noise_rms_mps2)
        self._rng = np.random.default_rng(seed)
        n_m = model.n_modes
        self._b, self._a, self._zi = np.empty((n_m, 3)), np.empty((n_m, 3)), np.empty((n_m, 2))
        start = self._rng.standard_normal((n_m, 2))  # stationary initial state, then the stream
        for j in range(n_m):
            b, a, to_df2t, cov = _mode_filter(model.frequencies_hz[j], model.damping_ratios[j],
                                              self.fs_hz, float(excitation_rms_mps2))
            self._b[j], self._a[j] = b, a
            self._zi[j] = to_df2t @ (_chol2(cov) @ start[j])
        self._n_generated = 0

    @property
    def n_samples_generated(self) -> int:
        """Samples per channel produced so far."""
        return self._n_generated

    def next_block(self, n_samples: int) -> np.ndarray:
        """Next ``n_samples`` of acceleration, float64, shape (n_channels, n_samples), m/s^2."""
        n = operator.index(n_samples)
        if n < 0:
            raise ValueError(f"n_samples must be >= 0, got {n}")
        n_m, phi = self.model.n_modes, self.model.mode_shapes
        draws = self._rng.standard_normal((n, n_m + phi.shape[0]))  # time-major
        out = self._noise_rms * draws[:, n_m:].T
        if n:
            for j in range(n_m):
                acc, self._zi[j] = lfilter(self._b[j], self._a[j],
                                           np.ascontiguousarray(draws[:, j]), zi=self._zi[j])
                out += phi[:, j:j + 1] * acc
        self._n_generated += n
        return np.ascontiguousarray(out)


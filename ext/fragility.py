"""Seismic fragility functions and damage-state fractions.

First brick of issue "[4] Loss estimation".  Arrays in, frozen dataclasses
out; numpy/scipy only.  All arithmetic is float64, inputs are never modified,
and invalid input raises :class:`ValueError` naming the argument and the limit.

Conventions (see ``docs/references.md``, section "Damage, casualties, losses")
--------------------------------------------------------------------------------
Damage states
    ``k = 1 .. n`` ordered by increasing severity; ``DS0`` is "no damage".
    ``poes(iml)[..., k - 1] = P(DS >= k | IM = iml)``.
Lognormal (continuous) fragility [OQ-sci]_
    ``P(DS >= k | IM) = Phi(ln(IM / theta_k) / beta_k)``.  OpenQuake NRML
    continuous fragility files give the *mean* ``m`` and *stddev* ``s`` of the
    lognormal IM capacity, converted as in ``FragilityFunctionContinuous``::

        beta  = sqrt(ln(1 + (s / m)^2))
        theta = m^2 / sqrt(s^2 + m^2)

    (:meth:`LognormalFragility.from_moments`).  ``IM`` is clipped to
    ``[min_iml, max_iml]`` (either bound optional), then ``PoE = 0`` wherever
    ``IM <= no_damage_limit`` ("at or below", the ``<=`` OpenQuake adopted when
    fixing "continuous fragility functions with minIML equal to noDamageLimit,
    causing damages where there should have been no damage", engine 3.13
    changelog).  Deviation: OpenQuake compares the *clipped* IM with the
    no-damage limit, we compare the *raw* IM.  Both agree unless
    ``no_damage_limit < min_iml``, where OpenQuake would report
    ``Phi(ln(min_iml / theta) / beta) > 0`` for a motion below the no-damage
    limit; we report 0 as the name promises.
Discrete fragility [OQ-sci]_
    PoE tables at ``imls`` per damage state, linear interpolation in IM,
    clamped to the last tabulated value above the last level (as OpenQuake's
    ``FragilityFunctionDiscrete``).  Below the first level OpenQuake's
    ``interp1d(..., bounds_error=False)`` returns NaN unless a
    ``noDamageLimit <= imls[0]`` is given, in which case
    ``FragilityFunctionList.build`` prepends the point ``(noDamageLimit, 0)``
    and sets PoE = 0 below it.  We implement the same with a no-damage limit
    (interpolate from 0 at the limit up to the first tabulated value, 0 at or
    below the limit).  Without one we clamp to the first tabulated value
    (``numpy.interp`` behaviour) rather than return NaN: a defined, documented,
    conservative answer; supply ``no_damage_limit`` to get OpenQuake's ramp.
Zero ground motion
    ``IM == 0`` gives PoE 0 for every state, for both kinds and whatever
    ``min_iml`` is (OpenQuake's discrete function returns zeros when all IMLs
    are zero), without floating-point warnings.  NaN, Inf or negative IM
    raise.
Damage-state fractions [OQ-sci]_
    ``DS0 = 1 - PoE_1``, ``DSk = PoE_k - PoE_(k+1)``, ``DSn = PoE_n``.  When
    curves cross (possible with unequal ``beta_k``, or inconsistent tables)
    some ``PoE_(k+1) > PoE_k``.  OpenQuake's ``scenario_damage`` then zeroes
    every fraction below 1e-7 (``arr[arr < 1E-7] = 0``), so the fractions no
    longer sum to one.  We instead enforce monotone PoEs across states with a
    running minimum, ``PoE_k <- min(PoE_1 .. PoE_k)`` (a more severe state
    cannot be more likely than a less severe one): fractions are
    non-negative and sum to one exactly (up to rounding).

References
----------
.. [OQ-sci] GEM Foundation, OpenQuake engine, ``openquake/risklib/scientific.py``
   (``FragilityFunctionContinuous``, ``FragilityFunctionDiscrete``,
   ``FragilityFunctionList.build``, ``scenario_damage``) and the OpenQuake
   manual, "Fragility Models" (NRML ``fragilityModel`` schema: ``minIML``,
   ``maxIML``, ``noDamageLimit``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

import numpy as np
import numpy.typing as npt
from scipy.special import ndtr

__all__ = [
    "DiscreteFragility",
    "Convention",
    "Fragility",
    "LognormalFragility",
    "damage_fractions",
    "fractions_of_valid_poes",
    "mean_damage_fractions",
]

ArrayLike = npt.ArrayLike
FloatArray = npt.NDArray[np.float64]
#: "quakewatch": the conventions above; "openquake": the engine's, bit for bit in
#: intent, for inputs that come from OpenQuake files (``server/decision/openquake``).
Convention = Literal["quakewatch", "openquake"]


class Fragility(Protocol):
    """Anything that maps IM values to PoEs per damage state."""

    @property
    def imt(self) -> str: ...

    @property
    def n_states(self) -> int: ...

    def poes(self, iml: ArrayLike, convention: Convention = "quakewatch", *,
             validate: bool = True) -> FloatArray: ...


# --------------------------------------------------------------------------- #
# validation helpers (edge only)
# --------------------------------------------------------------------------- #


def _frozen(a: FloatArray) -> FloatArray:
    out = np.array(a, dtype=np.float64, copy=True)
    out.setflags(write=False)
    return out


def _vector(name: str, values: ArrayLike) -> FloatArray:
    a = np.asarray(values, dtype=np.float64)
    if a.ndim != 1 or a.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-D sequence, got shape {a.shape}")
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name} must be finite (no NaN or Inf)")
    return _frozen(a)


def _optional_bound(name: str, value: float | None) -> float | None:
    if value is None:
        return None
    v = float(value)
    if not np.isfinite(v) or v < 0.0:
        raise ValueError(f"{name} must be finite and >= 0, got {v}")
    return v


def _states(damage_states: Sequence[str] | None, n: int) -> tuple[str, ...]:
    if damage_states is None:
        return tuple(f"DS{k}" for k in range(1, n + 1))
    names = tuple(damage_states)
    if len(names) != n:
        raise ValueError(
            f"damage_states must have one name per damage state ({n}), got {len(names)}"
        )
    if any(not isinstance(s, str) or not s for s in names) or len(set(names)) != n:
        raise ValueError("damage_states must be distinct non-empty strings")
    return names


def _check_imt(imt: str) -> str:
    if not isinstance(imt, str) or not imt.strip():
        raise ValueError("imt must be a non-empty string such as 'PGA', 'SA(0.3)' or 'MMI'")
    return imt


def _iml_array(iml: ArrayLike) -> FloatArray:
    x = np.asarray(iml, dtype=np.float64)
    if np.isnan(x).any():
        raise ValueError("iml must not contain NaN")
    if np.isinf(x).any():
        raise ValueError("iml must be finite (no Inf)")
    if (x < 0.0).any():
        raise ValueError("iml must be >= 0")
    return x


# --------------------------------------------------------------------------- #
# continuous (lognormal)
# --------------------------------------------------------------------------- #


@dataclass(frozen=True, eq=False)
class LognormalFragility:
    """Lognormal fragility curves, one per damage state.

    Parameters
    ----------
    imt : str
        Intensity measure type, e.g. ``"PGA"``, ``"SA(0.3)"``, ``"MMI"``.
    theta : array_like, shape (n_states,)
        Median capacity per damage state, IM units, > 0.  Curves may cross
        (published sets with unequal ``beta_k`` do): see ``damage_fractions``.
    beta : array_like, shape (n_states,)
        Logarithmic standard deviation per damage state, > 0.
    damage_states : sequence of str, optional
        Names, increasing severity (default ``DS1 .. DSn``).
    min_iml, max_iml : float, optional
        IM is clipped to ``[min_iml, max_iml]`` (NRML ``minIML``/``maxIML``).
    no_damage_limit : float, optional
        PoE is 0 for ``IM <= no_damage_limit`` (NRML ``noDamageLimit``).
    """

    imt: str
    theta: FloatArray
    beta: FloatArray
    damage_states: tuple[str, ...] = field(default=())
    min_iml: float | None = None
    max_iml: float | None = None
    no_damage_limit: float | None = None

    def __post_init__(self) -> None:
        theta = _vector("theta", self.theta)
        beta = _vector("beta", self.beta)
        if beta.shape != theta.shape:
            raise ValueError(
                f"beta must have the same length as theta ({theta.size}), got {beta.size}"
            )
        if (theta <= 0.0).any():
            raise ValueError("theta must be > 0 for every damage state")
        if (beta <= 0.0).any():
            raise ValueError("beta must be > 0 for every damage state")
        lo = _optional_bound("min_iml", self.min_iml)
        hi = _optional_bound("max_iml", self.max_iml)
        if lo is not None and hi is not None and not lo < hi:
            raise ValueError(f"min_iml must be < max_iml, got {lo} >= {hi}")
        ndl = _optional_bound("no_damage_limit", self.no_damage_limit)
        names = _states(self.damage_states or None, theta.size)
        object.__setattr__(self, "imt", _check_imt(self.imt))
        object.__setattr__(self, "theta", theta)
        object.__setattr__(self, "beta", beta)
        object.__setattr__(self, "damage_states", names)
        object.__setattr__(self, "min_iml", lo)
        object.__setattr__(self, "max_iml", hi)
        object.__setattr__(self, "no_damage_limit", ndl)

    @property
    def n_states(self) -> int:
        """Number of damage states ``n`` (excluding DS0)."""
        return int(self.theta.size)

    @classmethod
    def from_median(
        cls,
        theta: ArrayLike,
        beta: ArrayLike,
        *,
        imt: str,
        damage_states: Sequence[str] | None = None,
        min_iml: float | None = None,
        max_iml: float | None = None,
        no_damage_limit: float | None = None,
    ) -> LognormalFragility:
        """Build from medians ``theta_k`` and log-standard deviations ``beta_k``."""
        return cls(
            imt=imt,
            theta=np.asarray(theta, dtype=np.float64),
            beta=np.asarray(beta, dtype=np.float64),
            damage_states=tuple(damage_states) if damage_states is not None else (),
            min_iml=min_iml,
            max_iml=max_iml,
            no_damage_limit=no_damage_limit,
        )

    @classmethod
    def from_moments(
        cls,
        mean: ArrayLike,
        stddev: ArrayLike,
        *,
        imt: str,
        damage_states: Sequence[str] | None = None,
        min_iml: float | None = None,
        max_iml: float | None = None,
        no_damage_limit: float | None = None,
    ) -> LognormalFragility:
        """Build from the lognormal's arithmetic mean and stddev (NRML convention).

        ``beta = sqrt(ln(1 + (s/m)^2))``, ``theta = m^2 / sqrt(s^2 + m^2)``
        [OQ-sci]_.  ``mean`` must be > 0 and ``stddev`` > 0.
        """
        m = _vector("mean", mean)
        s = _vector("stddev", stddev)
        if s.shape != m.shape:
            raise ValueError(
                f"stddev must have the same length as mean ({m.size}), got {s.size}"
            )
        if (m <= 0.0).any():
            raise ValueError("mean must be > 0 for every damage state")
        if (s <= 0.0).any():
            raise ValueError("stddev must be > 0 for every damage state")
        beta = np.sqrt(np.log1p((s / m) ** 2))
        theta = m * m / np.sqrt(s * s + m * m)
        return cls.from_median(
            theta,
            beta,
            imt=imt,
            damage_states=damage_states,
            min_iml=min_iml,
            max_iml=max_iml,
            no_damage_limit=no_damage_limit,
        )

    def poes(self, iml: ArrayLike, convention: Convention = "quakewatch", *,
             validate: bool = True) -> FloatArray:
        """PoE of each damage state.

        Parameters
        ----------
        iml : array_like, shape (...)
            Intensity measure values in the units of ``theta``, >= 0.
        convention : {"quakewatch", "openquake"}
            ``"openquake"`` reproduces the engine exactly: the no-damage
            limit is compared with the *clipped* IM and only when it is
            non-zero, and a zero IM clipped up to ``min_iml`` gives the PoE
            at ``min_iml`` (module docstring).

        Returns
        -------
        ndarray, shape (..., n_states), float64
            ``P(DS >= k | IM)``.
        """
        # validate=False: the caller checked a float64 array already (ext.loss checks its
        # ground-motion matrices once, not once per block and risk function)
        x = _iml_array(iml) if validate else np.asarray(iml, dtype=np.float64)
        xc = x
        if self.min_iml is not None:
            xc = np.maximum(xc, self.min_iml)
        if self.max_iml is not None:
            xc = np.minimum(xc, self.max_iml)
        with np.errstate(divide="ignore"):  # log(0) -> -inf -> Phi = 0
            z = (np.log(xc)[..., np.newaxis] - np.log(self.theta)) / self.beta
        out: FloatArray = ndtr(z)
        if convention == "openquake":
            if self.no_damage_limit:
                out[xc <= self.no_damage_limit] = 0.0
            return out
        dead = x == 0.0
        if self.no_damage_limit is not None:
            dead = dead | (x <= self.no_damage_limit)
        out[dead] = 0.0
        return out


# --------------------------------------------------------------------------- #
# discrete (tabulated)
# --------------------------------------------------------------------------- #


@dataclass(frozen=True, eq=False)
class DiscreteFragility:
    """Tabulated fragility: PoE per damage state at given IM levels.

    Parameters
    ----------
    imt : str
        Intensity measure type.
    imls : array_like, shape (n_levels,)
        IM levels, >= 0, strictly increasing.
    poe_table : array_like, shape (n_states, n_levels)
        ``P(DS >= k | IM = imls[j])`` in [0, 1].
    damage_states : sequence of str, optional
        Names, increasing severity (default ``DS1 .. DSn``).
    no_damage_limit : float, optional
        PoE is 0 for ``IM <= no_damage_limit``; when it is below ``imls[0]``
        the point ``(no_damage_limit, 0)`` is prepended to every curve.
    """

    imt: str
    imls: FloatArray
    poe_table: FloatArray
    damage_states: tuple[str, ...] = field(default=())
    no_damage_limit: float | None = None

    def __post_init__(self) -> None:
        imls = _vector("imls", self.imls)
        if (imls < 0.0).any():
            raise ValueError("imls must be >= 0")
        if (np.diff(imls) <= 0.0).any():
            raise ValueError("imls must be strictly increasing")
        table = np.asarray(self.poe_table, dtype=np.float64)
        if table.ndim == 1:
            table = table[np.newaxis, :]
        if table.ndim != 2 or table.shape[1] != imls.size or table.shape[0] == 0:
            raise ValueError(
                f"poe_table must have shape (n_states, {imls.size}), got {table.shape}"
            )
        if not np.all(np.isfinite(table)) or (table < 0.0).any() or (table > 1.0).any():
            raise ValueError("poe_table values must be finite and within [0, 1]")
        ndl = _optional_bound("no_damage_limit", self.no_damage_limit)
        names = _states(self.damage_states or None, table.shape[0])
        object.__setattr__(self, "imt", _check_imt(self.imt))
        object.__setattr__(self, "imls", imls)
        object.__setattr__(self, "poe_table", _frozen(table))
        object.__setattr__(self, "damage_states", names)
        object.__setattr__(self, "no_damage_limit", ndl)

    @property
    def n_states(self) -> int:
        """Number of damage states ``n`` (excluding DS0)."""
        return int(self.poe_table.shape[0])

    def poes(self, iml: ArrayLike, convention: Convention = "quakewatch", *,
             validate: bool = True) -> FloatArray:
        """PoE of each damage state by linear interpolation in IM.

        Above ``imls[-1]`` the last value is used; below ``imls[0]``, see the
        module docstring (ramp from 0 at ``no_damage_limit``, else clamp).
        ``convention="openquake"``: PoE 0 strictly below a non-zero no-damage
        limit, and a zero IM is not special-cased (it interpolates like any
        other value).

        Returns
        -------
        ndarray, shape (..., n_states), float64
        """
        # validate=False: the caller checked a float64 array already (ext.loss checks its
        # ground-motion matrices once, not once per block and risk function)
        x = _iml_array(iml) if validate else np.asarray(iml, dtype=np.float64)
        xs = self.imls
        table = self.poe_table
        ndl = self.no_damage_limit
        if ndl is not None and ndl < xs[0]:
            xs = np.concatenate(([ndl], xs))
            table = np.concatenate((np.zeros((table.shape[0], 1)), table), axis=1)
        flat = x.reshape(-1)
        out = np.empty((flat.size, self.n_states), dtype=np.float64)
        for k in range(self.n_states):
            out[:, k] = np.interp(flat, xs, table[k])
        if convention == "openquake":
            if ndl:
                out[flat < ndl] = 0.0
            return out.reshape(x.shape + (self.n_states,))
        dead = flat == 0.0
        if ndl is not None:
            dead = dead | (flat <= ndl)
        out[dead] = 0.0
        return out.reshape(x.shape + (self.n_states,))


# --------------------------------------------------------------------------- #
# damage-state fractions
# --------------------------------------------------------------------------- #


def damage_fractions(poes: ArrayLike, convention: Convention = "quakewatch") -> FloatArray:
    """Fractions in each damage state from exceedance probabilities.

    Parameters
    ----------
    poes : array_like, shape (..., n_states)
        ``P(DS >= k)`` for ``k = 1 .. n``, values in [0, 1].

    Returns
    -------
    ndarray, shape (..., n_states + 1), float64
        ``[P(DS0), P(DS1), ..., P(DSn)]``: ``1 - PoE_1``, ``PoE_k - PoE_(k+1)``,
        ``PoE_n``.  Crossing curves are made monotone first by a running
        minimum over the states, so fractions are >= 0 and sum to 1.
        ``convention="openquake"``: plain differences, then every fraction
        below 1e-7 set to 0 (the engine's ``scenario_damage``).
    """
    p = np.asarray(poes, dtype=np.float64)
    if p.ndim == 0 or p.shape[-1] == 0:
        raise ValueError(f"poes must have a last axis of n_states >= 1, got shape {p.shape}")
    if np.isnan(p).any():
        raise ValueError("poes must not contain NaN")
    if (p < 0.0).any() or (p > 1.0).any():
        raise ValueError("poes must be within [0, 1]")
    return fractions_of_valid_poes(p, convention)


def fractions_of_valid_poes(p: FloatArray, convention: Convention = "quakewatch") -> FloatArray:
    """:func:`damage_fractions` for PoEs already known to be float64 in [0, 1].

    The inner loop of :mod:`quakewatch.ext.loss` (validated once at the
    edge, STYLE 7): one output array, no temporaries beyond the running
    minimum; ``p`` is not modified.
    """
    n = p.shape[-1]
    out = np.empty(p.shape[:-1] + (n + 1,), dtype=np.float64)
    mono = p if convention == "openquake" else np.minimum.accumulate(p, axis=-1)
    np.subtract(1.0, mono[..., 0], out=out[..., 0])
    np.subtract(mono[..., :-1], mono[..., 1:], out=out[..., 1:n])
    out[..., n] = mono[..., n - 1]
    if convention == "openquake":
        out[out < 1e-7] = 0.0
    return out


def mean_damage_fractions(
    fragility: Fragility, iml_samples: ArrayLike, axis: int = -1
) -> FloatArray:
    """Mean damage-state fractions over Monte-Carlo ground-motion samples.

    Parameters
    ----------
    fragility : LognormalFragility or DiscreteFragility
    iml_samples : array_like, shape (..., n_samples, ...)
        IM samples; the sample axis is ``axis`` (default: last).
    axis : int
        Axis of ``iml_samples`` holding the samples.

    Returns
    -------
    ndarray, shape (iml_samples.shape without axis) + (n_states + 1,)
        ``mean_i damage_fractions(fragility.poes(iml_samples[i]))``.
    """
    x = np.asarray(iml_samples, dtype=np.float64)
    if x.ndim == 0:
        raise ValueError("iml_samples must have at least one axis of samples")
    if not -x.ndim <= axis < x.ndim:
        raise ValueError(f"axis must be in [{-x.ndim}, {x.ndim - 1}], got {axis}")
    if x.shape[axis] == 0:
        raise ValueError("iml_samples must hold at least one sample along axis")
    ax = axis % x.ndim
    fractions = damage_fractions(fragility.poes(x))
    result: FloatArray = fractions.mean(axis=ax)
    return result

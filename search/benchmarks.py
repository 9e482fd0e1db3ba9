"""Cheap synthetic multi-fidelity multi-objective problems with known Pareto fronts.

All problems *minimize* ``F`` over ``X`` in the unit cube ``[0, 1]^n_var``. The fidelity ``z`` is
in ``[0, 1]``, ``z = 1`` being the target fidelity, where every problem equals its unperturbed
form. ``z`` may be a scalar, one value per point (shape ``(n,)``) or one value per point and
objective (shape ``(n, n_obj)``, iMOCA's "decoupled" evaluation); cheap objectives (those with
``expensive[j] == False``) are exact and ignore it.

Cost of an evaluation (iMOCA ``main.py``): each expensive objective ``j`` has a raw cost
``c_j(z)``; an evaluation costs ``sum_j c_j(z_j) / c_j(1)`` over the expensive objectives, so
evaluating them all at ``z = 1`` costs ``sum(expensive)`` units. Cheap objectives cost 0.

Hypervolume (:func:`hypervolume`): objectives are normalized with the problem's ``ideal`` and
``nadir`` (the extremes of the true front), ``F_n = (F - ideal) / (nadir - ideal)``, so the front
lies in ``[0, 1]^m``, and the reference point is ``1.1`` per normalized objective. Points that do
not dominate it contribute nothing. The indicator is pymoo's :class:`pymoo.indicators.hv.HV`.

Problems:

* :class:`BraninCurrin`: the fidelity-perturbed Branin-Currin pair of iMOCA (both expensive).
* :class:`ZDT1MF`: ZDT1 with an exact cheap ``f1 = x_0`` and a fidelity-perturbed ``f2``.
* :class:`AccuracyCostDTLZ2`: the ReRAM structure; one expensive "error" objective (an upper
  bound at low fidelity, like accuracy after few epochs) and ``n_obj - 1`` cheap exact
  "cost" objectives, with a DTLZ2 (unit sphere) front.

References:
    iMOCA: Belakaria, Deshwal, Doppa, "Multi-Fidelity Multi-Objective Bayesian Optimization: An
    Output Space Entropy Search Approach" (AAAI 2020) and "Information-Theoretic Multi-Objective
    Bayesian Optimization with Continuous Approximations" (arXiv 2009.05700); code
    github.com/belakaria/iMOCA, ``test_functions.py`` (``cmfbranin``, ``cmfCurrin``) and
    ``main.py`` (cost functions, cost normalization), commit af67dbf.
    Branin multi-fidelity shift: Kandasamy et al., "Multi-fidelity Bayesian Optimisation with
    Continuous Approximations" (BOCA, ICML 2017). BoTorch ``BraninCurrin`` (the z = 1 pair) and
    ``MOMFBraninCurrin`` (Irshad et al. 2021, a different perturbation).
    ZDT1: Zitzler, Deb, Thiele, Evolutionary Computation 8(2), 2000. DTLZ2: Deb, Thiele,
    Laumanns, Zitzler, "Scalable multi-objective optimization test problems", CEC 2002.
"""

from __future__ import annotations

import functools
import math
import numbers
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from crossbar.errors import ConfigError, InputError, ShapeError

__all__ = [
    "BENCHMARKS",
    "AccuracyCostDTLZ2",
    "BraninCurrin",
    "MultiFidelityBenchmark",
    "ZDT1MF",
    "hypervolume",
    "non_dominated",
]

DEFAULT_REF_POINT = 1.1
"""Reference point of :func:`hypervolume`, per normalized objective."""


class MultiFidelityBenchmark(Protocol):
    """What every synthetic problem provides (see the module docstring for the conventions)."""

    @property
    def name(self) -> str:
        """Registry name (a key of :data:`BENCHMARKS`)."""
        ...

    @property
    def n_var(self) -> int:
        """Number of variables ``d``."""
        ...

    @property
    def n_obj(self) -> int:
        """Number of objectives ``m``."""
        ...

    @property
    def expensive(self) -> tuple[bool, ...]:
        """Per objective: ``True`` if it depends on the fidelity and costs something."""
        ...

    @property
    def ideal(self) -> np.ndarray:
        """Componentwise minimum of the true front, shape ``(m,)``."""
        ...

    @property
    def nadir(self) -> np.ndarray:
        """Componentwise maximum of the true front, shape ``(m,)``."""
        ...

    @property
    def max_hypervolume(self) -> float:
        """Hypervolume of the true front (normalized objectives, reference point 1.1)."""
        ...

    def evaluate(self, X: Any, z: Any = 1.0) -> np.ndarray:
        """Objectives ``F``, shape ``(n, m)`` for ``X`` of shape ``(n, d)``."""
        ...

    def objective_costs(self, z: Any) -> np.ndarray:
        """Raw cost of each objective at fidelity ``z``, shape ``z.shape + (m,)`` (0 if cheap)."""
        ...

    def cost(self, z: Any) -> np.ndarray:
        """Normalized cost of one evaluation, shape ``()`` or ``(n,)``."""
        ...

    def pareto_front(self, n: int = 1000) -> np.ndarray:
        """A sample of the true front at ``z = 1``, shape ``(k, m)``, roughly ``k = n``."""
        ...


# ---- shared helpers ---------------------------------------------------------------------------
def _check_X(X: Any, n_var: int, owner: str) -> tuple[np.ndarray, bool]:
    X = np.asarray(X, dtype=np.float64)
    single = X.ndim == 1
    if single:
        X = X[None, :]
    if X.ndim != 2 or X.shape[1] != n_var:
        raise ShapeError(f"{owner}.evaluate: X must have shape (n, {n_var}) or ({n_var},); got {X.shape}.")
    if not np.all(np.isfinite(X)) or (X.size and (X.min() < 0.0 or X.max() > 1.0)):
        lo, hi = (float(np.nanmin(X)), float(np.nanmax(X))) if X.size else (0.0, 0.0)
        raise InputError(
            f"{owner}.evaluate: X must be finite and lie in [0, 1]^{n_var}; got values in [{lo!r}, {hi!r}]"
            + (" and NaN/inf." if not np.all(np.isfinite(X)) else ".")
        )
    return X, single


def _check_z(z: Any, n: int, n_obj: int, owner: str) -> np.ndarray:
    """Fidelity broadcast to shape ``(n, n_obj)``."""
    z = np.asarray(z, dtype=np.float64)
    if z.ndim == 0:
        z = np.full((n, n_obj), float(z))
    elif z.ndim == 1 and z.shape[0] == n:
        z = np.repeat(z[:, None], n_obj, axis=1)
    elif z.shape != (n, n_obj):
        raise ShapeError(
            f"{owner}: fidelity z must be a scalar, shape ({n},) or ({n}, {n_obj}); got {z.shape}."
        )
    if not np.all(np.isfinite(z)) or (z.size and (z.min() < 0.0 or z.max() > 1.0)):
        raise InputError(f"{owner}: fidelity z must lie in [0, 1] (1 = target fidelity); got {z!r}.")
    return z


def _check_cost_z(z: Any, n_obj: int, owner: str) -> np.ndarray:
    """Fidelity for cost functions, shape ``()``, ``(n,)`` or ``(n, n_obj)`` -> ``(..., n_obj)``."""
    z = np.asarray(z, dtype=np.float64)
    if z.ndim > 2 or (z.ndim == 2 and z.shape[1] != n_obj):
        raise ShapeError(f"{owner}: fidelity z must be a scalar, (n,) or (n, {n_obj}); got {z.shape}.")
    if not np.all(np.isfinite(z)) or (z.size and (z.min() < 0.0 or z.max() > 1.0)):
        raise InputError(f"{owner}: fidelity z must lie in [0, 1]; got {z!r}.")
    return z if z.ndim == 2 else np.repeat(z[..., None], n_obj, axis=-1)


def _normalized_cost(raw: np.ndarray, raw_at_1: np.ndarray, expensive: tuple[bool, ...]) -> np.ndarray:
    mask = np.asarray(expensive)
    return np.sum(raw[..., mask] / raw_at_1[mask], axis=-1)


def _front_2d(F: np.ndarray) -> np.ndarray:
    """Indices of the non-dominated rows of a 2-objective ``F`` (duplicates kept once), by f1."""
    order = np.lexsort((F[:, 1], F[:, 0]))
    f2 = F[order, 1]
    best_before = np.minimum.accumulate(f2)
    keep = np.ones(f2.shape, dtype=bool)
    keep[1:] = f2[1:] < best_before[:-1]
    return order[keep]


def _check_n(n: Any, owner: str, minimum: int = 2) -> int:
    if not isinstance(n, numbers.Integral) or isinstance(n, bool) or n < minimum:
        raise ConfigError(f"{owner}.pareto_front: n must be an integer >= {minimum}; got {n!r}.")
    return int(n)


def non_dominated(F: Any) -> np.ndarray:
    """Mask of the rows of ``F`` that no other row dominates (minimization; duplicates all kept).

    Row ``a`` dominates row ``b`` when ``a <= b`` everywhere and ``a < b`` somewhere.
    ``O(n^2 m)`` time in chunks, fine for ``n`` up to about ``10^4``.

    Args:
        F: Objectives, shape ``(n, m)``.

    Returns:
        Boolean mask, shape ``(n,)``.

    Raises:
        ShapeError: ``F`` is not 2-D.

    Example:
        >>> non_dominated([[0.0, 1.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]]).tolist()
        [True, True, False, True]
    """
    F = np.asarray(F, dtype=np.float64)
    if F.ndim != 2:
        raise ShapeError(f"non_dominated: F must have shape (n, m); got {F.shape}.")
    mask = np.ones(F.shape[0], dtype=bool)
    chunk = max(1, 2_000_000 // max(1, F.shape[0] * F.shape[1]))
    for start in range(0, F.shape[0], chunk):
        b = F[start : start + chunk, None, :]  # (c, 1, m): candidates to be dominated
        le = np.all(F[None, :, :] <= b, axis=2)
        lt = np.any(F[None, :, :] < b, axis=2)
        mask[start : start + chunk] = ~np.any(le & lt, axis=1)
    return mask


def hypervolume(F: Any, *, ideal: Any, nadir: Any, ref_point: Any = DEFAULT_REF_POINT) -> float:
    """Hypervolume of ``F`` after normalization by ``ideal``/``nadir`` (pymoo's ``HV``).

    ``F_n = (F - ideal) / (nadir - ideal)`` puts the true front of a benchmark in ``[0, 1]^m``; the
    reference point is ``ref_point`` in those normalized units (1.1 per objective by default).
    Rows that do not dominate the reference point contribute 0.

    Args:
        F: Objectives (minimized), shape ``(n, m)``; ``n`` may be 0.
        ideal: Shape ``(m,)``.
        nadir: Shape ``(m,)``, ``> ideal`` componentwise.
        ref_point: Scalar or shape ``(m,)``, in normalized units.

    Returns:
        The hypervolume (0.0 when no row dominates the reference point).

    Raises:
        ShapeError: Mismatched shapes.
        InputError: Non-finite ``F`` (filter failed evaluations first) or ``nadir <= ideal``.

    Example:
        >>> round(hypervolume([[0.0, 1.0], [1.0, 0.0]], ideal=[0.0, 0.0], nadir=[1.0, 1.0]), 12)
        0.21
        >>> round(hypervolume([[0.5, 0.5]], ideal=[0, 0], nadir=[1, 1], ref_point=1.0), 12)
        0.25
    """
    from pymoo.indicators.hv import HV

    F = np.asarray(F, dtype=np.float64)
    if F.ndim != 2:
        raise ShapeError(f"hypervolume: F must have shape (n, m); got {F.shape}.")
    m = F.shape[1]
    ideal = np.broadcast_to(np.asarray(ideal, dtype=np.float64), (m,))
    nadir = np.broadcast_to(np.asarray(nadir, dtype=np.float64), (m,))
    ref = np.broadcast_to(np.asarray(ref_point, dtype=np.float64), (m,)).copy()
    if not np.all(np.isfinite(F)):
        raise InputError("hypervolume: F must be finite; drop failed (NaN) evaluations first.")
    if not np.all(nadir > ideal):
        raise InputError(f"hypervolume: nadir must exceed ideal in every objective; got {ideal=}, {nadir=}.")
    if F.shape[0] == 0:
        return 0.0
    Fn = (F - ideal) / (nadir - ideal)
    Fn = Fn[np.all(Fn < ref, axis=1)]
    if Fn.shape[0] == 0:
        return 0.0
    return float(HV(ref_point=ref)(Fn))


def _sphere_orthant_hv(m: int, ref: float = DEFAULT_REF_POINT) -> float:
    """Hypervolume of the unit-sphere orthant front: ``ref^m - V_m / 2^m``."""
    ball = math.pi ** (m / 2) / math.gamma(m / 2 + 1)
    return ref**m - ball / 2**m


# ---- Branin-Currin ---------------------------------------------------------------------------
_BRANIN_MIN = 0.397887357729738  # global minimum of the standard Branin function
# First Branin minimizer (-pi, 12.275), in the unit square; it has the lowest Currin of the three.
_X_BRANIN_MIN = np.array([(5.0 - math.pi) / 15.0, 12.275 / 15.0])
_X_CURRIN_MIN = np.array([0.0, 1.0])  # Currin's unique minimizer on [0, 1]^2: 3 (1 - e^-1/2)


def _branin(X: np.ndarray, z: np.ndarray) -> np.ndarray:
    u = 15.0 * X[:, 0] - 5.0
    v = 15.0 * X[:, 1]
    b = 5.1 / (4.0 * math.pi**2) - 0.01 * (1.0 - z)
    c = 5.0 / math.pi - 0.1 * (1.0 - z)
    t = 1.0 / (8.0 * math.pi) + 0.05 * (1.0 - z)
    return (v - b * u**2 + c * u - 6.0) ** 2 + 10.0 * (1.0 - t) * np.cos(u) + 10.0


def _currin(X: np.ndarray, z: np.ndarray) -> np.ndarray:
    x0, x1 = X[:, 0], X[:, 1]
    positive = x1 > 0.0
    decay = np.where(positive, np.exp(-0.5 / np.where(positive, x1, 1.0)), 0.0)  # limit 0 at x1 = 0
    ratio = (2300.0 * x0**3 + 1900.0 * x0**2 + 2092.0 * x0 + 60.0) / (
        100.0 * x0**3 + 500.0 * x0**2 + 4.0 * x0 + 20.0
    )
    return (1.0 - 0.1 * (1.0 - z) - decay) * ratio


def _branin_currin_F(X: np.ndarray) -> np.ndarray:
    one = np.ones(X.shape[0])
    return np.stack([_branin(X, one), _currin(X, one)], axis=1)


@functools.cache
def _branin_currin_front() -> np.ndarray:
    """Dense front at z = 1 by a refined grid (see :meth:`BraninCurrin.pareto_front`)."""
    n, refinements = 201, (8, 8)
    g = np.linspace(0.0, 1.0, n)
    X = np.stack(np.meshgrid(g, g, indexing="ij"), axis=-1).reshape(-1, 2)
    X = np.vstack([X, _X_BRANIN_MIN, _X_CURRIN_MIN])
    F = _branin_currin_F(X)
    keep = _front_2d(F)
    X, h = X[keep], 1.0 / (n - 1)
    for k in refinements:
        offsets = np.linspace(-h, h, 2 * k + 1)
        steps = np.stack(np.meshgrid(offsets, offsets, indexing="ij"), axis=-1).reshape(-1, 2)
        X = np.unique(np.clip((X[:, None, :] + steps[None]).reshape(-1, 2), 0.0, 1.0), axis=0)
        X = np.vstack([X, _X_BRANIN_MIN, _X_CURRIN_MIN])
        F = _branin_currin_F(X)
        keep = _front_2d(F)
        X, h = X[keep], h / k
    F = _branin_currin_F(X)
    # The three Branin minimizers tie in f1 up to rounding; grid points near the other two can win
    # the tie by an ulp and look non-dominated. The analytic extremes bound the true front.
    ext = _branin_currin_F(np.stack([_X_BRANIN_MIN, _X_CURRIN_MIN]))
    lo, hi = np.array([ext[0, 0], ext[1, 1]]), np.array([ext[1, 0], ext[0, 1]])
    tol = 1e-9 * (hi - lo)
    F = F[np.all((F >= lo - tol) & (F <= hi + tol), axis=1)]
    F = F[np.argsort(F[:, 0])]
    F.setflags(write=False)
    return F


def _thin_by_arc_length(F: np.ndarray, n: int, ideal: np.ndarray, nadir: np.ndarray) -> np.ndarray:
    """``n`` rows of a sorted 2-D front, evenly spaced in normalized arc length, ends included."""
    if n >= F.shape[0]:
        return F.copy()
    Fn = (F - ideal) / (nadir - ideal)
    s = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(Fn, axis=0), axis=1))])
    idx = np.unique(np.searchsorted(s, np.linspace(0.0, s[-1], n)).clip(0, F.shape[0] - 1))
    return F[idx].copy()


@dataclass(frozen=True, slots=True, kw_only=True)
class BraninCurrin:
    """The fidelity-perturbed Branin-Currin pair of iMOCA, minimized on ``[0, 1]^2``.

    With ``u = 15 x_0 - 5``, ``v = 15 x_1`` (the standard Branin domain ``[-5, 10] x [0, 15]``)
    and fidelity ``z`` (per objective when given as ``(n, 2)``), exactly as iMOCA's
    ``cmfbranin``/``cmfCurrin`` (which return the negatives, as iMOCA maximizes)::

        f_0 = (v - b(z) u^2 + c(z) u - 6)^2 + 10 (1 - t(z)) cos(u) + 10
              b(z) = 5.1 / (4 pi^2) - 0.01 (1 - z)
              c(z) = 5 / pi - 0.1 (1 - z)
              t(z) = 1 / (8 pi) + 0.05 (1 - z)
        f_1 = (1 - 0.1 (1 - z) - exp(-1 / (2 x_1)))
              * (2300 x_0^3 + 1900 x_0^2 + 2092 x_0 + 60) / (100 x_0^3 + 500 x_0^2 + 4 x_0 + 20)

    (``exp(-1/(2 x_1))`` is taken as its limit 0 at ``x_1 = 0``; iMOCA substitutes ``1e-100``.)
    At ``z = 1`` these are the standard Branin and Currin functions (BoTorch's ``BraninCurrin``).
    iMOCA's fidelity grid is ``z = (k + 1) / 20``, ``k = 0..19``; here ``z`` is continuous.
    BoTorch's ``MOMFBraninCurrin`` uses another Currin perturbation and rescales; not used here.

    Costs (iMOCA ``main.py``): ``c_0(z) = 0.05 + z^6.5``, ``c_1(z) = 0.05 + z^2``; an
    evaluation costs ``c_0(z_0) / c_0(1) + c_1(z_1) / c_1(1)`` (2 at full fidelity).

    Front at ``z = 1``: from the Branin minimizer ``(-pi, 12.275)`` (``f_0 = 0.397887``,
    ``f_1 = 5.68614``) to the Currin minimizer ``x = (0, 1)`` (``f_0 = 17.5083``,
    ``f_1 = 3 (1 - e^{-1/2}) = 1.18041``); these give ``ideal`` and ``nadir``.

    Example:
        >>> p = BraninCurrin()
        >>> F = p.evaluate([[(5 - np.pi) / 15, 12.275 / 15]])
        >>> round(float(F[0, 0]), 6)
        0.397887
        >>> p.cost(1.0).item(), round(p.cost(0.0).item(), 4)
        (2.0, 0.0952)
    """

    @property
    def name(self) -> str:
        """``"branin_currin"``."""
        return "branin_currin"

    @property
    def n_var(self) -> int:
        """2."""
        return 2

    @property
    def n_obj(self) -> int:
        """2."""
        return 2

    @property
    def expensive(self) -> tuple[bool, ...]:
        """Both objectives depend on ``z``."""
        return (True, True)

    @property
    def objective_names(self) -> tuple[str, ...]:
        """``("branin", "currin")``."""
        return ("branin", "currin")

    @property
    def ideal(self) -> np.ndarray:
        """``(f_0, f_1)`` minima on the front, shape ``(2,)``: Branin min, Currin at ``(0, 1)``."""
        ext = _branin_currin_F(np.stack([_X_BRANIN_MIN, _X_CURRIN_MIN]))
        return np.array([ext[0, 0], ext[1, 1]])

    @property
    def nadir(self) -> np.ndarray:
        """``(f_0, f_1)`` maxima on the front, shape ``(2,)``: Branin at ``(0, 1)``, Currin at the
        Branin minimizer."""
        ext = _branin_currin_F(np.stack([_X_BRANIN_MIN, _X_CURRIN_MIN]))
        return np.array([ext[1, 0], ext[0, 1]])

    @property
    def max_hypervolume(self) -> float:
        """Hypervolume of the dense grid front (reference 1.1): 0.87992, which is within 3e-4
        (relative) of the continuous front's (about 0.8802, by grid extrapolation)."""
        return _branin_currin_max_hv()

    def evaluate(self, X: Any, z: Any = 1.0) -> np.ndarray:
        """Branin and Currin at fidelity ``z``.

        Args:
            X: Shape ``(n, 2)`` or ``(2,)``, in ``[0, 1]^2``.
            z: Fidelity in ``[0, 1]``: scalar, ``(n,)`` or ``(n, 2)`` (one per objective).

        Returns:
            ``F`` of shape ``(n, 2)`` (``(2,)`` for 1-D ``X``).

        Raises:
            ShapeError: Wrong shapes.
            InputError: ``X`` or ``z`` outside ``[0, 1]``.

        Example:
            >>> BraninCurrin().evaluate([0.0, 1.0], z=1.0).round(4).tolist()
            [17.5083, 1.1804]
        """
        X, single = _check_X(X, 2, "BraninCurrin")
        Z = _check_z(z, X.shape[0], 2, "BraninCurrin")
        F = np.stack([_branin(X, Z[:, 0]), _currin(X, Z[:, 1])], axis=1)
        return F[0] if single else F

    def objective_costs(self, z: Any) -> np.ndarray:
        """Raw iMOCA costs ``(0.05 + z^6.5, 0.05 + z^2)``.

        Args:
            z: Scalar, ``(n,)`` or ``(n, 2)``, in ``[0, 1]``.

        Returns:
            Shape ``z.shape + (2,)`` (``(n, 2)`` for ``(n, 2)`` input).

        Example:
            >>> BraninCurrin().objective_costs(1.0).tolist()
            [1.05, 1.05]
        """
        Z = _check_cost_z(z, 2, "BraninCurrin.objective_costs")
        return np.stack([0.05 + Z[..., 0] ** 6.5, 0.05 + Z[..., 1] ** 2], axis=-1)

    def cost(self, z: Any) -> np.ndarray:
        """Normalized cost of one evaluation, ``sum_j c_j(z_j) / c_j(1)``.

        Args:
            z: Scalar, ``(n,)`` or ``(n, 2)``, in ``[0, 1]``.

        Returns:
            Shape ``()`` for a scalar, else ``(n,)``.

        Example:
            >>> BraninCurrin().cost([0.5, 1.0]).round(4).tolist()
            [0.3439, 2.0]
        """
        return _normalized_cost(self.objective_costs(z), self.objective_costs(1.0), self.expensive)

    def pareto_front(self, n: int = 1000) -> np.ndarray:
        """Sample of the true front at ``z = 1``, sorted by ``f_0``.

        Computed once by a refined grid: a ``201 x 201`` grid of ``[0, 1]^2`` plus the analytic
        extreme points; its non-dominated points, then twice a local ``17 x 17`` grid spanning
        one cell around every non-dominated point (8x finer each time; final spacing
        ``1/12800``), keeping the non-dominated points; points outside the analytic
        ``[ideal, nadir]`` box (rounding ties among the three Branin minimizers) are dropped. This
        dense front has about 23,000 points; ``n`` of them are returned, evenly spaced in arc
        length of the normalized front, both ends included.

        Args:
            n: Number of points (>= 2); all dense points when ``n`` exceeds their number.

        Returns:
            Shape ``(k, 2)``, ``k = min(n, dense size)``.

        Raises:
            ConfigError: ``n < 2``.

        Example:
            >>> BraninCurrin().pareto_front(5).shape
            (5, 2)
        """
        n = _check_n(n, "BraninCurrin")
        return _thin_by_arc_length(_branin_currin_front(), n, self.ideal, self.nadir)


@functools.cache
def _branin_currin_max_hv() -> float:
    p = BraninCurrin()
    return hypervolume(_branin_currin_front(), ideal=p.ideal, nadir=p.nadir)


# ---- ZDT1 with a cheap f1 ---------------------------------------------------------------------
@dataclass(frozen=True, slots=True, kw_only=True)
class ZDT1MF:
    """ZDT1 with an exact, cheap ``f_0 = x_0`` and an expensive, fidelity-perturbed ``f_1``.

    ::

        g     = 1 + 9 / (d - 1) * sum_{i >= 1} x_i
        f_0   = x_0                                                    (cheap, exact)
        f_1   = g (1 - sqrt(x_0 / g)) + (1 - z) (0.5 (1 - x_0) + 0.25 sin^2(2 pi x_1))

    The perturbation is ``>= 0`` and vanishes at ``z = 1`` (so low fidelity bounds ``f_1`` from
    above, as few training epochs bound the error) and tilts the low-fidelity front. Cost:
    ``c_1(z) = 0.05 + z^2`` (iMOCA's Currin cost), normalized ``c_1(z) / c_1(1)``; ``f_0`` is free.
    Front at ``z = 1``: ``f_1 = 1 - sqrt(f_0)``, ``f_0`` in ``[0, 1]`` (``x_i = 0`` for ``i >= 1``).

    Example:
        >>> p = ZDT1MF(n_var=4)
        >>> p.evaluate([0.25, 0.0, 0.0, 0.0]).tolist()
        [0.25, 0.5]
        >>> p.evaluate([0.25, 0.0, 0.0, 0.0], z=0.0).tolist()
        [0.25, 0.875]
    """

    n_var: int = 6
    """Number of variables ``d`` (>= 2)."""

    def __post_init__(self) -> None:
        if not isinstance(self.n_var, numbers.Integral) or isinstance(self.n_var, bool) or self.n_var < 2:
            raise ConfigError(f"ZDT1MF.n_var must be an integer >= 2; got {self.n_var!r}.")
        object.__setattr__(self, "n_var", int(self.n_var))

    @property
    def name(self) -> str:
        """``"zdt1_mf"``."""
        return "zdt1_mf"

    @property
    def n_obj(self) -> int:
        """2."""
        return 2

    @property
    def expensive(self) -> tuple[bool, ...]:
        """``f_0`` is cheap and exact; ``f_1`` depends on ``z``."""
        return (False, True)

    @property
    def objective_names(self) -> tuple[str, ...]:
        """``("f0", "f1")``."""
        return ("f0", "f1")

    @property
    def ideal(self) -> np.ndarray:
        """``(0, 0)``."""
        return np.zeros(2)

    @property
    def nadir(self) -> np.ndarray:
        """``(1, 1)``."""
        return np.ones(2)

    @property
    def max_hypervolume(self) -> float:
        """``1.1^2 - 1/3`` (reference 1.1; the area under ``1 - sqrt(f)`` is 1/3)."""
        return DEFAULT_REF_POINT**2 - 1.0 / 3.0

    def evaluate(self, X: Any, z: Any = 1.0) -> np.ndarray:
        """Objectives at fidelity ``z``.

        Args:
            X: Shape ``(n, d)`` or ``(d,)``, in ``[0, 1]^d``.
            z: Fidelity in ``[0, 1]``: scalar, ``(n,)`` or ``(n, 2)`` (column 0 is ignored).

        Returns:
            ``F`` of shape ``(n, 2)`` (``(2,)`` for 1-D ``X``).

        Raises:
            ShapeError: Wrong shapes.
            InputError: ``X`` or ``z`` outside ``[0, 1]``.

        Example:
            >>> ZDT1MF(n_var=2).evaluate([[1.0, 0.0]]).tolist()
            [[1.0, 0.0]]
        """
        X, single = _check_X(X, self.n_var, "ZDT1MF")
        Z = _check_z(z, X.shape[0], 2, "ZDT1MF")
        x0, x1 = X[:, 0], X[:, 1]
        g = 1.0 + 9.0 / (self.n_var - 1) * X[:, 1:].sum(axis=1)
        f1 = g * (1.0 - np.sqrt(x0 / g))
        f1 = f1 + (1.0 - Z[:, 1]) * (0.5 * (1.0 - x0) + 0.25 * np.sin(2.0 * math.pi * x1) ** 2)
        F = np.stack([x0, f1], axis=1)
        return F[0] if single else F

    def objective_costs(self, z: Any) -> np.ndarray:
        """Raw costs ``(0, 0.05 + z^2)``.

        Args:
            z: Scalar, ``(n,)`` or ``(n, 2)``, in ``[0, 1]``.

        Returns:
            Shape ``z.shape + (2,)`` (``(n, 2)`` for ``(n, 2)`` input).

        Example:
            >>> ZDT1MF().objective_costs(0.5).tolist()
            [0.0, 0.3]
        """
        Z = _check_cost_z(z, 2, "ZDT1MF.objective_costs")
        return np.stack([np.zeros_like(Z[..., 0]), 0.05 + Z[..., 1] ** 2], axis=-1)

    def cost(self, z: Any) -> np.ndarray:
        """Normalized cost of one evaluation, ``c_1(z) / c_1(1)``.

        Args:
            z: Scalar, ``(n,)`` or ``(n, 2)``, in ``[0, 1]``.

        Returns:
            Shape ``()`` for a scalar, else ``(n,)``.

        Example:
            >>> ZDT1MF().cost(1.0).item()
            1.0
        """
        return _normalized_cost(self.objective_costs(z), self.objective_costs(1.0), self.expensive)

    def pareto_front(self, n: int = 1000) -> np.ndarray:
        """``n`` points of ``f_1 = 1 - sqrt(f_0)``, ``f_0`` evenly spaced in ``[0, 1]``.

        Args:
            n: Number of points (>= 2).

        Returns:
            Shape ``(n, 2)``.

        Raises:
            ConfigError: ``n < 2``.

        Example:
            >>> ZDT1MF().pareto_front(3).tolist()
            [[0.0, 1.0], [0.5, 0.2928932188134524], [1.0, 0.0]]
        """
        f0 = np.linspace(0.0, 1.0, _check_n(n, "ZDT1MF"))
        return np.stack([f0, 1.0 - np.sqrt(f0)], axis=1)


# ---- DTLZ2 with one expensive error objective and cheap cost objectives ------------------------
@dataclass(frozen=True, slots=True, kw_only=True)
class AccuracyCostDTLZ2:
    """The ReRAM search in miniature: an expensive "error" objective and cheap exact "costs".

    Variables: ``n_obj - 1`` position variables ``p`` (think crossbar size, cell and ADC bits:
    they set both the hardware cost and the error) and ``n_distance`` variables ``q`` (think
    temperature or training settings: they only change the error). With ``a_i = pi p_i / 2``,
    ``g = sum_i (q_i - 1/2)^2`` and ``m = n_obj``::

        f_0 (error) = (1 + g) (prod_{i < m-1} cos a_i + (1 - z) (0.3 + 0.4 mean(p)))
        f_j (cost)  = prod_{i < m-1-j} cos a_i * sin a_{m-1-j},   j = 1 .. m-1   (cheap, exact)

    At ``z = 1`` ``f_0`` is DTLZ2's first objective; the costs are DTLZ2's other objectives
    without the ``(1 + g)`` factor. The perturbation is ``>= 0`` and decreasing in ``z``: the
    low-fidelity error is an upper bound, as accuracy after few epochs is a lower bound of the
    final accuracy (the CF-MESMO assumption), and it is design dependent (``mean(p)``), so that
    low fidelity mis-ranks designs. Cost: ``c_0(z) = 0.05 + z`` (proportional to epochs, plus a
    fixed evaluation overhead), normalized ``c_0(z) / c_0(1)``; the costs are free.

    Front at ``z = 1``: the unit-sphere orthant ``sum_j f_j^2 = 1``, ``f >= 0`` (reached at
    ``q = 1/2``; for any ``p`` a larger ``g`` only raises the error), so ``ideal = 0``,
    ``nadir = 1``.

    Example:
        >>> p = AccuracyCostDTLZ2(n_obj=3, n_distance=2)
        >>> p.n_var, p.expensive
        (4, (True, False, False))
        >>> F = p.evaluate([0.5, 0.5, 0.5, 0.5])
        >>> round(float(np.sum(F**2)), 12)
        1.0
    """

    n_obj: int = 4
    """Number of objectives ``m`` (2-6): one error and ``m - 1`` costs."""
    n_distance: int = 3
    """Number of error-only variables ``q`` (>= 1)."""

    def __post_init__(self) -> None:
        for name, lo, hi in (("n_obj", 2, 6), ("n_distance", 1, None)):
            v = getattr(self, name)
            if not isinstance(v, numbers.Integral) or isinstance(v, bool) or v < lo or (hi and v > hi):
                rng = f"[{lo}, {hi}]" if hi else f">= {lo}"
                raise ConfigError(f"AccuracyCostDTLZ2.{name} must be an integer {rng}; got {v!r}.")
            object.__setattr__(self, name, int(v))

    @property
    def name(self) -> str:
        """``"dtlz2_accuracy_cost"``."""
        return "dtlz2_accuracy_cost"

    @property
    def n_var(self) -> int:
        """``n_obj - 1 + n_distance``."""
        return self.n_obj - 1 + self.n_distance

    @property
    def expensive(self) -> tuple[bool, ...]:
        """Only the error (objective 0) depends on ``z``."""
        return (True,) + (False,) * (self.n_obj - 1)

    @property
    def objective_names(self) -> tuple[str, ...]:
        """``("error", "cost_1", ..., "cost_{m-1}")``."""
        return ("error",) + tuple(f"cost_{j}" for j in range(1, self.n_obj))

    @property
    def ideal(self) -> np.ndarray:
        """Zeros, shape ``(m,)``."""
        return np.zeros(self.n_obj)

    @property
    def nadir(self) -> np.ndarray:
        """Ones, shape ``(m,)``."""
        return np.ones(self.n_obj)

    @property
    def max_hypervolume(self) -> float:
        """``1.1^m - V_m / 2^m``, ``V_m = pi^(m/2) / Gamma(m/2 + 1)`` the unit-ball volume."""
        return _sphere_orthant_hv(self.n_obj)

    def evaluate(self, X: Any, z: Any = 1.0) -> np.ndarray:
        """Objectives at fidelity ``z``.

        Args:
            X: Shape ``(n, d)`` or ``(d,)``, in ``[0, 1]^d``.
            z: Fidelity in ``[0, 1]``: scalar, ``(n,)`` or ``(n, m)`` (only column 0 is used).

        Returns:
            ``F`` of shape ``(n, m)`` (``(m,)`` for 1-D ``X``).

        Raises:
            ShapeError: Wrong shapes.
            InputError: ``X`` or ``z`` outside ``[0, 1]``.

        Example:
            >>> AccuracyCostDTLZ2(n_obj=2, n_distance=1).evaluate([[0.0, 0.5]], z=0.0).tolist()
            [[1.3, 0.0]]
        """
        m = self.n_obj
        X, single = _check_X(X, self.n_var, "AccuracyCostDTLZ2")
        Z = _check_z(z, X.shape[0], m, "AccuracyCostDTLZ2")
        p, q = X[:, : m - 1], X[:, m - 1 :]
        a = 0.5 * math.pi * p
        g = np.sum((q - 0.5) ** 2, axis=1)
        cos_cum = np.cumprod(np.concatenate([np.ones((X.shape[0], 1)), np.cos(a)], axis=1), axis=1)
        F = np.empty((X.shape[0], m))
        F[:, 0] = (1.0 + g) * (cos_cum[:, m - 1] + (1.0 - Z[:, 0]) * (0.3 + 0.4 * p.mean(axis=1)))
        for j in range(1, m):
            F[:, j] = cos_cum[:, m - 1 - j] * np.sin(a[:, m - 1 - j])
        return F[0] if single else F

    def objective_costs(self, z: Any) -> np.ndarray:
        """Raw costs ``(0.05 + z, 0, ..., 0)``.

        Args:
            z: Scalar, ``(n,)`` or ``(n, m)``, in ``[0, 1]``.

        Returns:
            Shape ``z.shape + (m,)`` (``(n, m)`` for ``(n, m)`` input).

        Example:
            >>> AccuracyCostDTLZ2(n_obj=2).objective_costs(0.5).tolist()
            [0.55, 0.0]
        """
        Z = _check_cost_z(z, self.n_obj, "AccuracyCostDTLZ2.objective_costs")
        out = np.zeros_like(Z)
        out[..., 0] = 0.05 + Z[..., 0]
        return out

    def cost(self, z: Any) -> np.ndarray:
        """Normalized cost of one evaluation, ``c_0(z) / c_0(1)``.

        Args:
            z: Scalar, ``(n,)`` or ``(n, m)``, in ``[0, 1]``.

        Returns:
            Shape ``()`` for a scalar, else ``(n,)``.

        Example:
            >>> AccuracyCostDTLZ2().cost([0.0, 1.0]).round(4).tolist()
            [0.0476, 1.0]
        """
        return _normalized_cost(self.objective_costs(z), self.objective_costs(1.0), self.expensive)

    def pareto_front(self, n: int = 1000) -> np.ndarray:
        """Points of the unit-sphere orthant: Das-Dennis directions projected onto the sphere.

        Uses the fewest partitions ``h`` with ``C(h + m - 1, m - 1) >= n`` (so at least ``n``
        points; exactly ``n`` for ``m = 2``).

        Args:
            n: Minimum number of points (>= 2).

        Returns:
            Shape ``(k, m)``, ``k >= n``, rows of unit norm.

        Raises:
            ConfigError: ``n < 2``.

        Example:
            >>> AccuracyCostDTLZ2(n_obj=3).pareto_front(10).shape
            (10, 3)
        """
        from pymoo.util.ref_dirs import get_reference_directions

        n, m = _check_n(n, "AccuracyCostDTLZ2"), self.n_obj
        h = 1
        while math.comb(h + m - 1, m - 1) < n:
            h += 1
        W = get_reference_directions("das-dennis", m, n_partitions=h)
        return W / np.linalg.norm(W, axis=1, keepdims=True)


BENCHMARKS: dict[str, type] = {
    "branin_currin": BraninCurrin,
    "zdt1_mf": ZDT1MF,
    "dtlz2_accuracy_cost": AccuracyCostDTLZ2,
}
"""Registry: name -> problem class (construct with the class's keyword fields)."""

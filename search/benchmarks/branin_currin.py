"""Branin-Currin with iMOCA's fidelity perturbation (:class:`BraninCurrin`) and its dense front."""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from search.benchmarks._base import _BenchmarkBase, _check_cost_z, _check_n, _check_X, _check_z, hypervolume

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


def _front_2d(F: np.ndarray) -> np.ndarray:
    """Indices of the non-dominated rows of a 2-objective ``F`` (duplicates kept once), by f1."""
    order = np.lexsort((F[:, 1], F[:, 0]))
    f2 = F[order, 1]
    best_before = np.minimum.accumulate(f2)
    keep = np.ones(f2.shape, dtype=bool)
    keep[1:] = f2[1:] < best_before[:-1]
    return order[keep]


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
class BraninCurrin(_BenchmarkBase):
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
        >>> p.cost([0.5, 1.0]).round(4).tolist()
        [0.3439, 2.0]
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

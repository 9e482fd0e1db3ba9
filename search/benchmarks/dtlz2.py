"""DTLZ2 with one expensive "error" objective and cheap exact "cost" objectives (:class:`AccuracyCostDTLZ2`)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from search.benchmarks._base import (
    DEFAULT_REF_POINT,
    _BenchmarkBase,
    _check_cost_z,
    _check_int,
    _check_n,
    _check_X,
    _check_z,
)


def _sphere_orthant_hv(m: int, ref: float = DEFAULT_REF_POINT) -> float:
    """Hypervolume of the unit-sphere orthant front: ``ref^m - V_m / 2^m``."""
    ball = math.pi ** (m / 2) / math.gamma(m / 2 + 1)
    return ref**m - ball / 2**m


@dataclass(frozen=True, slots=True, kw_only=True)
class AccuracyCostDTLZ2(_BenchmarkBase):
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
        >>> AccuracyCostDTLZ2().cost([0.0, 1.0]).round(4).tolist()
        [0.0476, 1.0]
    """

    n_obj: int = 4
    """Number of objectives ``m`` (2-6): one error and ``m - 1`` costs."""
    n_distance: int = 3
    """Number of error-only variables ``q`` (>= 1)."""

    def __post_init__(self) -> None:
        for name, lo, hi in (("n_obj", 2, 6), ("n_distance", 1, None)):
            object.__setattr__(self, name, _check_int(f"AccuracyCostDTLZ2.{name}", getattr(self, name), lo, hi))

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

    def pareto_set_distance(self, X: Any) -> np.ndarray:
        """Euclidean distance of designs to the Pareto set at ``z = 1``: ``||q - 1/2||``.

        The set is ``{q = 1/2}`` (any ``p``): moving ``q`` to ``1/2`` keeps every cost and lowers
        the error by the factor ``1 / (1 + g)`` (strictly, unless the error is 0: at ``p_i = 1``
        for some ``i < m - 1`` every ``q`` gives error 0, and the value is then an upper bound).

        Args:
            X: Shape ``(n, d)`` or ``(d,)``, in ``[0, 1]^d``.

        Returns:
            Shape ``(n,)`` (``()`` for 1-D ``X``).

        Example:
            >>> AccuracyCostDTLZ2(n_obj=2, n_distance=2).pareto_set_distance([0.3, 0.5, 0.9]).round(6).item()
            0.4
        """
        X, single = _check_X(X, self.n_var, "AccuracyCostDTLZ2")
        d = np.linalg.norm(X[:, self.n_obj - 1 :] - 0.5, axis=1)
        return d[0] if single else d

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

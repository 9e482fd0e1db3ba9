"""ZDT1 with an exact cheap ``f_0`` and a fidelity-perturbed ``f_1`` (:class:`ZDT1MF`)."""

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


@dataclass(frozen=True, slots=True, kw_only=True)
class ZDT1MF(_BenchmarkBase):
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
        >>> p.cost(1.0).item()
        1.0
    """

    n_var: int = 6
    """Number of variables ``d`` (>= 2)."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "n_var", _check_int("ZDT1MF.n_var", self.n_var, 2))

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

    def pareto_set_distance(self, X: Any) -> np.ndarray:
        """Euclidean distance of designs to the Pareto set at ``z = 1``: ``||x_{1:}||``.

        The set is ``{x_i = 0 for i >= 1}`` (any ``x_0``): there ``g = 1``, its minimum, and ``f_0``
        does not change.

        Args:
            X: Shape ``(n, d)`` or ``(d,)``, in ``[0, 1]^d``.

        Returns:
            Shape ``(n,)`` (``()`` for 1-D ``X``).

        Example:
            >>> ZDT1MF(n_var=3).pareto_set_distance([0.7, 0.3, 0.4]).round(6).item()
            0.5
        """
        X, single = _check_X(X, self.n_var, "ZDT1MF")
        d = np.linalg.norm(X[:, 1:], axis=1)
        return d[0] if single else d

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

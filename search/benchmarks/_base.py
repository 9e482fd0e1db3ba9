"""Shared parts of :mod:`search.benchmarks`: the problem protocol, a base class with the common
cost normalization, input checks, and the :func:`hypervolume` and :func:`non_dominated` helpers."""

from __future__ import annotations

import numbers
from typing import Any, Protocol

import numpy as np

from crossbar.errors import ConfigError, InputError, ShapeError

DEFAULT_REF_POINT = 1.1
"""Reference point of :func:`hypervolume`, per normalized objective."""


class MultiFidelityBenchmark(Protocol):
    """What every synthetic problem provides (see :mod:`search.benchmarks` for the conventions)."""

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


class _BenchmarkBase:
    """Base of the problem classes: the cost normalization they share (see :mod:`search.benchmarks`).

    A subclass provides ``expensive`` and ``objective_costs``. ``__slots__ = ()``, so the frozen,
    slotted dataclass problems still have no instance ``__dict__``.
    """

    __slots__ = ()

    def cost(self, z: Any) -> np.ndarray:
        """Normalized cost of one evaluation, ``sum_j c_j(z_j) / c_j(1)`` over the expensive objectives.

        Args:
            z: Scalar, ``(n,)`` or ``(n, m)``, in ``[0, 1]``.

        Returns:
            Shape ``()`` for a scalar, else ``(n,)``.
        """
        raw, raw_at_1 = self.objective_costs(z), self.objective_costs(1.0)
        mask = np.asarray(self.expensive)
        return np.sum(raw[..., mask] / raw_at_1[mask], axis=-1)


# ---- input checks -----------------------------------------------------------------------------
def _check_int(what: str, v: Any, lo: int, hi: int | None = None) -> int:
    """``int(v)`` for an integer (not a bool) in ``[lo, hi]``, else :class:`ConfigError` naming ``what``."""
    if not isinstance(v, numbers.Integral) or isinstance(v, bool) or v < lo or (hi is not None and v > hi):
        rng = f"[{lo}, {hi}]" if hi is not None else f">= {lo}"
        raise ConfigError(f"{what} must be an integer {rng}; got {v!r}.")
    return int(v)


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


def _check_n(n: Any, owner: str, minimum: int = 2) -> int:
    return _check_int(f"{owner}.pareto_front: n", n, minimum)


# ---- indicators --------------------------------------------------------------------------------
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

"""pymoo ``Problem`` adapters: a :class:`~search.space.DesignSpace` with an objective, and the benchmarks.

Both adapters expose the unit cube ``[0, 1]^d`` (``xl = 0``, ``xu = 1``) to pymoo, so any pymoo
algorithm (NSGA-II, NSGA-III, ...) runs on them unchanged; objectives are minimized (negate
accuracy). Evaluation is vectorized: pymoo hands ``_evaluate`` the whole population ``X`` of shape
``(n, d)`` and receives ``F`` of shape ``(n, m)``.

Discrete variables decode by bin (see :mod:`search.space`), so many ``X`` are the same design;
pass :class:`SnapRepair` as the algorithm's ``repair`` to keep every individual at its canonical
encoding (then pymoo's duplicate elimination removes repeated designs).

Example:
    >>> from pymoo.algorithms.moo.nsga2 import NSGA2
    >>> from pymoo.optimize import minimize
    >>> from search.benchmarks import BraninCurrin
    >>> res = minimize(BenchmarkProblem(BraninCurrin()), NSGA2(pop_size=20), ("n_gen", 5), seed=1)
    >>> res.F.shape[1]
    2

References:
    pymoo 0.6 (Blank & Deb, IEEE Access 2020): ``pymoo.core.problem.Problem``,
    ``pymoo.core.repair.Repair``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

import numpy as np
from pymoo.core.problem import Problem
from pymoo.core.repair import Repair

from crossbar.errors import ConfigError, ShapeError
from search.benchmarks import MultiFidelityBenchmark
from search.space import DesignSpace

__all__ = ["BenchmarkProblem", "DesignProblem", "SnapRepair"]

Inputs = Literal["X", "designs", "configs"]
_INPUTS = ("X", "designs", "configs")


class DesignProblem(Problem):
    """A :class:`DesignSpace` and a vectorized objective at a fixed fidelity, as a pymoo problem.

    The objective receives the whole population at once, in the form chosen by ``inputs``:

    * ``"X"``: the snapped unit-cube points, shape ``(n, d)`` (see :meth:`DesignSpace.snap`);
    * ``"designs"``: a list of ``n`` designs (dicts name -> value);
    * ``"configs"``: a list of ``n`` :class:`~crossbar.config.CrossbarConfig` (via
      :meth:`DesignSpace.to_config`).

    It returns ``F`` of shape ``(n, n_obj)`` to be minimized. Bind the fidelity and any data into
    the callable (``functools.partial``); the adapter never changes it.

    Args:
        space: The design space (``n_var = space.n_var``).
        objective: ``objective(X | designs | configs) -> F``, shape ``(n, n_obj)``.
        n_obj: Number of objectives ``m`` (>= 1).
        inputs: What ``objective`` receives: ``"X"``, ``"designs"`` or ``"configs"``.

    Raises:
        ConfigError: Bad ``space``, ``objective``, ``n_obj`` or ``inputs``.

    Example:
        >>> from search.space import Choice, DesignSpace, IntegerRange
        >>> space = DesignSpace(
        ...     (IntegerRange("adc_bits", low=3, high=10), Choice("cell_bits", values=(1, 2, 4))))
        >>> def f(configs):  # minimize ADC bits and (negated) cell bits
        ...     return np.array([[c.adc_bits, -c.cell_bits] for c in configs], dtype=float)
        >>> problem = DesignProblem(space, f, n_obj=2, inputs="configs")
        >>> problem.evaluate(np.array([[0.0, 1.0], [1.0, 0.0]])).tolist()
        [[3.0, -4.0], [10.0, -1.0]]
    """

    def __init__(
        self,
        space: DesignSpace,
        objective: Callable[[Any], Any],
        *,
        n_obj: int,
        inputs: Inputs = "designs",
    ) -> None:
        if not isinstance(space, DesignSpace):
            raise ConfigError(f"DesignProblem.space must be a DesignSpace; got {type(space).__name__}.")
        if not callable(objective):
            raise ConfigError(f"DesignProblem.objective must be callable; got {objective!r}.")
        if not isinstance(n_obj, int) or isinstance(n_obj, bool) or n_obj < 1:
            raise ConfigError(f"DesignProblem.n_obj must be an integer >= 1; got {n_obj!r}.")
        if inputs not in _INPUTS:
            raise ConfigError(f"DesignProblem.inputs must be one of {list(_INPUTS)}; got {inputs!r}.")
        super().__init__(n_var=space.n_var, n_obj=n_obj, xl=0.0, xu=1.0)
        self.space = space
        self.objective = objective
        self.inputs = inputs

    def _evaluate(self, x: np.ndarray, out: dict[str, Any], *args: Any, **kwargs: Any) -> None:
        X = self.space.snap(x)
        if self.inputs == "X":
            arg: Any = X
        else:
            designs = self.space.decode(X)
            arg = designs if self.inputs == "designs" else [self.space.to_config(d) for d in designs]
        out["F"] = _check_F(self.objective(arg), X.shape[0], self.n_obj, "DesignProblem.objective")


class BenchmarkProblem(Problem):
    """A synthetic :mod:`search.benchmarks` problem at a fixed fidelity (default ``z = 1``).

    ``pareto_front()`` returns the benchmark's true front (at ``z = 1``), so pymoo's indicators
    and plots can use it.

    Args:
        benchmark: Any :class:`~search.benchmarks.MultiFidelityBenchmark`.
        fidelity: ``z`` in ``[0, 1]`` used for every evaluation.

    Raises:
        ConfigError: ``fidelity`` outside ``[0, 1]``.

    Example:
        >>> from search.benchmarks import ZDT1MF
        >>> problem = BenchmarkProblem(ZDT1MF(n_var=3))
        >>> problem.evaluate(np.array([[0.25, 0.0, 0.0]])).tolist()
        [[0.25, 0.5]]
        >>> problem.pareto_front(3).shape
        (3, 2)
    """

    def __init__(self, benchmark: MultiFidelityBenchmark, *, fidelity: float = 1.0) -> None:
        try:
            z = float(fidelity)
        except (TypeError, ValueError):
            z = float("nan")
        if not 0.0 <= z <= 1.0:
            raise ConfigError(
                f"BenchmarkProblem.fidelity must be a number in [0, 1] (1 = target); got {fidelity!r}."
            )
        super().__init__(n_var=benchmark.n_var, n_obj=benchmark.n_obj, xl=0.0, xu=1.0)
        self.benchmark = benchmark
        self.fidelity = z

    def _evaluate(self, x: np.ndarray, out: dict[str, Any], *args: Any, **kwargs: Any) -> None:
        out["F"] = self.benchmark.evaluate(np.clip(x, 0.0, 1.0), self.fidelity)

    def _calc_pareto_front(self, n_pareto_points: int = 1000) -> np.ndarray:
        return self.benchmark.pareto_front(n_pareto_points)


class SnapRepair(Repair):
    """pymoo repair that moves every individual to its canonical encoding (:meth:`DesignSpace.snap`).

    Args:
        space: The design space of the problem.

    Example:
        >>> from pymoo.algorithms.moo.nsga2 import NSGA2
        >>> from pymoo.optimize import minimize
        >>> from search.space import DesignSpace, IntegerRange
        >>> space = DesignSpace(
        ...     (IntegerRange("adc_bits", low=3, high=10), IntegerRange("cell_bits", low=1, high=8)))
        >>> problem = DesignProblem(space, lambda X: np.c_[X[:, 0], 1 - X[:, 1]], n_obj=2, inputs="X")
        >>> res = minimize(problem, NSGA2(pop_size=10, repair=SnapRepair(space)), ("n_gen", 3), seed=0)
        >>> bool(np.array_equal(res.X, space.snap(res.X)))
        True
    """

    def __init__(self, space: DesignSpace) -> None:
        if not isinstance(space, DesignSpace):
            raise ConfigError(f"SnapRepair.space must be a DesignSpace; got {type(space).__name__}.")
        super().__init__()
        self.space = space

    def _do(self, problem: Any, X: np.ndarray, **kwargs: Any) -> np.ndarray:
        return self.space.snap(np.clip(X, 0.0, 1.0))


def _check_F(F: Any, n: int, n_obj: int, owner: str) -> np.ndarray:
    F = np.asarray(F, dtype=np.float64)
    if F.ndim == 1 and n_obj == 1 and F.shape[0] == n:
        F = F[:, None]
    if F.shape != (n, n_obj):
        raise ShapeError(f"{owner} must return F of shape (n, n_obj) = ({n}, {n_obj}); got {F.shape}.")
    return F

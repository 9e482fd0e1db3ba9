"""pymoo adapters: NSGA-II / NSGA-III run on them, reach the known fronts, and are deterministic
per seed; objectives receive X, designs or configs; errors are clear."""

from __future__ import annotations

import numpy as np
import pytest
from pymoo.algorithms.moo.nsga2 import NSGA2
from pymoo.algorithms.moo.nsga3 import NSGA3
from pymoo.optimize import minimize
from pymoo.util.ref_dirs import get_reference_directions

from crossbar import ConfigError, CrossbarConfig
from crossbar.errors import ShapeError
from search.benchmarks import ZDT1MF, AccuracyCostDTLZ2, BraninCurrin, hypervolume, non_dominated
from search.problem import BenchmarkProblem, DesignProblem, SnapRepair
from search.space import Choice, DesignSpace, IntegerRange, default_reram_space


def _nsga2_branin_currin(seed: int) -> np.ndarray:
    res = minimize(BenchmarkProblem(BraninCurrin()), NSGA2(pop_size=40), ("n_gen", 60), seed=seed)
    return res.F


def test_nsga2_reaches_90_percent_of_the_branin_currin_front():
    p = BraninCurrin()
    hv = hypervolume(_nsga2_branin_currin(1), ideal=p.ideal, nadir=p.nadir)
    assert hv >= 0.9 * p.max_hypervolume, f"HV {hv:.4f} < 90% of {p.max_hypervolume:.4f}"


def test_same_seed_same_F_and_different_seeds_differ():
    a, b, c = _nsga2_branin_currin(3), _nsga2_branin_currin(3), _nsga2_branin_currin(4)
    np.testing.assert_array_equal(a, b)
    assert a.shape != c.shape or not np.array_equal(a, c)


def test_nsga3_on_the_accuracy_cost_problem():
    p = AccuracyCostDTLZ2(n_obj=3, n_distance=2)
    ref_dirs = get_reference_directions("das-dennis", 3, n_partitions=8)
    res = minimize(BenchmarkProblem(p), NSGA3(ref_dirs=ref_dirs), ("n_gen", 80), seed=1)
    assert res.F.shape[1] == 3
    np.testing.assert_allclose(np.linalg.norm(res.F, axis=1), 1.0, atol=0.05)  # close to the sphere
    hv = hypervolume(res.F, ideal=p.ideal, nadir=p.nadir)
    assert hv >= 0.85 * p.max_hypervolume


def test_benchmark_problem_fidelity_and_pareto_front():
    bench = ZDT1MF(n_var=4)
    X = np.random.default_rng(0).random((9, 4))
    np.testing.assert_array_equal(BenchmarkProblem(bench, fidelity=0.3).evaluate(X), bench.evaluate(X, 0.3))
    np.testing.assert_array_equal(BenchmarkProblem(bench).evaluate(X), bench.evaluate(X, 1.0))
    np.testing.assert_array_equal(BenchmarkProblem(bench).pareto_front(), bench.pareto_front())
    with pytest.raises(ConfigError, match=r"fidelity must be a number in \[0, 1\]"):
        BenchmarkProblem(bench, fidelity=2.0)
    with pytest.raises(ConfigError, match="fidelity"):
        BenchmarkProblem(bench, fidelity="high")


# ---- design-space adapter --------------------------------------------------------------------
def _hardware_proxy(configs: list[CrossbarConfig]) -> np.ndarray:
    """Cheap stand-in objectives: an 'error' falling with precision, 'area' and 'latency' rising."""
    F = np.empty((len(configs), 3))
    for i, c in enumerate(configs):
        F[i, 0] = 2.0 ** -min(c.adc_bits, c.weight_bits) + 1e-3 * (c.temperature - 300.0)
        F[i, 1] = c.rows * c.cols * c.n_slices * 2.0**c.adc_bits * 1e-6
        F[i, 2] = c.n_cycles / c.frequency * 1e9 * c.n_slices
    return F


def test_nsga2_on_the_default_reram_space_gives_valid_snapped_designs():
    space = default_reram_space()
    problem = DesignProblem(space, _hardware_proxy, n_obj=3, inputs="configs")
    res = minimize(problem, NSGA2(pop_size=24, repair=SnapRepair(space)), ("n_gen", 10), seed=2)
    np.testing.assert_array_equal(res.X, space.snap(res.X))
    configs = [space.to_config(d) for d in space.decode(res.X)]
    np.testing.assert_allclose(_hardware_proxy(configs), res.F, rtol=1e-15)
    assert non_dominated(res.F).all() and len(configs) >= 3
    # an ADC finer than the weights costs area and gains nothing in this proxy: the best-error
    # design found uses the full 8-bit weights and an ADC of at least 8 bits
    best = configs[int(np.argmin(res.F[:, 0]))]
    assert best.weight_bits == 8 and best.adc_bits >= 8


def test_objective_receives_the_requested_inputs():
    space = DesignSpace((IntegerRange("adc_bits", low=3, high=10), Choice("cell_bits", values=(1, 2, 4))))
    X = np.array([[0.01, 0.99], [0.99, 0.01]])
    seen = {}

    def record(kind):
        def objective(arg):
            seen[kind] = arg
            return np.zeros((2, 1))

        return objective

    for kind in ("X", "designs", "configs"):
        DesignProblem(space, record(kind), n_obj=1, inputs=kind).evaluate(X)
    np.testing.assert_array_equal(seen["X"], space.snap(X))
    assert seen["designs"] == [{"adc_bits": 3, "cell_bits": 4}, {"adc_bits": 10, "cell_bits": 1}]
    assert [(c.adc_bits, c.cell_bits) for c in seen["configs"]] == [(3, 4), (10, 1)]


def test_single_objective_may_return_a_vector():
    space = DesignSpace((IntegerRange("adc_bits", low=3, high=10),))
    problem = DesignProblem(space, lambda X: X[:, 0], n_obj=1, inputs="X")
    assert problem.evaluate(np.array([[0.0], [1.0]])).shape == (2, 1)


def test_adapter_errors():
    space = default_reram_space()
    with pytest.raises(ShapeError, match=r"must return F of shape \(n, n_obj\) = \(2, 3\); got \(2, 2\)"):
        DesignProblem(space, lambda X: np.zeros((len(X), 2)), n_obj=3, inputs="X").evaluate(np.zeros((2, 6)))
    with pytest.raises(ConfigError, match="inputs must be one of"):
        DesignProblem(space, lambda X: X, n_obj=1, inputs="tensor")
    with pytest.raises(ConfigError, match="n_obj must be an integer >= 1; got 0"):
        DesignProblem(space, lambda X: X, n_obj=0)
    with pytest.raises(ConfigError, match="must be a DesignSpace"):
        DesignProblem({"adc_bits": (3, 10)}, lambda X: X, n_obj=1)
    with pytest.raises(ConfigError, match="must be callable"):
        DesignProblem(space, "accuracy", n_obj=1)
    with pytest.raises(ConfigError, match="must be a DesignSpace"):
        SnapRepair(None)

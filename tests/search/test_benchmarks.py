"""Synthetic multi-fidelity benchmarks: hand-computed values, oracles (BoTorch, pymoo), z = 1
reproduces the unperturbed functions, costs, fronts, and the hypervolume helper."""

from __future__ import annotations

import math

import numpy as np
import pytest

from crossbar import ConfigError
from crossbar.errors import InputError, ShapeError
from search.benchmarks import (
    BENCHMARKS,
    ZDT1MF,
    AccuracyCostDTLZ2,
    BraninCurrin,
    hypervolume,
    non_dominated,
)

PROBLEMS = [
    BraninCurrin(),
    ZDT1MF(),
    ZDT1MF(n_var=2),
    AccuracyCostDTLZ2(),
    AccuracyCostDTLZ2(n_obj=2, n_distance=1),
    AccuracyCostDTLZ2(n_obj=3, n_distance=2),
]
IDS = [f"{p.name}-{p.n_var}x{p.n_obj}" for p in PROBLEMS]
EPS = np.finfo(np.float64).eps


def _unit_to_branin(x: float, y: float) -> list[float]:
    """Standard Branin domain [-5, 10] x [0, 15] -> unit square."""
    return [(x + 5.0) / 15.0, y / 15.0]


# ---- Branin-Currin: hand values and oracles --------------------------------------------------
@pytest.mark.parametrize("minimizer", [(-math.pi, 12.275), (math.pi, 2.275), (9.42478, 2.475)])
def test_branin_minimum_at_its_three_minimizers(minimizer):
    F = BraninCurrin().evaluate(np.array([_unit_to_branin(*minimizer)]))
    np.testing.assert_allclose(F[0, 0], 0.397887, rtol=0, atol=1e-6, err_msg=f"Branin at {minimizer}")


def test_branin_by_hand_with_fidelity_shift():
    # u = 0, v = 0 (x = (1/3, 0)): B = (-6)^2 + 10 (1 - t) cos 0 + 10 = 56 - 10 t
    x = np.array([[1.0 / 3.0, 0.0]])
    t1 = 1.0 / (8.0 * math.pi)
    for z, t in [(1.0, t1), (0.0, t1 + 0.05), (0.5, t1 + 0.025)]:
        np.testing.assert_allclose(BraninCurrin().evaluate(x, z)[0, 0], 56.0 - 10.0 * t, rtol=1e-14)


def test_currin_by_hand():
    # x = (0.5, 0.5): A = 2300/8 + 1900/4 + 2092/2 + 60 = 1868.5, B = 100/8 + 500/4 + 4/2 + 20 = 159.5
    ratio = 1868.5 / 159.5
    x = np.array([[0.5, 0.5]])
    np.testing.assert_allclose(BraninCurrin().evaluate(x)[0, 1], (1.0 - math.exp(-1.0)) * ratio, rtol=1e-14)
    np.testing.assert_allclose(
        BraninCurrin().evaluate(x, 0.0)[0, 1], (0.9 - math.exp(-1.0)) * ratio, rtol=1e-14
    )
    # Currin's minimum on the square, at (0, 1): 3 (1 - e^{-1/2}); and the x1 -> 0 limit (factor 1)
    np.testing.assert_allclose(
        BraninCurrin().evaluate([0.0, 1.0])[1], 3.0 * (1.0 - math.exp(-0.5)), rtol=1e-14
    )
    np.testing.assert_allclose(BraninCurrin().evaluate([0.0, 0.0])[1], 3.0, rtol=1e-14)


def test_branin_currin_matches_botorch_at_full_fidelity():
    torch = pytest.importorskip("torch")
    mo = pytest.importorskip("botorch.test_functions.multi_objective")
    X = np.random.default_rng(0).random((64, 2))
    want = mo.BraninCurrin()(torch.tensor(X, dtype=torch.float64)).numpy()
    np.testing.assert_allclose(BraninCurrin().evaluate(X, 1.0), want, rtol=1e-12)


def test_branin_currin_per_objective_fidelity():
    X = np.random.default_rng(1).random((10, 2))
    Z = np.column_stack([np.full(10, 0.3), np.full(10, 0.8)])
    got = BraninCurrin().evaluate(X, Z)
    np.testing.assert_array_equal(got[:, 0], BraninCurrin().evaluate(X, 0.3)[:, 0])
    np.testing.assert_array_equal(got[:, 1], BraninCurrin().evaluate(X, 0.8)[:, 1])


def test_branin_currin_ideal_nadir_and_imoca_costs():
    p = BraninCurrin()
    np.testing.assert_allclose(p.ideal, [0.397887357729738, 3.0 * (1.0 - math.exp(-0.5))], rtol=1e-12)
    np.testing.assert_allclose(p.nadir[0], 17.508299515778, rtol=1e-11)  # Branin(-5, 15)
    z = np.linspace(0.0, 1.0, 21)
    np.testing.assert_allclose(
        p.objective_costs(z), np.column_stack([0.05 + z**6.5, 0.05 + z**2]), rtol=1e-15
    )
    np.testing.assert_allclose(p.cost(z), (0.05 + z**6.5) / 1.05 + (0.05 + z**2) / 1.05, rtol=1e-15)


# ---- the other problems: oracles -------------------------------------------------------------
def test_zdt1_mf_at_full_fidelity_is_pymoo_zdt1():
    from pymoo.problems import get_problem

    X = np.random.default_rng(2).random((50, 6))
    np.testing.assert_allclose(ZDT1MF().evaluate(X), get_problem("zdt1", n_var=6).evaluate(X), rtol=1e-14)


@pytest.mark.parametrize("n_obj", [2, 3, 4])
def test_dtlz2_accuracy_cost_at_full_fidelity_is_pymoo_dtlz2(n_obj):
    from pymoo.problems import get_problem

    p = AccuracyCostDTLZ2(n_obj=n_obj, n_distance=3)
    X = np.random.default_rng(3).random((50, p.n_var))
    want = get_problem("dtlz2", n_var=p.n_var, n_obj=n_obj).evaluate(X)
    g = np.sum((X[:, n_obj - 1 :] - 0.5) ** 2, axis=1)
    F = p.evaluate(X)
    np.testing.assert_allclose(F[:, 0], want[:, 0], rtol=1e-14)  # error = DTLZ2 f_0
    np.testing.assert_allclose(F[:, 1:] * (1.0 + g)[:, None], want[:, 1:], rtol=1e-13, atol=1e-15)


def test_dtlz2_accuracy_cost_by_hand():
    # m = 2, p = 0, q = 1/2: error = (1 + 0)(cos 0 + (1 - z)(0.3 + 0)), cost = sin 0 = 0
    p = AccuracyCostDTLZ2(n_obj=2, n_distance=1)
    np.testing.assert_allclose(
        p.evaluate([0.0, 0.5], z=0.25), [1.0 + 0.75 * 0.3, 0.0], rtol=1e-15, atol=1e-16
    )
    # p = 1: error = cos(pi/2) + (1 - z) 0.7; q = 1: g = 1/4
    np.testing.assert_allclose(
        p.evaluate([1.0, 1.0], z=0.0)[0], 1.25 * (math.cos(math.pi / 2) + 0.7), rtol=1e-15
    )


# ---- contract: every benchmark ---------------------------------------------------------------
@pytest.mark.parametrize("problem", PROBLEMS, ids=IDS)
def test_contract_shapes_and_determinism(problem):
    rng = np.random.default_rng(4)
    X = rng.random((17, problem.n_var))
    F = problem.evaluate(X, rng.random(17))
    assert F.shape == (17, problem.n_obj) and F.dtype == np.float64
    np.testing.assert_array_equal(problem.evaluate(X[3], 0.5), problem.evaluate(X[3:4], 0.5)[0])
    np.testing.assert_array_equal(problem.evaluate(X, 0.7), problem.evaluate(X, np.full(17, 0.7)))
    assert problem.evaluate(np.empty((0, problem.n_var))).shape == (0, problem.n_obj)
    assert len(problem.expensive) == problem.n_obj and any(problem.expensive)
    assert problem.ideal.shape == problem.nadir.shape == (problem.n_obj,)
    assert np.all(problem.nadir > problem.ideal)
    assert BENCHMARKS[problem.name] is type(problem)


@pytest.mark.parametrize("problem", PROBLEMS, ids=IDS)
def test_full_fidelity_is_the_default_and_cheap_objectives_ignore_z(problem):
    X = np.random.default_rng(5).random((40, problem.n_var))
    F1 = problem.evaluate(X)
    np.testing.assert_array_equal(problem.evaluate(X, 1.0), F1)
    np.testing.assert_array_equal(problem.evaluate(X, np.ones((40, problem.n_obj))), F1)
    cheap = ~np.asarray(problem.expensive)
    for z in (0.0, 0.3, 0.9):
        Fz = problem.evaluate(X, z)
        np.testing.assert_array_equal(Fz[:, cheap], F1[:, cheap])
        assert np.any(Fz[:, ~cheap] != F1[:, ~cheap]), "low fidelity must perturb the expensive objectives"


@pytest.mark.parametrize("problem", [p for p in PROBLEMS if p.name != "branin_currin"], ids=IDS[1:])
def test_low_fidelity_bounds_the_expensive_objective_from_above(problem):
    X = np.random.default_rng(6).random((200, problem.n_var))
    zs = np.linspace(0.0, 1.0, 11)
    F = np.stack([problem.evaluate(X, z) for z in zs])  # (z, n, m)
    exp = np.asarray(problem.expensive)
    assert np.all(np.diff(F[:, :, exp], axis=0) <= 1e-12), "expensive objectives must not increase with z"


@pytest.mark.parametrize("problem", PROBLEMS, ids=IDS)
def test_costs_increase_with_fidelity(problem):
    z = np.linspace(0.0, 1.0, 101)
    c = problem.cost(z)
    assert c.shape == (101,)
    assert np.all(c > 0) and np.all(np.diff(c) > 0)
    np.testing.assert_allclose(problem.cost(1.0), sum(problem.expensive), rtol=1e-15)
    assert problem.cost(0.5).shape == ()
    raw = problem.objective_costs(z)
    assert raw.shape == (101, problem.n_obj)
    np.testing.assert_array_equal(raw[:, ~np.asarray(problem.expensive)], 0.0)
    Z = np.tile(z[:, None], (1, problem.n_obj))
    np.testing.assert_allclose(problem.cost(Z), c, rtol=1e-15)


# ---- fronts ----------------------------------------------------------------------------------
@pytest.mark.parametrize("problem", PROBLEMS, ids=IDS)
def test_front_is_non_dominated_spans_ideal_to_nadir_and_is_not_beaten(problem):
    front = problem.pareto_front(400)
    assert front.shape[1] == problem.n_obj and front.shape[0] >= min(400, 200)
    assert non_dominated(front).all()
    span = problem.nadir - problem.ideal
    np.testing.assert_allclose(front.min(axis=0), problem.ideal, rtol=0, atol=1e-9 * span.max())
    np.testing.assert_allclose(front.max(axis=0), problem.nadir, rtol=0, atol=1e-9 * span.max())
    # no random design dominates a front point (the front is optimal) ...
    X = np.random.default_rng(7).random((3000, problem.n_var))
    S = problem.evaluate(X)
    tol = 1e-9 * span
    for chunk in np.array_split(S, 6):
        le = np.all(chunk[:, None, :] <= front[None, :, :] - tol, axis=2)
        lt = np.any(chunk[:, None, :] < front[None, :, :] - tol, axis=2)
        assert not np.any(le & lt)


def test_random_designs_are_dominated_by_the_fronts():
    rng = np.random.default_rng(8)
    # analytic: ZDT1 f1 >= 1 - sqrt(f0); DTLZ2 ||F|| >= 1 at z = 1
    F = ZDT1MF().evaluate(rng.random((2000, 6)))
    assert np.all(F[:, 1] >= 1.0 - np.sqrt(F[:, 0]) - 4 * EPS)
    for m in (2, 3, 4):
        p = AccuracyCostDTLZ2(n_obj=m)
        assert np.all(np.linalg.norm(p.evaluate(rng.random((2000, p.n_var))), axis=1) >= 1.0 - 8 * EPS)
    # Branin-Currin: each sample is weakly dominated by the dense front (up to its grid spacing)
    p = BraninCurrin()
    front, S = p.pareto_front(10**6), p.evaluate(rng.random((2000, 2)))
    slack = 2e-3 * (p.nadir - p.ideal)
    inside = np.all(S <= p.nadir, axis=1)  # points beyond the nadir are dominated by an end point
    dominated = [np.any(np.all(front <= s + slack, axis=1)) for s in S[inside]]
    assert all(dominated)


def test_analytic_fronts_lie_on_their_curves():
    f = ZDT1MF().pareto_front(101)
    assert f.shape == (101, 2)
    np.testing.assert_allclose(f[:, 1], 1.0 - np.sqrt(f[:, 0]), rtol=1e-15)
    for m in (2, 3, 4):
        f = AccuracyCostDTLZ2(n_obj=m).pareto_front(50)
        assert f.shape[0] >= 50 and np.all(f >= 0.0)
        np.testing.assert_allclose(np.linalg.norm(f, axis=1), 1.0, rtol=4 * EPS)
        # every front point is attained: error = sqrt(1 - sum costs^2) with q = 1/2
    p = AccuracyCostDTLZ2(n_obj=3, n_distance=2)
    a = np.random.default_rng(9).random((20, 2))
    F = p.evaluate(np.column_stack([a, np.full((20, 2), 0.5)]))
    np.testing.assert_allclose(np.linalg.norm(F, axis=1), 1.0, rtol=4 * EPS)


def test_branin_currin_front_sampling():
    p = BraninCurrin()
    f = p.pareto_front(200)
    assert f.shape == (200, 2)
    assert np.all(np.diff(f[:, 0]) > 0) and np.all(np.diff(f[:, 1]) < 0)
    np.testing.assert_array_equal(f[[0, -1]], p.pareto_front(10)[[0, -1]])
    dense = p.pareto_front(10**6)
    assert dense.shape[0] > 10_000


# ---- hypervolume -----------------------------------------------------------------------------
def test_hypervolume_by_hand():
    ideal, nadir = [0.0, 0.0], [1.0, 1.0]
    np.testing.assert_allclose(hypervolume([[0.5, 0.5]], ideal=ideal, nadir=nadir), 0.6**2, rtol=1e-14)
    # two points: 1.1 * 0.1 + 0.1 * 1.1 - 0.1 * 0.1
    np.testing.assert_allclose(
        hypervolume([[0.0, 1.0], [1.0, 0.0]], ideal=ideal, nadir=nadir), 0.21, rtol=1e-14
    )
    assert hypervolume(np.empty((0, 2)), ideal=ideal, nadir=nadir) == 0.0
    assert hypervolume([[1.2, 0.0]], ideal=ideal, nadir=nadir) == 0.0  # beyond the reference point
    np.testing.assert_allclose(
        hypervolume([[0.5, 0.5]], ideal=ideal, nadir=nadir, ref_point=[1.0, 2.0]), 0.75
    )


def test_hypervolume_normalizes_by_ideal_and_nadir():
    F = np.random.default_rng(10).random((30, 3))
    scale, shift = np.array([10.0, 0.1, 3.0]), np.array([-5.0, 2.0, 0.0])
    a = hypervolume(F, ideal=np.zeros(3), nadir=np.ones(3))
    b = hypervolume(F * scale + shift, ideal=shift, nadir=scale + shift)
    np.testing.assert_allclose(b, a, rtol=1e-12)


@pytest.mark.parametrize("problem", PROBLEMS, ids=IDS)
def test_max_hypervolume_matches_the_front(problem):
    n = 2000 if problem.n_obj <= 3 else 1500
    hv = hypervolume(problem.pareto_front(n), ideal=problem.ideal, nadir=problem.nadir)
    assert hv <= problem.max_hypervolume + 1e-12 or problem.name == "branin_currin"
    # a finite sample covers less than the continuous front (a staircase below it)
    rel = {2: 2e-3, 3: 0.02, 4: 0.05}[problem.n_obj]
    np.testing.assert_allclose(hv, problem.max_hypervolume, rtol=rel)


def test_max_hypervolume_analytic_values():
    np.testing.assert_allclose(ZDT1MF().max_hypervolume, 1.21 - 1.0 / 3.0, rtol=1e-15)
    np.testing.assert_allclose(AccuracyCostDTLZ2(n_obj=2).max_hypervolume, 1.21 - math.pi / 4, rtol=1e-15)
    np.testing.assert_allclose(AccuracyCostDTLZ2(n_obj=3).max_hypervolume, 1.331 - math.pi / 6, rtol=1e-15)
    np.testing.assert_allclose(BraninCurrin().max_hypervolume, 0.87992, atol=5e-5)


def test_non_dominated_matches_brute_force():
    F = np.round(np.random.default_rng(11).random((300, 3)), 1)  # many ties and duplicates
    want = np.array([not any(np.all(g <= f) and np.any(g < f) for g in F) for f in F])
    np.testing.assert_array_equal(non_dominated(F), want)


# ---- errors ----------------------------------------------------------------------------------
def test_bad_inputs_raise_clear_errors():
    p = BraninCurrin()
    with pytest.raises(ShapeError, match=r"X must have shape \(n, 2\)"):
        p.evaluate(np.zeros((3, 3)))
    with pytest.raises(InputError, match=r"lie in \[0, 1\]\^2"):
        p.evaluate([[0.5, 1.5]])
    with pytest.raises(InputError, match="fidelity z must lie in"):
        p.evaluate([[0.5, 0.5]], z=1.5)
    with pytest.raises(ShapeError, match="fidelity z must be"):
        p.evaluate(np.zeros((3, 2)), z=np.ones(4))
    with pytest.raises(InputError, match="fidelity z must lie in"):
        p.cost(-0.1)
    with pytest.raises(ConfigError, match="n must be an integer >= 2"):
        p.pareto_front(1)
    with pytest.raises(ConfigError, match=r"ZDT1MF.n_var must be an integer >= 2; got 1"):
        ZDT1MF(n_var=1)
    with pytest.raises(ConfigError, match=r"AccuracyCostDTLZ2.n_obj must be an integer \[2, 6\]; got 7"):
        AccuracyCostDTLZ2(n_obj=7)
    with pytest.raises(InputError, match="drop failed"):
        hypervolume([[np.nan, 0.0]], ideal=[0, 0], nadir=[1, 1])
    with pytest.raises(InputError, match="nadir must exceed ideal"):
        hypervolume([[0.0, 0.0]], ideal=[0, 0], nadir=[1, 0])


@pytest.mark.parametrize("name", ["zdt1_mf", "dtlz2_accuracy_cost"])
def test_pareto_set_distance_is_the_distance_to_dominating_front_designs(name):
    prob = BENCHMARKS[name]()
    rng = np.random.default_rng(11)
    X = rng.random((200, prob.n_var))
    dist = prob.pareto_set_distance(X)
    assert dist.shape == (200,)
    # the nearest set point: the error-only variables at their optimum, the others kept
    free = slice(1, None) if name == "zdt1_mf" else slice(prob.n_obj - 1, None)
    P = X.copy()
    P[:, free] = 0.0 if name == "zdt1_mf" else 0.5
    np.testing.assert_allclose(dist, np.linalg.norm(X - P, axis=1), rtol=0, atol=1e-15)
    FX, FP = prob.evaluate(X), prob.evaluate(P)
    assert np.all(FP <= FX + 1e-15)  # it dominates (or equals) the design ...
    if name == "zdt1_mf":  # ... and lies on the true front
        np.testing.assert_allclose(FP[:, 1], 1.0 - np.sqrt(FP[:, 0]), atol=1e-12)
    else:
        np.testing.assert_allclose(np.sum(FP**2, axis=1), 1.0, atol=1e-12)
    # no other set point is closer (brute force over random set points)
    S = rng.random((4000, prob.n_var))
    S[:, free] = P[0, free]
    assert np.all(np.linalg.norm(S[:, None, :] - X[None, :20, :], axis=2).min(axis=0) >= dist[:20] - 1e-12)
    assert prob.pareto_set_distance(P).max() == 0.0
    assert prob.pareto_set_distance(X[0]).shape == ()

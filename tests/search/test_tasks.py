"""Search problems (benchmark and ReRAM adapters) and the hypervolume-vs-cost trace."""

from __future__ import annotations

import numpy as np
import pytest

from crossbar.errors import ConfigError
from search.algorithms import RandomSearch
from search.benchmarks import BENCHMARKS, hypervolume
from search.loop import Evaluation, run_search
from search.tasks import BenchmarkSearch, cost_to_reach, greedy_hypervolume_subset, hypervolume_trace, rescore


def test_benchmark_adapter_splits_expensive_and_exact_objectives():
    bench = BENCHMARKS["dtlz2_accuracy_cost"]()
    prob = BenchmarkSearch(bench)
    x = np.random.default_rng(0).random((5, prob.n_var))
    full = bench.evaluate(x, 1.0)
    mask = np.asarray(bench.expensive)
    np.testing.assert_array_equal(prob.exact(x), full[:, ~mask])
    f, cost = prob.evaluate(x[0], 0.5, seed=0)
    np.testing.assert_array_equal(f, bench.evaluate(x[:1], 0.5)[0, mask])
    assert cost == float(bench.cost(np.array([0.5]))[0]) < float(bench.cost(np.array([1.0]))[0])


def test_hypervolume_trace_counts_only_full_fidelity_points():
    ideal, nadir = np.zeros(2), np.ones(2)

    def ev_(i, z, f, c, cost):
        return Evaluation(index=i, x=np.zeros(1), z=z, f=np.array([f]), cheap=np.array([c]), cost=cost,
                          seed=i)

    ev = [ev_(0, 1.0, 0.5, 0.5, 1.0), ev_(1, 0.5, 0.0, 0.0, 0.5), ev_(2, 1.0, 0.2, 0.8, 1.0)]
    cost, hv = hypervolume_trace(ev, ideal=ideal, nadir=nadir)
    np.testing.assert_array_equal(cost, [1.0, 1.5, 2.5])
    assert hv[0] == hv[1] == hypervolume(np.array([[0.5, 0.5]]), ideal=ideal, nadir=nadir)
    assert hv[2] == hypervolume(np.array([[0.5, 0.5], [0.2, 0.8]]), ideal=ideal, nadir=nadir) > hv[1]
    assert cost_to_reach(cost, hv, hv[2]) == 2.5 and cost_to_reach(cost, hv, 2.0) == np.inf


def test_reram_search_problem_end_to_end():
    from search.evaluate import ReramTask, pretrain
    from search.space import default_reram_space
    from search.tasks import ReramSearch

    task = ReramTask(pretrain_epochs=1, max_epochs=2, n_repeats=1)
    prob = ReramSearch(default_reram_space(), task, pretrain(task))
    np.testing.assert_array_equal(prob.fidelities, [0.5, 1.0])
    res = run_search(prob, RandomSearch(), budget=np.inf, seed=1, max_evaluations=3)
    assert len(res.evaluations) == 3
    for e in res.evaluations:
        assert e.status == "ok" and -1.0 <= e.f[0] <= 0.0 and e.cost > 0
        assert e.cheap.shape == (3,) and np.all(e.cheap > 0)  # area, energy, latency
    # the exact objectives are those of the cost model for the decoded designs
    x = np.array([e.x for e in res.evaluations])
    np.testing.assert_allclose(prob.exact(x), np.array([e.cheap for e in res.evaluations]), rtol=1e-12)
    # the warm-up evaluates n random designs at full fidelity and changes no later result
    calls, real = [], prob.evaluate
    prob.evaluate = lambda x, z, seed: calls.append((tuple(x), z, seed)) or real(x, z, seed)
    prob.warm_up(2)
    del prob.evaluate
    assert [c[1:] for c in calls] == [(1.0, 10**9 + 7)] * 2 and calls[0][0] != calls[1][0]
    e = res.evaluations[-1]
    np.testing.assert_array_equal(prob.evaluate(e.x, e.z, e.seed)[0], e.f)


def test_reram_search_warms_the_problem_up(monkeypatch):
    from search.evaluate import ReramTask
    from search.run import reram_search
    from search.tasks import ReramSearch

    seen = []
    monkeypatch.setattr(ReramSearch, "warm_up", lambda self, n=4, seed=12345: seen.append((self, n)))
    problem, *_ = reram_search(ReramTask(pretrain_epochs=1, max_epochs=1, n_repeats=1), budget=1.0, progress=False)
    assert seen == [(problem, 4)]


@pytest.mark.parametrize("name", ["grad_clip", "weight_clip_sigma"])
def test_reram_task_training_clips_are_validated_forwarded_and_absent_from_old_json(monkeypatch, name):
    import json

    import mapping.nn.train as train
    from crossbar import CrossbarConfig
    from crossbar.errors import ConfigError
    from search.evaluate import ReramTask, evaluate_accuracy, pretrain

    for bad in (0, -1.0, float("nan"), float("inf"), True, "1"):
        with pytest.raises(ConfigError, match=f"ReramTask.{name}"):
            ReramTask(**{name: bad})
    # None is left out of the JSON, so stores written before the field existed still match
    assert name not in json.loads(ReramTask().to_json())
    task = ReramTask(pretrain_epochs=1, max_epochs=1, n_repeats=1, **{name: 0.5})
    assert ReramTask.from_json(task.to_json()) == task and ReramTask.from_json(ReramTask().to_json()) == ReramTask()

    seen = []
    real_fit = train.fit
    monkeypatch.setattr(train, "fit", lambda m, d, cfg, **kw: seen.append(cfg) or real_fit(m, d, cfg, **kw))
    evaluate_accuracy(task.to_json(), CrossbarConfig().to_json(), 1.0, pretrain(task), seed=0)
    assert [getattr(c, name) for c in seen if c.mode == "noisy"] == [0.5]


def _plain_greedy(pts, ideal, nadir, k):
    """Oracle: recompute every row's contribution at every step (ties: the lowest index)."""
    order, hv, best = [], [], 0.0
    for _ in range(k):
        gains = [(-np.inf if i in order else hypervolume(pts[order + [i]], ideal=ideal, nadir=nadir) - best)
                 for i in range(len(pts))]
        i = int(np.argmax(gains))
        if gains[i] <= 0.0:
            break
        order.append(i)
        best = hypervolume(pts[order], ideal=ideal, nadir=nadir)
        hv.append(best)
    return order, hv


@pytest.mark.parametrize("m", [2, 3, 4])
def test_greedy_hypervolume_subset_equals_plain_greedy(m, seed):
    """Lazy greedy picks what recomputing every contribution picks; prefix hypervolumes are those
    of the chosen rows; dominated rows and rows outside the reference box are never picked."""
    r = np.random.default_rng(seed)
    front = r.random((30, m))
    front /= np.linalg.norm(front, axis=1, keepdims=True)  # a sphere-like front: all nondominated
    pts = np.vstack([front, front[:5] + 0.05, np.full((2, m), 1.5)])  # + dominated rows, + outside the box
    ideal, nadir = np.zeros(m), np.ones(m)
    order, hv = greedy_hypervolume_subset(pts, ideal=ideal, nadir=nadir)
    want_order, want_hv = _plain_greedy(pts, ideal, nadir, len(pts))
    assert order.tolist() == want_order
    np.testing.assert_allclose(hv, want_hv, rtol=1e-12, atol=1e-15)
    assert np.all(np.diff(hv) > 0) and order.max() < 30  # only front rows add hypervolume
    assert hv[-1] == pytest.approx(hypervolume(pts, ideal=ideal, nadir=nadir), rel=1e-12)
    k_order, k_hv = greedy_hypervolume_subset(pts, ideal=ideal, nadir=nadir, k=4)
    assert k_order.tolist() == want_order[:4] and len(k_hv) == 4


def test_greedy_hypervolume_subset_is_within_the_submodular_bound_of_the_best_subset(seed):
    """Against brute force over every k-subset (2-D, 10 points): greedy >= (1 - 1/e) x best."""
    from itertools import combinations

    r = np.random.default_rng(seed)
    t = np.sort(r.random(10))
    pts = np.column_stack([t, (1 - t) ** 2 + 0.1 * r.random(10)])  # mostly nondominated
    ideal, nadir = np.zeros(2), np.ones(2)
    _, hv = greedy_hypervolume_subset(pts, ideal=ideal, nadir=nadir)
    for k in range(1, len(hv) + 1):
        best = max(hypervolume(pts[list(c)], ideal=ideal, nadir=nadir) for c in combinations(range(10), k))
        assert best * (1 - 1 / np.e) <= hv[k - 1] <= best + 1e-12
    assert greedy_hypervolume_subset(np.full((3, 2), 2.0), ideal=ideal, nadir=nadir)[0].size == 0


class _NoisyToy:
    """f = (sum x, -x0) + noise(seed), cost 1; fails for a seed listed in ``fail``."""

    n_var, n_expensive = 2, 2

    def __init__(self, fail=()):
        self.calls: list[tuple[tuple, float, int]] = []
        self.fail = set(fail)

    def exact(self, x):
        return np.atleast_2d(x)[:, :1] * 2.0

    def noise(self, seed):
        return np.random.default_rng(seed).normal(size=2)

    def evaluate(self, x, z, seed):
        self.calls.append((tuple(x), z, seed))
        if seed in self.fail:
            raise RuntimeError(f"diverged at seed {seed}")
        return np.array([x.sum(), -x[0]]) + self.noise(seed), 1.0


def _evals(prob, rows):
    return [Evaluation(index=i, x=np.array(x, dtype=float), z=z, f=np.array(f, dtype=float),
                       cheap=prob.exact(np.array(x, dtype=float))[0], cost=c, seed=i, status=st,
                       error="" if st == "ok" else "boom", propose_seconds=0.5,
                       proposal={"origin": "random", "gain": 0.1 * i})
            for i, (x, z, f, c, st) in enumerate(rows)]


def test_rescore_replaces_full_fidelity_objectives_by_the_mean_of_common_seed_measurements():
    prob = _NoisyToy()
    ev = _evals(prob, [([0.1, 0.2], 1.0, [9, 9], 2.0, "ok"), ([0.3, 0.4], 0.5, [8, 8], 1.0, "ok"),
                       ([0.5, 0.6], 1.0, [np.nan, np.nan], 0.3, "failed"), ([0.1, 0.2], 1.0, [7, 7], 2.5, "ok"),
                       ([0.7, 0.8], 1.0, [6, 6], 2.0, "ok")])
    cache: dict = {}
    out = rescore(prob, ev, repeats=3, seed=40, cache=cache)

    def mean(x):  # the same draws (seeds 40, 41, 42) for every design
        return np.mean([np.array([sum(x), -x[0]]) + prob.noise(40 + r) for r in range(3)], axis=0)

    for e, o in zip(ev, out, strict=True):
        for name in ("index", "z", "cost", "seed", "propose_seconds", "proposal"):
            assert getattr(o, name) == getattr(e, name)
        np.testing.assert_array_equal(o.x, e.x)
        np.testing.assert_array_equal(o.cheap, e.cheap)
    np.testing.assert_array_equal(out[0].f, mean([0.1, 0.2]))
    np.testing.assert_array_equal(out[3].f, out[0].f)  # the same design, measured once
    np.testing.assert_array_equal(out[4].f, mean([0.7, 0.8]))
    assert out[1] is ev[1] and out[2] is ev[2]  # lower fidelity and failed: kept as they are
    assert [c[2] for c in prob.calls] == [40, 41, 42] * 2 and {c[1] for c in prob.calls} == {1.0}
    assert len(cache) == 2 and ev[0].f.tolist() == [9, 9]  # the input is not modified
    # a shared cache measures nothing again
    again = rescore(prob, ev, repeats=3, seed=40, cache=cache)
    assert len(prob.calls) == 6
    np.testing.assert_array_equal(again[4].f, out[4].f)


def test_rescore_marks_a_design_failed_when_a_measurement_fails():
    prob = _NoisyToy(fail={41})
    ev = _evals(prob, [([0.1, 0.2], 1.0, [0, 0], 1.0, "ok")])
    (o,) = rescore(prob, ev, repeats=2, seed=40)
    assert o.status == "failed" and "diverged at seed 41" in o.error and np.isnan(o.f).all()
    ideal, nadir = np.full(3, -2.0), np.full(3, 2.0)
    assert hypervolume_trace([o], ideal=ideal, nadir=nadir)[1][0] == 0.0 < hypervolume_trace(
        ev, ideal=ideal, nadir=nadir)[1][0]


def test_rescore_of_a_deterministic_problem_returns_the_recorded_objectives():
    prob = BenchmarkSearch(BENCHMARKS["branin_currin"]())
    res = run_search(prob, RandomSearch(), budget=np.inf, seed=3, max_evaluations=8)
    out = rescore(prob, res.evaluations, repeats=2, seed=0)
    assert sum(e.z == 1.0 for e in res.evaluations) >= 1
    for e, o in zip(res.evaluations, out, strict=True):
        np.testing.assert_array_equal(o.f, e.f)


@pytest.mark.parametrize(("repeats", "first_seed", "name"), [(0, 0, "repeats"), (2.0, 0, "repeats"),
                                                             (True, 0, "repeats"), (1, -1, "seed"), (1, 0.5, "seed")])
def test_rescore_rejects_bad_repeats_and_seeds(repeats, first_seed, name):
    with pytest.raises(ConfigError, match=name):
        rescore(_NoisyToy(), [], repeats=repeats, seed=first_seed)


@pytest.mark.parametrize(("name", "bads", "message", "good"), [
    ("common_seed", (-1, True, 1.5, "0"), r"must be None or an integer >= 0; got", 3),
    ("validation", (0, 1, 0.0, 1.0, -0.1, 1.5, True, "0.2", float("nan")),
     r"must be None or a fraction in the open interval \(0, 1\); got", 0.2),
    ("evaluation_cost", ("minutes", "", None, 1, True), r"must be one of \['seconds', 'passes'\]; got", "passes"),
])
def test_reram_task_optional_fields_are_validated_and_absent_from_old_json(name, bads, message, good):
    import json

    from search.evaluate import ReramTask

    for bad in bads:
        with pytest.raises(ConfigError, match=rf"ReramTask.{name} {message}"):
            ReramTask(**{name: bad})
    assert name not in json.loads(ReramTask().to_json())  # stores from before the field still match
    task = ReramTask(**{name: good})
    assert json.loads(task.to_json())[name] == good and ReramTask.from_json(task.to_json()) == task


def test_common_seed_evaluates_every_design_with_one_seed_and_rescoring_draws_afresh():
    """With ``common_seed`` every evaluation uses it, whatever its own seed: the same design gets the
    same accuracy, equal to an evaluation with that seed without the option. ``remeasurement`` (and
    so ``rescore``) measures with the given seeds again."""
    import dataclasses

    from search.evaluate import ReramTask, pretrain
    from search.space import default_reram_space
    from search.tasks import ReramSearch, remeasurement

    task = ReramTask(pretrain_epochs=1, max_epochs=1, n_repeats=1)
    own = ReramSearch(default_reram_space(), task, pretrain(task, progress=False))
    common = dataclasses.replace(own, task=dataclasses.replace(task, common_seed=7))
    x = np.full(own.n_var, 0.6)
    a, b, c = (common.evaluate(x, 1.0, s)[0] for s in (1, 2, 7))
    assert a[0] == b[0] == c[0] == own.evaluate(x, 1.0, 7)[0][0]
    assert own.evaluate(x, 1.0, 1)[0][0] != own.evaluate(x, 1.0, 2)[0][0]  # the draws do matter
    assert remeasurement(own) is own and remeasurement(common).task == task and remeasurement(common).costs is own.costs

    seen = []
    measuring = remeasurement(common)
    measuring.evaluate = lambda x, z, seed: seen.append(seed) or (np.array([-0.5]), 0.1)
    common.remeasurement = lambda split: measuring
    ev = Evaluation(index=0, x=x, z=1.0, f=a, cheap=np.zeros(3), cost=1.0, seed=1)
    out = rescore(common, [ev], repeats=3, seed=100)
    assert seen == [100, 101, 102] and out[0].f[0] == -0.5


def test_passes_cost_one_plus_the_epochs_whatever_the_seconds_and_remeasure_in_seconds():
    """With ``evaluation_cost="passes"`` an evaluation costs ``1 + epochs`` (CF-MESMO's prediction,
    exactly), its accuracy is the seconds task's at the same seed, re-measurements record seconds
    again, and a budget that counts proposal seconds is refused."""
    import dataclasses

    from search.evaluate import ReramTask, pretrain
    from search.run import reram_search
    from search.space import default_reram_space
    from search.tasks import ReramSearch, remeasurement

    task = ReramTask(pretrain_epochs=1, max_epochs=2, n_repeats=1, evaluation_cost="passes")
    passes = ReramSearch(default_reram_space(), task, pretrain(task, progress=False))
    seconds = dataclasses.replace(passes, task=dataclasses.replace(task, evaluation_cost="seconds"))
    x = np.full(passes.n_var, 0.4)
    for z, cost in ((0.5, 2.0), (1.0, 3.0)):
        f, c = passes.evaluate(x, z, 5)
        g, s = seconds.evaluate(x, z, 5)
        assert c == cost == passes.cost(x[None, :], np.array([z]))[0] and f[0] == g[0]
        assert s != cost and s > 0  # wall seconds, not passes
    measuring = remeasurement(passes)
    assert measuring.task == seconds.task and measuring.pretrained is passes.pretrained
    assert remeasurement(seconds) is seconds
    with pytest.raises(ConfigError, match=r"charge_proposals .* evaluation_cost = 'seconds'; got 'passes'"):
        reram_search(task, budget=10.0, charge_proposals=True, progress=False)

"""The ask/tell loop: budgets, determinism, failures, resume (replay and lost proposals)."""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np
import pytest

from crossbar.errors import ConfigError
from search.algorithms import MESSearch, NSGA2Search, QLogNEHVISearch, RandomSearch, reference_point
from search.loop import run_search


@dataclass
class Toy:
    """One expensive fidelity-dependent objective, two exact ones; fails where x0 > fail_above."""

    n_var: int = 3
    n_expensive: int = 1
    fail_above: float = 2.0
    fidelities: np.ndarray = field(default_factory=lambda: np.array([0.25, 0.5, 1.0]))

    def exact(self, x):
        return np.stack([x.sum(1), (1 - x[:, 0]) ** 2], axis=1)

    def cost(self, x, z):
        return 0.05 + np.asarray(z) ** 2

    def evaluate(self, x, z, seed):
        if x[0] > self.fail_above:
            raise RuntimeError("simulated divergence")
        acc = np.exp(-((x - 0.3) ** 2).sum() * 3) * (1 - 0.3 * (1 - z))
        return np.array([-acc]), float(0.05 + z**2)


FAST_MES = dict(n_samples=2, n_candidates=100, nsga_pop=16, nsga_gen=5, n_init=4)


def _algorithms():
    return [RandomSearch(), NSGA2Search(pop_size=4),
            MESSearch(multi_fidelity=False, name="mesmo", **FAST_MES), MESSearch(**FAST_MES),
            MESSearch(truncation="tradeoff", **FAST_MES), QLogNEHVISearch(n_init=4, n_candidates=64),
            MESSearch(truncation="tradeoff", reference_box=True, **FAST_MES)]


@pytest.mark.parametrize("k", range(7))
def test_every_algorithm_runs_within_budget_and_is_seeded(k):
    a = run_search(Toy(), _algorithms()[k], budget=7.0, q=2, seed=3)
    b = run_search(Toy(), _algorithms()[k], budget=7.0, q=2, seed=3)
    c = run_search(Toy(), _algorithms()[k], budget=7.0, q=2, seed=4)
    costs = a.cumulative_cost
    assert costs[-1] >= 7.0 and costs[-2] < 7.0 + 1.05 * 2  # stops once the budget is spent
    assert sorted(e.index for e in a.evaluations) == list(range(len(a.evaluations)))
    assert all(0 < e.z <= 1 and np.all((e.x >= 0) & (e.x <= 1)) for e in a.evaluations)
    fa = np.array([e.x for e in a.evaluations])
    np.testing.assert_array_equal(fa, np.array([e.x for e in b.evaluations]))
    assert not np.array_equal(fa, np.array([e.x for e in c.evaluations])[: len(fa)])


def test_failed_evaluations_are_recorded_and_the_search_continues():
    r = run_search(Toy(fail_above=0.5), RandomSearch(), budget=5.0, seed=0)
    failed = [e for e in r.evaluations if e.status == "failed"]
    ok = [e for e in r.evaluations if e.status == "ok"]
    assert failed and ok and all("simulated divergence" in e.error for e in failed)
    assert all(np.isnan(e.f).all() for e in failed)


@pytest.mark.parametrize("make", [lambda: NSGA2Search(pop_size=4), lambda: RandomSearch()])
def test_resume_equals_an_uninterrupted_run(make):
    full = run_search(Toy(), make(), budget=14.0, seed=7)
    first = run_search(Toy(), make(), budget=14.0, seed=7, max_evaluations=9)
    kept = list(first.evaluations)
    lost = kept.pop(5)  # an evaluation that was in flight when the first run was killed
    resumed = run_search(Toy(), make(), budget=14.0, seed=7, done=kept)
    by_index = {e.index: e for e in resumed.evaluations}
    assert len(by_index) == len(resumed.evaluations), "no duplicates"
    np.testing.assert_array_equal(by_index[lost.index].x, lost.x)  # re-issued under its index
    want = {e.index: e.x for e in full.evaluations}
    assert set(want) == set(by_index)
    for i, x in want.items():
        np.testing.assert_array_equal(by_index[i].x, x)


def test_bad_arguments():
    with pytest.raises(ConfigError, match="q must be"):
        run_search(Toy(), RandomSearch(), budget=1.0, q=0)
    with pytest.raises(ConfigError, match="budget"):
        run_search(Toy(), RandomSearch(), budget=0)


@pytest.mark.parametrize(("make", "message"), [
    (lambda: NSGA2Search(pop_size=0), "NSGA2Search.pop_size must be an integer >= 1; got 0"),
    (lambda: MESSearch(n_samples=0), "MESSearch.n_samples must be an integer >= 1; got 0"),
    (lambda: MESSearch(n_init=1), "MESSearch.n_init must be an integer >= 2; got 1"),
    (lambda: MESSearch(n_candidates=2.5), "MESSearch.n_candidates must be an integer >= 1; got 2.5"),
    (lambda: MESSearch(nsga_pop=True), "MESSearch.nsga_pop must be an integer >= 1; got True"),
    (lambda: MESSearch(nsga_gen=0), "MESSearch.nsga_gen must be an integer >= 1; got 0"),
    (lambda: MESSearch(truncation="pareto"),
     "MESSearch.truncation must be 'per_objective' or 'tradeoff'; got 'pareto'"),
    (lambda: QLogNEHVISearch(n_init=1), "QLogNEHVISearch.n_init must be an integer >= 2; got 1"),
    (lambda: QLogNEHVISearch(n_candidates=0), "QLogNEHVISearch.n_candidates must be an integer >= 1; got 0"),
])
def test_bad_algorithm_settings_are_refused_when_made(make, message):
    """Before any evaluation is spent: each of these used to fail only at the first model-based
    proposal (or never clearly: NSGA-II's empty population, an argmax over no candidates)."""
    with pytest.raises(ConfigError, match=re.escape(message)):
        make()


@dataclass
class Linear:
    """F = x0 (minimized); one constant exact objective: only lowering x0 improves the front."""

    n_var: int = 2
    n_expensive: int = 1
    fidelities: np.ndarray = field(default_factory=lambda: np.array([1.0]))

    def exact(self, x):
        return np.zeros((np.atleast_2d(x).shape[0], 1))

    def cost(self, x, z):
        return np.ones(np.shape(z))

    def evaluate(self, x, z, seed):
        return np.array([x[0]]), 1.0


def test_qlognehvi_minimizes_the_expensive_objective():
    """Regression: the GPs must model -F (BoTorch maximizes); modelling F chose the worst x0."""
    from search.loop import Evaluation

    r = np.random.default_rng(0)
    done = []
    for i in range(10):
        x = r.uniform(0.2, 0.9, 2)
        done.append(Evaluation(index=i, x=x, z=1.0, f=np.array([x[0]]), cheap=np.zeros(1), cost=1.0, seed=i))
    x, z = QLogNEHVISearch(n_init=4, n_candidates=256).ask(Linear(), done, [], np.random.default_rng(1))
    assert z == 1.0 and x[0] < 0.2


def test_qlognehvi_without_a_cpp_compiler_proposes_the_same(monkeypatch, tmp_path):
    """BoTorch compiles qLogNEHVI's fused C++ kernel on first use and warns where it cannot; the
    search must not fail on that warning (the tests make warnings errors, and a user's machine may
    have no compiler) and must propose what it proposes with this machine's kernel."""
    import sys

    import botorch.acquisition.multi_objective.logei as logei

    from search.loop import Evaluation
    from search.surrogate import FUSED_KERNEL_WARNING

    if not hasattr(logei, "_try_load_fused_kernel"):
        pytest.skip("this BoTorch has no fused qLogNEHVI kernel")
    prob, r = Toy(), np.random.default_rng(0)
    xs = r.random((10, prob.n_var))
    done = [Evaluation(index=i, x=x, z=1.0, f=prob.evaluate(x, 1.0, i)[0], cheap=c, cost=1.0, seed=i)
            for i, (x, c) in enumerate(zip(xs, prob.exact(xs), strict=True))]
    alg = QLogNEHVISearch(n_init=4, n_candidates=64)
    expected = alg.ask(prob, done, [], np.random.default_rng(1))[0]

    monkeypatch.delitem(sys.modules, "logei_fused_ext", raising=False)
    monkeypatch.setenv("CXX", str(tmp_path / "no-compiler"))
    monkeypatch.setenv("TORCH_EXTENSIONS_DIR", str(tmp_path / "extensions"))
    monkeypatch.setattr(logei, "_C", None)
    monkeypatch.setattr(logei, "_load_attempted", False)
    with pytest.warns(UserWarning, match=FUSED_KERNEL_WARNING):  # this set-up does provoke it
        logei._try_load_fused_kernel()
    monkeypatch.setattr(logei, "_load_attempted", False)
    x = alg.ask(prob, done, [], np.random.default_rng(1))[0]  # a warning escaping would fail here
    assert logei._load_attempted and logei._C is None  # the pure-Python path proposed
    np.testing.assert_array_equal(x, expected)


def test_qlognehvi_loads_the_fused_kernel_when_made_not_when_proposing(monkeypatch):
    """The kernel's first compilation on a machine (about 25 s) must not be charged as a proposal."""
    import botorch.acquisition.multi_objective.logei as logei

    if not hasattr(logei, "_try_load_fused_kernel"):
        pytest.skip("this BoTorch has no fused qLogNEHVI kernel")
    calls = []
    monkeypatch.setattr(logei, "_try_load_fused_kernel", lambda: calls.append("load"))
    QLogNEHVISearch(n_init=4)
    assert calls == ["load"]


class _Clock:
    """A fake ``time.perf_counter`` that only the proposing algorithm advances."""

    def __init__(self):
        self.t = 0.0

    def __call__(self):
        return self.t


@dataclass
class _SlowProposer(RandomSearch):
    clock: _Clock = field(default_factory=_Clock)
    seconds: float = 2.5

    def ask(self, problem, done, pending, rng):
        self.clock.t += self.seconds
        return super().ask(problem, done, pending, rng)


def test_proposal_seconds_are_recorded_and_charged_only_when_asked(monkeypatch):
    import search.loop as loop

    alg = _SlowProposer()
    monkeypatch.setattr(loop.time, "perf_counter", alg.clock)
    free = run_search(Linear(), alg, budget=10.0, seed=0)
    assert len(free.evaluations) == 10 and all(e.propose_seconds == 2.5 for e in free.evaluations)
    charged = run_search(Linear(), alg, budget=10.0, seed=0, charge_proposals=True)
    assert len(charged.evaluations) == 3  # 3.5 per evaluation: 3.5, 7.0, 10.5 >= 10
    for a, b in zip(free.evaluations, charged.evaluations, strict=False):  # same proposals, only fewer
        np.testing.assert_array_equal(a.x, b.x)
    # resume: stored proposal times are kept; unknown (NaN) ones count as 0 against the budget
    kept = [dataclasses.replace(e, propose_seconds=float("nan")) for e in charged.evaluations]
    resumed = run_search(Linear(), alg, budget=10.0, seed=0, charge_proposals=True, done=kept)
    assert len(resumed.evaluations) == 5  # 1.0 x 3, then 6.5 and 10.0 >= 10
    assert np.isnan([e.propose_seconds for e in resumed.evaluations[:3]]).all()
    with pytest.raises(ConfigError, match="charge_proposals"):
        run_search(Linear(), alg, budget=1.0, charge_proposals=1)


@dataclass
class KnownToy(Toy):
    """A Toy that knows its normalization (ideal and nadir, as the synthetic benchmarks do)."""

    ideal: ClassVar[np.ndarray] = np.array([-1.0, 0.0, 0.0])
    nadir: ClassVar[np.ndarray] = np.array([0.0, 3.0, 1.0])

    def normalization(self):
        return self.ideal, self.nadir


@pytest.mark.parametrize("known", [True, False])
def test_qlognehvi_reference_point(known, monkeypatch):
    """The metric's reference point when the problem knows its normalization, else data-driven."""
    import botorch.acquisition.multi_objective.logei as logei

    seen = []
    real = logei.qLogNoisyExpectedHypervolumeImprovement
    monkeypatch.setattr(logei, "qLogNoisyExpectedHypervolumeImprovement",
                        lambda *a, **kw: seen.append(kw["ref_point"].numpy().copy()) or real(*a, **kw))
    ideal, nadir = KnownToy.ideal, KnownToy.nadir
    prob = KnownToy() if known else Toy()
    prob.fidelities = np.array([1.0])
    res = run_search(prob, QLogNEHVISearch(n_init=4, n_candidates=32, refine=False), budget=np.inf, seed=0,
                     max_evaluations=5)
    assert len(seen) == 1
    if known:
        np.testing.assert_allclose(seen[0], -(nadir + 0.1 * (nadir - ideal)))
    else:
        y = -np.array([np.concatenate([e.f, e.cheap]) for e in res.evaluations[:4]])
        np.testing.assert_allclose(seen[0], y.min(0) - 0.1 * (y.max(0) - y.min(0) + 1e-9))


@pytest.mark.parametrize("known", [True, False])
def test_mes_reference_box_gets_the_same_reference_point_as_qlognehvi(known, monkeypatch):
    import search.acquisition as acquisition

    seen = []
    real = acquisition.CFMESMO
    monkeypatch.setattr(acquisition, "CFMESMO", lambda *a, **kw: seen.append(kw["reference"]) or real(*a, **kw))
    ideal, nadir = KnownToy.ideal, KnownToy.nadir
    prob = KnownToy() if known else Toy()
    res = run_search(prob, MESSearch(truncation="tradeoff", reference_box=True, **FAST_MES), budget=np.inf, seed=0,
                     max_evaluations=5)
    assert seen
    full = [e for e in res.evaluations[:4] if e.z == 1.0]
    observed = np.array([np.concatenate([e.f, e.cheap]) for e in full])
    np.testing.assert_array_equal(seen[0], reference_point(prob, observed))
    if known:
        np.testing.assert_allclose(seen[0], nadir + 0.1 * (nadir - ideal))
    else:
        np.testing.assert_allclose(seen[0], observed.max(0) + 0.1 * (observed.max(0) - observed.min(0) + 1e-9))
    with pytest.raises(ConfigError, match="reference_box"):
        MESSearch(reference_box=True)


@pytest.mark.parametrize(("switch", "seeded", "local"), [(None, False, False), ("front_candidates", True, False),
                                                         ("refine", True, True)])
def test_mes_front_candidates_and_refine_seed_the_acquisition_with_the_sampled_pareto_sets(
        switch, seeded, local, monkeypatch):
    """``front_candidates``: the sampled Pareto sets' designs join the candidates, no local search;
    ``refine``: the same candidates and the local search; neither: random candidates only."""
    import search.acquisition as acquisition

    fronts, calls = [], []
    real_fronts, real_propose = acquisition.sample_pareto_fronts, acquisition.propose
    monkeypatch.setattr(acquisition, "sample_pareto_fronts",
                        lambda *a, **kw: fronts.append(real_fronts(*a, **kw)) or fronts[-1])
    monkeypatch.setattr(acquisition, "propose",
                        lambda *a, **kw: calls.append(kw | {"surrogates": a[1]}) or real_propose(*a, **kw))
    mes = MESSearch(truncation="tradeoff", **FAST_MES, **({switch: True} if switch else {}))
    res = run_search(Toy(), mes, budget=np.inf, seed=0, max_evaluations=6)
    assert len(calls) == len(fronts) >= 2
    for kw, sampled in zip(calls, fronts, strict=True):
        assert kw["refine"] is local
        if seeded:
            np.testing.assert_array_equal(kw["seeds"], np.vstack([f.x for f in sampled]))
        else:
            assert kw["seeds"] is None
    # every evaluation notes its proposal: the warm-up ones as such, the others propose's trace
    notes = [e.proposal for e in res.evaluations]
    assert notes[:FAST_MES["n_init"]] == [{"origin": "init"}] * FAST_MES["n_init"]
    # ... plus the fitted GPs' length-scales, as the surrogates that proposed it have them
    assert notes[FAST_MES["n_init"]:] == [kw["trace"][0] | {"lengthscales": [s.lengthscales.tolist()
                                                                             for s in kw["surrogates"]]}
                                          for kw in calls]
    assert all(len(n["lengthscales"]) == 1 and len(n["lengthscales"][0]) == Toy().n_var + 1
               for n in notes[FAST_MES["n_init"]:])
    allowed = {"random"} | ({"front"} if seeded else set()) | ({"refined"} if local else set())
    assert {n["origin"] for n in notes[FAST_MES["n_init"]:]} <= allowed
    assert all(np.isfinite(n["acquisition"]) and n["gain"] >= 0 for n in notes[FAST_MES["n_init"]:])


@pytest.mark.parametrize(("switch", "attribute", "flip"),
                         [("gain_cap", "gain_cap", False), ("correlated", "correlated", False),
                          ("unpruned", "prune", True)])
def test_mes_search_passes_its_switches_to_the_acquisition(monkeypatch, switch, attribute, flip):
    import search.acquisition as acquisition

    seen = []
    real = acquisition.propose

    def spy(factory, surrogates, **kw):
        seen.append(getattr(factory(surrogates), attribute))
        return real(factory, surrogates, **kw)

    monkeypatch.setattr(acquisition, "propose", spy)
    for on in (False, True):
        run_search(Toy(), MESSearch(truncation="tradeoff", **{switch: on}, **FAST_MES), budget=np.inf, seed=0,
                   max_evaluations=FAST_MES["n_init"] + 2)
        assert seen and set(seen) == {on != flip}
        seen.clear()

"""``search.rescore``: fresh measurements of a search store's designs, resumable, and the CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest

from crossbar.errors import ConfigError
from search.executors import make_executor
from search.loop import Evaluation
from search.rescore import RESCORE_COLUMNS, default_out, plot_rescore, problem_of_store, rescore_store, rescore_table
from search.run import SEARCH_COLUMNS, SearchSpec, _row
from search.store import ResultStore, StoreError


class Toy:
    """Two variables; cheap objective ``x0``; noisy expensive ``-x0 + 0.5 x1 + 0.1 N(seed)``."""

    n_var = 2
    n_expensive = 1
    fidelities = np.array([0.5, 1.0])

    def __init__(self, fail: tuple[float, int] | None = None) -> None:
        self.calls: list[tuple[tuple[float, ...], float, int]] = []
        self.fail = fail  # (x0, seed): that evaluation raises

    @staticmethod
    def f(x: np.ndarray, seed: int) -> np.ndarray:
        return np.array([-x[0] + 0.5 * x[1] + 0.1 * np.random.default_rng(seed).normal()])

    def exact(self, x):
        return np.atleast_2d(x)[:, :1].copy()

    def cost(self, x, z):
        return np.ones(len(np.atleast_2d(x)))

    def evaluate(self, x, z, seed):
        self.calls.append((tuple(np.asarray(x).tolist()), float(z), int(seed)))
        if self.fail is not None and float(x[0]) == self.fail[0] and seed == self.fail[1]:
            raise RuntimeError("toy diverged")
        return self.f(np.asarray(x), seed), 1.0


def _dominated(F: np.ndarray) -> np.ndarray:
    """Brute-force oracle: row i is dominated by some row j (minimization)."""
    return np.array([any(np.all(F[j] <= F[i]) and np.any(F[j] < F[i]) for j in range(len(F)))
                     for i in range(len(F))])


def _store(path, *, n=24, extra=(), seed=0):
    """A search store of ``n`` random full-fidelity toy evaluations (recorded with the toy's noise at
    their own seeds) plus ``extra`` evaluations."""
    rng = np.random.default_rng(seed)
    evs = []
    for i in range(n):
        x = rng.random(2)
        evs.append(Evaluation(index=i, x=x, z=1.0, f=Toy.f(x, 7 + i), cheap=x[:1].copy(), cost=1.0, seed=7 + i))
    evs += [Evaluation(index=n + k, **e) for k, e in enumerate(extra)]
    spec = SearchSpec(problem={"toy": 1, "objectives": ["neg_accuracy", "x0"]}, algorithm={"name": "random"},
                      budget=float(len(evs)), q=1, seed=0)
    store = ResultStore.open(path, columns=SEARCH_COLUMNS, fingerprint=spec.fingerprint(), meta=spec.meta())
    for e in evs:
        store.append(_row(e, {"a": float(e.x[0]), "b": float(e.x[1])}))
    return evs


def _full(evs):
    return [e for e in evs if e.status == "ok" and e.z == 1.0]


def test_front_designs_are_measured_with_common_seeds_and_exact_means(tmp_path):
    evs = _store(tmp_path / "s.h5")
    toy = Toy()
    res = rescore_store(tmp_path / "s.h5", repeats=3, seed=100, problem=toy, progress=False)
    F = np.array([np.concatenate([e.f, e.cheap]) for e in evs])
    front = {tuple(e.x) for e, d in zip(evs, _dominated(F), strict=True) if not d}
    assert {tuple(d.x) for d in res.designs} == front and len(front) >= 3
    assert res.out == default_out(tmp_path / "s.h5") == tmp_path / "s_rescored.h5"
    assert res.n_new == 3 * len(front) == len(toy.calls)
    for d in res.designs:
        assert d.on_recorded_front and d.n_recorded == 1 and d.ok
        assert sorted(s for x, z, s in toy.calls if x == tuple(d.x)) == [100, 101, 102]
        assert all(z == 1.0 for *_, z, _ in toy.calls)
        want = np.array([Toy.f(d.x, 100 + r) for r in range(3)])
        np.testing.assert_array_equal(d.measured, want)
        np.testing.assert_allclose(d.mean, want.mean(axis=0), rtol=0, atol=1e-15)
        np.testing.assert_allclose(d.std, want.std(axis=0, ddof=1), rtol=1e-12)
        e = next(e for e in evs if e.index == d.index)
        np.testing.assert_array_equal(d.recorded, e.f)
        np.testing.assert_array_equal(d.cheap, e.cheap)
        assert d.design == {"a": float(e.x[0]), "b": float(e.x[1])}
    G = np.array([np.concatenate([d.mean, d.cheap]) for d in res.designs])
    np.testing.assert_array_equal([d.on_measured_front for d in res.designs], ~_dominated(G))
    rows = ResultStore.read(res.out).rows()
    assert len(rows) == res.n_new and {r["seed"] for r in rows} == {100, 101, 102}
    # a task without a validation part measured on the test split: "search" is the same store and values
    again = rescore_store(tmp_path / "s.h5", repeats=3, seed=100, split="search", problem=toy, progress=False)
    assert again.out == res.out and again.n_new == 0 and again.splits == res.splits == ""
    assert ResultStore.read(res.out).columns == {"key": "str", "status": "str", "error": "str"} | RESCORE_COLUMNS


def test_a_common_seed_problem_is_measured_through_its_remeasurement(tmp_path):
    """A problem with ``remeasurement()`` (a ReRAM task with a ``common_seed``) is measured by what
    that returns, with the rescore's own seeds; the problem itself is not called."""
    _store(tmp_path / "s.h5")
    common, fresh = Toy(), Toy()
    common.remeasurement = lambda split: fresh
    res = rescore_store(tmp_path / "s.h5", repeats=2, seed=100, problem=common, progress=False)
    assert common.calls == [] and len(fresh.calls) == res.n_new == 2 * len(res.designs) > 0
    assert {s for *_, s in fresh.calls} == {100, 101}


def test_all_designs_skip_low_fidelity_and_failed_and_measure_a_repeated_design_once(tmp_path):
    x_dup = np.array([0.95, 0.05])  # the best trade-off region: on the recorded front twice
    extra = [dict(x=np.array([0.99, 0.0]), z=0.5, f=np.array([-5.0]), cheap=np.array([0.99]), cost=0.5, seed=1),
             dict(x=np.array([0.2, 0.2]), z=1.0, f=np.array([np.nan]), cheap=np.array([0.2]), cost=0.1, seed=2,
                  status="failed", error="boom"),
             dict(x=x_dup, z=1.0, f=np.array([-0.5]), cheap=x_dup[:1].copy(), cost=1.0, seed=3),
             dict(x=x_dup, z=1.0, f=np.array([-2.0]), cheap=x_dup[:1].copy(), cost=1.0, seed=4)]
    evs = _store(tmp_path / "s.h5", extra=extra)
    toy = Toy()
    res = rescore_store(tmp_path / "s.h5", repeats=2, seed=5, designs="all", problem=toy, progress=False)
    unique = {tuple(e.x) for e in _full(evs)}
    assert {tuple(d.x) for d in res.designs} == unique and len(res.designs) == len(unique)
    assert (0.99, 0.0) not in {x for x, *_ in toy.calls} and (0.2, 0.2) not in {x for x, *_ in toy.calls}
    dup = next(d for d in res.designs if tuple(d.x) == tuple(x_dup))
    assert dup.n_recorded == 2 and dup.on_recorded_front
    np.testing.assert_array_equal(dup.recorded, [-2.0])  # the recorded value on the front
    assert sum(x == tuple(x_dup) for x, *_ in toy.calls) == 2
    F = np.array([np.concatenate([e.f, e.cheap]) for e in _full(evs)])
    on_front = {tuple(e.x) for e, d in zip(_full(evs), _dominated(F), strict=True) if not d}
    assert {tuple(d.x) for d in res.designs if d.on_recorded_front} == on_front
    assert any(not d.on_recorded_front for d in res.designs)


def test_resume_measures_only_what_is_missing(tmp_path):
    _store(tmp_path / "s.h5")
    first = rescore_store(tmp_path / "s.h5", repeats=2, seed=50, problem=Toy(), progress=False)
    toy = Toy()
    more = rescore_store(tmp_path / "s.h5", repeats=3, seed=50, problem=toy, progress=False)
    assert more.n_new == len(more.designs) == len(first.designs)
    assert {s for *_, s in toy.calls} == {52}
    for a, b in zip(first.designs, more.designs, strict=True):
        np.testing.assert_array_equal(b.measured[:2], a.measured)
    toy = Toy()
    again = rescore_store(tmp_path / "s.h5", repeats=3, seed=50, problem=toy, progress=False)
    assert again.n_new == 0 and not toy.calls
    for a, b in zip(again.designs, more.designs, strict=True):
        np.testing.assert_array_equal(a.measured, b.measured)
    toy = Toy()
    every = rescore_store(tmp_path / "s.h5", repeats=3, seed=50, designs="all", problem=toy, progress=False)
    assert every.n_new == 3 * (len(every.designs) - len(more.designs))
    assert not {x for x, *_ in toy.calls} & {tuple(d.x) for d in more.designs}


def test_an_executor_gives_the_same_measurements(tmp_path):
    _store(tmp_path / "s.h5")
    plain = rescore_store(tmp_path / "s.h5", repeats=2, seed=9, problem=Toy(), progress=False,
                          out=tmp_path / "a.h5")
    ex = make_executor("serial")
    try:
        via = rescore_store(tmp_path / "s.h5", repeats=2, seed=9, problem=Toy(), progress=False,
                            out=tmp_path / "b.h5", executor=ex)
    finally:
        ex.shutdown()
    assert via.n_new == plain.n_new
    for a, b in zip(plain.designs, via.designs, strict=True):
        np.testing.assert_array_equal(a.measured, b.measured)


def test_a_failed_measurement_fails_the_design_and_keeps_it_off_the_measured_front(tmp_path):
    _store(tmp_path / "s.h5")
    probe = rescore_store(tmp_path / "s.h5", repeats=2, seed=0, problem=Toy(), progress=False,
                          out=tmp_path / "probe.h5")
    best = min(probe.designs, key=lambda d: d.mean[0])  # on the measured front
    assert best.on_measured_front
    res = rescore_store(tmp_path / "s.h5", repeats=2, seed=0, problem=Toy(fail=(float(best.x[0]), 1)),
                        progress=False)
    bad = next(d for d in res.designs if tuple(d.x) == tuple(best.x))
    assert not bad.ok and "toy diverged" in bad.error and "seed 1" in bad.error
    assert np.isnan(bad.mean).all() and not bad.on_measured_front and len(bad.measured) == 1
    ok = [d for d in res.designs if d.ok]
    G = np.array([np.concatenate([d.mean, d.cheap]) for d in ok])
    np.testing.assert_array_equal([d.on_measured_front for d in ok], ~_dominated(G))
    assert "failed" in rescore_table(res)
    rows = ResultStore.read(res.out).rows()
    assert [r["status"] for r in rows].count("failed") == 1


def test_table_and_figure(tmp_path):
    _store(tmp_path / "s.h5")
    res = rescore_store(tmp_path / "s.h5", repeats=3, seed=1, problem=Toy(), progress=False)
    text = rescore_table(res).splitlines()
    assert len(text) == len(res.designs) + 3
    shown = [float(line.split()[1]) for line in text[2:-1]]  # measured accuracy [%], best first
    assert shown == sorted(shown, reverse=True)
    best = min(res.designs, key=lambda d: d.mean[0])
    assert text[2].split()[:5] == [f"{-100 * best.recorded[0]:.2f}", f"{-100 * best.mean[0]:.2f}", "+-",
                                   f"{100 * best.std[0]:.2f}", f"{-100 * (best.mean[0] - best.recorded[0]):+.2f}"]
    deltas = [-100 * (d.mean[0] - d.recorded[0]) for d in res.designs]
    assert f"mean {np.mean(deltas):+.2f}" in text[-1]
    paths = plot_rescore(res, tmp_path / "fig")
    assert [p.name for p in paths] == ["fig.png", "fig.pdf"] and all(p.stat().st_size > 5_000 for p in paths)


def test_plot_measured_scores_every_figure_by_the_designs_means(tmp_path, capsys):
    from search.cli import main
    from search.cli_search import plot_stores
    from search.rescore import measured_evaluations
    from search.tasks import hypervolume_trace

    extra = [dict(x=np.array([0.3, 0.3]), z=0.5, f=np.array([-0.2]), cheap=np.array([0.3]), cost=0.5, seed=1)]
    evs = _store(tmp_path / "s.h5", extra=extra)
    with pytest.raises(ConfigError, match=r"s_rescored.h5' does not exist: .*`xbarsim rescore .*s.h5 --all`"):
        plot_stores([tmp_path / "s.h5"], measured=True)
    rescore_store(tmp_path / "s.h5", repeats=3, seed=50, problem=Toy(), progress=False)  # the front only
    with pytest.raises(ConfigError, match=r"of the 24 full-fidelity evaluations .* have no measurement"):
        plot_stores([tmp_path / "s.h5"], measured=True)
    rescore_store(tmp_path / "s.h5", repeats=3, seed=50, problem=Toy(), designs="all", progress=False)
    files = plot_stores([tmp_path / "s.h5"], measured=True)
    assert {p.name for p in files} >= {"s_measured_fronts.png", "s_measured_hypervolume.json"}
    summary = json.loads((tmp_path / "s_measured_hypervolume.json").read_text())
    # oracle: every full-fidelity evaluation scored by the mean of the toy at seeds 50, 51, 52
    by_hand = [Evaluation(index=e.index, x=e.x, z=e.z, cheap=e.cheap, cost=e.cost, seed=e.seed,
                          f=np.mean([Toy.f(e.x, 50 + r) for r in range(3)], axis=0) if e.z == 1.0 else e.f)
               for e in evs]
    c, hv = hypervolume_trace(by_hand, ideal=np.array(summary["ideal"]), nadir=np.array(summary["nadir"]))
    np.testing.assert_allclose(summary["runs"][0]["hypervolume"], hv, rtol=1e-12)
    np.testing.assert_array_equal(summary["runs"][0]["cost"], c)
    recorded = plot_stores([tmp_path / "s.h5"])  # the recorded figures are other files, with other values
    assert recorded[0].name == "s_fronts.png"
    assert json.loads((tmp_path / "s_hypervolume.json").read_text())["runs"][0]["hypervolume"][-1] != hv[-1]
    # a failed fresh measurement fails its design; the low-fidelity evaluation is left as it was
    _store(tmp_path / "f.h5", extra=extra)
    bad = evs[5]
    rescore_store(tmp_path / "f.h5", repeats=2, seed=0, designs="all", progress=False,
                  problem=Toy(fail=(float(bad.x[0]), 1)))
    got, fewest = measured_evaluations(tmp_path / "f.h5", evs)
    assert fewest == 2 and got[-1] is evs[-1]
    assert got[5].status == "failed" and "toy diverged" in got[5].error
    assert all(g.status == "ok" for i, g in enumerate(got) if i != 5)
    # the CLI flag, and a rescore store of another problem is refused
    capsys.readouterr()
    assert main(["plot", str(tmp_path / "s.h5"), "--measured"]) == 0
    assert "(accuracy, measured mean)" in capsys.readouterr().out
    other = ResultStore.open(tmp_path / "o.h5", columns=RESCORE_COLUMNS, fingerprint="o",
                             meta={"kind": "rescore", "problem": {"toy": 2}})
    with pytest.raises(StoreError, match="is not a rescore store of the problem"):
        plot_stores([tmp_path / "s.h5"], measured=other.path)


def test_bad_input_and_mismatched_stores_are_refused(tmp_path):
    _store(tmp_path / "s.h5")
    for kwargs, match in (({"repeats": 0}, "repeats must be"), ({"seed": -1}, "seed must be"),
                          ({"designs": "best"}, "designs must be one of"), ({"repeats": True}, "repeats must be")):
        with pytest.raises(ConfigError, match=match):
            rescore_store(tmp_path / "s.h5", problem=Toy(), progress=False, **kwargs)
    rescore_store(tmp_path / "s.h5", repeats=1, seed=3, problem=Toy(), progress=False)
    with pytest.raises(StoreError, match="different inputs"):  # another seed into the same rescore store
        rescore_store(tmp_path / "s.h5", repeats=1, seed=4, problem=Toy(), progress=False)

    class Wide(Toy):
        n_var = 3

    with pytest.raises(ConfigError, match="3 variables"):
        rescore_store(tmp_path / "s.h5", problem=Wide(), progress=False, out=tmp_path / "w.h5")
    with pytest.raises(ConfigError, match="not a ReRAM task"):
        problem_of_store(ResultStore.read(tmp_path / "s.h5").meta)
    sweep = ResultStore.open(tmp_path / "sweep.h5", columns={"area": "float64"}, fingerprint="x",
                             meta={"kind": "sweep"})
    with pytest.raises(StoreError, match="not a search store"):
        rescore_store(sweep.path, problem=Toy(), progress=False)
    _store(tmp_path / "empty.h5", n=0, extra=[dict(x=np.array([0.5, 0.5]), z=0.5, f=np.array([-0.5]),
                                                   cheap=np.array([0.5]), cost=0.5, seed=0)])
    with pytest.raises(ConfigError, match="no successful full-fidelity"):
        rescore_store(tmp_path / "empty.h5", problem=Toy(), progress=False)


def test_cli_rescores_a_reram_search_store(tmp_path, capsys):
    """End to end on the real task: the measurements are fresh evaluations of the stored designs."""
    from search.cli import main
    from search.run import load_evaluations

    cfg = tmp_path / "s.toml"
    cfg.write_text(f'output = "{tmp_path / "st.h5"}"\nalgorithm = "random"\nbudget = 2.0\n'
                   '[task]\npretrain_epochs = 1\nmax_epochs = 1\nn_repeats = 1\n')
    assert main(["search", str(cfg), "--no-progress"]) == 0
    capsys.readouterr()
    assert main(["rescore", str(tmp_path / "st.h5"), "--repeats", "2", "--seed", "77", "--all", "--no-progress"]) == 0
    out = capsys.readouterr().out
    evs = load_evaluations(tmp_path / "st.h5")
    rows = ResultStore.read(tmp_path / "st_rescored.h5").rows()
    assert len(rows) == 2 * len({tuple(e.x) for e in evs}) and {r["seed"] for r in rows} == {77, 78}
    assert "accuracy [%]: recorded, measured" in out and (tmp_path / "st_rescored.pdf").exists()
    prob = problem_of_store(ResultStore.read(tmp_path / "st.h5").meta)
    row = rows[0]
    f, _ = prob.evaluate(np.array(json.loads(row["x"])), 1.0, row["seed"])
    assert json.loads(row["f"]) == [float(v) for v in f]  # the same evaluation, bit for bit
    assert main(["rescore", str(tmp_path / "st.h5"), "--repeats", "0"]) == 2
    assert "repeats must be" in capsys.readouterr().err

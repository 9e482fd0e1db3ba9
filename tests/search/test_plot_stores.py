"""``xbarsim plot`` of several stores with a shared normalization and a user reference point."""

from __future__ import annotations

import json

import numpy as np
import pytest
from pymoo.indicators.hv import HV

from crossbar.errors import ConfigError
from search.algorithms import MESSearch, NSGA2Search, RandomSearch
from search.benchmarks import BENCHMARKS
from search.cli_search import parse_reference, plot_stores
from search.run import SearchSpec, load_evaluations, run_stored_search
from search.tasks import BenchmarkSearch, hypervolume_trace

NAMES = ["neg_accuracy", "area_mm2", "energy_j", "latency_s"]


class NegAccuracy(BenchmarkSearch):
    """The DTLZ2 accuracy/cost variant with its error ``e`` reported as ``-(1 - e)``, like the
    ReRAM problem's negated accuracy."""

    def evaluate(self, x, z, seed):
        f, cost = super().evaluate(x, z, seed)
        return f - 1.0, cost


def _store(tmp_path, name: str, seed: int, algorithm: str = "random", problem: str = "p", budget: float = 12.0):
    prob = NegAccuracy(BENCHMARKS["dtlz2_accuracy_cost"]())
    alg = {"random": RandomSearch, "nsga2": lambda: NSGA2Search(pop_size=4),
           "mesmo": lambda: MESSearch(multi_fidelity=False, name="mesmo", truncation="tradeoff", n_samples=2,
                                      n_candidates=100, nsga_pop=16, nsga_gen=5, n_init=4)}[algorithm]()
    spec = SearchSpec(problem={"bench": problem, "objectives": NAMES}, algorithm={"name": algorithm},
                      budget=budget, q=1, seed=seed)
    path = tmp_path / f"{name}.h5"
    run_stored_search(prob, alg, spec, path, progress=False)
    return path


def _front(path) -> np.ndarray:
    return np.array([np.concatenate([e.f, e.cheap]) for e in load_evaluations(path) if e.status == "ok" and e.z == 1])


def test_user_reference_point_gives_the_hypervolume_of_the_region_of_interest(tmp_path):
    paths = [_store(tmp_path, "r0", 0), _store(tmp_path, "r1", 1), _store(tmp_path, "n0", 0, "nsga2")]
    union = np.vstack([_front(p) for p in paths])
    ideal = np.concatenate([[-1.0], union[:, 1:].min(axis=0)])
    ref = np.concatenate([[-0.3], np.quantile(union[:, 1:], 0.8, axis=0)])  # some designs dominate it
    text = f"accuracy=0.3,area_mm2={float(ref[1])!r},energy_j={float(ref[2])!r},latency_s={float(ref[3])!r}"
    files = plot_stores(paths, reference=text, out=tmp_path / "cmp")
    summary = json.loads((tmp_path / "cmp_hypervolume.json").read_text())
    assert tmp_path / "cmp_hypervolume.json" in files and (tmp_path / "cmp_hypervolume.pdf").exists()
    np.testing.assert_allclose(summary["reference_point"], ref, rtol=1e-12)
    assert [r["label"] for r in summary["runs"]] == ["random", "random", "nsga2"]
    hv_any = 0.0
    for path, run in zip(paths, summary["runs"], strict=True):
        raw = HV(ref_point=ref)(_front(path))  # independent: pymoo on the raw objectives
        expected = raw / np.prod((ref - ideal) / 1.1)
        np.testing.assert_allclose(run["hypervolume"][-1], expected, rtol=1e-9, atol=1e-12)
        hv_any = max(hv_any, expected)
    assert hv_any > 0, "the reference point must let some design count (else this checks nothing)"


def test_default_normalization_is_shared_by_all_stores(tmp_path, capsys):
    paths = [_store(tmp_path, "a", 0), _store(tmp_path, "b", 5)]
    plot_stores(paths)
    summary = json.loads((tmp_path / "comparison_hypervolume.json").read_text())
    union = np.vstack([_front(p) for p in paths])
    ideal = np.concatenate([[-1.0], union[:, 1:].min(axis=0)])
    nadir = np.concatenate([[0.0], union[:, 1:].max(axis=0) * 1.05])
    np.testing.assert_allclose(summary["ideal"], ideal)
    np.testing.assert_allclose(summary["nadir"], nadir)
    for path, run in zip(paths, summary["runs"], strict=True):
        c, hv = hypervolume_trace(load_evaluations(path), ideal=ideal, nadir=nadir)
        np.testing.assert_array_equal(run["cost"], c)
        np.testing.assert_array_equal(run["hypervolume"], hv)
    assert "reference point" in capsys.readouterr().out


def test_proposal_origins_are_counted_and_the_gains_plotted_only_where_noted(tmp_path):
    from collections import Counter

    paths = [_store(tmp_path, "r", 0), _store(tmp_path, "m", 0, "mesmo", budget=7.0)]
    files = plot_stores(paths, out=tmp_path / "cmp")
    runs = json.loads((tmp_path / "cmp_hypervolume.json").read_text())["runs"]
    assert runs[0]["origins"] == {}  # random search notes nothing
    notes = [e.proposal for e in load_evaluations(paths[1])]
    assert runs[1]["origins"] == dict(Counter(n["origin"] for n in notes)) and runs[1]["origins"]["init"] == 4
    assert sum(runs[1]["origins"].values()) == len(notes) > 4  # model-based proposals too
    assert tmp_path / "cmp_proposals.png" in files and (tmp_path / "cmp_proposals.pdf").exists()
    plot_stores(paths[:1], out=tmp_path / "plain")
    assert not (tmp_path / "plain_proposals.png").exists()


def test_proposals_figure_keeps_every_store_of_the_same_label_and_seed(tmp_path, monkeypatch):
    import search.plot

    drawn = []
    monkeypatch.setattr(search.plot, "proposal_trace", lambda runs, stem: drawn.append(runs) or [])
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    paths = [_store(tmp_path / d, "m", 0, "mesmo", budget=5.0) for d in ("a", "b")]
    plot_stores(paths, out=tmp_path / "cmp")
    assert list(drawn[0]) == ["mesmo seed 0", f"mesmo seed 0 ({paths[1]})"]  # neither run is dropped


def test_plot_refuses_what_is_not_comparable(tmp_path):
    a, other = _store(tmp_path, "a", 0), _store(tmp_path, "o", 0, problem="q")
    with pytest.raises(ConfigError, match="another problem"):
        plot_stores([a, other])
    with pytest.raises(ConfigError, match="at least one"):
        plot_stores([])
    with pytest.raises(ConfigError, match=r"worse than the best value found.*'area_mm2'"):
        plot_stores([a], reference="accuracy=0.5,area_mm2=-1,energy_j=1e9,latency_s=1e9")


@pytest.mark.parametrize(("text", "match"), [
    ("accuracy=0.9,area_mm2=1,energy_j=2", r"missing \['latency_s'\]"),
    ("accuracy=0.9,area_mm2=1,energy_j=2,latency_s=3,area_mm2=4", "given twice"),
    ("accuracy=0.9,power=1,energy_j=2,latency_s=3", "'power' is not an objective"),
    ("accuracy=90,area_mm2=1,energy_j=2,latency_s=3", r"fraction in \[0, 1\]"),
    ("accuracy=0.9,area_mm2=big,energy_j=2,latency_s=3", "'area_mm2=big' is not NAME=NUMBER"),
    ("accuracy=0.9,area_mm2=nan,energy_j=2,latency_s=3", "not NAME=NUMBER"),
])
def test_reference_text_errors_name_the_part(text, match):
    with pytest.raises(ConfigError, match=match):
        parse_reference(text, NAMES)


def test_reference_text_by_hand():
    got = parse_reference("latency_s=1e-3, accuracy=0.95,energy_j=2e-6,area_mm2=4", NAMES)
    np.testing.assert_array_equal(got, [-0.95, 4.0, 2e-6, 1e-3])
    np.testing.assert_array_equal(parse_reference("neg_accuracy=-0.9,a=1", ["neg_accuracy", "a"]), [-0.9, 1.0])


def test_cli_plot_of_several_stores(tmp_path, capsys):
    from search.cli import main

    a, b = _store(tmp_path, "a", 0), _store(tmp_path, "b", 1, "nsga2")
    assert main(["plot", str(a), str(b), "--out", str(tmp_path / "both")]) == 0
    out = capsys.readouterr().out
    assert "nsga2" in out and "random" in out and (tmp_path / "both_fronts.png").exists()
    assert main(["plot", str(a), "--reference", "accuracy=0.9"]) == 2
    assert "missing" in capsys.readouterr().err

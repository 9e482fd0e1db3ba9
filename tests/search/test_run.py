"""Store-backed search: resume after SIGKILL, fingerprint checks, config errors."""

from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

from crossbar.errors import ConfigError
from search.algorithms import MES_SWITCHES, NSGA2Search
from search.benchmarks import BENCHMARKS
from search.loop import run_search
from search.run import SearchSpec, load_evaluations, run_stored_search
from search.store import ResultStore, StoreError
from search.tasks import BenchmarkSearch

_SCRIPT = textwrap.dedent(
    """
    import sys, time
    import numpy as np
    from search.benchmarks import BENCHMARKS
    from search.algorithms import NSGA2Search
    from search.run import SearchSpec, run_stored_search
    from search.tasks import BenchmarkSearch

    class Slow(BenchmarkSearch):
        def evaluate(self, x, z, seed):
            time.sleep(float(sys.argv[2]))
            return super().evaluate(x, z, seed)

    prob = Slow(BENCHMARKS["zdt1_mf"]())
    spec = SearchSpec(problem={"bench": "zdt1_mf"}, algorithm={"name": "nsga2", "pop": 4}, budget=12.0,
                      q=1, seed=3)
    run_stored_search(prob, NSGA2Search(pop_size=4), spec, sys.argv[1], progress=False)
    """
)


def _spec():
    return SearchSpec(problem={"bench": "zdt1_mf"}, algorithm={"name": "nsga2", "pop": 4}, budget=12.0, q=1,
                      seed=3)


def test_search_killed_with_sigkill_resumes_without_losing_finished_evaluations(tmp_path):
    store = tmp_path / "store.h5"
    script = tmp_path / "run.py"
    script.write_text(_SCRIPT)
    env = dict(os.environ, PYTHONPATH=os.getcwd())
    proc = subprocess.Popen([sys.executable, str(script), str(store), "0.2"], env=env)
    deadline = time.time() + 60
    while time.time() < deadline:
        if store.exists():
            try:
                if len(ResultStore.read(store)) >= 4:
                    break
            except (StoreError, OSError):
                pass
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    before = load_evaluations(store)
    assert 4 <= len(before) < 12, "killed mid-run"
    subprocess.run([sys.executable, str(script), str(store), "0.0"], env=env, check=True)
    after = load_evaluations(store)
    assert [e.index for e in after[: len(before)]] == [e.index for e in before], "finished rows kept"
    idx = [e.index for e in after]
    assert len(idx) == len(set(idx)) and set(idx) == set(range(len(idx)))
    # the resumed search proposed exactly what an uninterrupted one does
    straight = run_search(BenchmarkSearch(BENCHMARKS["zdt1_mf"]()), NSGA2Search(pop_size=4), budget=12.0, seed=3)
    want = {e.index: e.x for e in straight.evaluations}
    assert set(want) == set(idx)
    for e in after:
        np.testing.assert_array_equal(e.x, want[e.index])


def test_store_of_another_search_is_refused(tmp_path):
    prob = BenchmarkSearch(BENCHMARKS["zdt1_mf"]())
    store = tmp_path / "s.h5"
    run_stored_search(prob, NSGA2Search(pop_size=4), _spec(), store, progress=False)
    n = len(load_evaluations(store))
    other = SearchSpec(problem={"bench": "zdt1_mf"}, algorithm={"name": "nsga2", "pop": 4}, budget=12.0, q=1,
                       seed=4)
    with pytest.raises(StoreError, match="different inputs"):
        run_stored_search(prob, NSGA2Search(pop_size=4), other, store, progress=False)
    assert len(load_evaluations(store)) == n, "nothing was overwritten"
    # re-running the finished search adds nothing
    run_stored_search(prob, NSGA2Search(pop_size=4), _spec(), store, progress=False)
    assert len(load_evaluations(store)) == n


def test_search_config_errors(tmp_path):
    from search.cli_search import load_search_config

    bad = tmp_path / "bad.toml"
    bad.write_text('budget = 10\nalgoritm = "cfmesmo"\n')
    with pytest.raises(ConfigError, match="unknown keys \\['algoritm'\\]"):
        load_search_config(bad)
    bad.write_text('budget = 10\n[task]\nmodell = "mlp"\n')
    with pytest.raises(ConfigError, match="unknown \\[task\\] keys"):
        load_search_config(bad)
    bad.write_text('algorithm = "cfmesmo"\n')
    with pytest.raises(ConfigError, match="'budget'"):
        load_search_config(bad)
    bad.write_text('budget = "ten"\n')
    with pytest.raises(ConfigError, match="wrong type"):
        load_search_config(bad)
    with pytest.raises(ConfigError, match="does not exist"):
        load_search_config(tmp_path / "missing.toml")


@pytest.mark.parametrize(("line", "message"), [("n_samples = 0", "MESSearch.n_samples must be an integer >= 1; got 0"),
                                               ("n_init = 1", "MESSearch.n_init must be an integer >= 2; got 1")])
def test_bad_algorithm_settings_fail_before_pretraining(tmp_path, capsys, monkeypatch, line, message):
    import search.evaluate
    from search.cli import main

    monkeypatch.setattr(search.evaluate, "pretrain", lambda *a, **k: pytest.fail("pretrained before refusing"))
    cfg = tmp_path / "s.toml"
    cfg.write_text(f'output = "{tmp_path / "st.h5"}"\nbudget = 1.0\n{line}\n')
    assert main(["search", str(cfg), "--no-progress"]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "st.h5").exists()


def _hypervolume_xlabels(monkeypatch) -> list:
    """The x labels ``xbarsim plot`` gives its hypervolume-vs-cost figures, appended as it draws them."""
    import search.plot

    labels: list = []
    real = search.plot.hypervolume_vs_cost
    monkeypatch.setattr(search.plot, "hypervolume_vs_cost",
                        lambda *a, **kw: labels.append(kw["xlabel"]) or real(*a, **kw))
    return labels


def test_cli_search_and_plot(tmp_path, capsys, monkeypatch):
    from search.cli import main

    cfg = tmp_path / "s.toml"
    cfg.write_text(f'output = "{tmp_path / "st.h5"}"\nalgorithm = "random"\nbudget = 1.0\n'
                   '[task]\npretrain_epochs = 1\nmax_epochs = 1\nn_repeats = 1\n')
    assert main(["search", str(cfg), "--no-progress"]) == 0
    evs = load_evaluations(tmp_path / "st.h5")
    assert evs and all(e.status == "ok" and e.z == 1.0 for e in evs)
    labels = _hypervolume_xlabels(monkeypatch)
    assert main(["plot", str(tmp_path / "st.h5")]) == 0
    out = capsys.readouterr().out
    assert "Pareto-optimal designs" in out and (tmp_path / "st_fronts.pdf").exists()
    assert labels == ["cumulative evaluation seconds"]  # a ReRAM task without evaluation_cost: measured seconds


def test_cli_search_with_a_common_seed_records_the_common_draw(tmp_path):
    """``[task] common_seed`` reaches the stored task, and every recorded accuracy is the one a
    measurement with that seed gives (the evaluations' own seeds differ)."""
    from search.cli import main
    from search.rescore import problem_of_store

    cfg = tmp_path / "s.toml"
    # a budget of seconds: the first evaluation must cost less for a second one (0.83 s on a loaded machine)
    cfg.write_text(f'output = "{tmp_path / "st.h5"}"\nalgorithm = "random"\nbudget = 3.0\n'
                   '[task]\npretrain_epochs = 1\nmax_epochs = 1\nn_repeats = 1\ncommon_seed = 3\n')
    assert main(["search", str(cfg), "--no-progress"]) == 0
    evs = load_evaluations(tmp_path / "st.h5")
    meta = ResultStore.read(tmp_path / "st.h5").meta
    assert meta["problem"]["task"]["common_seed"] == 3 and len({e.seed for e in evs}) == len(evs) >= 2
    measuring = problem_of_store(meta).remeasurement()
    assert measuring.task.common_seed is None
    for e in evs[:2]:
        np.testing.assert_array_equal(measuring.evaluate(e.x, e.z, 3)[0], e.f)


def test_cli_search_budgeted_in_passes_makes_the_same_evaluations_on_any_machine(tmp_path, monkeypatch):
    """``[task] evaluation_cost = "passes"``: every full-fidelity evaluation costs ``1 + max_epochs``
    whatever its seconds, so a budget of 5 buys exactly 3 (2 + 2 + 2 crosses 5); the task is stored
    with the option, and a second run finds the search finished."""
    from search.cli import main

    cfg = tmp_path / "s.toml"
    cfg.write_text(f'output = "{tmp_path / "st.h5"}"\nalgorithm = "random"\nbudget = 5.0\n'
                   '[task]\npretrain_epochs = 1\nmax_epochs = 1\nn_repeats = 1\nevaluation_cost = "passes"\n')
    assert main(["search", str(cfg), "--no-progress"]) == 0
    evs = load_evaluations(tmp_path / "st.h5")
    assert [(e.status, e.z, e.cost) for e in evs] == [("ok", 1.0, 2.0)] * 3
    assert ResultStore.read(tmp_path / "st.h5").meta["problem"]["task"]["evaluation_cost"] == "passes"
    assert main(["search", str(cfg), "--no-progress"]) == 0
    assert len(load_evaluations(tmp_path / "st.h5")) == 3
    labels = _hypervolume_xlabels(monkeypatch)
    assert main(["plot", str(tmp_path / "st.h5")]) == 0
    assert labels == ["cumulative evaluation passes"]  # the plot names the store's unit


@pytest.mark.parametrize("n_legacy", [0, 1, 2])
def test_proposal_seconds_and_notes_round_trip_and_legacy_stores_resume(tmp_path, n_legacy):
    from search.run import _LEGACY_SCHEMAS, SEARCH_COLUMNS, _row
    from search.tasks import hypervolume_trace

    prob = BenchmarkSearch(BENCHMARKS["zdt1_mf"]())
    store = tmp_path / "s.h5"
    res = run_stored_search(prob, NSGA2Search(pop_size=4), _spec(), store, progress=False)
    loaded = load_evaluations(store)
    assert [e.propose_seconds for e in loaded] == [e.propose_seconds for e in res.evaluations]
    assert all(e.propose_seconds >= 0 for e in loaded) and all(e.proposal == {} for e in loaded)
    ideal, nadir = prob.normalization()
    c0, hv0 = hypervolume_trace(loaded, ideal=ideal, nadir=nadir)
    c1, hv1 = hypervolume_trace(loaded, ideal=ideal, nadir=nadir, include_proposals=True)
    np.testing.assert_array_equal(hv0, hv1)
    np.testing.assert_allclose(c1 - c0, np.cumsum([e.propose_seconds for e in loaded]), rtol=1e-12)

    # the current schema, or one written before proposal notes (and before proposal times) were
    # recorded: resumes, and the missing values read back as NaN / no notes
    columns = (SEARCH_COLUMNS, *_LEGACY_SCHEMAS)[n_legacy]
    legacy = tmp_path / "legacy.h5"
    old = ResultStore.open(legacy, columns=columns, fingerprint=_spec().fingerprint(), meta=_spec().meta())
    notes = {"origin": "front", "acquisition": -1.5, "gain": 0.25}
    for e in loaded[:3]:
        old.append({k: v for k, v in _row(dataclasses.replace(e, proposal=notes), None).items() if k in columns
                    or k in ("key", "status", "error")})
    run_stored_search(prob, NSGA2Search(pop_size=4), _spec(), legacy, progress=False)
    again = load_evaluations(legacy)
    assert list(ResultStore.read(legacy).columns)[3:] == list(columns)
    assert [e.index for e in again] == [e.index for e in loaded]  # resumed to the same search
    assert [e.proposal for e in again[:3]] == [notes if n_legacy == 0 else {}] * 3
    assert all(e.proposal == {} for e in again[3:])
    assert all(np.isnan(e.propose_seconds) for e in again[:3]) == (n_legacy == 2)
    # another schema is still refused
    bad = tmp_path / "bad.h5"
    ResultStore.open(bad, columns={"index": "int64"}, fingerprint=_spec().fingerprint())
    with pytest.raises(StoreError, match="different schema"):
        run_stored_search(prob, NSGA2Search(pop_size=4), _spec(), bad, progress=False)


@pytest.mark.parametrize("key", ["charge_proposals", *MES_SWITCHES])
def test_search_config_switches_must_be_bools(key, tmp_path):
    from search.cli_search import load_search_config

    cfg = tmp_path / "c.toml"
    cfg.write_text(f'budget = 10\ntruncation = "tradeoff"\n{key} = true\n[task]\ngrad_clip = 1.0\n')
    assert load_search_config(cfg)[key] is True
    cfg.write_text(f"budget = 10\n{key} = 1\n")
    with pytest.raises(ConfigError, match=f"{key} = 1 has the wrong type"):
        load_search_config(cfg)


@pytest.mark.parametrize("key", list(MES_SWITCHES))
@pytest.mark.parametrize("name", ["random", "nsga2", "qlognehvi"])
def test_mes_switches_are_refused_by_the_other_algorithms(key, name):
    from search.run import make_algorithm

    hint = r" \(qlognehvi always refines\)" if key == "refine" else ""
    with pytest.raises(ConfigError, match=f"{key} applies to the algorithms mesmo and cfmesmo; "
                                          f"got algorithm='{name}'{hint}.$"):
        make_algorithm(name, **{key: True})


@pytest.mark.parametrize("key", list(MES_SWITCHES))
def test_mes_switches_reach_the_algorithm_fingerprint_and_label_only_when_on(key):
    from search.cli_search import _label
    from search.evaluate import ReramTask
    from search.run import make_algorithm, reram_search

    for name in ("mesmo", "cfmesmo"):
        assert getattr(make_algorithm(name, truncation="tradeoff", **{key: True}), key) is True
        assert getattr(make_algorithm(name, truncation="tradeoff"), key) is False
    task = ReramTask(pretrain_epochs=1, max_epochs=1, n_repeats=1)
    off = reram_search(task, truncation="tradeoff", budget=1.0, progress=False)[2]
    _, alg, on, _ = reram_search(task, truncation="tradeoff", budget=1.0, progress=False, **{key: True})
    assert getattr(alg, key) is True and on.algorithm[key] is True and key not in off.algorithm
    assert all(other not in on.algorithm for other in MES_SWITCHES if other != key)
    assert off.fingerprint() != on.fingerprint()
    assert _label({"algorithm": on.algorithm}) == f"cfmesmo tradeoff {MES_SWITCHES[key]}"


@pytest.mark.parametrize(("key", "message"), [("reference_box", "reference_box needs truncation='tradeoff'"),
                                              ("pinned", "MESSearch.pinned needs truncation='tradeoff'")])
def test_tradeoff_switches_are_refused_with_per_objective_truncation(key, message):
    from search.run import make_algorithm

    with pytest.raises(ConfigError, match=message):
        make_algorithm("cfmesmo", **{key: True})


def test_unknown_switches_are_refused_and_several_switches_combine():
    from search.cli_search import _label
    from search.evaluate import ReramTask
    from search.run import make_algorithm, reram_search

    with pytest.raises(ConfigError, match=r"unknown switches \['refin'\]; allowed: \['reference_box', 'refine'"):
        make_algorithm("cfmesmo", refin=True)
    task = ReramTask(pretrain_epochs=1, max_epochs=1, n_repeats=1)
    _, alg, on, _ = reram_search(task, truncation="tradeoff", front_candidates=True, pinned=True, gain_cap=True,
                                 budget=1.0, progress=False)
    assert alg.front_candidates is True and alg.pinned is True and alg.gain_cap is True and alg.refine is False
    assert _label({"algorithm": on.algorithm}) == "cfmesmo tradeoff pinned fronts cap"


SPACE_TOML = '''
[space]
config_fn = "search.space.square_crossbar"
base = {adc_bits = 5}
variables = [
  {type = "Choice", name = "crossbar_size", values = [64, 128]},
  {type = "IntegerRange", name = "adc_bits", low = 3, high = 8},
  {type = "IntegerRange", name = "msb_adc_bits", low = 2, high = 6},
  {type = "Choice", name = "differential_adc", values = ["separate", "subtract"]},
]
'''


def test_cli_search_over_a_toml_space_with_msb_adc_bits_and_signed_adcs(tmp_path):
    """A [space] section replaces the default space; its designs reach the evaluations exactly."""
    from search.cli import main
    from search.cli_search import load_search_config, search_space
    from search.evaluate import CostObjectives, ReramTask

    cfg = tmp_path / "s.toml"
    cfg.write_text(f'output = "{tmp_path / "st.h5"}"\nalgorithm = "random"\nbudget = 1.0\nn_init = 3\n'
                   '[task]\npretrain_epochs = 1\nmax_epochs = 1\nn_repeats = 1\n' + SPACE_TOML)
    space = search_space(load_search_config(cfg))
    assert space.names == ("crossbar_size", "adc_bits", "msb_adc_bits", "differential_adc")
    assert main(["search", str(cfg), "--no-progress"]) == 0
    evs = load_evaluations(tmp_path / "st.h5")
    assert evs and all(e.status == "ok" and e.x.shape == (4,) for e in evs)
    task = ReramTask(pretrain_epochs=1, max_epochs=1, n_repeats=1)
    for e in evs:
        design = space.decode(e.x[None, :])[0]
        c = space.to_config(design)
        assert c.rows == c.cols == design["crossbar_size"] and c.differential_adc == design["differential_adc"]
        assert c.adc_bits == (design["adc_bits"],) * 3 + (design["msb_adc_bits"],)
        np.testing.assert_allclose(e.cheap, CostObjectives.for_task(task)([c])[0], rtol=1e-12)
    assert main(["plot", str(tmp_path / "st.h5")]) == 0  # a string-valued variable in the figures
    assert (tmp_path / "st_pareto_designs.png").stat().st_size > 5_000


def test_toml_space_errors_name_the_section(tmp_path):
    from search.cli_search import load_search_config

    cfg = tmp_path / "s.toml"
    cfg.write_text("budget = 1.0\n" + SPACE_TOML.replace('"IntegerRange", name = "msb', '"IntRange", name = "msb'))
    with pytest.raises(ConfigError, match=r"\[space\]: variable type must be one of"):
        load_search_config(cfg)
    cfg.write_text("budget = 1.0\n" + SPACE_TOML.replace("search.space.square_crossbar", "my.own_fn"))
    with pytest.raises(ConfigError, match=r"\[space\].*config_fn 'my.own_fn'"):
        load_search_config(cfg)


def test_shipped_search_configs_load_and_decode_to_valid_designs():
    from pathlib import Path

    from search.cli_search import load_search_config, search_space
    from search.space import default_reram_space

    configs = Path(__file__).resolve().parents[2] / "experiments" / "configs"
    assert search_space(load_search_config(configs / "search_digits.toml")) is None  # the default space
    space = search_space(load_search_config(configs / "search_digits_adc.toml"))
    assert set(default_reram_space().names) < set(space.names)
    assert {"msb_adc_bits", "differential_adc"} <= set(space.names)
    designs = space.decode(np.random.default_rng(0).random((300, len(space.names))))
    modes = {space.to_config(d).differential_adc for d in designs}  # every design is a valid config
    assert modes == {"separate", "subtract"}

"""Every experiment script runs in --smoke mode and writes what it promises."""

from __future__ import annotations

import csv
import json
import re

import numpy as np
import pytest

from experiments import bench_mvm, demo


def test_demo_smoke(tmp_path, capsys):
    assert demo.main(["--smoke", "--out", str(tmp_path)]) == 0
    with open(tmp_path / "adc_noise_error.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == len(demo.NOISES) * 9
    noiseless = {r["adc_bits"]: float(r["rel_rms_error"]) for r in rows if r["noise"] == "no noise"}
    # lossless settings (>= 9 bits at 128 rows x 3 levels, and the ideal ADC) are exact
    assert noiseless["9"] == noiseless["10"] == noiseless["ideal"] == 0.0
    assert noiseless["3"] > noiseless["6"] > noiseless["8"] > 0.0
    noisy = [float(r["rel_rms_error"]) for r in rows if r["noise"] != "no noise"]
    assert min(noisy) > 0.0
    assert (tmp_path / "adc_noise_error.png").stat().st_size > 10_000
    out = capsys.readouterr().out
    assert "relative RMS error" in out and "Pareto-optimal designs" in out
    # part 2: the search store holds every evaluation, and its figures exist
    from search.run import load_evaluations
    from search.store import ResultStore

    evs = load_evaluations(tmp_path / "search_store.h5")
    # the budget is measured wall time, so how many evaluations fit depends on the machine's load
    assert len(evs) >= 1 and all(e.status == "ok" for e in evs) and evs[0].z == 1.0
    # the budget counts evaluation and proposal seconds; the loop ran until it was spent
    assert sum(e.charged_cost(True) for e in evs) >= 3.0
    meta = ResultStore.read(tmp_path / "search_store.h5").meta
    assert meta["charge_proposals"] is True and meta["algorithm"]["truncation"] == "tradeoff"
    for name in ("fronts", "pareto_designs", "hypervolume"):
        assert (tmp_path / f"search_store_{name}.png").exists()
    # part 3: the recorded front's designs measured afresh, 2 rows each
    rows = ResultStore.read(tmp_path / "search_store_rescored.h5").rows()
    assert rows and len(rows) % 2 == 0 and {r["repeat"] for r in rows} == {0, 1}
    assert "recorded, measured mean +- std over 2 fresh evaluations" in out
    assert (tmp_path / "search_store_rescored.png").stat().st_size > 5_000
    # and on the validation part, summarized in one line that the store's rows reproduce
    from search.rescore import rescore_store, rescore_summary

    luck = ResultStore.read(tmp_path / "search_store_rescored_search.h5")
    assert len(luck) == len(rows) and luck.meta["split"] == "search"
    again = rescore_store(tmp_path / "search_store.h5", repeats=2, split="search", progress=False)
    assert again.n_new == 0 and again.splits == "recorded and measured: validation part (fresh draws)"
    assert f"--split search): {rescore_summary(again)}; what they lose there" in out
    # a second run resumes from the stores instead of starting over
    assert demo.main(["--smoke", "--out", str(tmp_path)]) == 0
    assert len(load_evaluations(tmp_path / "search_store.h5")) == len(evs)
    assert len(ResultStore.read(tmp_path / "search_store_rescored.h5")) == len(rows)
    # a store written by another search (here: another seed) is refused with a message, not a traceback
    capsys.readouterr()
    assert demo.main(["--smoke", "--out", str(tmp_path), "--seed", "1"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("demo: Results store") and "another problem, algorithm, setting or seed" in err
    assert len(load_evaluations(tmp_path / "search_store.h5")) == len(evs)  # nothing was changed


def test_bench_smoke(capsys):
    assert bench_mvm.main(["--batch", "4", "--n-in", "40", "--n-out", "24", "--repeats", "1",
                           "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    for name in ("offset_adc6", "differential_adc6", "lossless_fast_path"):
        assert res[name] > 0 and abs(res[name + "_ratio"] - res[name] / res["gemm_f32"]) < 1e-12


def test_bitslice_sparsity_smoke(tmp_path, capsys):
    import h5py

    from experiments import bitslice_sparsity

    assert bitslice_sparsity.main(["--smoke", "--out", str(tmp_path)]) == 0
    with h5py.File(tmp_path / "results.h5") as f:
        assert "git_sha" in f.attrs and "config" in f.attrs
        for method in ("l1", "bitslice"):
            zr = f[method]["zero_ratio"][()]
            assert zr.shape == (2, 4) and np.all((zr >= 0) & (zr <= 1))
            acc = f[method]["hardware_accuracy_by_rows"][()]
            assert acc.shape == (2,) and np.all((acc >= 0) & (acc <= 1))
            bits = f[method]["adc_bits"][()]
            assert bits.shape == (2, 4, 3) and np.all(bits[..., 0] >= bits[..., 2])  # max >= 99%
            for key in ("hardware_accuracy_by_rows", "quantized_accuracy_by_rows", "mean_zero_ratio"):
                v = f[method][f"adc_finetuned_{key}"][()]
                assert v.shape == (2,) and np.all((v >= 0) & (v <= 1)), key
            ft_zr = f[method]["adc_finetuned_zero_ratio"][()]
            assert ft_zr.shape == (2, 2, 4) and np.all((ft_zr >= 0) & (ft_zr <= 1))
            by_epoch = f[method]["adc_finetuned_hardware_accuracy_by_epoch"][()]
            assert by_epoch.shape == (2, 1) and np.all((by_epoch >= 0) & (by_epoch <= 1))  # --smoke: 1 epoch
            st = {k[len("adc_study_"):]: f[method][k][()] for k in f[method] if k.startswith("adc_study_")}
            assert st["start_bits"].tolist() == [[3, 3, 3, 1]] * 2
            assert st["adc_energy_1b3b"] < st["adc_energy_ideal"] and st["area_mm2_1b3b"] < st["area_mm2_ideal"]
            for key, start in (("plan", "1b3b"), ("energy_plan", "1b3b"), ("signed_plan", "signed"),
                               ("signed_energy_plan", "signed")):
                start_bits = st["start_bits"] if start == "1b3b" else st["signed_bits"]
                assert np.all(st[f"{key}_bits"] >= start_bits)
                extra = (st[f"{key}_bits"] - start_bits).sum()
                assert extra == st[f"{key}_extra_bits"] == len(st[f"{key}_steps"])
                assert st[f"adc_energy_{start}"] <= st[f"adc_energy_{key}"]
                assert (st[f"adc_energy_{key}"] > st[f"adc_energy_{start}"]) == (st[f"{key}_extra_bits"] > 0)
                if start == "1b3b":
                    assert st[f"adc_energy_{key}"] <= st["adc_energy_ideal"]
                path_acc, path_energy = st[f"{key}_path_test_accuracy"], st[f"{key}_path_energy"]
                assert path_acc.shape == path_energy.shape == (st[f"{key}_extra_bits"] + 1,)
                assert path_energy[0] == st[f"energy_{start}"] and path_energy[-1] == st[f"energy_{key}"]
                assert path_acc[-1] == st[f"{key}_test_accuracy"] and np.all(np.diff(path_energy) > 0)
            assert st["attribution_slice_accuracy"].shape == (2, 4) and st["attribution_layer_accuracy"].shape == (2,)
            # signed ADCs: one bit more each, half the conversions -> less ADC energy than 1b/3b here
            assert st["signed_bits"].tolist() == (st["start_bits"] + 1).tolist()
            assert st["adc_energy_signed"] < st["adc_energy_1b3b"] and 0 <= st["signed_test_accuracy"] <= 1
            signed_ft = f[method]["adc_finetuned_signed_hardware_accuracy_by_rows"][()]
            assert signed_ft.shape == (1,) and 0 <= signed_ft[0] <= 1  # at --rows only
        s = f["summary"]
        np.testing.assert_allclose(s["zero_ratio_gain"][()],
                                   f["bitslice"]["mean_zero_ratio"][()] / f["l1"]["mean_zero_ratio"][()])
        np.testing.assert_allclose(s["adc_cost_points_after_finetune"][()],
                                   100 * (f["bitslice"]["accuracy"][()]
                                          - f["bitslice"]["adc_finetuned_hardware_accuracy_by_rows"][0]))
        np.testing.assert_allclose(s["signed_adc_cost_points_after_finetune"][()],
                                   100 * (f["bitslice"]["accuracy"][()]
                                          - f["bitslice"]["adc_finetuned_signed_hardware_accuracy_by_rows"][0]))
    assert (tmp_path / "zero_ratios.png").stat().st_size > 10_000
    assert (tmp_path / "zero_ratios.pdf").exists()
    assert (tmp_path / "adc_study.png").stat().st_size > 10_000 and (tmp_path / "adc_study.pdf").exists()
    assert (tmp_path / "adc_paths.png").stat().st_size > 10_000 and (tmp_path / "adc_paths.pdf").exists()
    assert "zero-ratio gain" in capsys.readouterr().out


def test_resna_smoke(tmp_path, capsys):
    import h5py

    from experiments import resna

    assert resna.main(["--smoke", "--out", str(tmp_path)]) == 0
    with h5py.File(tmp_path / "results.h5") as f:
        table = f["grid"]["table"][()]
        cols = f["grid"].attrs["columns"].split(",")
    assert table.shape == (1, len(resna.COLUMNS)) and cols == list(resna.COLUMNS)
    row = dict(zip(cols, table[0], strict=True))
    assert (row["frequency_hz"], row["temperature_k"], row["cell_bits"]) == (1e9, 400.0, 4.0)
    assert 0 <= row["unaware_mean"] <= 1 and 0 <= row["aware_mean"] <= 1
    assert row["loss_points"] == 100 * (row["quantized_acc"] - row["unaware_mean"])
    assert (tmp_path / "accuracy.png").exists() and (tmp_path / "accuracy.pdf").exists()
    assert "cell=4b" in capsys.readouterr().out


def test_bench_cost_and_bridge_smoke(capsys):
    from experiments import bench_bridge, bench_cost

    assert bench_cost.main(["--smoke", "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["n_designs"] >= 1 and res["seconds"] > 0 and res["n_layers"] == 22
    assert bench_bridge.main(["--smoke", "--repeats", "1"]) == 0
    out = capsys.readouterr().out
    assert "hardware-mode evaluation" in out and "ratio" in out and "Activation quantizer" in out


@pytest.mark.parametrize("algorithm", ["cfmesmo", "qlognehvi"])
def test_bench_propose_smoke(capsys, algorithm):
    """One line per observation count, naming the algorithm; qLogNEHVI's observations are all at
    the target fidelity (the only ones it uses), CF-MESMO's mixed; too few observations refused."""
    from experiments import bench_propose

    assert bench_propose.main(["--smoke", "--repeats", "1", "--observations", "8", "10",
                               "--algorithm", algorithm]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [re.search(r"(\d+) observations", line).group(1) for line in lines] == ["8", "10"]
    assert all(line.startswith("qLogNEHVI" if algorithm == "qlognehvi" else "CF-MESMO") for line in lines)
    prob = bench_propose.BenchmarkSearch(bench_propose.AccuracyCostDTLZ2(n_obj=4, n_distance=5))
    mixed = np.array([e.z for e in bench_propose.observations(prob, 12, 0)])
    assert np.all(mixed[::3] == 1.0) and np.any(mixed < 1.0)
    assert all(e.z == 1.0 for e in bench_propose.observations(prob, 12, 0, mixed=False))
    with pytest.raises(SystemExit):
        bench_propose.main(["--observations", "5"])
    assert "--observations must each be >= 6" in capsys.readouterr().err


def test_cfmesmo_vs_nsga2_smoke(tmp_path, capsys):
    import h5py

    from experiments import cfmesmo_vs_nsga2

    assert cfmesmo_vs_nsga2.main(["--smoke", "--problems", "dtlz2_accuracy_cost", "--no-qnehvi",
                                  "--out", str(tmp_path)]) == 0
    with h5py.File(tmp_path / "results.h5") as f:
        algs = set(f["dtlz2_accuracy_cost"])
        assert algs == {"nsga2", "random", "mesmo", "mesmo_tradeoff", "mesmo_box", "cfmesmo", "cfmesmo_tradeoff",
                            "cfmesmo_box"}
        assert f["dtlz2_accuracy_cost/nsga2/fraction_to_reach_nsga2"][()][0] <= 1.0
        reached = {a: f"{int(np.isfinite(f[f'dtlz2_accuracy_cost/{a}/fraction_to_reach_nsga2'][()]).sum())}/1"
                   for a in algs}
        runs = json.loads(f["dtlz2_accuracy_cost/cfmesmo"].attrs["evaluations"])
        assert len(runs) == 1 and all(0 < e["z"] <= 1 for e in runs[0])
        assert runs[0][0]["proposal"] == {"origin": "init"}  # each evaluation notes where it came from
        assert all(e["proposal"]["origin"] in ("init", "random") for e in runs[0])
        hv = f["dtlz2_accuracy_cost/cfmesmo/hv_at_budget"][()]
        assert np.all((hv >= 0) & (hv <= 1.1**4))
        # the later half of the full-fidelity designs' distance to the Pareto set {q = 1/2}, by hand
        x = np.array([e["x"] for e in runs[0] if e["z"] == 1.0 and e["status"] == "ok"])
        late = x[len(x) // 2:, 3:]
        assert f["dtlz2_accuracy_cost/cfmesmo/pareto_set_distance"][()][0] == pytest.approx(
            np.median(np.sqrt(((late - 0.5) ** 2).sum(axis=1))), rel=1e-12)
    assert (tmp_path / "hypervolume.png").exists()
    out = capsys.readouterr().out
    assert "median cost to reach NSGA-II HV" in out
    rows = {line.split()[1]: line.split() for line in out.splitlines()
            if line.startswith("dtlz2_accuracy_cost ") and " seed " not in line}  # the summary table's rows
    assert {a: r[3] for a, r in rows.items()} == reached and reached["nsga2"] == "1/1"  # seeds reaching H*


def test_cfmesmo_vs_nsga2_reram_smoke_reports_wall_clock(tmp_path, capsys):
    import h5py

    from experiments import cfmesmo_vs_nsga2

    assert cfmesmo_vs_nsga2.main(["--smoke", "--problems", "reram_digits", "--algorithms", "random",
                                  "--no-qnehvi", "--rescore", "2", "--out", str(tmp_path)]) == 0
    with h5py.File(tmp_path / "results.h5") as f:
        # the target's own run reaches its final HV at its last improvement: within its own cost
        assert 0 < f["reram_digits/nsga2/fraction_to_reach_nsga2_wall"][()][0] <= 1.0
        assert 0 < f["reram_digits/nsga2/fraction_to_reach_nsga2_rescored"][()][0] <= 1.0
        runs = json.loads(f["reram_digits/random"].attrs["evaluations"])
        assert all(e["propose_seconds"] >= 0 for e in runs[0])
        hv = f["reram_digits/random/hv_at_wall"][()]
        assert hv.shape == (1,) and 0 <= hv[0] <= 1.1**4
        g, r = f["reram_digits/nsga2"], f["reram_digits/random"]
        target, target_r = g["final_hv"][()][0], g["final_hv_rescored"][()][0]
        assert target > 0 and target_r > 0
        assert r["hv_ratio"][()][0] == r["hv_at_budget"][()][0] / target
        assert r["hv_ratio_rescored"][()][0] == r["hv_at_budget_rescored"][()][0] / target_r
        for suffix in ("", "_rescored"):  # 99 % of the target is reached no later than the target
            assert g[f"fraction_to_reach_99pct{suffix}"][()][0] <= g[f"fraction_to_reach_nsga2{suffix}"][()][0]
            assert r[f"fraction_to_reach_99pct{suffix}"][()][0] <= r[f"fraction_to_reach_nsga2{suffix}"][()][0]
        # rescored: full-fidelity designs only, a design's value the same in every run (common seeds)
        by_x: dict = {}
        n_changed = 0
        for grp in (g, r):
            evs, new = json.loads(grp.attrs["evaluations"])[0], json.loads(grp.attrs["f_rescored"])[0]
            assert len(new) == len(evs)
            for e, fr in zip(evs, new, strict=True):
                if e["z"] < 1 or e["status"] != "ok":
                    assert e["status"] != "ok" or fr == e["f"]
                    continue
                assert -1 <= fr[0] <= 0 and by_x.setdefault(tuple(e["x"]), fr) == fr
                n_changed += fr != e["f"]
        assert n_changed > 0  # the accuracy is noisy: fresh measurements differ
    out = capsys.readouterr().out
    assert "wall clock (evaluation + proposal seconds)" in out and "rescored (2 fresh measurements" in out


def test_cfmesmo_vs_nsga2_validation_records_held_out_and_rescores_test(tmp_path, capsys):
    """``--validation``: a run's recorded accuracies are the held-out part's (at the evaluation's
    seed), its rescored ones the test split's (at the rescoring seeds), each redone by hand."""
    import h5py

    from experiments import cfmesmo_vs_nsga2
    from search.evaluate import ReramTask, pretrain
    from search.space import default_reram_space
    from search.tasks import ReramSearch

    assert cfmesmo_vs_nsga2.main(["--smoke", "--problems", "reram_digits", "--algorithms", "random", "--no-qnehvi",
                                  "--rescore", "1", "--validation", "0.25", "--out", str(tmp_path)]) == 0
    with h5py.File(tmp_path / "results.h5") as f:
        g = f["reram_digits/nsga2"]
        evs, new = json.loads(g.attrs["evaluations"])[0], json.loads(g.attrs["f_rescored"])[0]
    task = ReramTask(pretrain_epochs=2, max_epochs=1, n_repeats=1, validation=0.25)
    held_out = ReramSearch(default_reram_space(), task, pretrain(task))
    test = held_out.remeasurement()
    assert (held_out.split, test.split) == ("search", "test")
    n_differ = 0
    for i in range(3):  # seed 0's NSGA-II: evaluation i has the seed i
        x = np.array(evs[i]["x"])
        assert evs[i]["index"] == i and evs[i]["z"] == 1.0 and evs[i]["status"] == "ok"
        assert evs[i]["f"][0] == held_out.evaluate(x, 1.0, i)[0][0]
        assert new[i][0] == test.evaluate(x, 1.0, cfmesmo_vs_nsga2.RESCORE_SEED)[0][0]
        n_differ += held_out.evaluate(x, 1.0, cfmesmo_vs_nsga2.RESCORE_SEED)[0][0] != new[i][0]
    assert n_differ > 0  # the two parts give different accuracies: the checks above tell them apart
    with pytest.raises(SystemExit):
        cfmesmo_vs_nsga2.main(["--smoke", "--validation", "1"])
    assert "--validation: ReramTask.validation must be None or a fraction in the open interval (0, 1); got 1.0" \
        in capsys.readouterr().err


def test_cfmesmo_vs_nsga2_in_passes_gives_every_run_a_machine_free_budget(tmp_path, capsys):
    """``--evaluation-cost passes``: every evaluation costs ``1 + max_epochs`` (2 in the smoke
    task), so NSGA-II's 12 evaluations cost 24 and half of that buys random search exactly 6;
    no wall-clock columns (proposal seconds do not add to passes)."""
    import h5py

    from experiments import cfmesmo_vs_nsga2

    assert cfmesmo_vs_nsga2.main(["--smoke", "--problems", "reram_digits", "--algorithms", "random", "--no-qnehvi",
                                  "--evaluation-cost", "passes", "--out", str(tmp_path)]) == 0
    with h5py.File(tmp_path / "results.h5") as f:
        costs = {a: [e["cost"] for e in json.loads(f[f"reram_digits/{a}"].attrs["evaluations"])[0]]
                 for a in ("nsga2", "random")}
        assert not any("wall" in k for a in ("nsga2", "random") for k in f[f"reram_digits/{a}"])
    assert costs == {"nsga2": [2.0] * 12, "random": [2.0] * 6}
    out = capsys.readouterr().out
    assert "NSGA-II HV" in out and "at cost 24.0" in out and "wall clock" not in out


def test_cfmesmo_vs_nsga2_common_seed_gives_each_seed_its_draw(capsys):
    import argparse

    from experiments import cfmesmo_vs_nsga2
    from search.benchmarks import BENCHMARKS
    from search.evaluate import ReramTask
    from search.space import default_reram_space
    from search.tasks import BenchmarkSearch, ReramSearch

    prob = ReramSearch(default_reram_space(), ReramTask(pretrain_epochs=1), b"")
    a = argparse.Namespace(common_seed=5)
    assert [cfmesmo_vs_nsga2.common_draws(prob, a, s).task.common_seed for s in (0, 2)] == [5, 7]
    assert cfmesmo_vs_nsga2.common_draws(prob, a, 2).costs is prob.costs and prob.task.common_seed is None
    assert cfmesmo_vs_nsga2.common_draws(prob, argparse.Namespace(common_seed=None), 2) is prob
    bench = BenchmarkSearch(BENCHMARKS["zdt1_mf"]())
    assert cfmesmo_vs_nsga2.common_draws(bench, a, 2) is bench
    for bad in ("-1", str(cfmesmo_vs_nsga2.RESCORE_SEED)):
        with pytest.raises(SystemExit):
            cfmesmo_vs_nsga2.main(["--smoke", "--common-seed", bad])
        assert f"--common-seed must be in [0, {cfmesmo_vs_nsga2.RESCORE_SEED - 1}) (below the rescoring seeds); " \
               f"got {bad}" in capsys.readouterr().err


def test_front_budget_smoke(tmp_path, capsys):
    """Greedy counts: the first prefix reaching the target (and not one point earlier); on the
    synthetic problems the fraction is points / NSGA-II's evaluations."""
    import h5py

    from experiments import front_budget

    assert front_budget.main(["--smoke", "--problems", "dtlz2_accuracy_cost", "--out", str(tmp_path)]) == 0
    with h5py.File(tmp_path / "results.h5") as f:
        g = f["dtlz2_accuracy_cost"]
        target, k = float(g["target"][0]), int(g["k_nsga2"][0])
        curve, front = g["curve_nsga2_seed0"][()], g["curve_front"][()]
        assert 0 < k <= int(g["n_full"][0]) == 40 and g["fraction_nsga2"][0] == k / 40
        assert curve[k - 1] >= target - 1e-12 and (k == 1 or curve[k - 2] < target)
        assert np.all(np.diff(curve) > 0) and np.all(np.diff(front) > 0)
        k_f = int(g["k_front"][0])
        assert front[k_f - 1] >= target - 1e-12 and (k_f == 1 or front[k_f - 2] < target)
        assert g["fraction_front"][0] == k_f / 40
        chosen = g["chosen_nsga2_seed0"][()]  # the greedy prefix: 6 design variables, then 4 objectives
        from search.benchmarks import hypervolume

        assert chosen.shape == (k, 10)
        assert hypervolume(chosen[:, 6:], ideal=np.zeros(4), nadir=np.ones(4)) == pytest.approx(curve[k - 1], rel=1e-12)
    assert (tmp_path / "front_budget.png").exists()
    assert "median greedy points from NSGA-II's evaluations" in capsys.readouterr().out


@pytest.mark.parametrize(("argv", "message"), [
    (["--adc-finetune-epochs", "-1"], "--adc-finetune-epochs must be an integer >= 0 .*got -1"),
    (["--adc-lr", "0"], "--adc-lr must be a finite number > 0; got 0.0"),
    (["--adc-range", "7", "7", "7", "0"], "--adc-range: .*adc_range.*0.0"),
    (["--validation", "1"], r"--validation must be a fraction in the open interval \(0, 1\); got 1.0"),
])
def test_bitslice_sparsity_rejects_bad_adc_finetune_options(argv, message, tmp_path, capsys):
    from experiments import bitslice_sparsity

    with pytest.raises(SystemExit) as exc:
        bitslice_sparsity.main([*argv, "--smoke", "--out", str(tmp_path)])
    assert exc.value.code == 2
    assert re.search(message, capsys.readouterr().err)
    assert not (tmp_path / "results.h5").exists()


def test_bitslice_sparsity_adc_range_reaches_the_hardware(tmp_path):
    """A full scale of 1000 column-sum units makes every 3-bit code 0 (step 143): the crossbar
    outputs vanish, the network predicts one class; the default range keeps it accurate."""
    import h5py

    from experiments import bitslice_sparsity

    accs = {}
    for name, extra in (("default", []), ("huge", ["--adc-range", "1000", "1000", "1000", "1000"])):
        assert bitslice_sparsity.main(["--smoke", "--adc-finetune-epochs", "0", *extra,
                                       "--out", str(tmp_path / name)]) == 0
        with h5py.File(tmp_path / name / "results.h5") as f:
            accs[name] = f["bitslice"]["hardware_accuracy_by_rows"][()]
            assert json.loads(f.attrs["config"])["adc_range"] == ([1000.0] * 4 if extra else [7.0, 7.0, 7.0, 1.0])
    assert (accs["huge"] < 0.25).all() and (accs["default"] > 0.5).all(), accs
    # --adc-trim: the same greedy plans, trimmed (never more bits, never more energy)

    assert bitslice_sparsity.main(["--smoke", "--adc-finetune-epochs", "0", "--adc-trim",
                                   "--out", str(tmp_path / "trim")]) == 0
    with h5py.File(tmp_path / "default" / "results.h5") as f, h5py.File(tmp_path / "trim" / "results.h5") as g:
        assert json.loads(g.attrs["config"])["adc_trim"] is True
        for method in ("l1", "bitslice"):
            for key in ("plan", "energy_plan", "signed_plan", "signed_energy_plan"):
                a, b = f[method], g[method]
                st = "adc_study_"
                np.testing.assert_array_equal(a[f"{st}{key}_steps"][()], b[f"{st}{key}_steps"][()])
                assert b[f"{st}{key}_extra_bits"][()] <= a[f"{st}{key}_extra_bits"][()]
                assert b[f"{st}energy_{key}"][()] <= a[f"{st}energy_{key}"][()] + 1e-18

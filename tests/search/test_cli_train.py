"""``xbarsim train``: every stage against the same steps done by hand with the public API, resume
rules, per-layer changes and bad configs."""

from __future__ import annotations

import dataclasses
import json
import textwrap

import numpy as np
import pytest
import torch
from torch import nn

from crossbar import ConfigError, CrossbarConfig, NoiseConfig
from mapping.data import load_dataset
from mapping.nn import convert
from mapping.nn.bitslice import bitslice_l1, column_sum_report, plain_l1, prune, slice_zero_ratios
from mapping.nn.convert import crossbar_layers, reconfigure
from mapping.nn.models import build_model
from mapping.nn.train import TrainConfig, evaluate, fit
from search.cli import main
from search.cli_train import MODES, load_train_job, load_trained, report_table, run_train_job

NOISE = "{program_sigma = 0.2, read_sigma = 0.05}"


def _config(tmp_path, *, name="job", finetune_epochs=2, extra="", crossbar="cell_bits = 2", pretrain=True,
            evaluate_section="n_repeats = 2\nseed = 7"):
    pre = "[pretrain]\nepochs = 3\nlr = 0.05\n" if pretrain else ""
    text = textwrap.dedent(f"""\
        output = "{tmp_path / name}"
        seed = 3
        [data]
        dataset = "digits"
        limit = 240
        [model]
        name = "mlp"
        """) + pre + textwrap.dedent(f"""\
        [crossbar]
        {crossbar}
        noise = {NOISE}
        [finetune]
        epochs = {finetune_epochs}
        lr = 0.02
        grad_clip = 1.0
        [evaluate]
        {evaluate_section}
        """) + extra
    path = tmp_path / f"{name}.toml"
    path.write_text(text)
    return path


def _by_hand(finetune_epochs=2, *, prune_at=None, regularizer=None, validation=None, history=None):
    """The job of :func:`_config` done step by step with the public API (with ``validation``, both
    trainings on the split and ``select_best``; the fine-tuning history is appended to ``history``)."""
    data = load_dataset("digits", limit=240, seed=3)
    train = data if validation is None else data.split_validation(validation, seed=3)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(3)
        model = build_model("mlp", in_channels=1, image_size=8, n_classes=10)
    fit(model, train, TrainConfig(epochs=3, lr=0.05, seed=3), progress=False)
    cfg = CrossbarConfig(cell_bits=2, noise=NoiseConfig(program_sigma=0.2, read_sigma=0.05))
    before = convert(model, cfg, seed=3)
    after = convert(model, cfg, seed=3)
    if prune_at is not None:
        prune(after, threshold=prune_at)
    hist = fit(after, train, TrainConfig(epochs=finetune_epochs, lr=0.02, grad_clip=1.0, mode="noisy", seed=3,
                                         select_best=validation is not None),
               progress=False, regularizer=regularizer)
    if history is not None:
        history.append(hist)
    return data, model, before, after


def _measured(model, data):
    kw = dict(seed=7, batch_size=256)
    quiet = reconfigure(model, {n: dataclasses.replace(layer.xbar.config, noise=NoiseConfig())
                                for n, layer in crossbar_layers(model)})
    return {"float": evaluate(model, data.x_test, data.y_test, mode="float", **kw).accuracies,
            "quantized": evaluate(model, data.x_test, data.y_test, mode="quantized", **kw).accuracies,
            "hardware_noise_free": evaluate(quiet, data.x_test, data.y_test, mode="hardware", **kw).accuracies,
            "hardware": evaluate(model, data.x_test, data.y_test, mode="hardware", n_repeats=2, **kw).accuracies}


def _same_state(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k


def test_every_stage_equals_the_steps_done_by_hand(tmp_path):
    job = load_train_job(_config(tmp_path))
    report = run_train_job(job, progress=False)
    data, model, before, after = _by_hand()
    out = job.output
    _same_state(torch.load(out / "float.pt", weights_only=True), model.state_dict())
    _same_state(torch.load(out / "model.pt", weights_only=True), after.state_dict())
    for part, net in (("before", before), ("after", after)):
        hand = _measured(net, data)
        for m in MODES:
            assert report[part][m]["accuracies"] == list(hand[m]), (part, m)
            assert report[part][m]["mean"] == pytest.approx(np.mean(hand[m]), abs=1e-15)
    # the paired draws: the same device seeds before and after, and noise changes the result
    assert report["before"]["hardware"]["accuracies"] != [report["before"]["hardware_noise_free"]["mean"]] * 2
    loss = report["before"]["hardware_noise_free"]["mean"] - report["before"]["hardware"]["mean"]
    assert report["noise_loss"] == loss
    if loss > 0:
        assert report["recovered_fraction"] == pytest.approx(
            (report["after"]["hardware"]["mean"] - report["before"]["hardware"]["mean"]) / loss)
    assert len(report["history"]["pretrain"]["loss"]) == 3 and len(report["history"]["finetune"]["loss"]) == 2
    assert set(report["layers"]) == {"1", "3"}
    zeros, sums = slice_zero_ratios(after), column_sum_report(after, data.x_test)
    assert report["slices"]["zero_ratio"] == zeros.zero_ratio.tolist()
    assert report["slices"]["adc_bits"] == sums.adc_bits.tolist() and report["slices"]["layers"] == ["1", "3"]
    assert json.loads((out / "report.json").read_text())["after"] == report["after"]
    # the saved model comes back as a converted model that measures the same
    loaded = load_trained(job)
    _same_state(loaded.state_dict(), after.state_dict())
    assert _measured(loaded, data)["hardware"] == tuple(report["after"]["hardware"]["accuracies"])
    text = report_table(report, n_repeats=2)
    assert f"{100 * report['after']['hardware']['mean']:.2f} +- {100 * report['after']['hardware']['std']:.2f}" \
        in text and "hardware, noise off" in text


def test_validation_split_and_best_epoch_selection(tmp_path):
    """With [data] validation both trainings see the rest of the training split, select_best keeps the
    epoch of the best validation accuracy, and the report measures it on the untouched test split."""
    path = _config(tmp_path, finetune_epochs=4)
    text = path.read_text().replace("limit = 240", "limit = 240\nvalidation = 0.25")
    path.write_text(text.replace("grad_clip = 1.0", "grad_clip = 1.0\nselect_best = true"))
    job = load_train_job(path)
    report = run_train_job(job, progress=False)
    history: list = []
    data, model, _, after = _by_hand(4, validation=0.25, history=history)
    hist, val = history[0], data.split_validation(0.25, seed=3)
    _same_state(torch.load(job.output / "float.pt", weights_only=True), model.state_dict())
    _same_state(torch.load(job.output / "model.pt", weights_only=True), after.state_dict())
    assert report["selected_epoch"] == hist.best_epoch and report["n_validation"] == val.n_test == 61
    assert report["history"]["finetune"]["test_accuracy"] == hist.test_accuracy
    assert report["after"]["hardware"]["accuracies"] == list(_measured(after, data)["hardware"])  # test split
    assert report["n_test"] == data.n_test
    text = report_table(report, n_repeats=2)
    assert f"its epoch {hist.best_epoch + 1} of 4, the best on 61 validation images" in text


def test_raising_epochs_continues_and_equals_the_longer_run(tmp_path, monkeypatch):
    run_train_job(load_train_job(_config(tmp_path, finetune_epochs=1)), progress=False)
    job = load_train_job(_config(tmp_path, finetune_epochs=2))
    calls = []
    import mapping.nn.train as train_module

    real_fit = train_module.fit
    monkeypatch.setattr(train_module, "fit", lambda *a, **k: calls.append(a[2].epochs) or real_fit(*a, **k))
    report = run_train_job(job, progress=False)
    _, _, _, after = _by_hand(finetune_epochs=2)
    _same_state(torch.load(job.output / "model.pt", weights_only=True), after.state_dict())
    assert len(report["history"]["finetune"]["loss"]) == 2
    # a third run trains nothing more and measures nothing again
    mtime = (job.output / "finetune.ckpt.pt").stat().st_mtime_ns
    again = run_train_job(job, progress=False)
    assert (job.output / "finetune.ckpt.pt").stat().st_mtime_ns == mtime
    assert again["after"] == report["after"] and again["before"] == report["before"]
    # fewer epochs than the checkpoint holds is refused
    with pytest.raises(ConfigError, match=r"holds 2 epochs of finetune.*finetune.epochs = 1"):
        run_train_job(load_train_job(_config(tmp_path, finetune_epochs=1)), progress=False)


def test_changed_settings_are_refused_and_a_changed_evaluation_only_measures_again(tmp_path):
    run_train_job(load_train_job(_config(tmp_path)), progress=False)
    with pytest.raises(ConfigError, match=r"finetune stage made with other settings \(crossbar.cell_bits: 2 -> 4"):
        run_train_job(load_train_job(_config(tmp_path, crossbar="cell_bits = 4")), progress=False)
    text = _config(tmp_path).read_text().replace("lr = 0.05", "lr = 0.04")
    (tmp_path / "lr.toml").write_text(text)
    with pytest.raises(ConfigError, match=r"pretrain stage made with other settings \(pretrain.lr: 0.05 -> 0.04\)"):
        run_train_job(load_train_job(tmp_path / "lr.toml"), progress=False)
    mtime = (tmp_path / "job" / "finetune.ckpt.pt").stat().st_mtime_ns
    report = run_train_job(load_train_job(_config(tmp_path, evaluate_section="n_repeats = 3\nseed = 7")),
                           progress=False)
    assert (tmp_path / "job" / "finetune.ckpt.pt").stat().st_mtime_ns == mtime
    assert len(report["after"]["hardware"]["accuracies"]) == 3 == len(report["before"]["hardware"]["accuracies"])


def test_layer_changes_vote_and_weights_from_another_job(tmp_path):
    first = run_train_job(load_train_job(_config(tmp_path)), progress=False)
    extra = textwrap.dedent("""\
        [layers."1"]
        adc_bits = 6
        noise = {read_sigma = 0.0}
        noise_scale = 0.5
        [layers."3"]
        float = true
        """)
    path = _config(tmp_path, name="second", pretrain=False, extra=extra)
    weights = tmp_path / "job" / "float.pt"
    path.write_text(path.read_text().replace('name = "mlp"', f'name = "mlp"\nweights = "{weights}"'))
    job = load_train_job(path)
    # the layer's noise table changes one noise field of [crossbar]'s and keeps the others
    noise = NoiseConfig(program_sigma=0.2, read_sigma=0.0)
    assert job.overrides["1"] == CrossbarConfig(cell_bits=2, adc_bits=6, noise=noise)
    assert job.overrides["3"] is None and job.noise_scales == {"1": 0.5}
    report = run_train_job(job, progress=False)
    # the same float model: the float accuracy before fine-tuning is the first job's
    assert report["before"]["float"] == first["before"]["float"]
    assert report["history"]["pretrain"] is None
    assert set(report["layers"]) == {"1"} and report["layers"]["1"]["adc_bits"] == 6
    model = load_trained(job)
    assert isinstance(model[3], nn.Linear) and model[1].xbar.noise_scale == 0.5
    # the vote copies the last crossbar layer; every copy trains with the layer's noise scale
    voted = _config(tmp_path, name="voted", extra='[layers."3"]\nnoise_scale = 0.25\n')
    voted.write_text(voted.read_text().replace("grad_clip = 1.0", "grad_clip = 1.0\nvote = true"))
    vjob = load_train_job(voted)
    run_train_job(vjob, progress=False)
    vmodel = load_trained(vjob)
    assert [n for n, _ in crossbar_layers(vmodel)] == ["1", "3.copies.0", "3.copies.1", "3.copies.2"]
    assert [layer.xbar.noise_scale for _, layer in crossbar_layers(vmodel)] == [1.0, 0.25, 0.25, 0.25]


@pytest.mark.parametrize("l1", ["bitslice", "plain"])
def test_pruning_and_l1_are_the_reference_steps(tmp_path, l1):
    path = _config(tmp_path)
    path.write_text(path.read_text().replace("grad_clip = 1.0", f'grad_clip = 1.0\nprune = 0.05\nl1 = "{l1}"'))
    job = load_train_job(path)
    assert job.l1_alpha == (0.5 if l1 == "bitslice" else 1.0)
    report = run_train_job(job, progress=False)
    reg = ((lambda m: bitslice_l1(m, alpha=0.5, magnitude_bits=7, cell_bits=2)) if l1 == "bitslice"
           else (lambda m: plain_l1(m, alpha=1.0)))
    _, model, _, after = _by_hand(prune_at=0.05, regularizer=reg)
    _same_state(torch.load(job.output / "model.pt", weights_only=True), after.state_dict())
    pruned = model[1].weight.abs() < 0.05
    assert pruned.any() and (after[1].weight[pruned] == 0).all()  # the mask held through fine-tuning
    assert report["slices"]["mean_zero_ratio"] == slice_zero_ratios(after).mean_zero_ratio


@pytest.mark.parametrize(("change", "message"), [
    (("seed = 3", "seed = 3\ncolour = 1"), r"unknown key 'colour' in the top level; allowed keys"),
    (('name = "mlp"', 'name = "alexnet"'), r"model.name must be one of .*got 'alexnet'"),
    (('name = "mlp"', 'name = "mlp"\nweights = "w.pt"'), r"exactly one of \[pretrain\].*got both"),
    (("[pretrain]\nepochs = 3\nlr = 0.05\n", ""), r"exactly one of \[pretrain\].*got neither"),
    (("epochs = 3\nlr = 0.05", "lr = 0.05"), r"\[pretrain\] needs 'epochs'"),
    (("epochs = 3\nlr = 0.05", "epochs = 3\nlr = -1.0"), r"\[pretrain\]: TrainConfig.lr must be a finite"),
    (("cell_bits = 2", "cell_bits = 2\nrowz = 4"), r"unknown key 'rowz' in \[crossbar\]"),
    (("cell_bits = 2", "cell_bits = 0"), r"\[crossbar\]: .*cell_bits"),
    (("grad_clip = 1.0", 'grad_clip = 1.0\nmode = "float"'), r"finetune.mode must be 'noisy'"),
    (("grad_clip = 1.0", 'grad_clip = 1.0\nvote = 1'), r"finetune.vote must be true or false; got 1"),
    (("n_repeats = 2", "n_repeats = 0"), r"evaluate.n_repeats must be an integer >= 1; got 0"),
    (('dataset = "digits"', 'dataset = "svhn"'), r"data.dataset must be one of .*got 'svhn'"),
    (("seed = 7", 'seed = 7\n[layers."1"]\nnoise_scale = -1'), r"layers.'1'.noise_scale must be a finite number >= 0"),
    (("seed = 7", 'seed = 7\n[layers."1"]\nfloat = true\nadc_bits = 4'), r"a float layer takes no crossbar fields"),
    (("seed = 7", 'seed = 7\n[layers."1"]\nadc_bitz = 4'), r"unknown key 'adc_bitz' in \[layers.'1'\]"),
    (("limit = 240", "limit = = 240"), r"invalid TOML"),
    (("seed = 3", 'seed = 3\ndevice = "tpu"'), r"device must be 'cpu', 'cuda' or 'cuda:N'; got 'tpu'"),
    (("seed = 3", "seed = 3\ndevice = 0"), r"device must be 'cpu', 'cuda' or 'cuda:N'; got 0"),
    (("grad_clip = 1.0", 'grad_clip = 1.0\nl1 = "l2"'), r"finetune.l1 must be one of \['none', 'plain', 'bitslice'\]"),
    (("grad_clip = 1.0", 'grad_clip = 1.0\nl1 = "plain"\nl1_alpha = 0'), r"finetune.l1_alpha must be a finite"),
    (("grad_clip = 1.0", "grad_clip = 1.0\nprune = -0.1"), r"finetune.prune must be a finite number > 0; got -0.1"),
    (("grad_clip = 1.0", 'grad_clip = 1.0\nl1 = "plain"\nweight_clip_sigma = 2.0'),
     r"finetune.l1 = 'plain' cannot be combined with finetune.weight_clip_sigma"),
    (("limit = 240", "limit = 240\nvalidation = 1.0"), r"data.validation must be a fraction in the open .*got 1.0"),
    (("grad_clip = 1.0", "grad_clip = 1.0\nselect_best = true"), r"finetune.select_best = true needs data.validation"),
    (("grad_clip = 1.0", "grad_clip = 1.0\nselect_best = 1"), r"TrainConfig.select_best must be True or False"),
])
def test_bad_configs_name_the_key_and_what_is_allowed(tmp_path, change, message):
    path = _config(tmp_path)
    text = path.read_text()
    assert change[0] in text
    path.write_text(text.replace(change[0], change[1], 1))
    with pytest.raises(ConfigError, match=message):
        load_train_job(path)


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the error on a machine without CUDA")
def test_cuda_without_a_gpu_is_refused(tmp_path):
    path = _config(tmp_path)
    path.write_text(path.read_text().replace("seed = 3", 'seed = 3\ndevice = "cuda"', 1))
    with pytest.raises(ConfigError, match=r"device 'cuda' is not available here \(0 CUDA devices\)"):
        load_train_job(path)


def test_errors_found_when_running(tmp_path):
    bad_layer = _config(tmp_path, name="bad_layer", extra='[layers."9"]\nadc_bits = 4\n')
    with pytest.raises(ConfigError, match=r"overrides name no convertible layer: \['9'\]; layers: \['1', '3'\]"):
        run_train_job(load_train_job(bad_layer), progress=False)
    missing = _config(tmp_path, name="missing", pretrain=False)
    missing.write_text(missing.read_text().replace('name = "mlp"', 'name = "mlp"\nweights = "nope.pt"'))
    with pytest.raises(ConfigError, match=r"model.weights 'nope.pt' does not exist"):
        run_train_job(load_train_job(missing), progress=False)
    wrong = tmp_path / "lenet.pt"
    torch.save(build_model("lenet5", in_channels=1, image_size=8, n_classes=10).state_dict(), wrong)
    mismatch = _config(tmp_path, name="mismatch", pretrain=False)
    mismatch.write_text(mismatch.read_text().replace('name = "mlp"', f'name = "mlp"\nweights = "{wrong}"'))
    with pytest.raises(ConfigError, match=r"is not a float state dict of mlp for digits"):
        run_train_job(load_train_job(mismatch), progress=False)
    with pytest.raises(ConfigError, match=r"model.pt does not exist: run `xbarsim train`"):
        load_trained(load_train_job(_config(tmp_path, name="never_run")))


def test_cli_prints_the_report_and_bad_configs_exit_2(tmp_path, capsys):
    path = _config(tmp_path, finetune_epochs=1)
    assert main(["train", str(path), "--no-progress"]) == 0
    out = capsys.readouterr().out
    report = json.loads((tmp_path / "job" / "report.json").read_text())
    assert f"mlp on digits: test accuracy [%] ({report['n_test']} images)" in out
    assert f"{100 * report['before']['quantized']['mean']:.2f}" in out and "model.pt" in out
    path.write_text(path.read_text().replace("n_repeats = 2", "n_repeats = -1"))
    assert main(["train", str(path)]) == 2
    assert "evaluate.n_repeats must be an integer >= 1; got -1" in capsys.readouterr().err


def test_a_damaged_or_missing_record_is_refused_and_a_damaged_report_measured_again(tmp_path):
    job = load_train_job(_config(tmp_path, finetune_epochs=1))
    first = run_train_job(job, progress=False)
    record = job.output / "job.json"
    saved = record.read_text()
    record.write_text("{not json")
    with pytest.raises(ConfigError, match=r"job.json is damaged .*delete the output folder"):
        run_train_job(job, progress=False)
    record.unlink()
    with pytest.raises(ConfigError, match=r"holds pretrain.ckpt.pt but job.json has no record"):
        run_train_job(job, progress=False)
    record.write_text(saved)
    (job.output / "report.json").write_text("[")
    with pytest.raises(ConfigError, match=r"report.json is damaged .*measurements are made again"):
        run_train_job(job, progress=False)
    (job.output / "report.json").unlink()
    assert run_train_job(job, progress=False)["after"] == first["after"]


def test_grid_trains_the_float_model_once_and_each_target_as_a_single_job(tmp_path, capsys):
    from search.cli_train import run_train_grid

    grid = '[grid]\ncell_bits = [2, 4]\nweight_bits = [6, 8]\n[layers."3"]\nnoise_scale = 0.5\n'
    job = load_train_job(_config(tmp_path, name="grid", finetune_epochs=1, extra=grid))
    assert [g[0] for g in job.grid] == ["cell_bits=2,weight_bits=6", "cell_bits=2,weight_bits=8",
                                        "cell_bits=4,weight_bits=6", "cell_bits=4,weight_bits=8"]
    with pytest.raises(ConfigError, match="has a \\[grid\\]; run it with run_train_grid"):
        run_train_job(job, progress=False)
    rows = run_train_grid(job, progress=False)
    assert (job.output / "pretrain.ckpt.pt").exists()
    assert not any((job.output / r["name"] / "pretrain.ckpt.pt").exists() for r in rows)  # trained once
    # oracle: the single-target job with the grid's float model and that target, in another folder
    one = _config(tmp_path, name="one", finetune_epochs=1, pretrain=False,
                  crossbar="cell_bits = 4\nweight_bits = 8", extra='[layers."3"]\nnoise_scale = 0.5\n')
    one.write_text(one.read_text().replace('name = "mlp"', f'name = "mlp"\nweights = "{job.output / "float.pt"}"'))
    alone = run_train_job(load_train_job(one), progress=False)
    row = rows[3]
    assert row["target"] == {"cell_bits": 4, "weight_bits": 8}
    assert row["after_hardware"] == alone["after"]["hardware"] and row["before_hardware"] == alone["before"]["hardware"]
    assert row["recovered_fraction"] == alone["recovered_fraction"]
    _same_state(torch.load(job.output / row["name"] / "model.pt", weights_only=True),
                torch.load(tmp_path / "one" / "model.pt", weights_only=True))
    assert json.loads((job.output / "summary.json").read_text())["rows"] == json.loads(json.dumps(rows))
    # the targets differ, and the layer change applies to each
    assert len({json.dumps(r["after_hardware"]) for r in rows}) == 4
    sub = load_trained(dataclasses.replace(job, output=job.output / rows[0]["name"], crossbar=job.grid[0][2],
                                           overrides=job.grid[0][3], noise_scales=job.grid[0][4],
                                           weights=job.output / "float.pt", pretrain=None, grid=()))
    assert sub[3].xbar.noise_scale == 0.5 and sub[1].xbar.config.weight_bits == 6
    # a second run trains nothing; the CLI prints the summary
    mtimes = [(job.output / r["name"] / "finetune.ckpt.pt").stat().st_mtime_ns for r in rows]
    capsys.readouterr()
    assert main(["train", str(tmp_path / "grid.toml"), "--no-progress"]) == 0
    assert [(job.output / r["name"] / "finetune.ckpt.pt").stat().st_mtime_ns for r in rows] == mtimes
    out = capsys.readouterr().out
    assert "cell_bits=4,weight_bits=8" in out and f"{100 * row['after_hardware']['mean']:6.2f} +-" in out


@pytest.mark.parametrize(("grid", "message"), [
    ("[grid]\nrowz = [64]", r"unknown key 'rowz' in \[grid\]"),
    ("[grid]\ncell_bits = []", r"grid.cell_bits must be a non-empty list of distinct values"),
    ("[grid]\ncell_bits = [2, 2]", r"grid.cell_bits must be a non-empty list of distinct values"),
    ("[grid]\nnoise = [{read_sigma = 0.1}]", r"unknown key 'noise' in \[grid\]"),
    ("[grid]\ncell_bits = [2, 0]", r"\[grid\] point cell_bits=0: .*cell_bits"),
    ("[grid]", r"\[grid\] must list at least one CrossbarConfig field"),
])
def test_bad_grids_are_refused(tmp_path, grid, message):
    with pytest.raises(ConfigError, match=message):
        load_train_job(_config(tmp_path, extra=grid + "\n"))


@pytest.mark.parametrize("name", ["train_digits.toml", "train_digits_grid.toml", "train_digits_validation.toml"])
def test_the_shipped_configs_load(name):
    from pathlib import Path

    job = load_train_job(Path(__file__).resolve().parents[2] / "experiments" / "configs" / name)
    assert job.model == "lenet5" and job.finetune.mode == "noisy" and job.finetune.epochs == 30
    assert job.finetune.select_best == (name == "train_digits_validation.toml")
    assert job.data.get("validation") == (0.15 if job.finetune.select_best else None)

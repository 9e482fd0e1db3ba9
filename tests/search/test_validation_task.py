"""A ReRAM task with a validation part: the search trains on the rest and measures on the held-out
part; rescoring measures on the test split (designs chosen on one split, reported on another)."""

from __future__ import annotations

import io

import numpy as np
import pytest

from crossbar import CrossbarConfig
from crossbar.errors import ConfigError


def _by_hand(task, config, z, pretrained, seed, split):
    """Oracle: the evaluation written out with the library's steps, on the split made by hand: fine-tune
    on the rest of the training split, measure on the held-out part (``"search"``) or the test split."""
    import torch

    from mapping.data import load_dataset
    from mapping.nn import convert
    from mapping.nn.models import build_model
    from mapping.nn.train import TrainConfig, evaluate, fit

    data = load_dataset(task.dataset, seed=task.seed)
    held = data.split_validation(task.validation, seed=task.seed)
    model = build_model(task.model, in_channels=1, image_size=8, n_classes=10)
    model.load_state_dict(torch.load(io.BytesIO(pretrained), weights_only=True))
    xn = convert(model, task.design(config), seed=seed)
    x, y = (held.x_test, held.y_test) if split == "search" else (data.x_test, data.y_test)
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        fit(xn, held, TrainConfig(epochs=round(z * task.max_epochs), lr=task.lr, mode="noisy", seed=seed),
            progress=False)
        return evaluate(xn, x, y, mode="hardware", n_repeats=task.n_repeats, seed=seed).mean


def test_a_validation_task_trains_on_the_rest_and_measures_on_the_held_out_part():
    """Pretraining and fine-tuning see only the rest of the training split; ``split="search"``
    measures on the held-out part, ``split="test"`` the same fine-tuned model on the test split:
    both equal the steps done by hand. Without validation both splits are the test split."""
    import torch

    from mapping.data import load_dataset
    from mapping.nn.models import build_model
    from mapping.nn.train import TrainConfig, fit
    from search.evaluate import ReramTask, evaluate_accuracy, pretrain

    task = ReramTask(pretrain_epochs=2, max_epochs=1, n_repeats=2, validation=0.25, seed=3)
    pretrained = pretrain(task)
    held = load_dataset("digits", seed=3).split_validation(0.25, seed=3)
    with torch.random.fork_rng():
        torch.manual_seed(3)
        model = build_model("mlp", in_channels=1, image_size=8, n_classes=10)
        fit(model, held, TrainConfig(epochs=2, lr=0.05, seed=3), progress=False)
    got = torch.load(io.BytesIO(pretrained), weights_only=True)
    assert all(torch.equal(got[k], v) for k, v in model.state_dict().items())
    # and not what the whole training split gives
    whole = torch.load(io.BytesIO(pretrain(ReramTask(pretrain_epochs=2, max_epochs=1, seed=3))), weights_only=True)
    assert not all(torch.equal(got[k], v) for k, v in whole.items())

    cfg = CrossbarConfig(adc_bits=6)
    args = (task.to_json(), cfg.to_json(), 1.0, pretrained, 11)
    assert evaluate_accuracy(*args)["accuracy"] == _by_hand(task, cfg, 1.0, pretrained, 11, "search")
    assert evaluate_accuracy(*args, split="test")["accuracy"] == _by_hand(task, cfg, 1.0, pretrained, 11, "test")
    plain = ReramTask(pretrain_epochs=2, max_epochs=1, n_repeats=2, seed=3)
    plain_args = (plain.to_json(), cfg.to_json(), 1.0, pretrain(plain), 11)
    assert evaluate_accuracy(*plain_args)["accuracy"] == evaluate_accuracy(*plain_args, split="test")["accuracy"]
    with pytest.raises(ConfigError, match=r"split must be one of \['search', 'test'\]; got 'validation'"):
        evaluate_accuracy(*args, split="validation")


def test_a_validation_that_empties_a_part_is_refused_with_the_split_error():
    from search.evaluate import ReramTask, pretrain

    with pytest.raises(ConfigError, match="leaves the training part empty"):
        pretrain(ReramTask(pretrain_epochs=1, validation=0.999))


def test_search_records_validation_accuracies_and_rescore_measures_on_the_test_split(tmp_path, capsys):
    """``[task] validation`` reaches the stored task; the recorded accuracies are the search
    split's, the rescore's are the test split's (each equal to ``evaluate_accuracy`` with that
    split and seed), and the table and figures say which is which."""
    from search.cli import main
    from search.evaluate import evaluate_accuracy
    from search.rescore import measured_evaluations, problem_of_store, rescore_store, rescore_table
    from search.run import load_evaluations
    from search.store import ResultStore, StoreError

    cfg = tmp_path / "s.toml"
    cfg.write_text(f'output = "{tmp_path / "st.h5"}"\nalgorithm = "random"\nbudget = 3.0\n'
                   '[task]\npretrain_epochs = 1\nmax_epochs = 1\nn_repeats = 1\nvalidation = 0.2\n')
    assert main(["search", str(cfg), "--no-progress"]) == 0
    evs = [e for e in load_evaluations(tmp_path / "st.h5") if e.status == "ok"]
    meta = ResultStore.read(tmp_path / "st.h5").meta
    assert meta["problem"]["task"]["validation"] == 0.2 and evs
    problem = problem_of_store(meta)
    assert problem.split == "search" and problem.remeasurement().split == "test"
    assert problem.remeasurement().costs is problem.costs
    cfg_json = problem.configs(evs[0].x)[0].to_json()
    for split, prob in (("search", problem), ("test", problem.remeasurement())):
        want = evaluate_accuracy(problem.task.to_json(), cfg_json, evs[0].z, problem.pretrained, evs[0].seed,
                                 split=split)["accuracy"]
        assert prob.evaluate(evs[0].x, evs[0].z, evs[0].seed)[0][0] == -want
    np.testing.assert_array_equal(problem.evaluate(evs[0].x, evs[0].z, evs[0].seed)[0], evs[0].f)

    res = rescore_store(tmp_path / "st.h5", repeats=1, seed=50, problem=problem, progress=False)
    d = res.designs[0]
    test_acc = evaluate_accuracy(problem.task.to_json(), problem.configs(d.x)[0].to_json(), 1.0,
                                 problem.pretrained, 50, split="test")["accuracy"]
    assert d.measured[0, 0] == -test_acc
    assert res.splits == "recorded: validation part, measured: test split"
    assert res.splits in rescore_table(res).splitlines()[0]
    # --split search: fresh draws on the validation part, into a store of their own
    fresh = rescore_store(tmp_path / "st.h5", repeats=1, seed=50, split="search", problem=problem, progress=False)
    held_out = evaluate_accuracy(problem.task.to_json(), problem.configs(d.x)[0].to_json(), 1.0,
                                 problem.pretrained, 50, split="search")["accuracy"]
    assert fresh.designs[0].measured[0, 0] == -held_out != -test_acc
    assert fresh.out == tmp_path / "st_rescored_search.h5" != res.out and fresh.n_new == len(fresh.designs)
    assert fresh.splits == "recorded and measured: validation part (fresh draws)"
    with pytest.raises(StoreError, match="measured the 'search' split, not the test split"):
        measured_evaluations(tmp_path / "st.h5", evs, rescored=fresh.out)
    capsys.readouterr()
    assert main(["rescore", str(tmp_path / "st.h5"), "--split", "search", "--repeats", "1", "--seed", "50",
                 "--no-plot", "--no-progress"]) == 0  # the problem rebuilt from the store: nothing to measure
    out = capsys.readouterr().out
    assert "(fresh draws)" in out and "st_rescored_search.h5 (0 new evaluations)" in out
    with pytest.raises(ConfigError, match=r"split must be one of \['test', 'search'\]; got 'validation'"):
        rescore_store(tmp_path / "st.h5", split="validation", problem=problem, progress=False)
    assert main(["plot", str(tmp_path / "st.h5")]) == 0
    assert "(validation accuracy):" in capsys.readouterr().out


def test_a_search_problem_refuses_an_unknown_split():
    from search.evaluate import ReramTask
    from search.space import default_reram_space
    from search.tasks import ReramSearch

    with pytest.raises(ConfigError, match=r"ReramSearch.split must be one of \['search', 'test'\]; got 'val'"):
        ReramSearch(default_reram_space(), ReramTask(), b"", costs=object(), split="val")


def test_task_data_are_loaded_once_per_process_and_each_caller_gets_its_own_arrays(monkeypatch):
    """``_data`` loads a task's data set once (``_loaded``'s cache) and hands every caller copies:
    the splits equal the division by hand, and a caller modifying its arrays changes nobody else's."""
    import mapping.data
    from search.evaluate import ReramTask, _data, _loaded

    loads = []
    real = mapping.data.load_dataset
    monkeypatch.setattr(mapping.data, "load_dataset", lambda *a, **kw: loads.append(kw) or real(*a, **kw))
    _loaded.cache_clear()
    try:
        task = ReramTask(validation=0.25, seed=4)
        data = real("digits", seed=4)
        held = data.split_validation(0.25, seed=4)
        first = _data(task)
        for split, (x, y) in (("search", (held.x_test, held.y_test)), ("test", (data.x_test, data.y_test))):
            got = _data(task, split)
            np.testing.assert_array_equal(got.x_train, held.x_train)
            np.testing.assert_array_equal(got.y_train, held.y_train)
            np.testing.assert_array_equal(got.x_test, x)
            np.testing.assert_array_equal(got.y_test, y)
        assert loads == [{"directory": None, "seed": 4}]  # once, for both splits and all four calls
        first.x_train[:] = -1.0
        first.y_test[:] = 0
        again = _data(task)
        np.testing.assert_array_equal(again.x_train, held.x_train)
        np.testing.assert_array_equal(again.y_test, held.y_test)
        _data(ReramTask(validation=0.25, seed=5))  # another task's data set is loaded for it
        assert [kw["seed"] for kw in loads] == [4, 5]
    finally:
        _loaded.cache_clear()

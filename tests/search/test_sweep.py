"""Sweeps: rows equal direct cost-model calls; grids, keys, resume (a real SIGKILL), failures, accuracy."""

from __future__ import annotations

import functools
import json
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from crossbar import CrossbarConfig, NoiseConfig
from crossbar.cost import COMPONENTS, estimate_cost
from crossbar.errors import ConfigError
from crossbar.tech import load_technology
from mapping.layers import Conv2dSpec, LinearSpec
from mapping.plan import LayerInstance, place
from search import sweep as sweep_module
from search.executors import SerialExecutor
from search.store import ResultStore, StoreError
from search.sweep import (
    SWEEP_COLUMNS,
    AccuracySpec,
    canonical_config,
    design_key,
    expand_grid,
    load_sweep,
    sweep,
)

EXACT = 1e-12
REPO = Path(__file__).resolve().parents[2]
LAYERS = [LayerInstance(spec=Conv2dSpec(in_channels=1, out_channels=6, kernel_size=5, padding=2,
                                        name="conv1"), input_hw=(8, 8)),
          LayerInstance(spec=Conv2dSpec(in_channels=6, out_channels=16, kernel_size=3, stride=2,
                                        name="conv2"), input_hw=(8, 8)),
          LinearSpec(in_features=144, out_features=10, name="fc")]
DESIGNS = [
    CrossbarConfig(adc_bits=6),
    CrossbarConfig(rows=64, cols=256, cell_bits=1, adc_bits=5, frequency=1e8),
    CrossbarConfig(weight_bits=16, input_bits=16, cell_bits=2, adc_bits=8, encoding="offset"),
    CrossbarConfig(weight_bits=9, cell_bits=2, adc_bits=(3, 3, 3, 1), dac_bits=2),
    CrossbarConfig(rows=256, cell_bits=4, adc_bits=None, signed_inputs=True),
]
RUN = {"tech": "isaac_ce_32nm", "executor": "serial", "progress": False}


@pytest.fixture(scope="module")
def isaac():
    return load_technology("isaac_ce_32nm")


def test_rows_equal_direct_estimate_cost(tmp_path, isaac):
    res = sweep(LAYERS, DESIGNS, store_path=tmp_path / "s.h5", **RUN)
    assert len(res) == len(DESIGNS) and res.n_failed == 0 and res.n_new == len(DESIGNS)
    assert res.configs() == [canonical_config(c) for c in DESIGNS]
    for i, cfg in enumerate(DESIGNS):
        plan = place(LAYERS, cfg)
        want = estimate_cost(plan.layer_counts, isaac, cfg)
        assert res["key"][i] == design_key(cfg) and res["status"][i] == "ok"
        for name in ("area", "energy", "latency", "latency_sequential", "throughput", "static_power"):
            np.testing.assert_allclose(res[name][i], getattr(want, name), rtol=EXACT, atol=0, err_msg=name)
        for c in COMPONENTS:
            np.testing.assert_allclose(res[f"energy_{c}"][i], want.breakdown[c].energy, rtol=EXACT, atol=0)
            np.testing.assert_allclose(res[f"area_{c}"][i], want.breakdown[c].area, rtol=EXACT, atol=0)
        assert res["n_arrays"][i] == want.n_arrays
        assert res["n_adc_conversions"][i] == plan.op_counts().n_adc_conversions
        layers = json.loads(res["layers"][i])
        assert list(layers) == ["conv1", "conv2", "fc"]
        np.testing.assert_allclose([layers[n]["energy"] for n in layers],
                                   [want.layers[n].energy for n in layers], rtol=EXACT, atol=0)
        assert res["rows"][i] == cfg.rows and res["adc_bits"][i] == json.dumps(cfg.adc_bits)
        assert np.isnan(res["accuracy_mean"][i]) and res["seconds"][i] > 0
    assert set(res.columns) == {"key", "status", "error", *SWEEP_COLUMNS}
    store = ResultStore.read(tmp_path / "s.h5")
    assert store.meta["kind"] == "sweep" and store.meta["technology"] == "isaac_ce_32nm"
    assert [la["name"] for la in store.meta["network"]] == ["conv1", "conv2", "fc"]


def test_torch_model_input_and_per_layer_configs_ignored(tmp_path):
    from mapping.nn import convert
    from mapping.nn.models import lenet5
    from mapping.nn.specs import specs_from_torch

    model = lenet5(1, 8)
    designs = DESIGNS[:2]
    plain = sweep((model, (1, 8, 8)), designs, store_path=tmp_path / "a.h5", **RUN)
    listed = sweep(specs_from_torch(model, (1, 8, 8)), designs, store_path=tmp_path / "b.h5", **RUN)
    converted = convert(model, CrossbarConfig(rows=32, adc_bits=3))  # its per-layer configs do not matter
    conv = sweep((converted, (1, 8, 8)), designs, store_path=tmp_path / "c.h5", **RUN)
    for other in (listed, conv):
        for name in ("energy", "area", "latency", "layers"):
            np.testing.assert_array_equal(plain[name], other[name])
    with pytest.raises(ConfigError, match=r"pass \(model, input_shape\)"):
        sweep(model, designs, store_path=tmp_path / "d.h5", **RUN)


def test_expand_grid_order_base_and_errors():
    base = CrossbarConfig(weight_bits=9, input_bits=6)
    designs = expand_grid({"rows": [64, 128], "adc_bits": [4, 6, 8]}, base=base)
    assert [(d.rows, d.adc_bits) for d in designs] == [(64, 4), (64, 6), (64, 8),
                                                       (128, 4), (128, 6), (128, 8)]
    assert all(d.weight_bits == 9 and d.input_bits == 6 for d in designs)
    per_slice = expand_grid({"adc_bits": [[3, 3, 3, 1]], "noise": [{"program_sigma": 0.1}]}, base=base)
    assert per_slice[0].adc_bits == (3, 3, 3, 1) and per_slice[0].noise == NoiseConfig(program_sigma=0.1)
    with pytest.raises(ConfigError, match=r"unknown design variable 'adc'; allowed: \['rows'"):
        expand_grid({"adc": [4]})
    with pytest.raises(ConfigError, match="'rows' needs a non-empty list"):
        expand_grid({"rows": []})
    with pytest.raises(ConfigError, match="'cell_bits' needs a non-empty list"):
        expand_grid({"cell_bits": "2"})
    with pytest.raises(ConfigError, match=r"combination \{'cell_bits': 4, 'adc_bits': \[3, 3, 3, 1\]\}"):
        expand_grid({"cell_bits": [2, 4], "adc_bits": [[3, 3, 3, 1]]}, base=base)


def test_design_keys_are_canonical_and_duplicates_run_once(tmp_path):
    a, b = CrossbarConfig(frequency=10**7, temperature=300), CrossbarConfig(frequency=1e7, temperature=300.0)
    assert a.to_json() != b.to_json() and design_key(a) == design_key(b)
    assert design_key(CrossbarConfig(adc_bits=4)) != design_key(CrossbarConfig(adc_bits=5))
    assert design_key(CrossbarConfig(noise=NoiseConfig(stuck_on_rate=0))) == design_key(CrossbarConfig())
    res = sweep(LAYERS, [a, b, DESIGNS[0], a], store_path=tmp_path / "s.h5", **RUN)
    assert len(res) == 2 and len(ResultStore.read(tmp_path / "s.h5")) == 2
    grid = sweep(LAYERS, {"adc_bits": [4, 8]}, store_path=tmp_path / "g.h5", **RUN)  # base CrossbarConfig()
    assert grid.configs() == [CrossbarConfig(adc_bits=4), CrossbarConfig(adc_bits=8)]


def test_resume_skips_stored_designs_and_keeps_request_order(tmp_path):
    path = tmp_path / "s.h5"
    first = sweep(LAYERS, DESIGNS[:3], store_path=path, **RUN)
    again = sweep(LAYERS, DESIGNS[::-1], store_path=path, **RUN)
    assert (again.n_skipped, again.n_new) == (3, 2)
    assert again["key"].tolist() == [design_key(c) for c in DESIGNS[::-1]]
    np.testing.assert_array_equal(again["energy"][2:], first["energy"][::-1])  # same rows, not recomputed
    np.testing.assert_array_equal(again["seconds"][2:], first["seconds"][::-1])
    assert len(ResultStore.read(path)) == 5 and sorted(load_sweep(path)["key"]) == sorted(again["key"])


def test_store_of_another_sweep_is_refused(tmp_path):
    path = tmp_path / "s.h5"
    sweep(LAYERS, DESIGNS[:1], store_path=path, **RUN)
    with pytest.raises(StoreError, match="fingerprint"):
        sweep(LAYERS[:2], DESIGNS[:1], store_path=path, **RUN)
    with pytest.raises(StoreError, match="fingerprint"):
        sweep(LAYERS, DESIGNS[:1], store_path=path, **{**RUN, "tech": "neurosim_v1_3_22nm"})
    assert len(ResultStore.read(path)) == 1


class _FlakyExecutor(SerialExecutor):
    """In-process executor whose chosen tasks fail before they run (a lost worker, say)."""

    def __init__(self, broken: set[str]):
        super().__init__()
        self.broken = broken

    def submit(self, fn, /, *args):
        if design_key(CrossbarConfig.from_json(args[1])) in self.broken:
            fut = super().submit(_raise, RuntimeError("worker lost"))
            return fut
        return super().submit(fn, *args)


def _raise(err):
    raise err


def test_failures_are_recorded_and_retried(tmp_path, monkeypatch):
    path = tmp_path / "s.h5"
    real = sweep_module.evaluate_design

    def flaky(layers, config, **kw):
        if config.rows == 64:
            raise ValueError("no 64-row arrays today")
        return real(layers, config, **kw)

    monkeypatch.setattr(sweep_module, "evaluate_design", flaky)
    ex = _FlakyExecutor({design_key(DESIGNS[2])})
    res = sweep(LAYERS, DESIGNS, store_path=path, **{**RUN, "executor": ex})
    assert res.n_failed == 2 and res.n_new == 5
    assert res["status"].tolist() == ["ok", "failed", "failed", "ok", "ok"]
    assert res["error"][1] == "ValueError: no 64-row arrays today"
    assert res["error"][2] == "RuntimeError: worker lost"
    assert res["rows"][1] == 64 and np.isnan(res["energy"][1]) and res["n_arrays"][1] == 0
    monkeypatch.setattr(sweep_module, "evaluate_design", real)
    retry = sweep(LAYERS, DESIGNS, store_path=path, **RUN)
    assert (retry.n_skipped, retry.n_new, retry.n_failed) == (3, 2, 0)
    statuses = ResultStore.read(path).to_dict_of_arrays(["status"])["status"].tolist()
    assert statuses.count("failed") == 2 and len(statuses) == 7  # failures stay as history


@pytest.fixture(scope="module")
def digits():
    """A 64-10 linear classifier trained 2 epochs on digits, and its accuracy spec (2 repeats, seed 3)."""
    import torch

    from mapping.data import load_digits
    from mapping.nn.models import mlp
    from mapping.nn.train import TrainConfig, fit

    data = load_digits(seed=0)
    build = functools.partial(mlp, (64, 10))
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        model = build()
    fit(model, data, TrainConfig(epochs=2, lr=0.1, seed=0), progress=False)
    spec = AccuracySpec.from_model(model, build=build, x=data.x_test[:150], y=data.y_test[:150],
                                   n_repeats=2, seed=3)
    return model, spec


def test_accuracy_column_matches_direct_hardware_evaluation(tmp_path, digits):
    from mapping.nn import convert, reconfigure
    from mapping.nn.train import evaluate

    model, spec = digits
    noisy = NoiseConfig(program_sigma=0.05, program_model="range")
    designs = [CrossbarConfig(adc_bits=8, noise=noisy), CrossbarConfig(adc_bits=3)]
    res = sweep((model, (1, 8, 8)), designs, store_path=tmp_path / "s.h5", accuracy=spec, **RUN)
    assert res.n_failed == 0
    for i, cfg in enumerate(designs):
        want = evaluate(reconfigure(convert(model, CrossbarConfig()), cfg), spec.x, spec.y, mode="hardware",
                        n_repeats=2, seed=3)
        assert (res["accuracy_mean"][i], res["accuracy_std"][i]) == (want.mean, want.std)
    assert res["accuracy_std"][0] > 0  # programming noise: the two devices differ
    assert res["accuracy_mean"][0] > 0.5 and res["accuracy_mean"][0] > res["accuracy_mean"][1]
    other = AccuracySpec.from_model(model, build=spec.build, x=spec.x, y=spec.y, n_repeats=1, seed=3)
    with pytest.raises(StoreError, match="fingerprint"):  # another accuracy spec means other rows
        sweep((model, (1, 8, 8)), designs, store_path=tmp_path / "s.h5", accuracy=other, **RUN)


def test_accuracy_spec_validation(digits):
    model, spec = digits
    with pytest.raises(ConfigError, match="does not fit the model"):
        AccuracySpec(build=functools.partial(_mlp, (64, 20, 10)), state=spec.state, x=spec.x, y=spec.y)
    with pytest.raises(ConfigError, match="n_repeats must be an integer >= 1"):
        AccuracySpec(build=spec.build, state=spec.state, x=spec.x, y=spec.y, n_repeats=0)
    with pytest.raises(ValueError, match="x must be"):
        AccuracySpec(build=spec.build, state=spec.state, x=spec.x, y=spec.y[:-1])
    same = AccuracySpec.from_model(model, build=spec.build, x=spec.x, y=spec.y, n_repeats=2, seed=3)
    assert same.digest() == spec.digest()
    other = AccuracySpec.from_model(model, build=spec.build, x=spec.x, y=spec.y, n_repeats=2, seed=4)
    assert other.digest() != spec.digest()


def _mlp(sizes):
    from mapping.nn.models import mlp

    return mlp(sizes)


_KILL_SCRIPT = """
import sys, time
from crossbar import CrossbarConfig
from search.executors import SerialExecutor
from search.sweep import expand_grid, sweep
sys.path.insert(0, {here!r})
from test_sweep import LAYERS, slow_call

class Slow(SerialExecutor):
    def submit(self, fn, /, *args):
        return super().submit(slow_call, fn, args)

if __name__ == "__main__":
    designs = expand_grid({{"rows": [64, 128, 256], "cell_bits": [1, 2], "adc_bits": [4, 5, 6, 7, 8]}})
    sweep(LAYERS, designs, tech="isaac_ce_32nm", store_path={path!r}, executor=Slow(), progress=False)
    print("finished", flush=True)
"""
KILL_GRID = {"rows": [64, 128, 256], "cell_bits": [1, 2], "adc_bits": [4, 5, 6, 7, 8]}


def slow_call(fn, args):
    """Run ``fn(*args)`` after 80 ms (keeps the killed sweep busy between appends)."""
    time.sleep(0.08)
    return fn(*args)


def test_resume_after_sigkill_loses_and_duplicates_nothing(tmp_path):
    path = tmp_path / "killed.h5"
    script = tmp_path / "run_sweep.py"
    script.write_text(textwrap.dedent(_KILL_SCRIPT.format(here=str(Path(__file__).parent), path=str(path))))
    with subprocess.Popen([sys.executable, str(script)], cwd=REPO, stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE) as proc:
        try:
            deadline = time.monotonic() + 60
            n = 0
            while n < 5:  # poll the committed row count while the sweep writes
                assert proc.poll() is None, proc.stderr.read().decode()
                assert time.monotonic() < deadline, "the sweep did not append 5 rows in 60 s"
                time.sleep(0.01)
                n = len(ResultStore.read(path)) if path.exists() else 0
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    assert proc.returncode == -signal.SIGKILL
    before = ResultStore.read(path).to_dict_of_arrays()
    n_before, n_designs = len(before["key"]), len(expand_grid(KILL_GRID))
    assert 5 <= n_before < n_designs
    res = sweep(LAYERS, KILL_GRID, store_path=path, **RUN)
    assert (res.n_skipped, res.n_new, res.n_failed) == (n_before, n_designs - n_before, 0)
    after = ResultStore.read(path).to_dict_of_arrays()
    for name, values in before.items():  # every finished row survived, unchanged
        np.testing.assert_array_equal(after[name][:n_before], values, err_msg=name)
    keys = after["key"].tolist()
    assert len(keys) == len(set(keys)) == n_designs  # every design exactly once
    fresh = sweep(LAYERS, KILL_GRID, store_path=tmp_path / "fresh.h5", **RUN)
    for name in SWEEP_COLUMNS:
        if name != "seconds":
            np.testing.assert_array_equal(res[name], fresh[name], err_msg=name)

"""Network placement: arrays, utilization, per-inference counts (vs the engine), torch tracing."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

from crossbar import CrossbarConfig, program
from crossbar.cost import DesignSet, estimate_costs
from crossbar.errors import ConfigError, ShapeError
from crossbar.tech import load_technology
from mapping.layers import Conv2dSpec, LinearSpec
from mapping.nn import convert, set_mode
from mapping.nn.models import lenet5, resnet20
from mapping.nn.specs import specs_from_torch
from mapping.plan import LayerInstance, NetworkPlan, network_workload, place

EXACT = 1e-12


def _net() -> list[LayerInstance]:
    return [
        LayerInstance(spec=Conv2dSpec(in_channels=3, out_channels=16, kernel_size=3, padding=1, name="c1"),
                      input_hw=(12, 12)),
        LayerInstance(spec=Conv2dSpec(in_channels=16, out_channels=32, kernel_size=3, stride=2, name="c2"),
                      input_hw=(12, 12)),
        LayerInstance(spec=Conv2dSpec(in_channels=32, out_channels=8, kernel_size=1, name="c3"),
                      input_hw=(5, 5)),
        LayerInstance(spec=LinearSpec(in_features=200, out_features=10, name="fc")),
    ]


def _configs(rng: np.random.Generator, n: int) -> list[CrossbarConfig]:
    out = []
    for _ in range(n):
        input_bits = int(rng.integers(2, 13))
        out.append(CrossbarConfig(
            rows=int(rng.choice([16, 32, 64, 128])), cols=int(rng.choice([16, 64, 100, 128])),
            cell_bits=int(rng.integers(1, 5)), weight_bits=int(rng.integers(2, 17)), input_bits=input_bits,
            dac_bits=int(rng.integers(1, min(3, input_bits) + 1)),
            encoding=str(rng.choice(["differential", "offset"])), signed_inputs=bool(rng.integers(2))))
    return out


def test_plan_counts_equal_engine_op_counts(rng):
    """Each layer's counts are its im2col matrix's op_counts for H_out x W_out vectors."""
    for cfg in _configs(rng, 6):
        plan = place(_net(), cfg)
        total = None
        for layer in plan.layers:
            n_in, n_out = layer.instance.spec.matrix_shape
            want = program(np.zeros((n_in, n_out), dtype=np.int64), cfg).op_counts(layer.n_vectors)
            got = layer.counts
            for f in ("n_macs", "n_arrays", "n_array_reads", "n_adc_conversions", "n_dac_activations",
                      "n_shift_adds"):
                assert getattr(got, f) == getattr(want, f), (f, layer.name, cfg)
            assert got.n_macs == layer.instance.spec.macs(layer.instance.input_hw)
            total = want if total is None else total + want
        summed = plan.op_counts()
        assert (summed.n_adc_conversions, summed.n_array_reads, summed.n_arrays) == (
            total.n_adc_conversions, total.n_array_reads, total.n_arrays)


def test_hand_counted_layer():
    """c2: 144 x 32 matrix, 5 x 5 outputs; 8-bit differential weights in 2-bit cells, 128 x 128."""
    cfg = CrossbarConfig()
    layer = place(_net(), cfg).layers[1]
    assert (layer.n_vectors, layer.n_row_tiles, layer.n_col_arrays, layer.n_arrays) == (25, 2, 2, 4)
    assert layer.n_cells_used == 144 * 32 * 4 * 2
    np.testing.assert_allclose(layer.utilization, 144 * 256 / (4 * 128 * 128), rtol=EXACT)
    c = layer.counts
    assert c.n_adc_conversions == 25 * 2 * 256 * 8 and c.n_array_reads == 25 * 4 * 8
    assert c.n_dac_activations == 25 * 144 * 2 * 8
    assert (c.n_buffer_read_bits, c.n_buffer_write_bits, c.n_buffer_bits) == (
        25 * 144 * 8, 25 * 32 * 8, 16 * 12 * 12 * 8)


@pytest.mark.parametrize("encoding", ["offset", "differential"])
def test_isaac_conversion_rule(encoding, rng):
    """conversions = MACs x cells per weight x ceil(I/d) / rows whenever rows divide n_in."""
    for cfg in _configs(rng, 8):
        cfg = cfg.replace(encoding=encoding, signed_inputs=False)
        spec = Conv2dSpec(in_channels=cfg.rows // math.gcd(cfg.rows, 9), out_channels=7, kernel_size=3,
                          padding=1)
        plan = place([spec], cfg, input_hw=(6, 5))
        cells = math.ceil(cfg.weight_bits / cfg.cell_bits) if encoding == "offset" else 2 * math.ceil(
            (cfg.weight_bits - 1) / cfg.cell_bits)
        want = plan.n_macs * cells * math.ceil(cfg.input_bits / cfg.dac_bits) / cfg.rows
        assert plan.op_counts().n_adc_conversions == want


def test_cells_per_weight_regression():
    """ISAAC: 16-bit weights in 2-bit cells, 16-bit bit-serial inputs, 128 rows: 1 conversion per
    MAC; without the 8 cells per weight a model would count 1/8."""
    cfg = CrossbarConfig(weight_bits=16, input_bits=16, encoding="offset", adc_bits=8)
    plan = place([Conv2dSpec(in_channels=128, out_channels=64, kernel_size=1)], cfg, input_hw=(4, 4))
    conv = plan.op_counts().n_adc_conversions
    assert conv == plan.n_macs
    assert conv / (plan.n_macs * 16 / 128) == 8


def test_bigger_arrays_fewer_arrays(rng):
    base = _configs(rng, 1)[0]
    for field in ("rows", "cols"):
        n = [place(_net(), base.replace(**{field: s})).n_arrays for s in (16, 32, 64, 128, 256)]
        assert all(a >= b for a, b in zip(n, n[1:], strict=False)) and n[0] > n[-1], (field, n)


def test_batch_scaling_and_plan_is_frozen():
    plan = place(_net(), CrossbarConfig())
    one, three = plan.op_counts(), plan.op_counts(3)
    assert three.n_adc_conversions == 3 * one.n_adc_conversions
    assert three.n_buffer_read_bits == 3 * one.n_buffer_read_bits
    assert (three.n_arrays, three.n_buffer_bits) == (one.n_arrays, one.n_buffer_bits)
    assert plan.n_arrays == one.n_arrays
    with pytest.raises(AttributeError):
        plan.layers = ()
    assert isinstance(plan, NetworkPlan)


def test_input_sizes_chain_and_overrides():
    c1 = Conv2dSpec(in_channels=1, out_channels=4, kernel_size=3, name="a")
    c2 = Conv2dSpec(in_channels=4, out_channels=4, kernel_size=3, stride=2, name="a")
    own = CrossbarConfig(rows=32)
    plan = place([c1, c2, LayerInstance(spec=c1, input_hw=(5, 5), config=own), c2], CrossbarConfig(),
                 input_hw=(11, 11))
    assert [la.instance.input_hw for la in plan.layers] == [(11, 11), (9, 9), (5, 5), (3, 3)]
    assert [la.name for la in plan.layers] == ["a", "a#2", "a#3", "a#4"]
    assert [la.config.rows for la in plan.layers] == [128, 128, 32, 128]
    with pytest.raises(ShapeError, match="no input size is known"):
        place([c1], CrossbarConfig())
    with pytest.raises(ConfigError, match="has no crossbar config"):
        place([LinearSpec(in_features=3, out_features=2)])
    with pytest.raises(ShapeError, match="input_hw is required"):
        LayerInstance(spec=c1)
    with pytest.raises(ConfigError, match="sequence"):
        place(c1, CrossbarConfig())


def test_workload_and_vectorized_cost_from_plan():
    plan = place(_net(), CrossbarConfig(adc_bits=6))
    w = network_workload(_net())
    assert w.names == plan.workload.names == ("c1", "c2", "c3", "fc")
    assert w.n_vectors.tolist() == [144, 25, 25, 1] and w.n_macs.tolist() == [la.macs for la in plan.layers]
    tech = load_technology("isaac_ce_32nm")
    out = estimate_costs(plan, DesignSet(adc_bits=6), tech)
    report = plan.cost(tech)
    np.testing.assert_allclose(out["energy"][0], report.energy, rtol=EXACT)
    np.testing.assert_allclose(out["latency"][0], report.latency, rtol=EXACT)
    np.testing.assert_allclose(out["area"][0], report.area, rtol=EXACT)


# ---- torch tracing ----------------------------------------------------------------------------
def test_specs_from_resnet20():
    model = resnet20()
    model.train()
    state = {k: v.clone() for k, v in model.state_dict().items()}
    layers = specs_from_torch(model, (3, 32, 32))
    assert model.training and all(m.training for m in model.modules())
    for k, v in model.state_dict().items():  # traced in eval mode: BatchNorm statistics untouched
        torch.testing.assert_close(v, state[k], rtol=0, atol=0, msg=k)
    assert len(layers) == 22
    assert all(la.config is None for la in layers)
    hw = {la.spec.name: la.input_hw for la in layers}
    assert hw["0"] == (32, 32) and hw["6.conv2"] == (16, 16) and hw["9.downsample.0"] == (16, 16)
    assert hw["14"] is None
    plan = place(layers, CrossbarConfig())
    assert plan.n_macs == 40_813_184  # ResNet-20 on 32 x 32: 40.8 M MACs (incl. the 1x1 shortcuts)


def test_specs_from_converted_model():
    cfg, low = CrossbarConfig(adc_bits=6), CrossbarConfig(adc_bits=8, rows=64)
    xnet = convert(lenet5(1, 8), cfg, overrides={"7": low, "11": None})
    set_mode(xnet, "hardware")
    layers = specs_from_torch(xnet, (1, 8, 8))
    assert [la.spec.name for la in layers] == ["0", "3", "7", "9"]  # "11" stays float
    assert [la.config for la in layers] == [cfg, cfg, low, cfg]
    assert all(m.xbar.mode == "hardware" for m in xnet.modules() if hasattr(m, "xbar"))
    plan = place(layers)
    assert plan.layers[2].config.rows == 64


def test_specs_from_torch_rejects_unmappable():
    net = nn.Sequential(nn.Conv2d(4, 4, 3, groups=2))
    with pytest.raises(ConfigError, match="groups=2"):
        specs_from_torch(net, (4, 8, 8))
    with pytest.raises(ShapeError, match="one sample"):
        specs_from_torch(net, (0, 8, 8))
    tokens = nn.Sequential(nn.Linear(8, 4))
    with pytest.raises(ShapeError, match="batch, in_features"):
        specs_from_torch(tokens, (5, 8))

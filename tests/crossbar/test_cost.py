"""Cost model: counts, the vectorized path against the scalar one, additivity, monotonicity, ISAAC.

The ISAAC numbers (Shafiee et al., ISCA 2016, Table I; ``reference/cost-model.md`` §1.1, V6): ADC
1.5625-1.67 pJ per 8-bit conversion, 30 pJ per 128 x 128 array read, 4 mW of 1-bit DACs, 10 uW of
S+H and 0.2 mW of shift-and-add per IMA of 8 arrays at a 100 ns cycle.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from crossbar import CrossbarConfig, program
from crossbar.cost import (
    COMPONENTS,
    DesignSet,
    OpCounts,
    Workload,
    estimate_cost,
    estimate_costs,
    matrix_op_counts,
    missing_costs,
)
from crossbar.errors import ConfigError, ShapeError
from crossbar.rollup import conversions_per_mac
from crossbar.tech import Technology, adc_energy, load_technology

EXACT = 1e-12
ISAAC_CFG = CrossbarConfig(rows=128, cols=128, cell_bits=2, weight_bits=16, input_bits=16, dac_bits=1,
                           adc_bits=8, encoding="offset", frequency=1e7)
# name -> (n_in, n_out, n_vectors, n_input_values): a conv chain with a linear head
SHAPES = {"conv1": (27, 16, 1024, 3 * 32 * 32), "conv2": (144, 32, 256, 16 * 32 * 32),
          "conv3": (288, 64, 64, 32 * 16 * 16), "fc": (64, 10, 1, 64)}


@pytest.fixture(scope="module")
def isaac() -> Technology:
    return load_technology("isaac_ce_32nm")


@pytest.fixture(scope="module")
def neurosim() -> Technology:
    return load_technology("neurosim_v1_3_22nm")


def _workload(shapes=SHAPES) -> Workload:
    cols = list(zip(*shapes.values(), strict=True))
    return Workload(names=tuple(shapes), n_in=cols[0], n_out=cols[1], n_vectors=cols[2],
                    n_input_values=cols[3])


def _counts(cfg: CrossbarConfig, shapes=SHAPES) -> dict[str, OpCounts]:
    """Per-layer counts of one inference, as mapping.plan builds them."""
    out = {}
    for name, (n_in, n_out, n_vec, n_values) in shapes.items():
        out[name] = dataclasses.replace(
            matrix_op_counts((n_in, n_out), cfg, batch=n_vec),
            n_buffer_read_bits=n_vec * n_in * cfg.input_bits,
            n_buffer_write_bits=n_vec * n_out * cfg.input_bits, n_buffer_bits=n_values * cfg.input_bits)
    return out


def _random_config(rng: np.random.Generator) -> CrossbarConfig:
    input_bits = int(rng.integers(2, 17))
    cfg = CrossbarConfig(
        rows=int(rng.choice([16, 64, 100, 128, 256])), cols=int(rng.choice([32, 128, 200, 512])),
        cell_bits=int(rng.integers(1, 5)), weight_bits=int(rng.integers(3, 17)), input_bits=input_bits,
        dac_bits=int(rng.integers(1, min(4, input_bits) + 1)), frequency=float(10 ** rng.uniform(6, 9)),
        encoding=str(rng.choice(["differential", "offset"])), signed_inputs=bool(rng.integers(2)))
    kind = rng.integers(3)
    if kind == 1:
        cfg = cfg.replace(adc_bits=int(rng.integers(2, 12)))
    elif kind == 2:
        cfg = cfg.replace(adc_bits=tuple(int(b) for b in rng.integers(1, 11, size=cfg.n_slices)))
    return cfg


# ---- counts ---------------------------------------------------------------------------------
def test_matrix_op_counts_equals_engine(rng):
    for _ in range(25):
        cfg = _random_config(rng)
        shape = (int(rng.integers(1, 300)), int(rng.integers(1, 40)))
        batch = int(rng.integers(0, 5))
        want = program(np.zeros(shape, dtype=np.int64), cfg).op_counts(batch)
        assert matrix_op_counts(shape, cfg, batch=batch) == want, (shape, cfg)


def test_op_counts_backward_compatible_and_scaled():
    old = OpCounts(n_macs=4, n_arrays=1, n_array_reads=2, n_adc_conversions=8, n_dac_activations=4,
                   n_shift_adds=8)
    assert old.n_buffer_read_bits == old.n_buffer_write_bits == old.n_buffer_bits == 0
    full = dataclasses.replace(old, n_buffer_read_bits=16, n_buffer_write_bits=8, n_buffer_bits=64)
    assert (full + full).n_buffer_bits == 128 and (full + full).n_arrays == 2
    s = full.scaled(3)
    assert (s.n_array_reads, s.n_buffer_read_bits, s.n_arrays, s.n_buffer_bits) == (6, 48, 1, 64)
    assert s.buffer_bytes == (48 + 24) / 8


@pytest.mark.parametrize("encoding, cells_per_weight", [("offset", 8), ("differential", 16)])
def test_cells_per_weight_regression(encoding, cells_per_weight, isaac):
    """16-bit weights in 2-bit cells: every MAC costs cells_per_weight x cycles / rows conversions;
    leaving out cells per weight (the mimarsinan bug) undercounts by 8x per column set."""
    cfg = ISAAC_CFG.replace(encoding=encoding)
    counts = matrix_op_counts((512, 64), cfg, batch=10)
    per_mac_without = cfg.n_cycles / cfg.rows
    np.testing.assert_allclose(counts.n_adc_conversions / (counts.n_macs * per_mac_without), cells_per_weight,
                               rtol=EXACT)
    if encoding == "offset":
        assert counts.n_adc_conversions == counts.n_macs * conversions_per_mac(
            weight_bits=16, input_bits=16, cell_bits=2, dac_bits=1, rows=128)  # exactly 1 per MAC
    out = estimate_costs(Workload(names=("l",), n_in=[512], n_out=[64], n_vectors=[10], n_input_values=[512]),
                         DesignSet.from_configs([cfg]), isaac)
    assert out["n_adc_conversions"][0] == counts.n_adc_conversions
    np.testing.assert_allclose(out["energy_adc"][0], counts.n_macs * per_mac_without * cells_per_weight
                               * adc_energy(8, isaac), rtol=EXACT)


# ---- scalar vs vectorized -------------------------------------------------------------------
@pytest.mark.parametrize("tech_name", ["isaac_ce_32nm", "neurosim_v1_3_22nm"])
def test_vectorized_equals_scalar(tech_name, rng):
    tech = load_technology(tech_name)
    configs = [_random_config(rng) for _ in range(20)] + [ISAAC_CFG, CrossbarConfig()]
    designs = DesignSet.from_configs(configs)
    out = estimate_costs(_workload(), designs, tech)
    for i, cfg in enumerate(configs):
        r = estimate_cost(_counts(cfg), tech, cfg)
        got = {"area": r.area, "energy": r.energy, "latency": r.latency, "throughput": r.throughput,
               "latency_sequential": r.latency_sequential, "static_power": r.static_power,
               "n_arrays": r.n_arrays,
               "n_adc_conversions": sum(c.n_adc_conversions for c in _counts(cfg).values())}
        got.update({f"energy_{c}": r.breakdown[c].energy for c in COMPONENTS})
        got.update({f"area_{c}": r.breakdown[c].area for c in COMPONENTS})
        assert set(got) == set(out)
        for key, value in got.items():
            np.testing.assert_allclose(out[key][i], value, rtol=EXACT, atol=0, err_msg=f"{key}, {cfg}")


def test_design_set_round_trip_and_validation():
    cfgs = [CrossbarConfig(adc_bits=(1, 3, 3, 3)), CrossbarConfig(weight_bits=4, adc_bits=(2, 5))]
    d = DesignSet.from_configs(cfgs)
    assert d.adc_bits.shape == (2, 4)
    assert [d.config(i) for i in range(2)] == cfgs
    assert d.n_slices.tolist() == [4, 2] and d.n_cycles.tolist() == [8, 8]
    with pytest.raises(ConfigError, match=r"DesignSet.rows must lie in \[1, 65536\]"):
        DesignSet(rows=[128, 0])
    with pytest.raises(ConfigError, match="dac_bits must be <= input_bits; design 1"):
        DesignSet(dac_bits=[1, 4], input_bits=[8, 2])
    with pytest.raises(ConfigError, match="encoding"):
        DesignSet(encoding="signed")
    with pytest.raises(ConfigError, match="frequency must be finite and > 0"):
        DesignSet(frequency=[1e7, -1.0])
    with pytest.raises(ShapeError, match="same length"):
        DesignSet(rows=[64, 128], cols=[64, 128, 256])
    with pytest.raises(ShapeError, match="per-slice entries"):
        DesignSet(adc_bits=np.full((2, 3), 4))  # 8-bit differential weights need 4 slices


def test_estimate_cost_errors(isaac):
    counts = _counts(ISAAC_CFG)
    with pytest.raises(ConfigError, match="layer names"):
        estimate_cost(counts, isaac, {"conv1": ISAAC_CFG})
    with pytest.raises(ConfigError, match="not a multiple of n_arrays x n_cycles"):
        estimate_cost(counts, isaac, ISAAC_CFG.replace(input_bits=12))
    with pytest.raises(ConfigError, match="tech must be a Technology"):
        estimate_cost(counts, "isaac_ce_32nm", ISAAC_CFG)
    with pytest.raises(ConfigError, match="designs must be a DesignSet"):
        estimate_costs(_workload(), [ISAAC_CFG], isaac)


# ---- additivity -----------------------------------------------------------------------------
@pytest.mark.parametrize("tech_name", ["isaac_ce_32nm", "neurosim_v1_3_22nm"])
def test_breakdowns_add_up(tech_name, rng):
    tech = load_technology(tech_name)
    for cfg in [ISAAC_CFG] + [_random_config(rng) for _ in range(5)]:
        r = estimate_cost(_counts(cfg), tech, cfg)
        layers = r.layers.values()
        for what in ("energy", "area"):
            total = getattr(r, what)
            np.testing.assert_allclose(math.fsum(getattr(la, what) for la in layers), total, rtol=EXACT)
            np.testing.assert_allclose(math.fsum(getattr(p, what) for p in r.breakdown.values()), total,
                                       rtol=EXACT)
            every = math.fsum(getattr(p, what) for la in layers for p in la.breakdown.values())
            np.testing.assert_allclose(every, total, rtol=EXACT)
            for c in COMPONENTS:
                np.testing.assert_allclose(math.fsum(getattr(la.breakdown[c], what) for la in layers),
                                           getattr(r.breakdown[c], what), rtol=EXACT, atol=0)
        np.testing.assert_allclose(math.fsum(la.latency for la in layers), r.latency_sequential, rtol=EXACT)
    out = estimate_costs(_workload(), DesignSet.from_configs([_random_config(rng) for _ in range(8)]), tech)
    for what in ("energy", "area"):
        np.testing.assert_allclose(sum(out[f"{what}_{c}"] for c in COMPONENTS), out[what], rtol=EXACT)


def test_dynamic_energy_and_area_add_up_across_layers(isaac, rng):
    """A network's dynamic energy and its area are the sums of its layers' costed alone."""
    designs = DesignSet.from_configs([_random_config(rng) for _ in range(6)])
    whole = estimate_costs(_workload(), designs, isaac)
    alone = [estimate_costs(_workload({k: v}), designs, isaac) for k, v in SHAPES.items()]
    for key in [f"energy_{c}" for c in COMPONENTS if c != "interconnect"] + ["area", "n_arrays"]:
        np.testing.assert_allclose(sum(a[key] for a in alone), whole[key], rtol=EXACT, err_msg=key)
    np.testing.assert_allclose(sum(a["latency_sequential"] for a in alone), whole["latency_sequential"],
                               rtol=EXACT)


# ---- monotonicity ---------------------------------------------------------------------------
@pytest.mark.parametrize("tech_name", ["isaac_ce_32nm", "neurosim_v1_3_22nm"])
def test_more_adc_bits_cost_more(tech_name):
    tech = load_technology(tech_name)
    out = estimate_costs(_workload(), DesignSet(adc_bits=np.arange(2, 13)), tech)
    assert np.all(np.diff(out["energy"]) > 0) and np.all(np.diff(out["energy_adc"]) > 0)
    if "adc.area" not in " ".join(missing_costs(tech)):
        assert np.all(np.diff(out["area"]) > 0)
    assert np.all(np.diff(out["latency"]) >= 0)  # SAR: once ADC-bound, more bits are slower


def test_higher_frequency_is_faster(isaac):
    freq = np.geomspace(1e5, 1e9, 12)
    out = estimate_costs(_workload(), DesignSet(frequency=freq, adc_bits=6), isaac)
    assert np.all(np.diff(out["latency"]) <= 0) and np.all(np.diff(out["latency_sequential"]) <= 0)
    assert np.all(np.diff(out["throughput"]) >= 0)
    read_bound = 1.0 / freq > 128 * 7 / 9 / 1.28e9  # 6-bit SAR: 7/9 of the 8-bit conversion time
    assert np.all(np.diff(out["latency"][read_bound]) < 0)
    assert np.all(out["latency"][~read_bound] == out["latency"][~read_bound][0])  # ADC-bound plateau


@pytest.mark.parametrize("field", ["rows", "cols"])
def test_bigger_arrays_need_fewer_arrays(field, isaac):
    sizes = np.array([16, 32, 64, 128, 256, 512, 1024])
    out = estimate_costs(_workload(), DesignSet(**{field: sizes}, adc_bits=8), isaac)
    assert np.all(np.diff(out["n_arrays"]) <= 0) and out["n_arrays"][0] > out["n_arrays"][-1]


def test_cell_bits_move_counts_and_area(isaac):
    out = estimate_costs(_workload(), DesignSet(cell_bits=[1, 2, 4], weight_bits=9, adc_bits=8), isaac)
    assert np.all(np.diff(out["n_arrays"]) < 0) and np.all(np.diff(out["n_adc_conversions"]) < 0)
    assert np.all(np.diff(out["area"]) < 0)


# ---- ISAAC ----------------------------------------------------------------------------------
def test_isaac_single_ima_layer(isaac):
    """A 128 x 128 layer of 16-bit weights fills exactly one IMA (8 arrays) at ISAAC settings."""
    counts = matrix_op_counts((128, 128), ISAAC_CFG, batch=1)
    assert counts.n_arrays == 8 and counts.n_adc_conversions == counts.n_macs == 16384
    r = estimate_cost(counts, isaac, ISAAC_CFG)
    b = r.breakdown
    per_conversion = b["adc"].energy / counts.n_adc_conversions
    assert 1.5625e-12 <= per_conversion <= 1.67e-12 * 1.005  # the SAR fit reproduces 1.67 pJ to 0.5 %
    np.testing.assert_allclose(b["array"].energy, counts.n_array_reads * 30e-12, rtol=EXACT)
    cycle, reads = 100e-9, counts.n_array_reads // 8  # IMA read cycles
    np.testing.assert_allclose(b["dac"].energy / (reads * cycle), 4e-3, rtol=EXACT)  # 4 mW of DACs
    np.testing.assert_allclose(b["sample_hold"].energy / (reads * cycle), 10e-6, rtol=EXACT)
    np.testing.assert_allclose(b["shift_add"].energy / (reads * cycle), 0.2e-3, rtol=EXACT)
    np.testing.assert_allclose(r.latency, 16 * cycle, rtol=1e-9)  # 16 bit-serial cycles
    np.testing.assert_allclose(r.latency_sequential, r.latency, rtol=EXACT)
    np.testing.assert_allclose(r.static_power, 8 / 16128 * 10.4, rtol=EXACT)  # HyperTransport share
    # per-array periphery areas of Table I: 1 ADC (1200 um^2), 128 DACs, 128 S+H, one 128x128 array
    np.testing.assert_allclose(b["adc"].area, 8 * 1200e-12, rtol=2e-4)
    np.testing.assert_allclose(b["dac"].area, 0.00017e-6, rtol=EXACT)
    np.testing.assert_allclose(b["sample_hold"].area, 0.00004e-6, rtol=EXACT)
    np.testing.assert_allclose(b["array"].area, 0.0002e-6, rtol=EXACT)
    assert r.missing == ()


def test_isaac_periphery_rows_pro_rata(isaac):
    """IMA registers of Table I (1.24 + 0.23 mW per 8 arrays) plus the tile output register share."""
    counts = matrix_op_counts((128, 128), ISAAC_CFG, batch=3)
    r = estimate_cost(counts, isaac, ISAAC_CFG)
    reads = counts.n_array_reads
    want = reads * ((1.24e-3 + 0.23e-3) / 8 + 1.68e-3 / 96) * 100e-9
    np.testing.assert_allclose(r.breakdown["registers"].energy, want, rtol=EXACT)
    want_area = 8 * ((0.0021 + 0.00077) / 8 + 0.0032 / 96) * 1e-6
    np.testing.assert_allclose(r.breakdown["registers"].area, want_area, rtol=EXACT)


def test_adc_bound_cycle(isaac):
    """10-bit SAR on 128 columns: 128 x 11/9 / 1.28 GS/s = 122 ns per read > 100 ns."""
    cfg = ISAAC_CFG.replace(adc_bits=10)
    r = estimate_cost(matrix_op_counts((128, 16), cfg, batch=1), isaac, cfg)
    np.testing.assert_allclose(r.latency, 16 * 128 * 11 / 9 / 1.28e9, rtol=EXACT)
    cfg = cfg.replace(cols=256)  # two ADCs per array, 128 columns each: same time
    r2 = estimate_cost(matrix_op_counts((128, 32), cfg, batch=1), isaac, cfg)
    np.testing.assert_allclose(r2.latency, r.latency, rtol=EXACT)


def test_pipelined_latency_model(isaac):
    """Two layers: 4 and 2 vectors of 16 cycles; the second starts after one vector of the first."""
    shapes = {"a": (128, 8, 4, 512), "b": (128, 8, 2, 256)}
    r = estimate_cost(_counts(ISAAC_CFG, shapes), isaac, ISAAC_CFG)
    vector = 16 * r.layers["a"].latency / 64
    np.testing.assert_allclose(r.latency_sequential, 6 * vector, rtol=EXACT)
    np.testing.assert_allclose(r.latency, max(vector + 2 * vector, 4 * vector + vector), rtol=EXACT)
    np.testing.assert_allclose(r.throughput, 1 / (4 * vector), rtol=EXACT)


# ---- technologies with gaps -----------------------------------------------------------------
def test_neurosim_missing_costs_are_zero(neurosim):
    missing = missing_costs(neurosim)
    assert any(m.startswith("dac") for m in missing) and any(m.startswith("buffer") for m in missing)
    cfg = CrossbarConfig(adc_bits=5, frequency=1e8)
    r = estimate_cost(_counts(cfg), neurosim, cfg)
    assert r.missing == missing
    for c in ("dac", "sample_hold", "shift_add", "buffer", "registers", "interconnect", "other"):
        assert r.breakdown[c].energy == 0.0 and r.breakdown[c].area == 0.0
    assert r.breakdown["adc"].area == 0.0 and r.breakdown["array"].area > 0.0
    # Ohmic read: V^2 (g_on + g_off)/2 per cell for min(1/f, 10 ns)
    e_cell = 0.5**2 * 0.5 * (1 / 6e3 + 1 / 900e3) * 10e-9
    reads = sum(c.n_array_reads for c in _counts(cfg).values())
    np.testing.assert_allclose(r.breakdown["array"].energy, reads * 128 * 128 * e_cell, rtol=EXACT)

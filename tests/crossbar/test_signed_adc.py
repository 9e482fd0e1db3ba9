"""``differential_adc="subtract"``: one signed ADC per differential column pair (DESIGN §3)."""

from __future__ import annotations

import numpy as np
import pytest

from crossbar import CrossbarConfig, calibrate_adc, program
from crossbar.cost import estimate_cost, estimate_costs
from crossbar.counts import matrix_op_counts
from crossbar.designs import DesignSet, Workload
from crossbar.errors import ConfigError
from crossbar.slicing import encode_weights, input_digits
from crossbar.tech import load_technology


def _problem(cfg: CrossbarConfig, n_in: int, n_out: int, batch: int, seed: int):
    r = np.random.default_rng(seed)
    q = r.integers(-cfg.q_max, cfg.q_max + 1, size=(n_in, n_out))
    x = r.integers(cfg.x_min, cfg.x_max + 1, size=(batch, n_in))
    return q, x


def _signed_oracle(cfg: CrossbarConfig, q, x, full_scale) -> np.ndarray:
    """DESIGN §3 written out with plain loops: per row tile, cycle and slice, the pair's
    difference through a symmetric signed ADC, then the shift-and-add."""
    levels, digits = encode_weights(q, cfg), input_digits(x, cfg)
    y = np.zeros((x.shape[0], q.shape[1]))
    for s, bits in enumerate(cfg.slice_adc_bits()):
        top = 2 ** (bits - 1) - 1
        delta = full_scale[s] / top
        if cfg.adc_range == "max":
            delta = max(1.0, delta)
        for t, cw in enumerate(cfg.cycle_weights):
            for k in range(0, q.shape[0], cfg.rows):
                rows = slice(k, k + cfg.rows)
                diff = digits[t][:, rows] @ levels[0, s, rows] - digits[t][:, rows] @ levels[1, s, rows]
                code = np.clip(np.rint(diff / delta), -top, top)
                y += cw * 2.0 ** (cfg.cell_bits * s) * delta * code
    return y


# ---- hand-computed -----------------------------------------------------------------------
@pytest.mark.parametrize("engine", ["numpy", "numba"])
@pytest.mark.parametrize(
    ("x", "want"),
    [
        # one 2-bit slice, rows=2: max_column_sum 6; 3-bit signed ADC: codes -3..3, delta = 6/3 = 2.
        ([1, 1], 0.0),   # p+ = 3, p- = 2: diff 1 -> rint(0.5) = 0 (half to even)
        ([1, 0], 4.0),   # diff 3 -> rint(1.5) = 2 -> 4
        ([0, 1], -2.0),  # diff -2 -> -1 -> -2
        ([0, 0], 0.0),
    ],
)
def test_signed_adc_converts_the_pair_difference(x, want, engine):
    cfg = CrossbarConfig(rows=2, cell_bits=2, weight_bits=3, input_bits=1, adc_bits=3,
                         differential_adc="subtract")
    m = program(np.array([[3], [-2]]), cfg)
    assert m.matmul(np.array([x]), engine=engine)[0, 0] == want
    # the same 3 bits converting each column alone: delta max(1, 6/7) = 1, lossless
    sep = program(np.array([[3], [-2]]), cfg.replace(differential_adc="separate"))
    assert sep.matmul(np.array([x]), engine=engine)[0, 0] == x[0] * 3 - x[1] * 2


@pytest.mark.parametrize("engine", ["numpy", "numba"])
@pytest.mark.parametrize("sign", [1, -1])
def test_signed_adc_clips_symmetrically(engine, sign):
    # FS = 2, 2 bits signed: codes -1..1, delta 2; diff +-6 -> rint(+-3) -> clipped to +-1 -> +-2.
    cfg = CrossbarConfig(rows=2, cell_bits=2, weight_bits=3, input_bits=1, adc_bits=2, adc_range=2.0,
                         differential_adc="subtract")
    m = program(sign * np.array([[3], [3]]), cfg)
    assert m.matmul(np.array([[1, 1]]), engine=engine)[0, 0] == sign * 2.0


# ---- oracle and engine agreement ---------------------------------------------------------
@pytest.mark.parametrize(
    "kw",
    [dict(rows=16, adc_bits=5),  # several row tiles
     dict(rows=128, adc_bits=(2, 3, 4, 5)),  # 8 fields of 2-bit cells: two segments per tile
     dict(rows=32, adc_bits=(3, 4, 2, 6), adc_range=(9.0, 20.0, 3.0, 40.0), signed_inputs=True),
     dict(rows=8, dac_bits=2, adc_bits=4)],
    ids=["tiles", "segments", "ranges-signed-inputs", "dac2"],
)
def test_engines_equal_the_signed_oracle(kw, seed):
    cfg = CrossbarConfig(differential_adc="subtract", **kw)
    q, x = _problem(cfg, 300, 9, 4, seed)
    m = program(q, cfg)
    if cfg.rows == 128:
        layout = m._static[2]
        assert layout.groups_per_segment < layout.groups_per_tile, "the segmented kernel path must run"
    fs = cfg.adc_range if isinstance(cfg.adc_range, tuple) else (float(cfg.max_column_sum),) * cfg.n_slices
    want = _signed_oracle(cfg, q, x, fs)
    for engine in ("numpy", "numba"):
        got = m.matmul(x, engine=engine)
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-9 * np.abs(want).max())
    np.testing.assert_array_equal(m.matmul(x, engine="numpy"), m.matmul(x, engine="numba"))
    assert not np.array_equal(want, x @ q), "the ADC must be lossy here (else the test is weak)"


def test_ideal_and_lossless_signed_adcs_are_exact(seed):
    cfg = CrossbarConfig(rows=64, differential_adc="subtract")
    q, x = _problem(cfg, 200, 7, 3, seed)
    for bits in (None, cfg.lossless_adc_bits):
        got = program(q, cfg.replace(adc_bits=bits)).matmul(x, fast_path=False)
        np.testing.assert_array_equal(got, (x @ q).astype(np.float64))
    assert cfg.lossless_adc_bits == cfg.max_column_sum.bit_length() + 1  # the sign bit
    short = cfg.replace(adc_bits=cfg.lossless_adc_bits - 1)
    assert not short.adc_is_lossless
    assert not np.array_equal(program(q, short).matmul(x), x @ q)


@pytest.mark.parametrize("weights", ["any", "negative"])
def test_calibrated_full_scale_is_a_percentile_of_the_difference(seed, weights):
    cfg = CrossbarConfig(rows=16, adc_bits=4, adc_range="calibrated", differential_adc="subtract")
    q, x = _problem(cfg, 40, 6, 9, seed)
    if weights == "negative":  # every difference <= 0: the full scale must come from |p+ - p-|
        q = -np.abs(q)
    m = calibrate_adc(program(q, cfg), x, percentile=100.0)
    sums = program(q, cfg).column_sums(x)  # (signs, slices, ...)
    for s in range(cfg.n_slices):
        assert m.adc_full_scale[s] == max(1.0, float(np.abs(sums[0, s] - sums[1, s]).max()))
    # the separate ADCs' full scale is the largest single column sum: larger when both columns
    # hold weights, equal when one is empty (p+ = 0)
    sep = calibrate_adc(program(q, cfg.replace(differential_adc="separate")), x, percentile=100.0)
    assert (sep.adc_full_scale == m.adc_full_scale) == (weights == "negative")
    np.testing.assert_allclose(m.matmul(x), _signed_oracle(cfg, q, x, m.adc_full_scale), rtol=1e-12)


# ---- config, counts, cost ----------------------------------------------------------------
@pytest.mark.parametrize(
    ("kw", "match"),
    [(dict(encoding="offset"), "needs encoding='differential'"),
     (dict(adc_bits=1), r"adc_bits must be an integer in \[2, 24\]; got 1"),
     (dict(adc_bits=(3, 1, 3, 3)), r"adc_bits\[i\] must be an integer in \[2, 24\]; got 1"),
     (dict(differential_adc="both"), "differential_adc")],
)
def test_bad_signed_configs_raise_clear_errors(kw, match):
    with pytest.raises(ConfigError, match=match):
        CrossbarConfig(**{"differential_adc": "subtract", **kw})


def test_config_round_trip_and_codes():
    cfg = CrossbarConfig(adc_bits=(2, 3, 4, 5), differential_adc="subtract")
    assert CrossbarConfig.from_json(cfg.to_json()) == cfg
    assert [cfg.adc_top_code(b) for b in (2, 3, 9)] == [1, 3, 255]
    assert [cfg.replace(differential_adc="separate").adc_top_code(b) for b in (1, 3)] == [1, 7]
    assert cfg.n_converted_signs == 1 and cfg.replace(differential_adc="separate").n_converted_signs == 2


def test_subtract_halves_the_conversions_and_keeps_the_arrays():
    sep = CrossbarConfig(rows=128, cols=128)
    sub = sep.replace(differential_adc="subtract")
    a = program(np.zeros((300, 50), dtype=np.int64), sep).op_counts(batch=2)
    b = program(np.zeros((300, 50), dtype=np.int64), sub).op_counts(batch=2)
    assert b.n_adc_conversions * 2 == a.n_adc_conversions == 2 * 3 * (50 * 4 * 2) * 8
    assert b.n_shift_adds == b.n_adc_conversions
    assert (b.n_arrays, b.n_array_reads, b.n_dac_activations) == (a.n_arrays, a.n_array_reads,
                                                                   a.n_dac_activations)


def test_cost_of_signed_adcs_by_hand():
    """ISAAC: one 8-bit ADC per 128 columns. Subtract: half the conversions at one more bit; a
    256-column array needs one ADC for its 128 pairs instead of two."""
    tech = load_technology("isaac_ce_32nm")
    w = Workload(names=("fc",), n_in=[128], n_out=[64], n_vectors=[1], n_input_values=[128])
    d = DesignSet(cols=256, adc_bits=[8, 9, 9], differential_adc=["separate", "subtract", "separate"])
    out = estimate_costs(w, d, tech)
    assert out["n_adc_conversions"][1] * 2 == out["n_adc_conversions"][0]
    # same bits: half the ADC energy; area: one ADC per array instead of two
    assert out["energy_adc"][1] * 2 == pytest.approx(out["energy_adc"][2], rel=1e-12)
    assert out["area_adc"][1] * 2 == pytest.approx(out["area_adc"][2], rel=1e-12)
    assert out["area_array"][1] == out["area_array"][0]
    # the scalar model (on the engine's counts) agrees with the vectorized one for every design
    for i in range(3):
        cfg = d.config(i)
        rep = estimate_cost({"fc": matrix_op_counts((128, 64), cfg, batch=1)}, tech, cfg)
        for cat in ("adc", "sample_hold", "shift_add", "array", "dac"):  # buffers: not in these counts
            assert rep.breakdown[cat].energy == pytest.approx(out[f"energy_{cat}"][i], rel=1e-12)
            assert rep.breakdown[cat].area == pytest.approx(out[f"area_{cat}"][i], rel=1e-12)
        assert rep.latency == pytest.approx(out["latency"][i], rel=1e-12)


def test_design_set_checks_and_lossless_resolution():
    with pytest.raises(ConfigError, match="needs encoding='differential'"):
        DesignSet(encoding="offset", differential_adc="subtract")
    with pytest.raises(ConfigError, match=">= 2 where differential_adc='subtract'"):
        DesignSet(adc_bits=[1, 1], differential_adc=["separate", "subtract"])
    with pytest.raises(ConfigError, match="'separate' or 'subtract'"):
        DesignSet(differential_adc="signed")
    # per-slice bits: only a design's own slices count (4 slices here; the 5th entry is unused)
    DesignSet(adc_bits=[[2, 3, 4, 5, 1]], differential_adc="subtract")
    with pytest.raises(ConfigError, match=">= 2 where differential_adc='subtract'"):
        DesignSet(adc_bits=[[2, 3, 1, 5, 8]], differential_adc="subtract")
    d = DesignSet(differential_adc=["separate", "subtract"])
    assert d.slice_adc_bits()[:, 0].tolist() == [9, 10]  # ideal ADCs costed at the lossless bits
    assert DesignSet.from_configs([d.config(1)]).differential_adc.tolist() == ["subtract"]


def test_the_default_separate_adcs_keep_the_json_and_design_key_of_earlier_versions():
    """Stores key designs by their JSON: a field added later is left out at its default (the
    earlier versions' JSON had every other field)."""
    import dataclasses

    cfg = CrossbarConfig(adc_bits=6)
    earlier = {f.name for f in dataclasses.fields(CrossbarConfig)} - {"differential_adc", "gmin_removal"}
    assert set(cfg.to_dict()) == earlier and CrossbarConfig.from_json(cfg.to_json()) == cfg
    sub = cfg.replace(differential_adc="subtract", adc_bits=7)
    assert sub.to_dict()["differential_adc"] == "subtract" and CrossbarConfig.from_dict(sub.to_dict()) == sub
    ref = cfg.replace(gmin_removal="reference")
    assert set(ref.to_dict()) == earlier | {"gmin_removal"} and CrossbarConfig.from_json(ref.to_json()) == ref


@pytest.mark.parametrize("bits", [2, 3, 4])
@pytest.mark.parametrize("full_scale", [1.0, 5.0, 13.0])
def test_a_signed_conversion_never_errs_more_than_two_separate_ones(bits, full_scale, seed):
    """One slice, one tile, one cycle: each output is one conversion. At the same step and codes
    per sign the signed code is the nearest code to the difference; the separate codes' difference
    is one of those codes, so it can only be further away."""
    sep = CrossbarConfig(rows=64, cell_bits=3, weight_bits=4, input_bits=1, adc_bits=bits - 1, adc_range=full_scale)
    sig = sep.replace(differential_adc="subtract", adc_bits=bits)
    q, x = _problem(sep, 64, 40, 30, seed)
    r = np.random.default_rng(seed + 1)
    q[r.random(q.shape) < 0.7] = 0  # sparse: column sums near the codes' range, both signs
    x[r.random(x.shape) < 0.8] = 0
    want = (x @ q).astype(np.float64)
    e_sep = np.abs(program(q, sep).matmul(x) - want)
    e_sig = np.abs(program(q, sig).matmul(x) - want)
    assert np.all(e_sig <= e_sep + 1e-9 * np.abs(want).max())
    assert np.any(e_sig < e_sep), "some conversion must differ (else the test is weak)"

"""``gmin_removal="reference"``: the ``g_min`` floor removed by a reference column per array (DESIGN §3)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from crossbar import CrossbarConfig, NoiseConfig, calibrate_adc, program
from crossbar.cost import estimate_cost, estimate_costs
from crossbar.counts import matrix_op_counts
from crossbar.designs import DesignSet, Workload
from crossbar.errors import ConfigError
from crossbar.noise import column_arrays, read_levels
from crossbar.slicing import encode_weights, input_digits
from crossbar.tech import load_technology

CASES = {
    "separate": dict(rows=8, cols=4, weight_bits=5, adc_bits=3),  # 4 fields, 3 data columns: straddling
    "subtract": dict(rows=8, cols=6, weight_bits=7, adc_bits=(3, 4, 2), differential_adc="subtract"),
    "offset": dict(rows=8, cols=5, weight_bits=5, encoding="offset", adc_bits=4),
    "signed-dac2": dict(rows=16, cols=7, weight_bits=5, signed_inputs=True, dac_bits=2, adc_bits=5),
}


def _problem(cfg: CrossbarConfig, n_in: int, n_out: int, batch: int, seed: int):
    r = np.random.default_rng(seed)
    return (r.integers(-cfg.q_max, cfg.q_max + 1, size=(n_in, n_out)),
            r.integers(cfg.x_min, cfg.x_max + 1, size=(batch, n_in)))


def _oracle(cfg: CrossbarConfig, cells: np.ndarray, ref: np.ndarray, x: np.ndarray) -> np.ndarray:
    """DESIGN §3 with a physical column loop: column ``phys`` holds output ``phys // F``'s field
    ``phys % F`` and sits in array ``phys // (cols - 1)``; per row tile and cycle each column's sum
    minus its array's reference-column sum goes through the ADC (``"max"`` range)."""
    n_fields, (n_in, n_out) = cfg.n_signs * cfg.n_slices, cells.shape[2:]
    digits = input_digits(x, cfg)
    y = np.zeros((x.shape[0], n_out))
    for j in range(n_out):
        for s, bits in enumerate(cfg.slice_adc_bits()):
            top = cfg.adc_top_code(bits)
            delta = max(1.0, cfg.max_column_sum / top)
            for t, cw in enumerate(cfg.cycle_weights):
                for k in range(0, n_in, cfg.rows):
                    rows = slice(k, k + cfg.rows)
                    p = []
                    for sign in range(cfg.n_signs):
                        phys = j * n_fields + sign * cfg.n_slices + s
                        array = phys // (cfg.cols - 1)
                        p.append(digits[t][:, rows] @ cells[sign, s, rows, j] - digits[t][:, rows] @ ref[array, rows])
                    pairs = [p[0] - p[1]] if cfg.differential_adc == "subtract" else p
                    for sign, v in enumerate(pairs):
                        code = np.clip(np.rint(v / delta), -top if len(pairs) == 1 and cfg.n_signs == 2 else 0, top)
                        y[:, j] += (1 - 2 * sign) * cw * 2.0 ** (cfg.cell_bits * s) * delta * code
    return y - cfg.offset * x.sum(axis=1, keepdims=True)


def _with_levels(m, cells, ref):
    """The matrix with hand-set programmed levels (its cached read dropped)."""
    return replace(m, levels=cells, reference_levels=ref, _static=None, _weights_f64=None)


@pytest.mark.parametrize("case", list(CASES))
def test_engines_equal_the_physical_column_oracle(case, seed):
    """Levels on a 1/4 grid (exact in every engine's fixed point and in the oracle's float64),
    a stuck-on reference cell among them: every engine equals the column loop."""
    cfg = CrossbarConfig(gmin_removal="reference", **CASES[case])
    q, x = _problem(cfg, 37, 5, 6, seed)
    r = np.random.default_rng(seed + 100)
    m = program(q, cfg)
    cells = encode_weights(q, cfg) + r.integers(-2, 3, size=m.levels.shape) / 4
    ref = r.integers(-3, 4, size=m.reference_levels.shape) / 4
    ref[0, 3] = 2**cfg.cell_bits - 1
    m = _with_levels(m, cells, ref)
    want = _oracle(cfg, cells, ref, x)
    tol = 1e-9 * np.abs(want).max()  # the shift-and-add's float order; a code off by one is >= delta
    np.testing.assert_allclose(m.matmul(x, engine="numpy"), want, rtol=0, atol=tol)
    np.testing.assert_array_equal(m.matmul(x, engine="numba"), m.matmul(x, engine="numpy"))
    digital = _with_levels(program(q, cfg.replace(gmin_removal="digital")), cells, None)
    assert not np.array_equal(digital.matmul(x), want), "the reference column must matter here"


@pytest.mark.parametrize("case", list(CASES))
def test_without_noise_reference_and_digital_removal_agree_exactly(case, seed):
    cfg = CrossbarConfig(gmin_removal="reference", **CASES[case])
    q, x = _problem(cfg, 50, 9, 4, seed)
    m = program(q, cfg)
    assert m.reference_levels.shape == (-(-9 * cfg.n_signs * cfg.n_slices // (cfg.cols - 1)), 50)
    assert not m.reference_levels.any()
    want = program(q, cfg.replace(gmin_removal="digital")).matmul(x)
    for engine in ("numpy", "numba"):
        np.testing.assert_array_equal(m.matmul(x, engine=engine), want)
    assert program(q, cfg.replace(gmin_removal="digital")).reference_levels is None


def test_column_layout_by_hand():
    cfg = CrossbarConfig(cols=4, weight_bits=5, gmin_removal="reference")  # fields (+0, +1, -0, -1)
    # physical columns 0..11 = output 0 fields 0-3, output 1 fields 0-3, ...; 3 per array
    assert column_arrays(cfg, 3).tolist() == [[0, 1, 2], [0, 1, 3], [0, 2, 3], [1, 2, 3]]
    assert column_arrays(cfg.replace(gmin_removal="digital"), 3).tolist() == [[0, 1, 2]] * 4


def test_a_reference_error_is_shared_by_the_columns_of_its_array_and_row_tile():
    """One reference cell off by +1 (array 0, row 2): every column of array 0 loses exactly
    ``digit * place value`` in row 2's tile; the other arrays are untouched."""
    cfg = CrossbarConfig(rows=4, cols=5, cell_bits=2, weight_bits=3, input_bits=1, gmin_removal="reference")
    q = np.zeros((8, 6), dtype=np.int64)  # 2 fields (+, -) per output; 4 data columns: 2 outputs per array
    m = program(q, cfg)
    ref = np.zeros_like(m.reference_levels)
    ref[0, 2] = 1.0
    m = _with_levels(m, m.levels, ref)
    x = np.zeros((1, 8), dtype=np.int64)
    x[0, 2] = 1
    y = m.matmul(x, fast_path=False)[0]
    # outputs 0 and 1 are in array 0; each loses 1 on its + column and 1 on its - column: they cancel
    np.testing.assert_array_equal(y, np.zeros(6))
    cfg_off = cfg.replace(encoding="offset", weight_bits=2)  # one field per output: no cancellation
    q_off = np.zeros((8, 6), dtype=np.int64)
    mo = program(q_off, cfg_off)
    ref_o = np.zeros_like(mo.reference_levels)
    ref_o[1, 2] = 1.0  # array 1 holds outputs 4..7 -> 4, 5
    y = _with_levels(mo, mo.levels, ref_o).matmul(x, fast_path=False)[0]
    np.testing.assert_array_equal(y, [0, 0, 0, 0, -1, -1])
    x[0, 2], x[0, 5] = 0, 1  # row 5 is in the other row tile: its reference cell is another one
    np.testing.assert_array_equal(_with_levels(mo, mo.levels, ref_o).matmul(x, fast_path=False)[0], np.zeros(6))


NOISES = {
    "program": NoiseConfig(program_sigma=0.1),
    "read": NoiseConfig(read_sigma=0.05),
    "physical": NoiseConfig(physical_programming=True, thermal=True, shot=True, rtn=True),
    "stuck": NoiseConfig(stuck_on_rate=0.02, stuck_off_rate=0.02, read_sigma=0.01),
}


@pytest.mark.parametrize("noise", list(NOISES))
def test_draw_order_cells_then_reference_and_the_engines_agree(noise, seed):
    """``program`` draws the cells, then the reference cells; a read draws the cells' read noise,
    then the reference cells'. Replaying those draws by hand gives the same product bit for bit."""
    cfg = CrossbarConfig(rows=16, cols=10, adc_bits=5, frequency=1e9, temperature=400.0,
                         gmin_removal="reference", noise=NOISES[noise])
    q, x = _problem(cfg, 40, 7, 5, seed)
    m = program(q, cfg, rng=np.random.default_rng(seed))
    r = np.random.default_rng(seed)
    from crossbar.noise import program_levels

    cells = program_levels(encode_weights(q, cfg), cfg, rng=r)
    ref = program_levels(np.zeros(m.reference_levels.shape), cfg, rng=r)
    np.testing.assert_array_equal(m.levels, cells)
    np.testing.assert_array_equal(m.reference_levels, ref)
    got = m.matmul(x, rng=np.random.default_rng(7))
    r = np.random.default_rng(7)
    quiet = cfg.replace(noise=NoiseConfig())
    replay = _with_levels(replace(m, config=quiet), read_levels(cells, cfg, rng=r), read_levels(ref, cfg, rng=r))
    np.testing.assert_array_equal(got, replay.matmul(x, fast_path=False))
    np.testing.assert_array_equal(got, m.matmul(x, rng=np.random.default_rng(7), engine="numpy"))
    digital = program(q, cfg.replace(gmin_removal="digital"), rng=np.random.default_rng(seed))
    np.testing.assert_array_equal(digital.levels, m.levels)  # the cells' draws come first
    assert not np.array_equal(digital.matmul(x, rng=np.random.default_rng(7)), got)


def test_calibration_and_column_sums_see_the_reference_column(seed):
    cfg = CrossbarConfig(rows=8, cols=5, adc_bits=3, adc_range="calibrated", gmin_removal="reference")
    q, x = _problem(cfg, 24, 4, 10, seed)
    m = program(q, cfg)
    ref = np.zeros_like(m.reference_levels)
    ref[:, :] = -1.0  # a reference column 1 level below g_min: every column sum grows by sum(digits)
    m = _with_levels(m, m.levels, ref)
    plain = program(q, cfg.replace(gmin_removal="digital"))
    digits = input_digits(x, cfg)
    tile_sums = np.stack([digits[:, :, k:k + 8].sum(axis=2) for k in range(0, 24, 8)], axis=1)  # (T, tiles, B)
    np.testing.assert_array_equal(m.column_sums(x),
                                  plain.column_sums(x) + tile_sums.transpose(1, 0, 2)[None, None, :, :, :, None])
    pooled = m.column_sums(x).reshape(cfg.n_signs, cfg.n_slices, -1)
    want = tuple(max(1.0, float(np.percentile(pooled[:, s], 100.0, method="higher"))) for s in range(cfg.n_slices))
    assert calibrate_adc(m, x, percentile=100.0).adc_full_scale == want
    assert want != calibrate_adc(plain, x, percentile=100.0).adc_full_scale


# ---- config, counts, cost --------------------------------------------------------------------
def test_config_checks_and_json():
    with pytest.raises(ConfigError, match="gmin_removal must be one of"):
        CrossbarConfig(gmin_removal="analog")
    with pytest.raises(ConfigError, match="cols must be >= 2 with gmin_removal='reference'"):
        CrossbarConfig(cols=1, gmin_removal="reference")
    cfg = CrossbarConfig(cols=64, gmin_removal="reference")
    assert cfg.data_cols == 63 and CrossbarConfig(cols=64).data_cols == 64
    assert CrossbarConfig.from_json(cfg.to_json()) == cfg
    with pytest.raises(ConfigError, match="gmin_removal must be 'digital' or 'reference'"):
        DesignSet(gmin_removal="x")
    with pytest.raises(ConfigError, match="cols must be >= 2 where gmin_removal='reference'"):
        DesignSet(cols=[1, 4], gmin_removal="reference")
    d = DesignSet(gmin_removal=["digital", "reference"], cols=[16, 16])
    assert d.data_cols.tolist() == [16, 15] and d.config(1).gmin_removal == "reference"
    assert DesignSet.from_configs([d.config(0), d.config(1)]).gmin_removal.tolist() == ["digital", "reference"]


@pytest.mark.parametrize("kw", [dict(), dict(differential_adc="subtract", adc_bits=7), dict(encoding="offset")])
def test_counts_use_one_column_per_array_for_the_reference(kw):
    cfg = CrossbarConfig(rows=64, cols=32, gmin_removal="reference", **kw)
    n_in, n_out = 150, 32  # whole arrays of 32 columns: the reference column costs an array
    c = matrix_op_counts((n_in, n_out), cfg, batch=3)
    phys = n_out * cfg.n_signs * cfg.n_slices
    tiles = -(-n_in // 64)
    assert c.n_arrays == tiles * -(-phys // 31)
    assert c.n_arrays == tiles * program(np.zeros((n_in, n_out), dtype=int), cfg).reference_levels.shape[0]
    digital = matrix_op_counts((n_in, n_out), cfg.replace(gmin_removal="digital"), batch=3)
    assert c.n_adc_conversions == digital.n_adc_conversions and c.n_arrays > digital.n_arrays
    assert c.n_array_reads * digital.n_arrays == digital.n_array_reads * c.n_arrays


def test_cost_vectorized_equals_scalar_with_reference_columns():
    tech = load_technology("isaac_ce_32nm")
    w = Workload(names=("fc",), n_in=[300], n_out=[48], n_vectors=[2], n_input_values=[300])
    d = DesignSet(cols=[128, 128, 129, 128], adc_bits=[8, 8, 8, 9],
                  gmin_removal=["digital", "reference", "reference", "reference"],
                  differential_adc=["separate", "separate", "separate", "subtract"])
    out = estimate_costs(w, d, tech)
    for i in range(len(d)):
        cfg = d.config(i)
        rep = estimate_cost({"fc": matrix_op_counts((300, 48), cfg, batch=2)}, tech, cfg)
        for cat in ("adc", "sample_hold", "shift_add", "array", "dac"):
            assert rep.breakdown[cat].energy == pytest.approx(out[f"energy_{cat}"][i], rel=1e-12)
            assert rep.breakdown[cat].area == pytest.approx(out[f"area_{cat}"][i], rel=1e-12)
        assert rep.latency == pytest.approx(out["latency"][i], rel=1e-12)
    # 48 x 8 = 384 columns: 3 arrays of 128 per row tile, 4 of 127; 129 columns = 128 + reference
    assert out["n_arrays"].tolist() == [9.0, 12.0, 9.0, 12.0]
    assert out["n_adc_conversions"][0] == out["n_adc_conversions"][1]
    # one sample-and-hold per ADC input: 127 instead of 128 per array
    per_array = out["area_sample_hold"] / out["n_arrays"]
    assert per_array[1] * 128 == pytest.approx(per_array[0] * 127, rel=1e-12)
    assert out["area_sample_hold"][2] == pytest.approx(out["area_sample_hold"][0], rel=1e-12)

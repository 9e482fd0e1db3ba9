"""Oracle, engine-agreement, determinism and hand-computed ADC tests of the bit-sliced MVM."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crossbar import ConfigError, CrossbarConfig, NoiseConfig, calibrate_adc, program
from crossbar.slicing import encode_weights, input_digits


def _random_problem(cfg: CrossbarConfig, n_in: int, n_out: int, batch: int, seed: int):
    r = np.random.default_rng(seed)
    q = r.integers(-cfg.q_max, cfg.q_max + 1, size=(n_in, n_out))
    x = r.integers(cfg.x_min, cfg.x_max + 1, size=(batch, n_in))
    return q, x


@st.composite
def configs(draw):
    input_bits = draw(st.integers(1, 8))
    signed = draw(st.booleans()) and input_bits >= 2
    encoding = draw(st.sampled_from(["differential", "offset"]))
    return CrossbarConfig(
        rows=draw(st.sampled_from([1, 3, 7, 16, 128])),
        cell_bits=draw(st.integers(1, 8)),
        weight_bits=draw(st.integers(2, 10)),
        input_bits=input_bits,
        dac_bits=draw(st.integers(1, min(3, input_bits))),
        encoding=encoding,
        differential_adc=draw(st.sampled_from(["separate", "subtract"])) if encoding == "differential"
        else "separate",
        signed_inputs=signed,
        cols=draw(st.sampled_from([2, 5, 128])),
        gmin_removal=draw(st.sampled_from(["digital", "reference"])),
    )


@settings(max_examples=120, deadline=None)
@given(cfg=configs(), n_in=st.integers(1, 300), n_out=st.integers(1, 20),
       batch=st.integers(1, 5), seed=st.integers(0, 2**31))
def test_ideal_crossbar_equals_integer_matmul(cfg, n_in, n_out, batch, seed):
    """DESIGN §3 invariant: no noise + lossless ADC -> exactly x @ q, through the sliced path."""
    q, x = _random_problem(cfg, n_in, n_out, batch, seed)
    want = (x @ q).astype(np.float64)
    m = program(q, cfg)
    for engine in ("numpy", "numba"):
        got = m.matmul(x, engine=engine, fast_path=False)
        np.testing.assert_array_equal(got, want, err_msg=f"{engine} {cfg}")
    np.testing.assert_array_equal(m.matmul(x), want, err_msg="fast path")


@settings(max_examples=40, deadline=None)
@given(cfg=configs(), bits=st.integers(1, 10), seed=st.integers(0, 2**31))
def test_lossless_adc_bits_equal_integer_matmul(cfg, bits, seed):
    """An ADC with at least max_column_sum codes over the max range is lossless."""
    cfg = cfg.replace(adc_bits=max(bits, cfg.lossless_adc_bits))
    assert cfg.adc_is_lossless
    if cfg.lossless_adc_bits > (2 if cfg.differential_adc == "subtract" else 1):
        assert not cfg.replace(adc_bits=cfg.lossless_adc_bits - 1).adc_is_lossless
    q, x = _random_problem(cfg, 37, 5, 3, seed)
    got = program(q, cfg).matmul(x, fast_path=False)
    np.testing.assert_array_equal(got, (x @ q).astype(np.float64))


NOISES = {
    "program_level": NoiseConfig(program_sigma=0.2),
    "program_range": NoiseConfig(program_sigma=0.02, program_model="range"),
    "lognormal": NoiseConfig(program_sigma=0.1, program_model="lognormal"),
    "read": NoiseConfig(read_sigma=0.1),
    "physical": NoiseConfig(physical_programming=True, thermal=True, shot=True, rtn=True),
    "faults": NoiseConfig(stuck_on_rate=0.05, stuck_off_rate=0.05),
    "all": NoiseConfig(program_sigma=0.1, read_sigma=0.05, physical_programming=True,
                       thermal=True, shot=True, rtn=True, stuck_on_rate=0.01, stuck_off_rate=0.01),
}


# (encoding, differential_adc, adc_bits, gmin_removal); a signed ADC needs >= 2 bits, so its per-slice
# case differs; a reference column per 20-column array (19 weight columns: a weight's columns straddle)
ADC_CASES = [(enc, pairs, bits, "digital") for enc, pairs in (("differential", "separate"), ("offset", "separate"),
                                                              ("differential", "subtract"))
             for bits in (None, 4, (3, 5, 2, 1) if pairs == "separate" else (3, 5, 2, 6))] + [
    ("differential", "separate", 4, "reference"), ("offset", "separate", (3, 5, 2, 1), "reference"),
    ("differential", "subtract", 5, "reference")]


@pytest.mark.parametrize("noise", list(NOISES), ids=list(NOISES))
@pytest.mark.parametrize(("encoding", "pairs", "adc_bits", "gmin"), ADC_CASES)
def test_engines_agree_bit_for_bit_with_noise(noise, encoding, pairs, adc_bits, gmin, seed):
    cfg = CrossbarConfig(rows=32, cols=20, adc_bits=adc_bits, encoding=encoding, differential_adc=pairs,
                         signed_inputs=True, frequency=1e9, temperature=400.0, noise=NOISES[noise], gmin_removal=gmin)
    q, x = _random_problem(cfg, 70, 11, 4, seed)
    m = program(q, cfg, rng=np.random.default_rng(seed))
    a = m.matmul(x, rng=np.random.default_rng(seed + 1), engine="numpy")
    b = m.matmul(x, rng=np.random.default_rng(seed + 1), engine="numba")
    np.testing.assert_array_equal(a, b)
    assert np.all(np.isfinite(a))


def test_same_seed_same_result_and_fresh_read_noise(seed):
    cfg = CrossbarConfig(adc_bits=6, noise=NOISES["all"])
    q, x = _random_problem(cfg, 200, 30, 3, seed)
    m1 = program(q, cfg, rng=np.random.default_rng(seed))
    m2 = program(q, cfg, rng=np.random.default_rng(seed))
    np.testing.assert_array_equal(m1.levels, m2.levels)
    r = np.random.default_rng(seed + 7)
    y1, y2 = m1.matmul(x, rng=r), m1.matmul(x, rng=r)
    assert not np.array_equal(y1, y2), "read noise must be fresh on every call"
    np.testing.assert_array_equal(y1, m2.matmul(x, rng=np.random.default_rng(seed + 7)))


_THREAD_SCRIPT = textwrap.dedent(
    """
    import hashlib, numpy as np
    from crossbar import CrossbarConfig, NoiseConfig, program
    cfg = CrossbarConfig(adc_bits=5, noise=NoiseConfig(program_sigma=0.1, read_sigma=0.1))
    r = np.random.default_rng(3)
    q = r.integers(-127, 128, size=(300, 200)); x = r.integers(0, 256, size=(130, 300))
    m = program(q, cfg, rng=np.random.default_rng(4))
    y = m.matmul(x, rng=np.random.default_rng(5))
    z = program(q, cfg.replace(noise=NoiseConfig())).matmul(x)
    print(hashlib.sha256(y.tobytes() + z.tobytes()).hexdigest())
    """
)


def test_result_independent_of_thread_count():
    digests = []
    for threads in ("1", "2"):
        env = dict(os.environ, NUMBA_NUM_THREADS=threads)
        out = subprocess.run([sys.executable, "-c", _THREAD_SCRIPT], env=env, check=True,
                             capture_output=True, text=True)
        digests.append(out.stdout.strip())
    assert digests[0] == digests[1] and len(digests[0]) == 64


def test_int64_fallback_of_exact_fast_path():
    """Weights and inputs too wide for an exact float64 GEMM take the int64 product."""
    cfg = CrossbarConfig(weight_bits=24, input_bits=24)
    q, x = _random_problem(cfg, 100, 3, 2, 0)
    np.testing.assert_array_equal(program(q, cfg).matmul(x), (x @ q).astype(np.float64))


# ---- lossy ADC, hand-computed -----------------------------------------------------------
def _one_slice_cfg(**kw):
    base = dict(rows=2, cell_bits=2, weight_bits=3, input_bits=1)
    base.update(kw)
    return CrossbarConfig(**base)


@pytest.mark.parametrize("engine", ["numpy", "numba"])
@pytest.mark.parametrize(
    ("x", "want"),
    [
        # max_column_sum = 2 rows * 3 = 6, 2-bit ADC: delta = 6/3 = 2.
        ([1, 1], 4.0),  # p = 5 -> rint(2.5) = 2 (half to even) -> 4
        ([1, 0], 4.0),  # p = 3 -> rint(1.5) = 2 -> 4
        ([0, 1], 2.0),  # p = 2 -> 1 -> 2
        ([0, 0], 0.0),
    ],
)
def test_adc_rounds_half_to_even(x, want, engine):
    m = program(np.array([[3], [2]]), _one_slice_cfg(adc_bits=2))
    assert m.matmul(np.array([x]), engine=engine)[0, 0] == want


@pytest.mark.parametrize("engine", ["numpy", "numba"])
def test_adc_clips_at_full_scale(engine):
    # FS = 2.0, 2 bits: delta = 2/3, p = 5 -> rint(7.5) = 8 -> clipped to code 3 -> 2.0.
    m = program(np.array([[3], [2]]), _one_slice_cfg(adc_bits=2, adc_range=2.0))
    np.testing.assert_allclose(m.matmul(np.array([[1, 1]]), engine=engine)[0, 0], 2.0, rtol=1e-15)
    # Negative weights go to the minus column and are subtracted after their own ADC.
    m = program(np.array([[-3], [-2]]), _one_slice_cfg(adc_bits=2, adc_range=2.0))
    np.testing.assert_allclose(m.matmul(np.array([[1, 1]]), engine=engine)[0, 0], -2.0, rtol=1e-15)


@pytest.mark.parametrize("engine", ["numpy", "numba"])
def test_per_slice_adc_bits(engine):
    # 4 magnitude bits in two 2-bit slices; 13 = (3, 1), 6 = (1, 2) as (msb, lsb) slices.
    cfg = CrossbarConfig(rows=2, cell_bits=2, weight_bits=5, input_bits=1, adc_bits=(3, 1))
    m = program(np.array([[13], [6]]), cfg)
    # lsb slice: 3 bits, delta = max(1, 6/7) = 1 (lossless); msb slice: 1 bit, delta = 6.
    # x = [1, 1]: p_lsb = 1 + 2 = 3 -> 3;  p_msb = 3 + 1 = 4 -> rint(0.67) = 1 -> 6 -> 4 * 6.
    assert m.matmul(np.array([[1, 1]]), engine=engine)[0, 0] == 3 + 4 * 6
    # x = [0, 1]: p_lsb = 2 -> 2;  p_msb = 1 -> rint(0.17) = 0.
    assert m.matmul(np.array([[0, 1]]), engine=engine)[0, 0] == 2


@pytest.mark.parametrize("engine", ["numpy", "numba"])
def test_partial_sums_of_row_tiles_are_converted_separately(engine):
    # rows=1: each row is its own tile; 1-bit ADC over max range 3: delta = 3.
    cfg = CrossbarConfig(rows=1, cell_bits=2, weight_bits=3, input_bits=1, adc_bits=1)
    m = program(np.array([[1], [2], [3]]), cfg)
    # p per tile = 1, 2, 3 -> codes 0, 1, 1 -> 0 + 3 + 3 (one 2-row tile would give p=6 -> 3).
    assert m.matmul(np.array([[1, 1, 1]]), engine=engine)[0, 0] == 6


@pytest.mark.parametrize("engine", ["numpy", "numba"])
def test_offset_encoding_subtracts_digitally_after_adc(engine):
    # weight_bits=2: q in [-1, 1], offset 1, stored 2 = one 2-bit slice; 1-bit ADC, delta 6.
    cfg = CrossbarConfig(rows=2, cell_bits=2, weight_bits=2, input_bits=1, adc_bits=1,
                         encoding="offset")
    m = program(np.array([[1], [1]]), cfg)
    # p = 2 + 2 = 4 -> rint(0.67) = 1 -> 6; minus offset * sum(x) = 2 -> 4 (exact: 2).
    assert m.matmul(np.array([[1, 1]]), engine=engine)[0, 0] == 4


@pytest.mark.parametrize("engine", ["numpy", "numba"])
def test_signed_input_sign_cycle_weight(engine):
    # x = -1 with 2-bit inputs: digit 1 in cycle 0 (weight 1), sign digit 1 (weight -2).
    # weight 3 in one 2-bit cell, 1-bit ADC over max range 3: p = 3 -> code 1 -> 3 per cycle.
    cfg = CrossbarConfig(rows=1, cell_bits=2, weight_bits=3, input_bits=2, signed_inputs=True,
                         adc_bits=1)
    m = program(np.array([[3]]), cfg)
    assert m.matmul(np.array([[-1]]), engine=engine)[0, 0] == 3 * 1 - 3 * 2


def test_op_counts_by_hand():
    cfg = CrossbarConfig(rows=128, cols=128, cell_bits=2, weight_bits=8, input_bits=8)
    m = program(np.zeros((300, 50), dtype=np.int64), cfg)
    c = m.op_counts(batch=2)
    n_tiles, phys_cols = 3, 50 * 4 * 2  # ceil(300/128); 4 slices x 2 columns per weight
    col_arrays = 4  # ceil(400 / 128)
    assert c.n_macs == 2 * 300 * 50
    assert c.n_arrays == n_tiles * col_arrays
    assert c.n_array_reads == 2 * n_tiles * col_arrays * 8
    assert c.n_adc_conversions == 2 * n_tiles * phys_cols * 8
    assert c.n_dac_activations == 2 * 300 * col_arrays * 8
    assert c.n_shift_adds == c.n_adc_conversions


def test_conversion_count_rule_includes_cells_per_weight():
    """conversions = MACs x cells per weight x input cycles / rows (ISAAC); an 8x undercount
    bug in a public model dropped the cells-per-weight factor."""
    cfg = CrossbarConfig(rows=128, cell_bits=2, weight_bits=17, input_bits=16, encoding="offset")
    m = program(np.zeros((1024, 64), dtype=np.int64), cfg)
    c = m.op_counts(batch=1)
    assert cfg.n_slices == 9 and cfg.n_cycles == 16
    assert c.n_adc_conversions * cfg.rows == c.n_macs * cfg.n_slices * cfg.n_cycles


def test_calibrate_adc_full_scale_matches_column_sum_percentiles(seed):
    cfg = CrossbarConfig(rows=16, adc_bits=4, adc_range="calibrated")
    q, x = _random_problem(cfg, 40, 6, 9, seed)
    m = calibrate_adc(program(q, cfg), x, percentile=100.0)
    # independent computation of every column sum from the slicing functions
    levels = encode_weights(q, cfg)
    digits = input_digits(x, cfg)
    for s in range(cfg.n_slices):
        sums = [digits[t][:, k:k + 16] @ levels[sign, s, k:k + 16]
                for sign in range(2) for t in range(cfg.n_cycles) for k in range(0, 40, 16)]
        want = max(1.0, float(max(v.max() for v in sums)))
        assert m.adc_full_scale[s] == want
    m99 = calibrate_adc(program(q, cfg), x, percentile=50.0)
    assert all(a <= b for a, b in zip(m99.adc_full_scale, m.adc_full_scale, strict=True))
    # full scale = max column sum: nothing clips, so each conversion errs by <= delta/2
    err = np.abs(m.matmul(x) - x @ q)
    bound = sum(2.0 ** (cfg.cell_bits * s) * m.adc_full_scale[s] / (2**cfg.adc_bits - 1) / 2
                for s in range(cfg.n_slices)) * 2 * sum(cfg.cycle_weights) * 3  # 2 signs, 3 tiles
    assert np.all(err <= bound) and np.any(err > 0)


def test_column_sums_match_slicing(seed):
    cfg = CrossbarConfig(rows=16)
    q, x = _random_problem(cfg, 40, 6, 3, seed)
    sums = program(q, cfg).column_sums(x)
    levels, digits = encode_weights(q, cfg), input_digits(x, cfg)
    np.testing.assert_array_equal(sums[1, 2, 1, 5], digits[5][:, 16:32] @ levels[1, 2, 16:32])


@pytest.mark.parametrize("gmin", ["digital", "reference"])
def test_column_sums_without_read_noise_sum_the_programmed_levels(seed, gmin):
    prog = dict(program_sigma=0.2, stuck_off_rate=0.05)
    cfg = CrossbarConfig(rows=16, gmin_removal=gmin, noise=NoiseConfig(**prog, read_sigma=0.1, thermal=True))
    quiet = CrossbarConfig(rows=16, gmin_removal=gmin, noise=NoiseConfig(**prog))
    q, x = _random_problem(cfg, 40, 6, 3, seed)
    m = program(q, cfg, rng=np.random.default_rng(seed))
    expect = program(q, quiet, rng=np.random.default_rng(seed)).column_sums(x)  # the same programming draws
    np.testing.assert_array_equal(m.column_sums(x, read_noise=False), expect)
    read = m.column_sums(x, rng=np.random.default_rng(1))
    assert not np.array_equal(read, expect)  # a read adds its noise
    with pytest.raises(ConfigError, match="column_sums: rng is required"):
        m.column_sums(x)
    with pytest.raises(ConfigError, match="read_noise must be True or False; got 0"):
        m.column_sums(x, read_noise=0)


@pytest.mark.parametrize(("rows", "dac_bits", "noise", "signed"), [
    (16, 1, NoiseConfig(), False),
    (32, 2, NoiseConfig(program_sigma=0.3), False),  # fixed point with 2^-frac levels, large values
    (64, 4, NoiseConfig(physical_programming=True, thermal=True, shot=True), True),
    (128, 1, NoiseConfig(program_sigma=0.05), True)])
def test_gemm_column_sums_equal_the_int64_reference_bit_for_bit(seed, rows, dac_bits, noise, signed):
    from crossbar import _reference
    from crossbar._packing import _column_sums

    cfg = CrossbarConfig(rows=rows, dac_bits=dac_bits, noise=noise, signed_inputs=signed)
    q, x = _random_problem(cfg, 150, 7, 5, seed)
    m = program(q, cfg, rng=np.random.default_rng(seed))
    fixed, frac, _, _ = m._static_or_read(np.random.default_rng(seed + 1))
    assert noise == NoiseConfig() or frac > 0
    digits = input_digits(x, cfg)
    from threadpoolctl import threadpool_info

    before = [lib["num_threads"] for lib in threadpool_info()]
    got = _column_sums(digits, fixed, rows=rows)  # its GEMMs on one BLAS thread
    assert [lib["num_threads"] for lib in threadpool_info()] == before  # the caller's setting is back
    assert got.dtype == np.int64
    np.testing.assert_array_equal(got, _reference.column_sums(digits, fixed, rows=rows))
    # above 2^53 a float64 GEMM would round; such a tile takes the int64 reference
    big = np.full((2, 3 * rows, 4), 2**52 // rows + 7, dtype=np.int64)
    big[1, ::3] = -(2**50)  # negative levels, odd sums
    ones = np.ones((1, 3, 3 * rows), dtype=np.int64)
    ones[0, 1, ::2] = 3
    np.testing.assert_array_equal(_column_sums(ones, big, rows=rows), _reference.column_sums(ones, big, rows=rows))
    assert 3 * rows * (2**52 // rows + 7) >= 2**53  # the case is above the bound


@pytest.mark.parametrize(("column", "dtype"), [
    ([2**21 - 1, 2**21 - 1, 2**21 - 1, 2**21 + 1], np.float32),  # sum 2^23 - 2: float32 is exact
    ([2**22, 2**22, 2**22, 2**22 + 1], np.float64)])  # sum 2^24 + 1: float32 would round it
def test_column_sum_tiles_use_float32_only_where_it_is_exact(column, dtype):
    from crossbar import _reference
    from crossbar._packing import _column_sum_tiles, _column_sums

    fixed = np.array(column, dtype=np.int64).reshape(1, 4, 1) * np.array([1, -1]).reshape(2, 1, 1)
    digits = np.ones((2, 3, 4), dtype=np.int64)
    digits[1, 1, 3] = 0
    (k, sums), = _column_sum_tiles(digits, fixed, rows=4)
    assert k == 0 and sums.dtype == dtype
    want = _reference.column_sums(digits, fixed, rows=4)
    np.testing.assert_array_equal(_column_sums(digits, fixed, rows=4), want)
    # the difference of the two fields (a signed ADC's input) is exact too
    np.testing.assert_array_equal(sums[:, 0] - sums[:, 1], (want[0, 0] - want[1, 0]).reshape(6, 1))


def test_import_crossbar_does_not_import_torch():
    code = "import sys, crossbar; print('torch' in sys.modules, 'mapping' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    assert out.stdout.split() == ["False", "False"]



@pytest.mark.parametrize(
    ("encoding", "words", "segments"),
    [("offset", 1, 1),  # 4 fields x 9 bits fit one word over a whole 128-row tile
     ("differential", 1, 2)],  # 8 fields need 8-bit fields: two 64-row segments per tile
)
def test_packing_layout_of_reference_shape(encoding, words, segments):
    from crossbar.engine import _Layout

    cfg = CrossbarConfig(encoding=encoding)
    layout = _Layout.build(1024, cfg.rows, cfg.n_signs * cfg.n_slices, row_max=3)
    assert layout.n_words == words
    assert -(-layout.groups_per_tile // layout.groups_per_segment) == segments
    # no field can overflow: a segment's largest sum fits the field mask
    seg_max = layout.groups_per_segment * 4 * 3
    assert all(m == -1 or seg_max <= m for m in layout.field_mask)

"""Catalogue of bad inputs: each is rejected with a typed, self-explaining error (STYLE R8).

Every case must raise one of the package's exception types (which also subclass ``ValueError``)
and its message must name the parameter and the value received (and, where the rule has a
short literal form, what is allowed).
"""

from __future__ import annotations

import re
from collections.abc import Callable

import numpy as np
import pytest

from crossbar import CrossbarConfig, NoiseConfig, calibrate_adc, program
from crossbar.errors import ConfigError, InputError, NotCalibratedError, ShapeError, XbarError
from crossbar.noise import program_levels, read_levels

_CFG = CrossbarConfig(rows=4, weight_bits=8, input_bits=8)
"""Small valid design: 4-row arrays, weights in [-127, 127], unsigned 8-bit inputs."""

_W = np.array([[1, -2, 3], [4, 5, -6], [7, -8, 9], [0, 1, 2]], dtype=np.int64)
"""Valid (n_in=4, n_out=3) weights."""

_X = np.array([[1, 2, 3, 4]], dtype=np.int64)
"""Valid (batch=1, n_in=4) inputs."""

_READ_NOISE = _CFG.replace(noise=NoiseConfig(read_sigma=0.1))
_PROG_NOISE = _CFG.replace(noise=NoiseConfig(program_sigma=0.1))


def _matrix(cfg: CrossbarConfig = _CFG):
    return program(_W, cfg)


def _calibrated_cfg() -> CrossbarConfig:
    return _CFG.replace(adc_bits=4, adc_range="calibrated")


# (id, callable, expected exception type, substrings the message must contain)
CASES: list[tuple[str, Callable[[], object], type[XbarError], tuple[str, ...]]] = [
    # ---- weights passed to program() -------------------------------------------------------
    ("weights_nan",
     lambda: program(np.array([[1.0, np.nan], [0.0, 2.0]]), _CFG),
     InputError, ("weights", "NaN", "integer")),
    ("weights_inf",
     lambda: program(np.array([[1.0, np.inf], [0.0, 2.0]]), _CFG),
     InputError, ("weights", "inf", "integer")),
    ("weights_float",
     lambda: program(np.array([[0.5, 1.0], [2.0, 3.0]]), _CFG),
     InputError, ("weights", "float64", "integer")),
    ("weights_bool",
     lambda: program(np.ones((2, 2), dtype=bool), _CFG),
     InputError, ("weights", "bool", "integer")),
    ("weights_above_q_max",
     lambda: program(np.array([[0, 128]]), _CFG),
     InputError, ("weights", "128", "[-127, 127]")),
    ("weights_below_minus_q_max",
     lambda: program(np.array([[-128, 0]]), _CFG),
     InputError, ("weights", "-128", "[-127, 127]")),
    ("weights_1d",
     lambda: program(np.array([1, 2, 3]), _CFG),
     ShapeError, ("weights", "(3,)", "2-D")),
    ("weights_3d",
     lambda: program(np.ones((2, 2, 2), dtype=np.int64), _CFG),
     ShapeError, ("weights", "(2, 2, 2)", "2-D")),
    ("weights_zero_rows",
     lambda: program(np.zeros((0, 3), dtype=np.int64), _CFG),
     ShapeError, ("weights", "(0, 3)", "n_in >= 1")),
    ("program_config_not_a_config",
     lambda: program(_W, {"rows": 4}),
     ConfigError, ("config", "dict", "CrossbarConfig")),
    ("program_rng_none_with_program_noise",
     lambda: program(_W, _PROG_NOISE, rng=None),
     ConfigError, ("rng", "None", "required")),
    ("program_rng_not_a_generator",
     lambda: program(_W, _PROG_NOISE, rng=0),
     ConfigError, ("rng", "int", "Generator")),
    # ---- inputs passed to matmul() ---------------------------------------------------------
    ("x_float",
     lambda: _matrix().matmul(np.array([[1.0, 2.0, 3.0, 4.0]])),
     InputError, ("x", "float64", "integer")),
    ("x_bool",
     lambda: _matrix().matmul(np.ones((1, 4), dtype=bool)),
     InputError, ("x", "bool", "integer")),
    ("x_negative_unsigned",
     lambda: _matrix().matmul(np.array([[-1, 0, 0, 0]])),
     InputError, ("x", "-1", "[0, 255]")),
    ("x_256_for_8_bits",
     lambda: _matrix().matmul(np.array([[0, 256, 0, 0]])),
     InputError, ("x", "256", "[0, 255]")),
    ("x_signed_below_min",
     lambda: _matrix(_CFG.replace(signed_inputs=True)).matmul(np.array([[-129, 0, 0, 0]])),
     InputError, ("x", "-129", "[-128, 127]")),
    ("x_n_in_mismatch",
     lambda: _matrix().matmul(np.array([[1, 2, 3]])),
     ShapeError, ("x", "3", "(batch, 4)")),
    ("x_1d",
     lambda: _matrix().matmul(np.array([1, 2, 3, 4])),
     ShapeError, ("x", "(4,)", "2-D")),
    ("x_3d",
     lambda: _matrix().matmul(np.ones((1, 1, 4), dtype=np.int64)),
     ShapeError, ("x", "(1, 1, 4)", "2-D")),
    ("matmul_unknown_engine",
     lambda: _matrix().matmul(_X, engine="cuda"),
     ConfigError, ("engine", "'cuda'", "numba")),
    ("matmul_read_noise_rng_none",
     lambda: _matrix(_READ_NOISE).matmul(_X, rng=None),
     ConfigError, ("rng", "None", "required")),
    ("matmul_read_noise_rng_not_a_generator",
     lambda: _matrix(_READ_NOISE).matmul(_X, rng=0),
     ConfigError, ("rng", "int", "Generator")),
    ("column_sums_read_noise_rng_none",
     lambda: _matrix(_READ_NOISE).column_sums(_X, rng=None),
     ConfigError, ("rng", "None", "required")),
    ("matmul_calibrated_before_calibration",
     lambda: _matrix(_calibrated_cfg()).matmul(_X),
     NotCalibratedError, ("adc_range", "calibrated", "calibrate_adc")),
    # ---- calibrate_adc() / op_counts() -----------------------------------------------------
    ("calibrate_percentile_0",
     lambda: calibrate_adc(_matrix(_calibrated_cfg()), _X, percentile=0),
     ConfigError, ("percentile", "0", "(0, 100]")),
    ("calibrate_percentile_101",
     lambda: calibrate_adc(_matrix(_calibrated_cfg()), _X, percentile=101),
     ConfigError, ("percentile", "101", "(0, 100]")),
    ("calibrate_percentile_nan",
     lambda: calibrate_adc(_matrix(_calibrated_cfg()), _X, percentile=float("nan")),
     ConfigError, ("percentile", "nan", "(0, 100]")),
    ("calibrate_x_n_in_mismatch",
     lambda: calibrate_adc(_matrix(_calibrated_cfg()), np.ones((2, 5), dtype=np.int64)),
     ShapeError, ("x", "(2, 5)", "4")),
    ("op_counts_negative_batch",
     lambda: _matrix().op_counts(batch=-1),
     ConfigError, ("batch", "-1", ">= 0")),
    ("op_counts_float_batch",
     lambda: _matrix().op_counts(batch=1.5),
     ConfigError, ("batch", "1.5", "integer")),
    # ---- CrossbarConfig fields -------------------------------------------------------------
    ("rows_zero",
     lambda: CrossbarConfig(rows=0),
     ConfigError, ("rows", "0", "[1, 65536]")),
    ("rows_float",
     lambda: CrossbarConfig(rows=128.0),
     ConfigError, ("rows", "128.0", "integer")),
    ("cols_negative",
     lambda: CrossbarConfig(cols=-5),
     ConfigError, ("cols", "-5", "[1, 65536]")),
    ("cell_bits_0",
     lambda: CrossbarConfig(cell_bits=0),
     ConfigError, ("cell_bits", "0", "[1, 8]")),
    ("cell_bits_9",
     lambda: CrossbarConfig(cell_bits=9),
     ConfigError, ("cell_bits", "9", "[1, 8]")),
    ("weight_bits_1",
     lambda: CrossbarConfig(weight_bits=1),
     ConfigError, ("weight_bits", "1", "[2, 24]")),
    ("signed_input_bits_1",
     lambda: CrossbarConfig(signed_inputs=True, input_bits=1, dac_bits=1),
     ConfigError, ("input_bits", "1", "[2, 24]")),
    ("dac_bits_above_input_bits",
     lambda: CrossbarConfig(input_bits=4, dac_bits=5),
     ConfigError, ("dac_bits", "5", "input_bits")),
    ("adc_bits_0",
     lambda: CrossbarConfig(adc_bits=0),
     ConfigError, ("adc_bits", "0", "[1, 24]")),
    ("adc_bits_bool",
     lambda: CrossbarConfig(adc_bits=True),
     ConfigError, ("adc_bits", "True", "integer")),
    ("adc_bits_tuple_wrong_length",
     lambda: CrossbarConfig(adc_bits=(4, 4)),  # default design has 4 slices
     ConfigError, ("adc_bits", "(4, 4)", "4 slices")),
    ("adc_range_negative",
     lambda: CrossbarConfig(adc_bits=4, adc_range=-1.0),
     ConfigError, ("adc_range", "-1.0", "(0.0, inf]")),
    ("adc_range_unknown_string",
     lambda: CrossbarConfig(adc_bits=4, adc_range="min"),
     ConfigError, ("adc_range", "'min'", "calibrated")),
    ("adc_range_nan",
     lambda: CrossbarConfig(adc_bits=4, adc_range=float("nan")),
     ConfigError, ("adc_range", "nan", "finite")),
    ("adc_range_tuple_wrong_length",
     lambda: CrossbarConfig(adc_bits=4, adc_range=(10.0, 20.0)),
     ConfigError, ("adc_range", "(10.0, 20.0)", "(4)")),
    ("encoding_unknown",
     lambda: CrossbarConfig(encoding="twos"),
     ConfigError, ("encoding", "'twos'", "differential")),
    ("g_min_equal_g_max",
     lambda: CrossbarConfig(g_min=1e-5, g_max=1e-5),
     ConfigError, ("g_min", "1e-05", "< g_max")),
    ("g_min_above_g_max",
     lambda: CrossbarConfig(g_min=1e-4, g_max=1e-5),
     ConfigError, ("g_min", "0.0001", "< g_max")),
    ("g_min_negative",
     lambda: CrossbarConfig(g_min=-1e-6),
     ConfigError, ("g_min", "-1e-06", "[0.0, inf]")),
    ("read_voltage_zero",
     lambda: CrossbarConfig(read_voltage=0.0),
     ConfigError, ("read_voltage", "0.0", "(0.0, inf]")),
    ("temperature_zero",
     lambda: CrossbarConfig(temperature=0.0),
     ConfigError, ("temperature", "0.0", "kelvin")),
    ("temperature_negative",
     lambda: CrossbarConfig(temperature=-10.0),
     ConfigError, ("temperature", "-10.0", "kelvin")),
    ("frequency_nan",
     lambda: CrossbarConfig(frequency=float("nan")),
     ConfigError, ("frequency", "nan", "finite")),
    ("noise_not_a_noise_config",
     lambda: CrossbarConfig(noise={"read_sigma": 0.1}),
     ConfigError, ("noise", "read_sigma", "NoiseConfig")),
    ("rtn_g_min_too_small",
     lambda: CrossbarConfig(g_min=1e-7, noise=NoiseConfig(rtn=True)),
     ConfigError, ("g_min", "1e-07", "rtn_a")),
    # ---- NoiseConfig fields ----------------------------------------------------------------
    ("program_sigma_negative",
     lambda: NoiseConfig(program_sigma=-1.0),
     ConfigError, ("program_sigma", "-1.0", "[0.0, inf]")),
    ("read_sigma_negative",
     lambda: NoiseConfig(read_sigma=-0.1),
     ConfigError, ("read_sigma", "-0.1", "[0.0, inf]")),
    ("program_model_unknown",
     lambda: NoiseConfig(program_model="uniform"),
     ConfigError, ("program_model", "'uniform'", "lognormal")),
    ("read_model_unknown",
     lambda: NoiseConfig(read_model="lognormal"),
     ConfigError, ("read_model", "'lognormal'", "range")),
    ("stuck_rates_sum_above_1",
     lambda: NoiseConfig(stuck_on_rate=0.6, stuck_off_rate=0.5),
     ConfigError, ("stuck_on_rate", "stuck_off_rate", "0.6", "0.5", "<= 1")),
    ("stuck_on_rate_above_1",
     lambda: NoiseConfig(stuck_on_rate=1.5),
     ConfigError, ("stuck_on_rate", "1.5", "[0.0, 1.0]")),
    ("rtn_b_1",
     lambda: NoiseConfig(rtn_b=1.0),
     ConfigError, ("rtn_b", "1.0", "[0.0, 1.0)")),
    ("thermal_not_bool",
     lambda: NoiseConfig(thermal=1),
     ConfigError, ("thermal", "1", "True or False")),
    ("physical_programming_bits_0",
     lambda: NoiseConfig(physical_programming_bits=0),
     ConfigError, ("physical_programming_bits", "0", "None")),
    ("physical_programming_bits_float",
     lambda: NoiseConfig(physical_programming_bits=7.5),
     ConfigError, ("physical_programming_bits", "7.5")),
    # ---- serialization ---------------------------------------------------------------------
    ("from_dict_unknown_key",
     lambda: CrossbarConfig.from_dict({"rows": 4, "colz": 4}),
     ConfigError, ("from_dict", "colz", "'cols'")),
    ("from_dict_unknown_noise_key",
     lambda: CrossbarConfig.from_dict({"noise": {"read_sigmaa": 0.1}}),
     ConfigError, ("from_dict", "read_sigmaa", "'read_sigma'")),
    ("from_dict_not_a_dict",
     lambda: CrossbarConfig.from_dict([("rows", 4)]),
     ConfigError, ("from_dict", "list", "dict")),
    # ---- noise functions called directly ---------------------------------------------------
    ("read_levels_rng_none",
     lambda: read_levels(np.zeros((2, 2)), _READ_NOISE, rng=None),
     ConfigError, ("rng", "None", "required")),
    ("program_levels_rng_none",
     lambda: program_levels(np.zeros((2, 2)), _PROG_NOISE, rng=None),
     ConfigError, ("rng", "None", "required")),
]


def test_catalogue_is_large_and_ids_are_unique():
    ids = [case[0] for case in CASES]
    assert len(ids) >= 24
    assert len(set(ids)) == len(ids), "duplicate case ids"


@pytest.mark.parametrize(("fn", "expected", "substrings"),
                         [pytest.param(fn, exc, subs, id=case_id)
                          for case_id, fn, exc, subs in CASES])
def test_bad_input_is_rejected_with_a_helpful_message(fn, expected, substrings):
    with pytest.raises(expected) as info:
        fn()
    err = info.value
    assert isinstance(err, ValueError), f"{type(err).__name__} is not a ValueError"
    assert isinstance(err, XbarError), f"{type(err).__name__} is not a crossbar XbarError"
    message = str(err)
    missing = [s for s in substrings if not _contains_token(message, s)]
    assert not missing, f"message lacks {missing!r}: {message!r}"


def _contains_token(message: str, expected: str) -> bool:
    """``expected`` occurs in ``message`` not glued to other word characters.

    So ``"x"`` must appear as the parameter name ``x`` (not as a letter of ``max``), ``"0"`` as
    the value ``0`` (not as a digit of ``100``); ``CrossbarConfig.adc_bits`` contains ``adc_bits``.
    """
    return re.search(rf"(?<!\w){re.escape(expected)}(?!\w)", message) is not None


def test_token_matching_is_strict():
    assert _contains_token("CrossbarConfig.adc_bits must be in [1, 24]; got 0.", "adc_bits")
    assert _contains_token("CrossbarConfig.adc_bits must be in [1, 24]; got 0.", "0")
    assert not _contains_token("values must lie in [0, 255]; got max 256.", "x")
    assert not _contains_token("must be in (0, 100]; got 101.", "10")


def test_valid_neighbours_of_the_catalogue_are_accepted():
    """The boundary values next to the rejected ones are fine (the checks are not too strict)."""
    cfg = CrossbarConfig(rows=1, cols=1, cell_bits=8, weight_bits=2, input_bits=4, dac_bits=4,
                         adc_bits=1, g_min=0.0, g_max=1e-6,
                         noise=NoiseConfig(stuck_on_rate=0.5, stuck_off_rate=0.5, rtn_b=0.0))
    assert cfg.q_max == 1
    m = program(np.array([[1, -1]]), _CFG)
    np.testing.assert_array_equal(m.matmul(np.array([[255]])), [[255.0, -255.0]])
    m = program(np.array([[127], [-127]]), _CFG)
    np.testing.assert_array_equal(m.matmul(np.array([[0, 255]])), [[-127.0 * 255]])
    cal = calibrate_adc(_matrix(_calibrated_cfg()), _X, percentile=100)
    assert cal.adc_full_scale is not None and len(cal.adc_full_scale) == cal.config.n_slices
    assert _matrix().op_counts(batch=0).n_macs == 0


@pytest.mark.parametrize("percentile", [np.int64(50), np.float32(99.5), np.float64(100.0)])
def test_numpy_scalar_percentile_is_accepted(percentile):
    """A percentile computed with NumPy is a valid percentile (only the value is checked)."""
    cal = calibrate_adc(_matrix(_calibrated_cfg()), _X, percentile=percentile)
    assert cal.adc_full_scale is not None
    assert _matrix().op_counts(batch=np.int64(2)).n_macs == 2 * _W.size

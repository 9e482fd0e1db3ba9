"""Configs: exact serialization round trips, immutability, re-validation, derived quantities;
and the exact integer maps of :mod:`crossbar.slicing`."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from crossbar import ConfigError, CrossbarConfig, NoiseConfig
from crossbar.slicing import decode_weights, encode_weights, input_digits

SETTINGS = settings(max_examples=50, deadline=None)

_pos = dict(allow_nan=False, allow_infinity=False)


# ---- strategies ------------------------------------------------------------------------------
@st.composite
def noise_configs(draw) -> NoiseConfig:
    on = draw(st.floats(0.0, 0.5, **_pos))
    return NoiseConfig(
        program_sigma=draw(st.none() | st.floats(0.0, 2.0, **_pos)),
        program_model=draw(st.sampled_from(["level", "range", "lognormal"])),
        read_sigma=draw(st.none() | st.floats(0.0, 2.0, **_pos)),
        read_model=draw(st.sampled_from(["level", "range"])),
        thermal=draw(st.booleans()),
        shot=draw(st.booleans()),
        physical_programming=draw(st.booleans()),
        physical_programming_bits=draw(st.none() | st.integers(1, 24)),
        rtn=draw(st.booleans()),
        rtn_a=draw(st.floats(0.0, 1e-6, **_pos)),
        rtn_b=draw(st.floats(0.0, 0.5, **_pos)),
        rtn_probability=draw(st.floats(0.0, 1.0, **_pos)),
        stuck_on_rate=on,
        stuck_off_rate=draw(st.floats(0.0, 1.0 - on, **_pos)),
    )


@st.composite
def crossbar_configs(draw) -> CrossbarConfig:
    noise = draw(noise_configs())
    signed = draw(st.booleans())
    input_bits = draw(st.integers(2 if signed else 1, 16))
    base = dict(
        rows=draw(st.integers(1, 4096)),
        cols=draw(st.integers(1, 4096)),
        cell_bits=draw(st.integers(1, 8)),
        weight_bits=draw(st.integers(2, 24)),
        input_bits=input_bits,
        dac_bits=draw(st.integers(1, min(8, input_bits))),
        encoding=draw(st.sampled_from(["differential", "offset"])),
        signed_inputs=signed,
    )
    n_slices = CrossbarConfig(**base).n_slices
    adc_bits = draw(st.none() | st.integers(1, 24)
                    | st.tuples(*[st.integers(1, 24)] * n_slices))
    adc_range = draw(st.sampled_from(["max", "calibrated"])
                     | st.floats(1e-3, 1e6, **_pos)
                     | st.tuples(*[st.floats(1e-3, 1e6, **_pos)] * n_slices))
    # RTN needs g_min (1 - b) > a
    g_lo = noise.rtn_a / (1.0 - noise.rtn_b) * 1.01 + 1e-12 if noise.rtn else 0.0
    g_min = draw(st.floats(g_lo, 1e-4, **_pos))
    g_max = g_min + draw(st.floats(1e-7, 1e-2, **_pos))
    return CrossbarConfig(
        **base,
        adc_bits=adc_bits,
        adc_range=adc_range,
        g_min=g_min,
        g_max=g_max,
        read_voltage=draw(st.floats(1e-3, 5.0, **_pos)),
        frequency=draw(st.floats(1.0, 1e11, **_pos)),
        temperature=draw(st.floats(1e-2, 1000.0, **_pos)),
        noise=noise,
    )


def _assert_same(a: CrossbarConfig, b: CrossbarConfig) -> None:
    """Equal, with the same field types (an int must not come back as a float, nor a tuple as
    a list)."""
    assert a == b
    for f in dataclasses.fields(a):
        va, vb = getattr(a, f.name), getattr(b, f.name)
        assert type(va) is type(vb), f"{f.name}: {type(va).__name__} vs {type(vb).__name__}"
    for f in dataclasses.fields(a.noise):
        va, vb = getattr(a.noise, f.name), getattr(b.noise, f.name)
        assert type(va) is type(vb), f"noise.{f.name}: {type(va).__name__} vs {type(vb).__name__}"


# ---- serialization -----------------------------------------------------------------------------
@SETTINGS
@given(cfg=crossbar_configs())
def test_dict_round_trip_is_exact(cfg):
    d = cfg.to_dict()
    assert isinstance(d["noise"], dict)
    assert all(not isinstance(v, tuple) for v in d.values()), "to_dict must be JSON-compatible"
    back = CrossbarConfig.from_dict(d)
    _assert_same(back, cfg)
    assert hash(back) == hash(cfg)


@SETTINGS
@given(cfg=crossbar_configs())
def test_json_round_trip_is_exact_and_canonical(cfg):
    text = cfg.to_json()
    back = CrossbarConfig.from_json(text)
    _assert_same(back, cfg)
    assert back.to_json() == text
    assert json.loads(text) == cfg.to_dict()


def test_round_trip_of_hand_picked_configs():
    cfgs = [
        CrossbarConfig(),
        CrossbarConfig(adc_bits=(1, 3, 3, 3), adc_range=(3.5, 10.0, 10.0, 12.25)),
        CrossbarConfig(weight_bits=9, cell_bits=2, encoding="offset", adc_bits=6,
                       adc_range="calibrated", signed_inputs=True, dac_bits=2),
        CrossbarConfig(g_min=1e-6, noise=NoiseConfig(program_sigma=0.1, program_model="lognormal",
                                                     read_sigma=0.0, thermal=True, shot=True,
                                                     rtn=True, rtn_probability=0.25,
                                                     stuck_on_rate=0.01, stuck_off_rate=0.02)),
        CrossbarConfig(adc_bits=5, adc_range=0.1 + 0.2),  # a float that is not short in decimal
    ]
    for cfg in cfgs:
        _assert_same(CrossbarConfig.from_dict(cfg.to_dict()), cfg)
        _assert_same(CrossbarConfig.from_json(cfg.to_json()), cfg)


def test_from_dict_fills_defaults_and_accepts_lists():
    assert CrossbarConfig.from_dict({}) == CrossbarConfig()
    cfg = CrossbarConfig.from_dict({"adc_bits": [2, 3, 4, 5], "noise": {"read_sigma": 0.5}})
    assert cfg.adc_bits == (2, 3, 4, 5)
    assert cfg.noise == NoiseConfig(read_sigma=0.5)


def test_list_inputs_are_stored_as_tuples():
    cfg = CrossbarConfig(adc_bits=[4, 4, 4, 4], adc_range=[1, 2, 3, 4])
    assert cfg.adc_bits == (4, 4, 4, 4)
    assert cfg.adc_range == (1.0, 2.0, 3.0, 4.0)
    assert all(type(v) is float for v in cfg.adc_range)
    assert CrossbarConfig(adc_bits=4, adc_range=7).adc_range == 7.0
    hash(cfg)  # hashable once normalized


def test_numpy_scalar_fields_serialize_like_python_numbers():
    """Design variables decoded from NumPy arrays (e.g. by the search) give storable configs."""
    from_numpy = CrossbarConfig(rows=np.int64(64), cell_bits=np.int32(3), adc_bits=np.int64(6),
                                read_voltage=np.float32(0.5), temperature=np.float64(350.0),
                                noise=NoiseConfig(read_sigma=np.float32(0.25)))
    plain = CrossbarConfig(rows=64, cell_bits=3, adc_bits=6, read_voltage=0.5, temperature=350.0,
                           noise=NoiseConfig(read_sigma=0.25))
    assert from_numpy == plain
    assert from_numpy.to_json() == plain.to_json()
    _assert_same(CrossbarConfig.from_json(from_numpy.to_json()), plain)


# ---- immutability and re-validation ------------------------------------------------------------
def test_configs_are_frozen():
    cfg = CrossbarConfig(noise=NoiseConfig(read_sigma=0.1))
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.rows = 64
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.noise.read_sigma = 0.2
    with pytest.raises((dataclasses.FrozenInstanceError, AttributeError, TypeError)):
        cfg.new_field = 1
    assert cfg.rows == 128 and cfg.noise.read_sigma == 0.1


def test_keyword_only():
    with pytest.raises(TypeError):
        CrossbarConfig(128)
    with pytest.raises(TypeError):
        NoiseConfig(0.1)


def test_replace_revalidates_and_does_not_mutate():
    cfg = CrossbarConfig(adc_bits=(3, 3, 3, 3))
    smaller = cfg.replace(rows=64)
    assert smaller.rows == 64 and cfg.rows == 128
    assert smaller.adc_bits == cfg.adc_bits
    with pytest.raises(ConfigError, match="cell_bits"):
        cfg.replace(cell_bits=9)
    with pytest.raises(ConfigError, match="cell_bits"):
        dataclasses.replace(cfg, cell_bits=0)
    with pytest.raises(ConfigError, match="adc_bits"):  # 3 cells -> 3 slices, tuple has 4
        cfg.replace(cell_bits=3)
    with pytest.raises(ConfigError, match="dac_bits"):
        cfg.replace(input_bits=4, dac_bits=5)
    with pytest.raises(ConfigError, match="g_min"):
        cfg.replace(g_min=1.0)
    with pytest.raises(ConfigError, match="g_min"):  # RTN diverges for this g_min
        cfg.replace(g_min=1e-7, noise=NoiseConfig(rtn=True))
    with pytest.raises(ConfigError, match="stuck"):
        dataclasses.replace(NoiseConfig(stuck_on_rate=0.5), stuck_off_rate=0.6)


# ---- derived quantities, by hand ---------------------------------------------------------------
@pytest.mark.parametrize(
    ("kwargs", "q_max", "offset", "n_signs", "n_slices"),
    [
        (dict(), 127, 0, 2, 4),  # 7 magnitude bits in 2-bit cells
        (dict(encoding="offset"), 127, 127, 1, 4),  # 0..254: 8 bits -> 4 slices
        (dict(weight_bits=9), 255, 0, 2, 4),  # the bit-slice paper: sign + 8 bits in 4 slices
        (dict(weight_bits=9, encoding="offset"), 255, 255, 1, 5),  # 0..510: 9 bits
        (dict(weight_bits=8, cell_bits=3), 127, 0, 2, 3),
        (dict(weight_bits=4, cell_bits=1), 7, 0, 2, 3),
        (dict(weight_bits=2, cell_bits=8), 1, 0, 2, 1),
        (dict(weight_bits=2, cell_bits=1, encoding="offset"), 1, 1, 1, 2),  # 0..2: 2 bits
        (dict(weight_bits=16, cell_bits=4), 32767, 0, 2, 4),
    ],
)
def test_weight_derived_quantities(kwargs, q_max, offset, n_signs, n_slices):
    cfg = CrossbarConfig(**kwargs)
    assert (cfg.q_max, cfg.offset, cfg.n_signs, cfg.n_slices) == (q_max, offset, n_signs, n_slices)


@pytest.mark.parametrize(
    ("input_bits", "signed", "dac_bits", "n_cycles", "cycle_weights"),
    [
        (8, False, 1, 8, (1, 2, 4, 8, 16, 32, 64, 128)),
        (8, False, 2, 4, (1, 4, 16, 64)),
        (8, False, 3, 3, (1, 8, 64)),
        (8, True, 1, 8, (1, 2, 4, 8, 16, 32, 64, -128)),
        (8, True, 2, 5, (1, 4, 16, 64, -128)),
        (8, True, 3, 4, (1, 8, 64, -128)),
        (4, True, 3, 2, (1, -8)),
        (2, True, 1, 2, (1, -2)),
        (2, True, 2, 2, (1, -2)),  # the one magnitude bit still takes a cycle
        (1, False, 1, 1, (1,)),
    ],
)
def test_input_cycles(input_bits, signed, dac_bits, n_cycles, cycle_weights):
    cfg = CrossbarConfig(input_bits=input_bits, signed_inputs=signed, dac_bits=dac_bits)
    assert cfg.n_cycles == n_cycles
    assert cfg.cycle_weights == cycle_weights
    assert len(cfg.cycle_weights) == cfg.n_cycles
    lo = -(2 ** (input_bits - 1)) if signed else 0
    hi = 2 ** (input_bits - 1) - 1 if signed else 2**input_bits - 1
    assert (cfg.x_min, cfg.x_max) == (lo, hi)


@pytest.mark.parametrize(
    ("rows", "cell_bits", "dac_bits", "want"),
    [(128, 2, 1, 384), (64, 3, 2, 1344), (1, 1, 1, 1), (256, 4, 3, 256 * 15 * 7)],
)
def test_max_column_sum(rows, cell_bits, dac_bits, want):
    cfg = CrossbarConfig(rows=rows, cell_bits=cell_bits, dac_bits=dac_bits)
    assert cfg.max_column_sum == want


@pytest.mark.parametrize(
    ("kwargs", "lossless"),
    [
        (dict(adc_bits=None), True),
        (dict(adc_bits=None, adc_range="calibrated"), True),  # ideal ADC ignores the range
        (dict(adc_bits=9), True),  # 511 >= 384
        (dict(adc_bits=8), False),  # 255 < 384
        (dict(rows=85, adc_bits=8), True),  # 85 * 3 = 255
        (dict(rows=86, adc_bits=8), False),  # 258 > 255
        (dict(adc_bits=9, adc_range=384.0), False),  # fixed ranges are never assumed lossless
        (dict(adc_bits=9, adc_range="calibrated"), False),
        (dict(adc_bits=(9, 9, 9, 9)), True),
        (dict(adc_bits=(9, 9, 9, 8)), False),
        (dict(rows=4, dac_bits=2, adc_bits=(6, 6, 6, 6)), True),  # 4 * 3 * 3 = 36 <= 63
        (dict(rows=4, dac_bits=2, adc_bits=(6, 6, 6, 5)), False),  # 36 > 31
    ],
)
def test_adc_is_lossless(kwargs, lossless):
    assert CrossbarConfig(**kwargs).adc_is_lossless is lossless


def test_level_conductance_and_slice_adc_bits():
    cfg = CrossbarConfig(cell_bits=3, g_min=1e-6, g_max=8e-6, adc_bits=5)
    np.testing.assert_allclose(cfg.level_conductance, 1e-6, rtol=1e-12)
    assert cfg.slice_adc_bits() == (5, 5, 5)
    assert CrossbarConfig().slice_adc_bits() == (None,) * 4
    assert CrossbarConfig(adc_bits=(1, 2, 3, 4)).slice_adc_bits() == (1, 2, 3, 4)


def test_noise_flags():
    assert not NoiseConfig().is_noisy
    assert not NoiseConfig(program_sigma=0.0, read_sigma=0.0).is_noisy
    assert not NoiseConfig(rtn=True, rtn_probability=0.0).is_noisy
    prog = NoiseConfig(stuck_off_rate=0.01)
    assert prog.has_program_noise and not prog.has_read_noise and prog.is_noisy
    read = NoiseConfig(shot=True)
    assert read.has_read_noise and not read.has_program_noise and read.is_noisy
    assert NoiseConfig(physical_programming=True).has_program_noise


# ---- slicing -----------------------------------------------------------------------------------
@st.composite
def weights_and_configs(draw):
    cfg = CrossbarConfig(weight_bits=draw(st.integers(2, 16)), cell_bits=draw(st.integers(1, 8)),
                         encoding=draw(st.sampled_from(["differential", "offset"])))
    shape = draw(st.tuples(st.integers(1, 5), st.integers(1, 5)))
    q = draw(arrays(np.int64, shape, elements=st.integers(-cfg.q_max, cfg.q_max)))
    return q, cfg


@SETTINGS
@given(case=weights_and_configs())
def test_encode_decode_is_an_exact_inverse(case):
    q, cfg = case
    levels = encode_weights(q, cfg)
    c = cfg.cell_bits
    assert levels.shape == (cfg.n_signs, cfg.n_slices) + q.shape
    assert levels.dtype == np.int64
    assert levels.min() >= 0 and levels.max() <= 2**c - 1
    np.testing.assert_array_equal(decode_weights(levels, cfg), q)
    # independent recombination: m = sum_s 2**(c s) m_s
    mags = sum(levels[:, s].astype(object) * 2 ** (c * s) for s in range(cfg.n_slices))
    if cfg.encoding == "differential":
        np.testing.assert_array_equal((mags[0] - mags[1]).astype(np.int64), q)
        np.testing.assert_array_equal(np.minimum(mags[0], mags[1]).astype(np.int64), 0)
    else:
        np.testing.assert_array_equal(mags[0].astype(np.int64), q + cfg.q_max)


def test_encode_extremes_fill_every_slice():
    cfg = CrossbarConfig(weight_bits=9, cell_bits=2)  # 8 magnitude bits = 4 full slices
    levels = encode_weights(np.array([[255, -255, 0]]), cfg)
    np.testing.assert_array_equal(levels[0, :, 0, 0], [3, 3, 3, 3])
    np.testing.assert_array_equal(levels[1, :, 0, 0], [0, 0, 0, 0])
    np.testing.assert_array_equal(levels[1, :, 0, 1], [3, 3, 3, 3])
    np.testing.assert_array_equal(levels[:, :, 0, 2], 0)
    hand = encode_weights(np.array([[5, -3]]), CrossbarConfig(weight_bits=4, cell_bits=2))
    np.testing.assert_array_equal(hand[:, :, 0, :], [[[1, 0], [1, 0]], [[0, 3], [0, 0]]])


@st.composite
def inputs_and_configs(draw):
    signed = draw(st.booleans())
    input_bits = draw(st.integers(2 if signed else 1, 16))
    cfg = CrossbarConfig(input_bits=input_bits, signed_inputs=signed,
                         dac_bits=draw(st.integers(1, min(8, input_bits))))
    shape = draw(st.tuples(st.integers(1, 4), st.integers(1, 5)))
    x = draw(arrays(np.int64, shape, elements=st.integers(cfg.x_min, cfg.x_max)))
    return x, cfg


def _check_digits(x: np.ndarray, cfg: CrossbarConfig) -> None:
    digits = input_digits(x, cfg)
    assert digits.shape == (cfg.n_cycles,) + x.shape
    assert digits.min() >= 0 and digits.max() <= 2**cfg.dac_bits - 1
    if cfg.signed_inputs:
        np.testing.assert_array_equal(digits[-1], (x < 0).astype(np.int64))
    weights = np.asarray(cfg.cycle_weights, dtype=np.int64)
    np.testing.assert_array_equal(np.tensordot(weights, digits, axes=1), x)


@SETTINGS
@given(case=inputs_and_configs())
def test_input_digits_recombine_to_x(case):
    _check_digits(*case)


@pytest.mark.parametrize("signed", [False, True])
@pytest.mark.parametrize("dac_bits", [1, 2, 3, 8])
def test_input_digits_at_the_range_ends(signed, dac_bits):
    cfg = CrossbarConfig(input_bits=8, signed_inputs=signed, dac_bits=dac_bits)
    x = np.array([[cfg.x_min, cfg.x_max, 0, 1, -1 if signed else 2]], dtype=np.int64)
    _check_digits(x, cfg)

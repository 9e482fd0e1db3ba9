"""Dynamic fixed-point quantization: hand cases, error bounds, properties and error messages."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from crossbar import CrossbarConfig
from crossbar.errors import ConfigError, InputError
from mapping.quantize import Quantized, quantize_activations, quantize_weights, scale_exponent

finite = st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False, allow_subnormal=False)
real_arrays = arrays(np.float64, st.integers(1, 40), elements=finite)


def _assert_at_most(err: np.ndarray, bound: float, what: str) -> None:
    """err <= bound elementwise (ties allowed), showing the values on failure."""
    np.testing.assert_array_less(err, np.nextafter(bound, np.inf), err_msg=f"{what}: bound {bound!r}")


# ---- hand-computed cases --------------------------------------------------------------------
def test_weights_hand_case_with_clamp():
    # max|w| = 0.5 = 2**-1 exactly -> s = -1, delta = 2**(-1 - 7) = 1/256; 0.5/delta = 128 -> 127.
    t = quantize_weights(np.array([0.5, -0.25, 0.1, -0.5]), weight_bits=8)
    assert t.exponent == -1 and t.scale == 2.0**-8
    np.testing.assert_array_equal(t.q, [127, -64, 26, -127])
    assert t.q.dtype == np.int64


def test_weights_round_half_to_even():
    # Wb = 4: bits = 3, max|w| = 1 -> s = 0, delta = 1/8. Values at k + 0.5 steps round to even.
    w = np.array([0.5, 1.5, -2.5, 3.5, 1.0]) / 8
    w[-1] = 1.0
    t = quantize_weights(w, weight_bits=4)
    assert (t.exponent, t.scale) == (0, 0.125)
    np.testing.assert_array_equal(t.q, [0, 2, -2, 4, 7])


def test_exponent_just_above_a_power_of_two():
    w = np.array([np.nextafter(1.0, 2.0)])
    assert scale_exponent(w) == 1
    assert scale_exponent(np.array([1.0])) == 0
    assert scale_exponent(np.array([0.75, -1.0])) == 0
    t = quantize_weights(w, weight_bits=8)  # delta = 2**(1-7): 1.0000...1 / delta = 64
    np.testing.assert_array_equal(t.q, [64])


def test_small_and_zero_tensors_use_the_floor():
    # floor 1e-5: log2(1e-5) = -16.6 -> s = -16 (the reference's EPS).
    for w in (np.zeros(3), np.array([1e-7, -3e-6])):
        t = quantize_weights(w, weight_bits=8)
        assert t.exponent == -16 and t.scale == 2.0 ** (-16 - 7)
    np.testing.assert_array_equal(quantize_weights(np.zeros(3), weight_bits=8).q, [0, 0, 0])
    np.testing.assert_array_equal(quantize_weights(np.array([1e-7, -3e-6]), weight_bits=8).q, [1, -25])


def test_reference_format_never_overflows_a_2_bit_slice():
    # The reference's sign + 8-bit magnitude (weight_bits=9): max|w| = 2**s gives x = 256 there.
    t = quantize_weights(np.array([1.0, -1.0, 0.999]), weight_bits=9)
    np.testing.assert_array_equal(t.q, [255, -255, 255])
    assert np.abs(t.q).max() // 64 <= 3  # MSB 2-bit slice fits


def test_activation_hand_cases():
    u = quantize_activations(np.array([0.0, 0.3, 1.0]), input_bits=4)  # delta = 2**(0-4)
    assert (u.exponent, u.scale) == (0, 1 / 16)
    np.testing.assert_array_equal(u.q, [0, 5, 15])
    s = quantize_activations(np.array([-1.0, 0.3, 1.0, -0.0625]), input_bits=4, signed=True)
    assert (s.exponent, s.scale) == (0, 1 / 8)  # delta = 2**(0-3); -0.5 step -> -0 (even)
    np.testing.assert_array_equal(s.q, [-8, 2, 7, 0])


def test_fixed_exponent_saturates_like_fix_fixed():
    t = quantize_activations(np.array([0.3, 3.0, 1.0]), input_bits=4, exponent=0)
    assert (t.exponent, t.scale) == (0, 1 / 16)
    np.testing.assert_array_equal(t.q, [5, 15, 15])
    huge = quantize_activations(np.array([1e300, 0.0]), input_bits=8, exponent=-1000)
    np.testing.assert_array_equal(huge.q, [255, 0])


def test_quantized_dataclass():
    t = Quantized(q=[1, -2], scale=0.5, exponent=0)
    assert t.q.dtype == np.int64 and not t.q.flags.writeable
    np.testing.assert_array_equal(t.dequantize(), [0.5, -1.0])
    with pytest.raises(ConfigError, match="scale"):
        Quantized(q=[1], scale=0.0, exponent=0)
    with pytest.raises(InputError, match="integer"):
        Quantized(q=[0.5], scale=1.0, exponent=0)


# ---- properties -------------------------------------------------------------------------------
@settings(max_examples=60, deadline=None)
@given(w=real_arrays, weight_bits=st.integers(2, 16))
def test_weight_error_bound_and_range(w, weight_bits):
    t = quantize_weights(w, weight_bits=weight_bits)
    q_max = CrossbarConfig(weight_bits=weight_bits).q_max
    assert t.q.dtype == np.int64 and t.q.shape == w.shape
    assert np.abs(t.q).max() <= q_max
    assert t.scale == 2.0 ** (t.exponent - (weight_bits - 1))
    if np.abs(w).max() >= 1e-5:
        assert 2.0 ** (t.exponent - 1) < np.abs(w).max() <= 2.0**t.exponent
    err = np.abs(w - t.dequantize())
    clamped = np.abs(t.q) == q_max
    # rint(w / delta) with an exact power-of-two delta: |error| <= delta / 2 exactly; at the clamp
    # the error is at most one step (|w| <= 2**s = (q_max + 1) * delta).
    _assert_at_most(err[~clamped], t.scale / 2, "inside the range")
    _assert_at_most(err[clamped], t.scale, "at the clamp")


@settings(max_examples=60, deadline=None)
@given(a=real_arrays, input_bits=st.integers(2, 16), signed=st.booleans())
def test_activation_error_bound_and_range(a, input_bits, signed):
    if not signed:
        a = np.abs(a)
    cfg = CrossbarConfig(input_bits=input_bits, signed_inputs=signed)
    t = quantize_activations(a, input_bits=input_bits, signed=signed)
    assert t.q.dtype == np.int64
    assert cfg.x_min <= t.q.min() and t.q.max() <= cfg.x_max
    err = np.abs(a - t.dequantize())
    at_top = t.q == cfg.x_max
    _assert_at_most(err[~at_top], t.scale / 2, "inside the range")
    _assert_at_most(err[at_top], t.scale, "at the clamp")


@settings(max_examples=40, deadline=None)
@given(w=real_arrays, k=st.integers(-20, 20))
def test_power_of_two_rescaling_is_exact(w, k):
    m = np.abs(w).max()
    assume(min(m, m * 2.0**k) >= 1e-5)  # above the 1e-5 floor of the exponent
    a = quantize_weights(w, weight_bits=8)
    b = quantize_weights(np.ldexp(w, k), weight_bits=8)
    np.testing.assert_array_equal(a.q, b.q)
    assert b.exponent == a.exponent + k


@settings(max_examples=40, deadline=None)
@given(a=real_arrays, input_bits=st.integers(1, 12))
def test_fixed_exponent_round_trip_is_identity(a, input_bits):
    t = quantize_activations(np.abs(a), input_bits=input_bits)
    again = quantize_activations(t.dequantize(), input_bits=input_bits, exponent=t.exponent)
    np.testing.assert_array_equal(again.q, t.q)


def test_deterministic_and_input_untouched(rng):
    w = rng.standard_normal((17, 5)).astype(np.float32)
    before = w.copy()
    a, b = quantize_weights(w, weight_bits=6), quantize_weights(w, weight_bits=6)
    np.testing.assert_array_equal(a.q, b.q)
    assert (a.scale, a.exponent) == (b.scale, b.exponent)
    np.testing.assert_array_equal(w, before)
    assert quantize_weights(w.astype(np.float64), weight_bits=6).q.tolist() == a.q.tolist()


# ---- errors -----------------------------------------------------------------------------------
@pytest.mark.parametrize("bad", [1, 25, 8.0, True, "8"])
def test_bad_weight_bits(bad):
    with pytest.raises(ConfigError, match=rf"weight_bits.*{bad!r}"):
        quantize_weights(np.ones(2), weight_bits=bad)


@pytest.mark.parametrize(("bits", "signed"), [(0, False), (25, False), (1, True)])
def test_bad_input_bits(bits, signed):
    with pytest.raises(ConfigError, match=rf"input_bits.*got {bits}"):
        quantize_activations(np.ones(2), input_bits=bits, signed=signed)


def test_bits_ranges_match_crossbar_config():
    for bits in (2, 24):
        quantize_weights(np.ones(1), weight_bits=bits)
        CrossbarConfig(weight_bits=bits)
    quantize_activations(np.ones(1), input_bits=1)
    quantize_activations(np.ones(1), input_bits=2, signed=True)


def test_negative_unsigned_activations_name_the_count():
    with pytest.raises(InputError, match=r"2 negative.*signed=True"):
        quantize_activations(np.array([0.5, -0.1, -2.0]), input_bits=8)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_values(bad):
    with pytest.raises(InputError, match=r"w must be finite.*(1 NaN|1 inf)"):
        quantize_weights(np.array([0.5, bad]), weight_bits=8)
    with pytest.raises(InputError, match="a must be finite"):
        quantize_activations(np.array([0.5, bad]), input_bits=8, signed=True)


def test_bad_dtype_signed_and_exponent():
    with pytest.raises(InputError, match="dtype"):
        quantize_weights(np.array([True, False]), weight_bits=8)
    with pytest.raises(InputError, match="dtype"):
        quantize_weights(np.array([1 + 1j]), weight_bits=8)
    with pytest.raises(ConfigError, match="signed must be True or False; got 1"):
        quantize_activations(np.ones(2), input_bits=8, signed=1)
    with pytest.raises(ConfigError, match=r"exponent must be an integer in \[-1014, 1031\].*got 2000"):
        quantize_activations(np.ones(2), input_bits=8, exponent=2000)
    with pytest.raises(ConfigError, match="exponent.*got 1.5"):
        quantize_activations(np.ones(2), input_bits=8, exponent=1.5)

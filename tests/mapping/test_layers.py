"""Layer specs, im2col lowering (vs a direct oracle and torch) and the integer crossbar path."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from crossbar import CrossbarConfig, program
from crossbar.errors import ConfigError, InputError, ShapeError
from mapping.layers import (
    Conv2dSpec,
    LinearSpec,
    col2im_output,
    conv2d_reference,
    im2col,
    lower_layer,
    weight_matrix,
)

EPS64 = np.finfo(np.float64).eps


@st.composite
def conv_cases(draw):
    """A small random convolution: spec, input, weights and bias (float64)."""
    kh, kw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    ph, pw = draw(st.integers(0, 2)), draw(st.integers(0, 2))
    h = draw(st.integers(max(1, kh - 2 * ph), 9))
    w = draw(st.integers(max(1, kw - 2 * pw), 9))
    spec = Conv2dSpec(in_channels=draw(st.integers(1, 3)), out_channels=draw(st.integers(1, 4)),
                      kernel_size=(kh, kw), stride=(draw(st.integers(1, 3)), draw(st.integers(1, 3))),
                      padding=(ph, pw), bias=draw(st.booleans()))
    r = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    x = r.standard_normal((draw(st.integers(1, 3)), spec.in_channels, h, w))
    wt = r.standard_normal((spec.out_channels, spec.in_channels, kh, kw))
    b = r.standard_normal(spec.out_channels) if spec.bias else None
    return spec, x, wt, b


def _conv_via_im2col(spec, x, wt, b):
    y = im2col(x, spec) @ weight_matrix(spec, wt)
    out = col2im_output(y, spec, x.shape[0], x.shape[2:])
    return out if b is None else out + b[None, :, None, None]


def _tol(x, wt, spec):
    """Absolute tolerance of a float64 dot product of length n over |x| |w| (summation bound)."""
    n = spec.matrix_shape[0]
    return 4 * n * EPS64 * max(1.0, np.abs(x).max() * np.abs(wt).max() * n)


# ---- specs ------------------------------------------------------------------------------------
def test_spec_shapes_and_macs():
    lin = LinearSpec(in_features=784, out_features=100, name="fc1")
    assert lin.matrix_shape == (784, 100) and lin.macs() == 78_400 and lin.bias
    conv = Conv2dSpec(in_channels=3, out_channels=8, kernel_size=(3, 5), stride=2, padding=(1, 0))
    assert conv.kernel_size == (3, 5) and conv.stride == (2, 2) and conv.padding == (1, 0)
    assert conv.matrix_shape == (45, 8)
    assert conv.output_hw((9, 11)) == (5, 4)  # (9+2-3)//2+1, (11-5)//2+1
    assert conv.macs((9, 11)) == 5 * 4 * 45 * 8


@pytest.mark.parametrize(
    ("kwargs", "pattern"),
    [
        ({"in_channels": 0}, r"Conv2dSpec.in_channels must be an integer >= 1; got 0"),
        ({"out_channels": 2.0}, r"out_channels must be an integer >= 1; got 2.0"),
        ({"kernel_size": (3, 0)}, r"kernel_size must be an int or a pair.*got \(3, 0\)"),
        ({"kernel_size": (1, 2, 3)}, r"kernel_size .*got \(1, 2, 3\)"),
        ({"stride": 0}, r"stride .* >= 1; got 0"),
        ({"padding": -1}, r"padding .* >= 0; got -1"),
        ({"bias": 1}, r"bias must be True or False; got 1"),
    ],
)
def test_conv_spec_validation(kwargs, pattern):
    base = {"in_channels": 1, "out_channels": 1, "kernel_size": 3}
    with pytest.raises(ConfigError, match=pattern):
        Conv2dSpec(**{**base, **kwargs})


def test_linear_spec_validation_and_output_hw_errors():
    with pytest.raises(ConfigError, match=r"LinearSpec.in_features must be an integer >= 1; got -3"):
        LinearSpec(in_features=-3, out_features=2)
    with pytest.raises(ConfigError, match=r"LinearSpec.name must be a string; got 5"):
        LinearSpec(in_features=3, out_features=2, name=5)
    spec = Conv2dSpec(in_channels=1, out_channels=1, kernel_size=5, padding=1)
    with pytest.raises(ShapeError, match=r"smaller than kernel_size \(5, 5\)"):
        spec.output_hw((2, 9))
    with pytest.raises(ShapeError, match=r"input_hw must be \(H, W\).*got \(0, 3\)"):
        spec.output_hw((0, 3))


# ---- lowering, hand cases ---------------------------------------------------------------------
def test_weight_matrix_row_order_matches_im2col():
    spec = Conv2dSpec(in_channels=2, out_channels=1, kernel_size=2, bias=False)
    wt = np.arange(8.0).reshape(1, 2, 2, 2)  # w[0, c, i, j] = 4 c + 2 i + j
    np.testing.assert_array_equal(weight_matrix(spec, wt)[:, 0], np.arange(8.0))
    x = np.arange(18.0).reshape(1, 2, 3, 3)
    cols = im2col(x, spec)
    assert cols.shape == (4, 8)
    np.testing.assert_array_equal(cols[0], [0, 1, 3, 4, 9, 10, 12, 13])  # (c, i, j) order


def test_im2col_padding_and_stride_by_hand():
    spec = Conv2dSpec(in_channels=1, out_channels=1, kernel_size=2, stride=2, padding=1)
    x = np.arange(1, 5).reshape(1, 1, 2, 2)  # [[1, 2], [3, 4]] padded to 4x4
    cols = im2col(x, spec)
    assert cols.dtype == x.dtype
    np.testing.assert_array_equal(cols, [[0, 0, 0, 1], [0, 0, 2, 0], [0, 3, 0, 0], [4, 0, 0, 0]])


def test_lowering_shape_errors():
    spec = Conv2dSpec(in_channels=2, out_channels=3, kernel_size=3)
    with pytest.raises(ShapeError, match=r"w for .* must have shape \(3, 2, 3, 3\); got \(3, 2, 3\)"):
        weight_matrix(spec, np.zeros((3, 2, 3)))
    with pytest.raises(ShapeError, match=r"x must be \(batch, 2, H, W\); got shape \(1, 3, 5, 5\)"):
        im2col(np.zeros((1, 3, 5, 5)), spec)
    with pytest.raises(ShapeError, match=r"y must have shape \(18, 3\)"):
        col2im_output(np.zeros((17, 3)), spec, 2, (5, 5))
    with pytest.raises(ConfigError, match="im2col: spec must be a Conv2dSpec; got LinearSpec"):
        im2col(np.zeros((1, 2, 5, 5)), LinearSpec(in_features=2, out_features=1))
    with pytest.raises(ShapeError, match=r"lower_layer: x must be \(batch, 4\); got shape \(2, 3\)"):
        lower_layer(LinearSpec(in_features=4, out_features=2), np.ones((2, 4)), np.ones((2, 3)),
                    weight_bits=8, input_bits=8)
    with pytest.raises(InputError, match="real-valued"):
        weight_matrix(LinearSpec(in_features=1, out_features=1), np.array([["a"]]))


# ---- lowering, oracles ------------------------------------------------------------------------
@settings(max_examples=40, deadline=None)
@given(case=conv_cases())
def test_im2col_matches_direct_reference(case):
    spec, x, wt, b = case
    np.testing.assert_allclose(_conv_via_im2col(spec, x, wt, b), conv2d_reference(x, wt, b, spec),
                               rtol=0, atol=_tol(x, wt, spec), err_msg=repr(spec))


@settings(max_examples=25, deadline=None)
@given(case=conv_cases())
def test_im2col_matches_torch_conv2d(case):
    spec, x, wt, b = case
    want = torch.nn.functional.conv2d(
        torch.from_numpy(x), torch.from_numpy(wt), None if b is None else torch.from_numpy(b),
        stride=spec.stride, padding=spec.padding).numpy()
    atol = _tol(x, wt, spec)
    np.testing.assert_allclose(_conv_via_im2col(spec, x, wt, b), want, rtol=0, atol=atol, err_msg=repr(spec))
    np.testing.assert_allclose(conv2d_reference(x, wt, b, spec), want, rtol=0, atol=atol, err_msg=repr(spec))


def test_linear_weight_matrix_matches_torch(rng):
    spec = LinearSpec(in_features=7, out_features=3)
    w, b, x = rng.standard_normal((3, 7)), rng.standard_normal(3), rng.standard_normal((5, 7))
    want = torch.nn.functional.linear(torch.from_numpy(x), torch.from_numpy(w), torch.from_numpy(b)).numpy()
    np.testing.assert_allclose(x @ weight_matrix(spec, w) + b, want, rtol=0, atol=7 * 4 * EPS64 * 10)


# ---- the integer path through the crossbar ----------------------------------------------------
def _error_bound(x, wmat, low):
    """Bound on |x @ W - dx dw (x_int @ q)|, shape ``(rows, n_out)``.

    With ``x_hat = x + ex``, ``W_hat = W + ew``, ``|ex| <= dx`` and ``|ew| <= dw`` (one step covers
    the clamp): ``|x_hat W_hat - x W| <= dx sum|W| + dw sum|x| + n dx dw``, plus the float64 rounding
    of ``x @ W`` (``n eps |x| @ |W|``; the dequantized integer product is exact).
    """
    n = x.shape[1]
    dx, dw = low.x_scale, low.w_scale
    quant = dx * np.abs(wmat).sum(axis=0)[None, :] + dw * np.abs(x).sum(axis=1)[:, None] + n * dx * dw
    return quant + 2 * n * EPS64 * (np.abs(x) @ np.abs(wmat))


@pytest.mark.parametrize("signed", [False, True])
def test_linear_integer_path_is_exact_and_within_quantization_error(rng, signed):
    spec = LinearSpec(in_features=37, out_features=6, bias=False)
    w = rng.standard_normal((6, 37)) * 0.2
    x = rng.standard_normal((4, 37)) if signed else rng.uniform(0.0, 3.0, (4, 37))
    cfg = CrossbarConfig(weight_bits=8, input_bits=8, rows=16, signed_inputs=signed)
    low = lower_layer(spec, w, x, weight_bits=8, input_bits=8, signed_inputs=signed)
    assert low.x_int.dtype == np.int64 and low.q.dtype == np.int64
    assert low.x_int.shape == (4, 37) and low.q.shape == spec.matrix_shape
    m = program(low.q, cfg)
    exact = low.x_int @ low.q
    for fast_path in (True, False):
        np.testing.assert_array_equal(m.matmul(low.x_int, fast_path=fast_path), exact)
    got = low.x_scale * low.w_scale * exact
    wmat = weight_matrix(spec, w)
    np.testing.assert_array_less(np.abs(got - x @ wmat), _error_bound(x, wmat, low))


def test_conv_integer_path_is_exact_and_within_quantization_error(rng):
    spec = Conv2dSpec(in_channels=3, out_channels=5, kernel_size=3, stride=2, padding=1, bias=True)
    x = rng.uniform(0.0, 1.0, (2, 3, 7, 6))
    wt, b = rng.standard_normal((5, 3, 3, 3)) * 0.1, rng.standard_normal(5)
    low = lower_layer(spec, wt, x, weight_bits=8, input_bits=8)
    h_out, w_out = spec.output_hw((7, 6))
    assert low.x_int.shape == (2 * h_out * w_out, 27) and low.x_int.dtype == np.int64
    cfg = CrossbarConfig(weight_bits=8, input_bits=8, rows=16)
    assert low.x_int.min() >= cfg.x_min and low.x_int.max() <= cfg.x_max
    exact = low.x_int @ low.q
    y_xbar = program(low.q, cfg).matmul(low.x_int, fast_path=False)
    np.testing.assert_array_equal(y_xbar, exact)
    got = col2im_output(low.x_scale * low.w_scale * y_xbar, spec, 2, (7, 6)) + b[None, :, None, None]
    want = conv2d_reference(x, wt, b, spec)
    # the bound per output pixel uses that pixel's patch (padding zeros quantize exactly).
    bound = col2im_output(_error_bound(im2col(x, spec), weight_matrix(spec, wt), low), spec, 2, (7, 6))
    np.testing.assert_array_less(np.abs(got - want), bound + _tol(x, wt, spec))


def test_lower_layer_is_deterministic_and_rejects_negative_unsigned_inputs(rng):
    spec = LinearSpec(in_features=4, out_features=2)
    w, x = rng.standard_normal((2, 4)), rng.uniform(0, 1, (3, 4))
    a = lower_layer(spec, w, x, weight_bits=6, input_bits=5)
    b = lower_layer(spec, w, x, weight_bits=6, input_bits=5)
    for u, v in zip(a, b, strict=True):
        np.testing.assert_array_equal(u, v)
    x[0, 0] = -0.5
    with pytest.raises(InputError, match=r"1 negative.*signed=True"):
        lower_layer(spec, w, x, weight_bits=6, input_bits=5)

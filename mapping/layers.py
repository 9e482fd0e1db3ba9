"""Framework-free layer specs and their lowering to integer matrices (numpy only).

A layer becomes one matrix product on the crossbar, with rows = inputs (the physical layout of
:func:`crossbar.program`):

* ``Linear``: ``y = x @ W.T`` with torch's ``W`` of shape ``(out, in)``; the matrix is
  ``W.T``, ``(in, out)``.
* ``Conv2d`` (groups 1, dilation 1) via im2col: each output pixel's receptive field is one row
  of ``im2col(x)``, ``(batch * H_out * W_out, C * kh * kw)``, flattened in ``(c, i, j)`` order
  (channel slowest, as ``torch.nn.functional.unfold``); the matrix is ``W.reshape(out, -1).T``,
  ``(C * kh * kw, out)``; :func:`col2im_output` turns the ``(batch * H_out * W_out, out)``
  product back into ``(batch, out, H_out, W_out)``.

Biases are not part of the matrix: the caller adds them digitally after dequantizing.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from crossbar.errors import ConfigError, InputError, ShapeError
from mapping.quantize import quantize_activations, quantize_weights


def _check_size(owner: str, name: str, value, lo: int) -> int:
    if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < lo:
        raise ConfigError(f"{owner}.{name} must be an integer >= {lo}; got {value!r}.")
    return int(value)


def _check_pair(owner: str, name: str, value, lo: int) -> tuple[int, int]:
    pair = (value, value) if isinstance(value, numbers.Integral) and not isinstance(value, bool) else value
    if not isinstance(pair, (tuple, list)) or len(pair) != 2:
        raise ConfigError(f"{owner}.{name} must be an int or a pair of ints (h, w) >= {lo}; got {value!r}.")
    try:
        return tuple(_check_size(owner, name, v, lo) for v in pair)
    except ConfigError:
        raise ConfigError(
            f"{owner}.{name} must be an int or a pair of ints (h, w) >= {lo}; got {value!r}."
        ) from None


def _check_common(owner: str, bias, name) -> None:
    if not isinstance(bias, bool):
        raise ConfigError(f"{owner}.bias must be True or False; got {bias!r}.")
    if not isinstance(name, str):
        raise ConfigError(f"{owner}.name must be a string; got {name!r}.")


@dataclass(frozen=True, slots=True, kw_only=True)
class LinearSpec:
    """A fully connected layer ``y = x @ W.T + b`` (torch ``nn.Linear`` layout).

    Example:
        >>> spec = LinearSpec(in_features=64, out_features=10, name="fc2")
        >>> spec.matrix_shape, spec.macs()
        ((64, 10), 640)
    """

    in_features: int
    """Inputs per sample ``n_in`` [1]."""
    out_features: int
    """Outputs per sample ``n_out`` [1]."""
    bias: bool = True
    """Whether the layer has a bias (added digitally, not on the crossbar)."""
    name: str = ""
    """Layer name, for reports."""

    def __post_init__(self) -> None:
        """Validate and normalize the fields (raises ConfigError/InputError)."""
        object.__setattr__(self, "in_features", _check_size("LinearSpec", "in_features", self.in_features, 1))
        object.__setattr__(self, "out_features",
                           _check_size("LinearSpec", "out_features", self.out_features, 1))
        _check_common("LinearSpec", self.bias, self.name)

    @property
    def matrix_shape(self) -> tuple[int, int]:
        """Crossbar matrix ``(n_in, n_out) = (in_features, out_features)``."""
        return (self.in_features, self.out_features)

    def macs(self, input_hw: tuple[int, int] | None = None) -> int:
        """Multiply-accumulates per sample, ``in_features * out_features``.

        Args:
            input_hw: Ignored (accepted so every spec has the same signature).

        Returns:
            MACs per sample [1].
        """
        return self.in_features * self.out_features


@dataclass(frozen=True, slots=True, kw_only=True)
class Conv2dSpec:
    """A 2-D convolution (torch ``nn.Conv2d`` layout, ``groups=1``, ``dilation=1``).

    ``kernel_size``, ``stride`` and ``padding`` accept an int (square) and are stored as
    ``(h, w)`` tuples. Padding is zeros.

    Example:
        >>> spec = Conv2dSpec(in_channels=3, out_channels=16, kernel_size=3, padding=1)
        >>> spec.matrix_shape, spec.output_hw((32, 32)), spec.macs((32, 32))
        ((27, 16), (32, 32), 442368)
    """

    in_channels: int
    """Input channels ``C`` [1]."""
    out_channels: int
    """Output channels (crossbar columns) [1]."""
    kernel_size: tuple[int, int]
    """Kernel ``(kh, kw)`` [pixels]."""
    stride: tuple[int, int] = (1, 1)
    """Stride ``(sh, sw)`` [pixels]."""
    padding: tuple[int, int] = (0, 0)
    """Zero padding on each side ``(ph, pw)`` [pixels]."""
    bias: bool = True
    """Whether the layer has a bias (added digitally, not on the crossbar)."""
    name: str = ""
    """Layer name, for reports."""

    def __post_init__(self) -> None:
        """Validate and normalize the fields (raises ConfigError/InputError)."""
        own = "Conv2dSpec"
        object.__setattr__(self, "in_channels", _check_size(own, "in_channels", self.in_channels, 1))
        object.__setattr__(self, "out_channels", _check_size(own, "out_channels", self.out_channels, 1))
        object.__setattr__(self, "kernel_size", _check_pair(own, "kernel_size", self.kernel_size, 1))
        object.__setattr__(self, "stride", _check_pair(own, "stride", self.stride, 1))
        object.__setattr__(self, "padding", _check_pair(own, "padding", self.padding, 0))
        _check_common(own, self.bias, self.name)

    @property
    def matrix_shape(self) -> tuple[int, int]:
        """Crossbar matrix ``(in_channels * kh * kw, out_channels)``."""
        kh, kw = self.kernel_size
        return (self.in_channels * kh * kw, self.out_channels)

    def output_hw(self, input_hw: tuple[int, int]) -> tuple[int, int]:
        """Output size ``(H + 2 p - k) // s + 1`` per axis.

        Args:
            input_hw: Input ``(H, W)`` [pixels].

        Returns:
            ``(H_out, W_out)`` [pixels].

        Raises:
            ShapeError: ``input_hw`` is not two positive ints, or the padded input is smaller
                than the kernel.

        Example:
            >>> Conv2dSpec(in_channels=1, out_channels=1, kernel_size=3, stride=2).output_hw((7, 8))
            (3, 3)
        """
        ok = isinstance(input_hw, (tuple, list)) and len(input_hw) == 2 and all(
            isinstance(v, numbers.Integral) and not isinstance(v, bool) and v >= 1 for v in input_hw)
        if not ok:
            raise ShapeError(f"Conv2dSpec.output_hw: input_hw must be (H, W), ints >= 1; got {input_hw!r}.")
        out = []
        for size, k, s, p in zip(input_hw, self.kernel_size, self.stride, self.padding, strict=True):
            if size + 2 * p < k:
                raise ShapeError(
                    f"Conv2dSpec{' ' + self.name if self.name else ''}: input_hw {tuple(input_hw)} "
                    f"padded by {self.padding} is smaller than kernel_size {self.kernel_size}."
                )
            out.append((int(size) + 2 * p - k) // s + 1)
        return (out[0], out[1])

    def macs(self, input_hw: tuple[int, int]) -> int:
        """Multiply-accumulates per sample, ``H_out * W_out * C * kh * kw * out_channels``.

        Args:
            input_hw: Input ``(H, W)`` [pixels].

        Returns:
            MACs per sample [1].
        """
        h, w = self.output_hw(input_hw)
        n_in, n_out = self.matrix_shape
        return h * w * n_in * n_out


LayerSpec = LinearSpec | Conv2dSpec


def _as_float(a, name: str) -> np.ndarray:
    arr = np.asarray(a)
    if not (np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer)):
        raise InputError(f"{name} must be a real-valued array; got dtype {arr.dtype}.")
    return arr.astype(np.float64)


def _check_conv_input(x: np.ndarray, spec: Conv2dSpec, where: str) -> None:
    if x.ndim != 4 or x.shape[1] != spec.in_channels:
        raise ShapeError(f"{where}: x must be (batch, {spec.in_channels}, H, W); got shape {x.shape}.")


def _weight_shape(spec: LayerSpec) -> tuple[int, ...]:
    if isinstance(spec, LinearSpec):
        return (spec.out_features, spec.in_features)
    if isinstance(spec, Conv2dSpec):
        return (spec.out_channels, spec.in_channels) + spec.kernel_size
    raise ConfigError(f"spec must be a LinearSpec or Conv2dSpec; got {type(spec).__name__}.")


def weight_matrix(spec: LayerSpec, w) -> np.ndarray:
    """Lower torch-layout weights to the physical crossbar matrix (rows = inputs).

    Args:
        spec: The layer.
        w: Weights, ``(out, in)`` for Linear or ``(out, C, kh, kw)`` for Conv2d.

    Returns:
        ``spec.matrix_shape`` = ``(n_in, n_out)``, float64, C-contiguous; Conv2d rows are in the
        ``(c, i, j)`` order of :func:`im2col`.

    Raises:
        ShapeError: ``w`` does not have the spec's weight shape.

    Example:
        >>> weight_matrix(LinearSpec(in_features=3, out_features=2), np.arange(6).reshape(2, 3)).tolist()
        [[0.0, 3.0], [1.0, 4.0], [2.0, 5.0]]
    """
    want = _weight_shape(spec)
    w = _as_float(w, "w")
    if w.shape != want:
        raise ShapeError(f"weight_matrix: w for {spec!r} must have shape {want}; got {w.shape}.")
    return np.ascontiguousarray(w.reshape(want[0], -1).T)


def im2col(x, spec: Conv2dSpec) -> np.ndarray:
    """Unfold zero-padded, strided receptive fields into rows (dtype preserved).

    Args:
        x: Inputs, shape ``(batch, C, H, W)``, any real or integer dtype.
        spec: The convolution.

    Returns:
        Patches, shape ``(batch * H_out * W_out, C * kh * kw)``, rows in ``(b, h_out, w_out)``
        order, columns in ``(c, i, j)`` order, same dtype as ``x``.

    Raises:
        ShapeError: ``x`` is not ``(batch, in_channels, H, W)`` or is smaller than the kernel.

    Example:
        >>> spec = Conv2dSpec(in_channels=1, out_channels=1, kernel_size=2)
        >>> im2col(np.arange(9).reshape(1, 1, 3, 3), spec).tolist()
        [[0, 1, 3, 4], [1, 2, 4, 5], [3, 4, 6, 7], [4, 5, 7, 8]]
    """
    if not isinstance(spec, Conv2dSpec):
        raise ConfigError(f"im2col: spec must be a Conv2dSpec; got {type(spec).__name__}.")
    x = np.asarray(x)
    _check_conv_input(x, spec, "im2col")
    h_out, w_out = spec.output_hw(x.shape[2:])
    (ph, pw), (sh, sw) = spec.padding, spec.stride
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    win = np.lib.stride_tricks.sliding_window_view(xp, spec.kernel_size, axis=(2, 3))
    win = win[:, :, : (h_out - 1) * sh + 1 : sh, : (w_out - 1) * sw + 1 : sw]  # (B, C, Ho, Wo, kh, kw)
    return win.transpose(0, 2, 3, 1, 4, 5).reshape(x.shape[0] * h_out * w_out, -1)


def col2im_output(y, spec: Conv2dSpec, batch: int, input_hw: tuple[int, int]) -> np.ndarray:
    """Reshape the matmul result of :func:`im2col` rows back to an NCHW feature map.

    Args:
        y: Products, shape ``(batch * H_out * W_out, out_channels)``.
        spec: The convolution.
        batch: Number of samples [1].
        input_hw: Input ``(H, W)`` the patches were taken from [pixels].

    Returns:
        ``(batch, out_channels, H_out, W_out)``, same dtype as ``y`` (C-contiguous).

    Raises:
        ShapeError: ``y`` has the wrong shape.

    Example:
        >>> spec = Conv2dSpec(in_channels=1, out_channels=2, kernel_size=1)
        >>> col2im_output(np.arange(8).reshape(4, 2), spec, 1, (2, 2))[0, 1].tolist()
        [[1, 3], [5, 7]]
    """
    y = np.asarray(y)
    h_out, w_out = spec.output_hw(input_hw)
    want = (batch * h_out * w_out, spec.out_channels)
    if y.shape != want:
        raise ShapeError(f"col2im_output: y must have shape {want} for batch={batch}, "
                         f"input_hw={tuple(input_hw)}; got {y.shape}.")
    return np.ascontiguousarray(y.reshape(batch, h_out, w_out, spec.out_channels).transpose(0, 3, 1, 2))


def conv2d_reference(x, w, b, spec: Conv2dSpec) -> np.ndarray:
    """Direct float64 convolution (sum over kernel offsets), the oracle for im2col lowering.

    Args:
        x: Inputs, shape ``(batch, C, H, W)``.
        w: Weights, shape ``(out, C, kh, kw)``.
        b: Bias, shape ``(out,)``, or ``None`` for no bias.
        spec: The convolution.

    Returns:
        ``(batch, out, H_out, W_out)`` float64.

    Raises:
        ShapeError: Mismatched shapes.

    Example:
        >>> spec = Conv2dSpec(in_channels=1, out_channels=1, kernel_size=2, bias=False)
        >>> x = np.arange(9).reshape(1, 1, 3, 3)
        >>> conv2d_reference(x, np.ones((1, 1, 2, 2)), None, spec)[0, 0].tolist()
        [[8.0, 12.0], [20.0, 24.0]]
    """
    x = _as_float(x, "x")
    _check_conv_input(x, spec, "conv2d_reference")
    w = _as_float(w, "w")
    if w.shape != _weight_shape(spec):
        raise ShapeError(f"conv2d_reference: w must have shape {_weight_shape(spec)}; got {w.shape}.")
    h_out, w_out = spec.output_hw(x.shape[2:])
    (ph, pw), (sh, sw) = spec.padding, spec.stride
    xp = np.zeros(x.shape[:2] + (x.shape[2] + 2 * ph, x.shape[3] + 2 * pw))
    xp[:, :, ph : ph + x.shape[2], pw : pw + x.shape[3]] = x
    out = np.zeros((x.shape[0], spec.out_channels, h_out, w_out))
    for i in range(spec.kernel_size[0]):
        for j in range(spec.kernel_size[1]):
            tap = xp[:, :, i : i + (h_out - 1) * sh + 1 : sh, j : j + (w_out - 1) * sw + 1 : sw]
            out += np.einsum("bchw,oc->bohw", tap, w[:, :, i, j])
    if b is not None:
        b = _as_float(b, "b")
        if b.shape != (spec.out_channels,):
            raise ShapeError(f"conv2d_reference: b must have shape ({spec.out_channels},); got {b.shape}.")
        out += b[None, :, None, None]
    return out


class LoweredLayer(NamedTuple):
    """Integer matmul operands of a layer: ``output ~= x_scale * w_scale * (x_int @ q)``."""

    x_int: np.ndarray
    """Quantized inputs ``(n_rows, n_in)`` int64: ``(batch, in)`` or im2col ``(batch*Ho*Wo, C*kh*kw)``."""
    q: np.ndarray
    """Quantized weights ``(n_in, n_out)`` int64 in ``[-q_max, q_max]``."""
    x_scale: float
    """Input step ``delta_x`` [units of x]."""
    w_scale: float
    """Weight step ``delta_w`` [units of w]."""


def lower_layer(spec: LayerSpec, w, x, *, weight_bits: int, input_bits: int,
                signed_inputs: bool = False) -> LoweredLayer:
    """Quantize a layer's activations and weights and lower it to one integer matmul.

    Activations are quantized per tensor *before* im2col (padding zeros stay zero); weights per
    tensor with :func:`~mapping.quantize.quantize_weights`. The bias is left to the caller.

    Args:
        spec: The layer.
        w: Torch-layout weights, ``(out, in)`` or ``(out, C, kh, kw)``.
        x: Inputs, ``(batch, in_features)`` or ``(batch, C, H, W)``.
        weight_bits: Signed weight precision, as ``CrossbarConfig.weight_bits`` [bit].
        input_bits: Input precision, as ``CrossbarConfig.input_bits`` [bit].
        signed_inputs: Quantize ``x`` as two's complement (``CrossbarConfig.signed_inputs``).

    Returns:
        ``LoweredLayer(x_int, q, x_scale, w_scale)``; for Conv2d, pass
        ``x_scale * w_scale * (x_int @ q)`` to :func:`col2im_output`.

    Raises:
        ShapeError: ``x`` or ``w`` does not match ``spec``.
        ConfigError, InputError: see :func:`~mapping.quantize.quantize_activations`.

    Example:
        >>> spec = LinearSpec(in_features=2, out_features=1, bias=False)
        >>> low = lower_layer(spec, np.array([[0.5, -0.25]]), np.array([[1.0, 0.5]]),
        ...                   weight_bits=8, input_bits=8)
        >>> low.q.tolist(), low.x_int.tolist(), low.x_scale * low.w_scale * (low.x_int @ low.q).item()
        ([[127], [-64]], [[255, 128]], 0.3691558837890625)
    """
    q = quantize_weights(weight_matrix(spec, w), weight_bits=weight_bits)
    x_arr = np.asarray(x)
    if isinstance(spec, LinearSpec):
        if x_arr.ndim != 2 or x_arr.shape[1] != spec.in_features:
            raise ShapeError(f"lower_layer: x must be (batch, {spec.in_features}); got shape {x_arr.shape}.")
        xq = quantize_activations(x_arr, input_bits=input_bits, signed=signed_inputs)
        x_int = xq.q
    else:
        _check_conv_input(x_arr, spec, "lower_layer")
        spec.output_hw(x_arr.shape[2:])
        xq = quantize_activations(x_arr, input_bits=input_bits, signed=signed_inputs)
        x_int = np.ascontiguousarray(im2col(xq.q, spec))
    return LoweredLayer(x_int=x_int, q=q.q, x_scale=xq.scale, w_scale=q.scale)

"""Straight-through rounding and dynamic fixed-point quantization in torch (CPU or CUDA).

The torch twins of :mod:`mapping.quantize` (tests check that they agree), as autograd nodes:
one Numba pass per quantizer on CPU. The device noise of stored weights is in
:mod:`mapping.nn.device_noise`.
"""

from __future__ import annotations

import math

import numba
import numpy as np
import torch

from crossbar._kernels import njit_kernel
from crossbar.config import CrossbarConfig
from crossbar.errors import InputError


class _RoundSTE(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):  # noqa: D102
        return torch.round(x)  # half to even, like numpy.rint

    @staticmethod
    def backward(ctx, grad):  # noqa: D102
        return grad


class _FloorSTE(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):  # noqa: D102
        return torch.floor(x)

    @staticmethod
    def backward(ctx, grad):  # noqa: D102
        return grad


def round_ste(x: torch.Tensor) -> torch.Tensor:
    """``round`` (half to even) with an identity gradient."""
    return _RoundSTE.apply(x)


def floor_ste(x: torch.Tensor) -> torch.Tensor:
    """``floor`` with an identity gradient."""
    return _FloorSTE.apply(x)


def _exponent(m: float) -> int:
    if not math.isfinite(m):
        raise InputError(f"tensor to quantize holds NaN or inf (max |x| = {m}); nothing is clipped.")
    return math.ceil(math.log2(max(m, 1e-5)))


def _on_cpu_kernel(x: torch.Tensor) -> bool:
    """Whether the CPU kernels take ``x`` (float32/float64 on the CPU)."""
    return x.device.type == "cpu" and x.dtype in (torch.float32, torch.float64)


def _range(x: torch.Tensor) -> tuple[float, float]:
    """``(min, max)`` of ``x`` (``(0, 0)`` when empty); NaN if ``x`` holds a NaN (aminmax
    propagates it)."""
    return tuple(float(v) for v in torch.aminmax(x.detach())) if x.numel() else (0.0, 0.0)


def exponent_of(x: torch.Tensor) -> int:
    """Dynamic fixed-point scale exponent ``ceil(log2(max(max|x|, 1e-5)))`` (float64 maths);
    a NaN or inf raises :class:`InputError`."""
    lo, hi = _range(x)
    return _exponent(max(-lo, hi))  # NaN when x holds a NaN: raises


class _RoundClampSTE(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, delta, lo, hi):  # noqa: D102
        r = torch.round(x / delta)
        q = torch.clamp(r, lo, hi) if not isinstance(hi, torch.Tensor) else torch.minimum(r.clamp(min=lo), hi)
        ctx.save_for_backward(r == q)
        ctx.delta = delta
        return q

    @staticmethod
    def backward(ctx, grad):  # noqa: D102
        (inside,) = ctx.saved_tensors
        return torch.where(inside, grad / ctx.delta, 0.0), None, None, None


def round_clamp_ste(x: torch.Tensor, delta, lo, hi) -> torch.Tensor:
    """``clamp(round(x / delta), lo, hi)`` with the gradient of ``clamp(round_ste(x / delta))``:
    ``1 / delta`` where the rounded value is inside ``[lo, hi]``, else 0 (the clamp's derivative,
    straight through the rounding). ``delta``, ``lo`` and ``hi`` may be tensors broadcasting
    against ``x`` (per-field ADC steps and codes). One autograd node instead of three: the clamp's
    backward alone cost 35 us per call. Used by the quantizers and the ADC-aware twin."""
    return _RoundClampSTE.apply(x, delta, lo, hi)


def _weight_step(exponent: int, weight_bits: int) -> tuple[float, int]:
    """Step and largest integer of the weight rule at scale exponent ``exponent``."""
    return 2.0 ** (exponent - (weight_bits - 1)), 2 ** (weight_bits - 1) - 1


def quantize_weight_ste(w: torch.Tensor, weight_bits: int) -> tuple[torch.Tensor, float]:
    """Symmetric dynamic fixed point with STE: integer-valued ``q`` and its step.

    ``delta = 2**(s - (weight_bits - 1))``, ``q = clamp(round(w / delta), -q_max, q_max)`` with
    ``q_max = 2**(weight_bits - 1) - 1`` (same rule as :func:`mapping.quantize.quantize_weights`).

    Returns:
        ``(q, delta)``: ``q`` float tensor of integers, same shape as ``w``; ``delta`` float.
    """
    delta, q_max = _weight_step(exponent_of(w), weight_bits)
    return round_clamp_ste(w, delta, -q_max, q_max), delta


def _input_step(lo: float, hi: float, config: CrossbarConfig, x: torch.Tensor) -> float:
    """Step of the input rule from the input's range (raises on NaN/inf and on negative inputs
    to an unsigned crossbar)."""
    if not config.signed_inputs and lo < 0:
        n_neg = int((x.detach() < 0).sum())
        raise InputError(
            f"crossbar layer input has {n_neg} negative values but CrossbarConfig.signed_inputs is "
            f"False; set signed_inputs=True for this layer (convert(..., overrides=...))."
        )
    bits = config.input_bits - (1 if config.signed_inputs else 0)
    return 2.0 ** (_exponent(max(-lo, hi)) - bits)  # a NaN range raises


def quantize_input_ste(x: torch.Tensor, config: CrossbarConfig) -> tuple[torch.Tensor, float]:
    """Activations to the crossbar's input integers with STE (see :func:`quantize_weight_ste`).

    Unsigned inputs: ``delta = 2**(s - input_bits)``, ``q in [0, 2**input_bits - 1]``; signed:
    ``delta = 2**(s - (input_bits - 1))``, two's complement range. Negative values with unsigned
    inputs raise :class:`InputError` (nothing is clipped silently).
    """
    delta = _input_step(*_range(x), config, x)
    return round_clamp_ste(x, delta, config.x_min, config.x_max), delta


@numba.njit(inline="always", cache=True)
def _round_clamp(x, delta, lo, hi):  # pragma: no cover - compiled
    """``(q, inside)``: ``q = clamp(rint(x / delta), lo, hi)`` and whether the clamp left it alone
    (``delta`` a power of two: exact, as in torch). Shared by the quantizer and noise kernels."""
    r = np.rint(x / delta)
    q = min(max(r, lo), hi)
    return q, r == q


@njit_kernel
def _fake_quantize_kernel(x, delta, lo, hi, out, inside):  # pragma: no cover - compiled
    """``out = clamp(rint(x / delta), lo, hi) * delta`` and whether the clamp left it alone."""
    for i in range(x.size):
        q, inside[i] = _round_clamp(x[i], delta, lo, hi)
        out[i] = q * delta


class _MaskedSTE(torch.autograd.Function):
    """A CPU float32/float64 tensor's image under one Numba pass ``fill(x, out, inside)`` (flat
    arrays), with the gradient 1 where ``inside`` and 0 elsewhere."""

    @staticmethod
    def forward(ctx, x, fill):  # noqa: D102
        xn = x.detach().reshape(-1).numpy()
        out, inside = np.empty_like(xn), np.empty(xn.size, dtype=np.bool_)
        fill(xn, out, inside)
        ctx.save_for_backward(torch.from_numpy(inside).view(x.shape))
        return torch.from_numpy(out).view(x.shape)

    @staticmethod
    def backward(ctx, grad):  # noqa: D102
        (inside,) = ctx.saved_tensors
        return torch.where(inside, grad, 0.0), None


def _fake_quantize(x: torch.Tensor, delta: float, lo: float, hi: float) -> torch.Tensor:
    """``clamp(round(x / delta), lo, hi) * delta`` with :func:`round_clamp_ste`'s gradient times
    ``delta`` (1 inside the clamp, else 0): one Numba node on CPU, the two torch nodes elsewhere
    (the same values: ``delta`` is a power of two)."""
    if _on_cpu_kernel(x):
        return _MaskedSTE.apply(x, lambda xn, out, inside: _fake_quantize_kernel(xn, delta, lo, hi, out, inside))
    return round_clamp_ste(x, delta, lo, hi) * delta


def _fake_quantize_weight(w: torch.Tensor, weight_bits: int) -> tuple[torch.Tensor, float, int]:
    delta, q_max = _weight_step(exponent_of(w), weight_bits)
    return _fake_quantize(w, delta, float(-q_max), float(q_max)), delta, q_max


def fake_quantize_weight_ste(w: torch.Tensor, weight_bits: int) -> torch.Tensor:
    """``q * delta`` of :func:`quantize_weight_ste` in one autograd node (one Numba pass on CPU):
    the same value and gradient (1 where the clamp leaves the weight alone, else 0) as
    ``q * delta`` from that function, bit for bit (tested)."""
    return _fake_quantize_weight(w, weight_bits)[0]


def fake_quantize_input_ste(x: torch.Tensor, config: CrossbarConfig) -> torch.Tensor:
    """``q * delta`` of :func:`quantize_input_ste` in one autograd node (one Numba pass on CPU),
    bit for bit (tested). Not torch's ``fake_quantize_per_tensor_affine``: the same values, but
    slower on CPU for large activations (``experiments.bench_bridge`` times the three)."""
    delta = _input_step(*_range(x), config, x)
    return _fake_quantize(x, delta, float(config.x_min), float(config.x_max))

"""The exact bit-sliced crossbar MVM in torch, for CUDA (and its CPU twin, tested against Numba).

It consumes a :class:`crossbar.engine.ProgrammedMatrix`'s read (fixed-point levels) and ADC
parameters and reproduces :meth:`ProgrammedMatrix.matmul` bit for bit: column sums are exact
(float32 matmuls of 0..2**d-1 digits by integer levels stay below 2**24; fixed-point noisy levels
use float64), the ADC divides in float64 and rounds half to even like ``numpy.rint``, codes are
accumulated in int64 and combined per field in the same order as the Numba kernel.
"""

from __future__ import annotations

import numba
import numpy as np
import torch

from crossbar._kernels import njit_kernel
from crossbar.config import CrossbarConfig
from crossbar.engine import ProgrammedMatrix
from mapping.nn import functional as xf


def input_digits_torch(x: torch.Tensor, config: CrossbarConfig) -> torch.Tensor:
    """Torch twin of :func:`crossbar.slicing.input_digits`: ``(n_cycles, batch, n_in)`` int64."""
    x = x.to(torch.int64)
    d = config.dac_bits
    mask = (1 << d) - 1
    low = x & ((1 << (config.input_bits - 1)) - 1) if config.signed_inputs else x
    digits = [(low >> (d * t)) & mask for t in range(config.n_magnitude_cycles)]
    if config.signed_inputs:
        digits.append((x < 0).to(torch.int64))
    return torch.stack(digits)


def matmul_torch(matrix: ProgrammedMatrix, x: torch.Tensor, *, rng: np.random.Generator | None = None,
                 batch_chunk: int = 1024) -> torch.Tensor:
    """``matrix.matmul(x)`` computed with torch on ``x``'s device.

    Args:
        matrix: The programmed matrix.
        x: Integer-valued inputs, shape ``(batch, n_in)``, any numeric dtype, on CPU or CUDA.
        rng: Read-noise source (drawn on the CPU with :mod:`crossbar.noise`, as the Numba path).
        batch_chunk: Batch rows per pass (memory: ``n_fields * n_cycles * chunk * n_out`` floats).

    Returns:
        ``(batch, n_out)`` float64 on ``x``'s device, equal bit for bit to ``matrix.matmul``.
    """
    cfg = matrix.config
    read = matrix.read(rng=rng)
    adc = matrix.adc_parameters(read.frac_bits)
    dev = x.device
    exact32 = read.frac_bits == 0 and not (dev.type == "cuda" and torch.backends.cuda.matmul.allow_tf32)
    mm_dtype = torch.float32 if exact32 else torch.float64
    levels = torch.as_tensor(read.fixed_levels, device=dev).to(mm_dtype)  # (F, n_in, n_out)
    n_fields, n_in, n_out = levels.shape
    cw = torch.as_tensor(np.asarray(cfg.cycle_weights), device=dev, dtype=torch.int64)
    ds = torch.as_tensor(adc.delta_scaled, device=dev, dtype=torch.float64)[:, None, None, None]
    mc = torch.as_tensor(adc.max_code, device=dev, dtype=torch.float64)[:, None, None, None]
    lo = torch.as_tensor(adc.min_code, device=dev, dtype=torch.float64)[:, None, None, None]
    ideal = torch.as_tensor(adc.ideal, device=dev)[:, None, None, None]
    paired = np.flatnonzero(adc.partner >= 0)
    skipped = torch.as_tensor(adc.partner == -2, device=dev)[:, None, None, None]
    out = torch.empty((x.shape[0], n_out), dtype=torch.float64, device=dev)
    for b0 in range(0, x.shape[0], batch_chunk):
        digits = input_digits_torch(x[b0:b0 + batch_chunk], cfg).to(mm_dtype)  # (T, B, n_in)
        n_t, nb, _ = digits.shape
        acc = torch.zeros((n_fields, nb, n_out), dtype=torch.int64, device=dev)
        for r0 in range(0, n_in, cfg.rows):
            r1 = min(r0 + cfg.rows, n_in)
            d = digits[:, :, r0:r1].reshape(n_t * nb, r1 - r0)
            p = torch.matmul(d, levels[:, r0:r1, :]).to(torch.float64)  # (F, T*B, n_out), exact
            p = p.reshape(n_fields, n_t, nb, n_out)
            if paired.size:  # signed ADCs of differential pairs: exact float64 differences
                p[paired] = p[paired] - p[adc.partner[paired]]
            code = torch.minimum(torch.maximum(torch.round(p / ds), lo), mc)
            code = torch.where(ideal, p, code)
            code = torch.where(skipped, 0.0, code).to(torch.int64)
            acc += (code * cw[None, :, None, None]).sum(dim=1)
        y = torch.zeros((nb, n_out), dtype=torch.float64, device=dev)
        for f in range(n_fields):
            y += float(adc.factor[f]) * acc[f].to(torch.float64)
        if cfg.offset:
            y -= cfg.offset * x[b0:b0 + batch_chunk].to(torch.int64).sum(dim=1).to(torch.float64)[:, None]
        out[b0:b0 + nb] = y
    return out


@njit_kernel(parallel=True)
def _adc_code_kernel(p, ds, lo_code, mc, ideal, out, inside):  # pragma: no cover - compiled
    """Per field ``f`` of ``p`` ``(m, F, n)``: ``out = min(max(rint(p / ds[f]), lo_code[f]), mc[f])``
    and ``inside = (out == rint(p / ds[f]))``, or ``out = p`` where ``ideal[f]``; each operation
    in ``p``'s dtype, as torch computes it."""
    for i in numba.prange(p.shape[0]):
        for f in range(p.shape[1]):
            if ideal[f]:
                out[i, f] = p[i, f]
                continue
            d, lo, hi = ds[f], lo_code[f], mc[f]
            for j in range(p.shape[2]):
                r = np.rint(p[i, f, j] / d)
                q = min(max(r, lo), hi)
                out[i, f, j] = q
                inside[i, f, j] = r == q


@njit_kernel(parallel=True)
def _adc_grad_kernel(g, ds, ideal, inside, out):  # pragma: no cover - compiled
    """The gradient of :func:`_adc_code_kernel`: ``g`` where ``ideal[f]``, ``g / ds[f]`` where
    ``inside``, else 0."""
    for i in numba.prange(g.shape[0]):
        for f in range(g.shape[1]):
            if ideal[f]:
                out[i, f] = g[i, f]
                continue
            d = ds[f]
            for j in range(g.shape[2]):
                out[i, f, j] = g[i, f, j] / d if inside[i, f, j] else 0


class _AdcCodeSTE(torch.autograd.Function):
    """:func:`adc_codes_ste` on a CPU float32/float64 tensor: one Numba pass each way."""

    @staticmethod
    def forward(ctx, p, ds, lo, mc, ideal):  # noqa: D102
        pn = p.detach().reshape(-1, *p.shape[-2:]).numpy()
        ds, lo, mc = ds.astype(pn.dtype), lo.astype(pn.dtype), mc.astype(pn.dtype)  # as torch rounds them
        ideal = ideal.astype(np.bool_)
        out, inside = np.empty_like(pn), np.ones(pn.shape, dtype=np.bool_)
        _adc_code_kernel(pn, ds, lo, mc, ideal, out, inside)
        ctx.save_for_backward(torch.from_numpy(inside))
        ctx.ds, ctx.ideal = ds, ideal
        return torch.from_numpy(out).view(p.shape)

    @staticmethod
    def backward(ctx, grad):  # noqa: D102
        (inside,) = ctx.saved_tensors
        g = grad.contiguous().reshape(inside.shape).numpy()
        out = np.empty_like(g)
        _adc_grad_kernel(g, ctx.ds, ctx.ideal, inside.numpy(), out)
        return torch.from_numpy(out).view(grad.shape), None, None, None, None


def adc_codes_ste(p: torch.Tensor, delta_scaled: np.ndarray, max_code: np.ndarray, ideal: np.ndarray,
                  min_code: np.ndarray | None = None) -> torch.Tensor:
    """ADC codes of column sums ``p`` ``(..., F, n_out)`` (fields on axis -2) with the clamp's
    gradient: per field ``f``, ``clamp(round(p / delta_scaled[f]), min_code[f], max_code[f])``
    (``min_code`` 0 when not given; ``-max_code`` for a signed ADC) with gradient
    ``1 / delta_scaled[f]`` where the clamp leaves the rounded value alone (else 0), or ``p``
    itself (gradient 1) where ``ideal[f]``. On CPU float32/float64 one Numba pass each way,
    elsewhere :func:`mapping.nn.functional.round_clamp_ste` and ``torch.where``: the same values
    and gradients bit for bit (tested)."""
    if xf._on_cpu_kernel(p):
        lo = np.zeros(len(max_code)) if min_code is None else np.asarray(min_code)
        return _AdcCodeSTE.apply(p, np.asarray(delta_scaled), lo, np.asarray(max_code), np.asarray(ideal))
    return _adc_codes_torch(p, delta_scaled, max_code, ideal, min_code)


def _adc_codes_torch(p: torch.Tensor, delta_scaled, max_code, ideal, min_code=None) -> torch.Tensor:
    """:func:`adc_codes_ste` in torch operations (any device and dtype)."""
    shape = (1,) * (p.dim() - 2) + (p.shape[-2], 1)
    ds = torch.as_tensor(delta_scaled, device=p.device, dtype=p.dtype).reshape(shape)
    mc = torch.as_tensor(max_code, device=p.device, dtype=p.dtype).reshape(shape)
    lo = 0.0 if min_code is None else torch.as_tensor(min_code, device=p.device, dtype=p.dtype).reshape(shape)
    code = xf.round_clamp_ste(p, ds, lo, mc)
    if np.any(ideal):
        code = torch.where(torch.as_tensor(ideal, device=p.device).reshape(shape), p, code)
    return code


def matmul_surrogate(matrix: ProgrammedMatrix, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """Differentiable twin of ``matrix.matmul(x)`` (no read noise): the ADC-aware gradient.

    Value: the bit-serial, bit-sliced product of the programmed levels
    (``matrix.effective_levels``: programming noise and the reference column included, read noise
    left out) with every column sum rounded and clipped by
    its ADC (``matrix.adc_parameters(0)``; under ``differential_adc="subtract"`` the pair's
    difference by its signed ADC), recombined with the cycle and field weights. Without noise it
    equals ``matrix.matmul(x)`` (tested).

    Gradient: straight through the roundings and the digit/slice decompositions, through the
    ADC's clipping as the true derivative of the clamp. A weight's gradient goes to the array
    holding it (positive or negative under ``differential``; split evenly for 0) and is spread
    evenly over its slices (``d level_s / d w = 2**-(c s) / n_slices``); an input's is spread
    evenly over its cycles (``d digit_t / d x = 1 / (T w_t)``). So the gradient is the
    straight-through one of ``x @ w`` with each (slice, cycle) term kept only where that column
    sum is inside its ADC's range: exactly the straight-through gradient when nothing clips, zero
    for a weight whose every column sum is clipped.

    Args:
        matrix: The programmed matrix (its ADCs calibrated, if ``adc_range="calibrated"``).
        x: Integer-valued inputs ``(batch, n_in)``, float, carrying the gradient.
        w: The integer weights ``(n_in, n_out)`` the matrix was programmed from, float, carrying
            the gradient.

    Returns:
        ``(batch, n_out)`` in ``x``'s dtype.
    """
    cfg = matrix.config
    adc = matrix.adc_parameters(0)
    dev, dtype = x.device, x.dtype
    programmed = matrix.effective_levels
    n_signs, n_slices, n_in, n_out = programmed.shape
    n_fields = n_signs * n_slices
    levels = torch.tensor(programmed.reshape(n_fields, n_in, n_out), device=dev, dtype=dtype)
    wd = w.detach()
    held = torch.stack(((wd > 0) + 0.5 * (wd == 0), (wd < 0) + 0.5 * (wd == 0))) if n_signs == 2 \
        else torch.ones_like(wd)[None]
    sign = torch.tensor([1.0, -1.0][:n_signs], device=dev, dtype=dtype)
    inv_place = torch.tensor([2.0 ** (-cfg.cell_bits * s) for s in range(n_slices)], device=dev, dtype=dtype)
    dw = (sign[:, None, None, None] * inv_place[None, :, None, None] / n_slices * held[:, None]).to(dtype)
    levels = levels + (dw * (w - wd)[None, None]).reshape(n_fields, n_in, n_out)
    cw = torch.as_tensor(np.asarray(cfg.cycle_weights, dtype=np.float64), device=dev, dtype=dtype)
    digits = input_digits_torch(x.detach(), cfg).to(dtype)  # (T, B, n_in)
    digits = digits + (x - x.detach())[None] / (len(cw) * cw)[:, None, None]
    n_t, batch = digits.shape[0], x.shape[0]
    conv = np.flatnonzero(adc.partner != -2)  # converted fields
    paired = adc.partner[conv] >= 0  # ... that subtract a partner first (signed ADC)
    sub = torch.as_tensor(np.where(paired, adc.partner[conv], conv), device=dev)
    factor = torch.as_tensor(adc.factor[conv], device=dev, dtype=dtype)
    place = (cw[:, None] * factor[None, :]).reshape(n_t, 1, len(conv), 1)  # output weight per (cycle, field)
    ideal = adc.ideal[conv]
    lo = adc.min_code[conv] if paired.any() else None
    y = torch.zeros((batch, n_out), device=dev, dtype=dtype)
    for r0 in range(0, n_in, cfg.rows):
        r1 = min(r0 + cfg.rows, n_in)
        d = digits[:, :, r0:r1].reshape(n_t * batch, r1 - r0)
        tile = levels[:, r0:r1].permute(1, 0, 2).reshape(r1 - r0, n_fields * n_out)
        p = (d @ tile).reshape(n_t, batch, n_fields, n_out)  # one GEMM for all fields
        if paired.any():
            p = p[:, :, conv] - p[:, :, sub] * torch.as_tensor(paired, device=dev, dtype=dtype)[:, None]
        code = p if bool(ideal.all()) else adc_codes_ste(p, adc.delta_scaled[conv], adc.max_code[conv],
                                                         ideal, lo)
        y = y + (code * place).sum(dim=(0, 2))
    if cfg.offset:
        y = y - cfg.offset * x.sum(dim=1, keepdim=True)
    return y

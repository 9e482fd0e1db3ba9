"""The exact bit-sliced crossbar MVM in torch, for CUDA (and its CPU twin, tested against Numba).

It consumes a :class:`crossbar.engine.ProgrammedMatrix`'s read (fixed-point levels) and ADC
parameters and reproduces :meth:`ProgrammedMatrix.matmul` bit for bit: column sums are exact
(float32 matmuls of 0..2**d-1 digits by integer levels stay below 2**24; fixed-point noisy levels
use float64), the ADC divides in float64 and rounds half to even like ``numpy.rint``, codes are
accumulated in int64 and combined per field in the same order as the Numba kernel.
"""

from __future__ import annotations

import numpy as np
import torch

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
            code = torch.clamp(torch.round(p / ds), min=0.0)
            code = torch.minimum(code, mc)
            ideal = torch.as_tensor(adc.ideal, device=dev)[:, None, None, None]
            code = torch.where(ideal, p, code).to(torch.int64)
            acc += (code * cw[None, :, None, None]).sum(dim=1)
        y = torch.zeros((nb, n_out), dtype=torch.float64, device=dev)
        for f in range(n_fields):
            y += float(adc.factor[f]) * acc[f].to(torch.float64)
        if cfg.offset:
            y -= cfg.offset * x[b0:b0 + batch_chunk].to(torch.int64).sum(dim=1).to(torch.float64)[:, None]
        out[b0:b0 + nb] = y
    return out


def matmul_surrogate(matrix: ProgrammedMatrix, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """Differentiable twin of ``matrix.matmul(x)`` (no read noise): the ADC-aware gradient.

    Value: the bit-serial, bit-sliced product of the programmed levels (``matrix.levels``,
    programming noise included, read noise left out) with every column sum rounded and clipped by
    its ADC (``matrix.adc_parameters(0)``), recombined with the cycle and field weights. Without
    noise it equals ``matrix.matmul(x)`` (tested).

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
    n_signs, n_slices, n_in, n_out = matrix.levels.shape
    n_fields = n_signs * n_slices
    levels = torch.tensor(matrix.levels.reshape(n_fields, n_in, n_out), device=dev, dtype=dtype)
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
    shape = (1, 1, n_fields, 1)  # fields on axis 2 of the (T, B, F, n_out) column sums
    ds = torch.as_tensor(adc.delta_scaled, device=dev, dtype=dtype).reshape(shape)
    mc = torch.as_tensor(adc.max_code, device=dev, dtype=dtype).reshape(shape)
    ideal = torch.as_tensor(adc.ideal, device=dev).reshape(shape)
    factor = torch.as_tensor(adc.factor, device=dev, dtype=dtype)
    place = (cw[:, None] * factor[None, :]).reshape(n_t, 1, n_fields, 1)  # output weight per (cycle, field)
    y = torch.zeros((batch, n_out), device=dev, dtype=dtype)
    for r0 in range(0, n_in, cfg.rows):
        r1 = min(r0 + cfg.rows, n_in)
        d = digits[:, :, r0:r1].reshape(n_t * batch, r1 - r0)
        tile = levels[:, r0:r1].permute(1, 0, 2).reshape(r1 - r0, n_fields * n_out)
        p = (d @ tile).reshape(n_t, batch, n_fields, n_out)  # one GEMM for all fields
        if bool(adc.ideal.all()):
            code = p
        else:
            code = xf.round_clamp_ste(p, ds, 0.0, mc)
            if bool(adc.ideal.any()):
                code = torch.where(ideal, p, code)
        y = y + (code * place).sum(dim=(0, 2))
    if cfg.offset:
        y = y - cfg.offset * x.sum(dim=1, keepdim=True)
    return y

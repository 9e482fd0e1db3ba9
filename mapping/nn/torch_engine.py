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

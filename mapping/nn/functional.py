"""Straight-through quantization, bit slicing and conductance noise in torch (CPU or CUDA).

These are the torch twins of :mod:`mapping.quantize`, :mod:`crossbar.slicing` and
:mod:`crossbar.noise`; tests check that they agree. Randomness comes only from an explicit
``torch.Generator`` on the tensor's device.
"""

from __future__ import annotations

import functools
import math

import torch

from crossbar.config import BOLTZMANN, ELEMENTARY_CHARGE, CrossbarConfig
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


def exponent_of(x: torch.Tensor) -> int:
    """Dynamic fixed-point scale exponent ``ceil(log2(max(max|x|, 1e-5)))`` (float64 maths)."""
    m = float(x.detach().abs().max()) if x.numel() else 0.0
    if not math.isfinite(m):
        raise InputError(f"tensor to quantize holds NaN or inf (max |x| = {m}); nothing is clipped.")
    return math.ceil(math.log2(max(m, 1e-5)))


def quantize_weight_ste(w: torch.Tensor, weight_bits: int) -> tuple[torch.Tensor, float]:
    """Symmetric dynamic fixed point with STE: integer-valued ``q`` and its step.

    ``delta = 2**(s - (weight_bits - 1))``, ``q = clamp(round(w / delta), -q_max, q_max)`` with
    ``q_max = 2**(weight_bits - 1) - 1`` (same rule as :func:`mapping.quantize.quantize_weights`).

    Returns:
        ``(q, delta)``: ``q`` float tensor of integers, same shape as ``w``; ``delta`` float.
    """
    delta = 2.0 ** (exponent_of(w) - (weight_bits - 1))
    q_max = 2 ** (weight_bits - 1) - 1
    return torch.clamp(round_ste(w / delta), -q_max, q_max), delta


def quantize_input_ste(x: torch.Tensor, config: CrossbarConfig) -> tuple[torch.Tensor, float]:
    """Activations to the crossbar's input integers with STE (see :func:`quantize_weight_ste`).

    Unsigned inputs: ``delta = 2**(s - input_bits)``, ``q in [0, 2**input_bits - 1]``; signed:
    ``delta = 2**(s - (input_bits - 1))``, two's complement range. Negative values with unsigned
    inputs raise :class:`InputError` (nothing is clipped silently).
    """
    if not config.signed_inputs and x.numel() and float(x.detach().min()) < 0:
        n_neg = int((x.detach() < 0).sum())
        raise InputError(
            f"crossbar layer input has {n_neg} negative values but CrossbarConfig.signed_inputs is "
            f"False; set signed_inputs=True for this layer (convert(..., overrides=...))."
        )
    bits = config.input_bits - (1 if config.signed_inputs else 0)
    delta = 2.0 ** (exponent_of(x) - bits)
    return torch.clamp(round_ste(x / delta), config.x_min, config.x_max), delta


def slice_levels(q: torch.Tensor, config: CrossbarConfig) -> torch.Tensor:
    """Cell levels of integer-valued weights (no gradient): ``(n_signs, n_slices, *q.shape)``,
    in ``q``'s dtype (exact integer shifts and masks)."""
    qi = q.detach().to(torch.int64)
    if config.encoding == "differential":
        mags = torch.stack((qi.clamp(min=0), (-qi).clamp(min=0)))
    else:
        mags = (qi + config.offset)[None]
    c = config.cell_bits
    shifts = (torch.arange(config.n_slices, device=q.device) * c).view((1, -1) + (1,) * q.dim())
    return ((mags[:, None] >> shifts) & ((1 << c) - 1)).to(q.dtype)


@functools.lru_cache(maxsize=64)
def _place_values(n_signs: int, n_slices: int, cell_bits: int, dim: int, device: torch.device,
                  dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor, float]:
    """``sign * 2**(c s)`` of every (sign array, slice), shaped to broadcast over levels, its
    square and the sum of its squares."""
    sign = torch.tensor([1.0, -1.0][:n_signs], dtype=torch.float64)
    place = torch.tensor([2.0 ** (cell_bits * s) for s in range(n_slices)], dtype=torch.float64)
    pv = (sign[:, None] * place[None, :]).reshape((n_signs, n_slices) + (1,) * dim)
    return pv.to(device=device, dtype=dtype), (pv * pv).to(device=device, dtype=dtype), float((pv * pv).sum())


def weight_perturbation(q: torch.Tensor, config: CrossbarConfig, generator: torch.Generator | None
                        ) -> torch.Tensor:
    """One fresh device draw of the stored weight's error, in weight integer units (no gradient).

    Same distribution as slicing ``q`` (:func:`slice_levels`), perturbing every cell level with
    the formulas of :mod:`crossbar.noise` and recombining ``sum sign * 2**(c s) * (l' - l)``, at a fraction of
    the random numbers: programming terms with a constant std (``level``/``range`` models and the
    physical ``dg_p/3`` term) are one normal per cell; the Gaussian read terms (``read_sigma``,
    thermal, shot), independent given the programmed levels, are one normal per *weight* with
    variance ``sum 4**(c s) var_cell``; stuck-at faults and RTN are drawn per cell as in
    per cell. Tested against a per-cell oracle that does exactly that.
    """
    noise = config.noise
    qd = q.detach()
    dtype, dev = qd.dtype, qd.device
    kw = {"generator": generator, "device": dev, "dtype": dtype}
    levels = slice_levels(qd, config).to(dtype)
    pv, pv2, pv2_sum = _place_values(config.n_signs, config.n_slices, config.cell_bits, qd.dim(), dev, dtype)
    top = 2**config.cell_bits - 1
    dg = config.level_conductance
    g_floor = config.g_min / dg
    out = levels
    sigma = 0.0  # constant-std Gaussian programming terms, combined
    if noise.program_sigma is not None and noise.program_sigma > 0:
        if noise.program_model == "lognormal":
            out = (g_floor + out) * torch.exp(noise.program_sigma * torch.randn(levels.shape, **kw)) - g_floor
        else:
            sigma = noise.program_sigma * (1.0 if noise.program_model == "level" else top)
    sigma = math.hypot(sigma, config.physical_programming_std)
    if sigma > 0:
        out = out + sigma * torch.randn(levels.shape, **kw)
    if noise.stuck_on_rate > 0 or noise.stuck_off_rate > 0:
        u = torch.rand(levels.shape, **kw)
        out = torch.where(u < noise.stuck_on_rate, torch.full_like(out, top), out)
        off = (u >= noise.stuck_on_rate) & (u < noise.stuck_on_rate + noise.stuck_off_rate)
        out = torch.where(off, torch.zeros_like(out), out)
    cell = out - levels if out is not levels else None  # per-cell error, level units
    read_const = (noise.read_sigma * (1.0 if noise.read_model == "level" else top)) ** 2 \
        if noise.read_sigma is not None and noise.read_sigma > 0 else 0.0
    per_g = 0.0  # thermal + shot variance per unit conductance [S]
    if noise.thermal:
        per_g += config.frequency * 4.0 * BOLTZMANN * config.temperature / config.read_voltage**2
    if noise.shot:
        per_g += config.frequency * 2.0 * ELEMENTARY_CHARGE / config.read_voltage
    rtn = noise.rtn and noise.rtn_probability > 0
    gl = torch.clamp(out + g_floor, min=0.0) if (per_g > 0 or rtn) else None  # G / dg
    if rtn:  # dG = G k / (G - k), k = b G + a, in level units with x = max(G, g_min) / dg
        x = torch.clamp(gl, min=g_floor)
        a = noise.rtn_a / dg
        offset = x * (noise.rtn_b * x + a) / ((1.0 - noise.rtn_b) * x - a)
        hit = torch.rand(levels.shape, **kw) < noise.rtn_probability
        cell = offset * hit if cell is None else cell + offset * hit
    dq = (cell * pv).sum(dim=(0, 1)) if cell is not None else torch.zeros_like(qd)
    if per_g > 0:
        var = (gl * pv2).sum(dim=(0, 1)) * (per_g / dg) + read_const * pv2_sum
        dq = dq + torch.sqrt(var) * torch.randn(qd.shape, **kw)
    elif read_const > 0:
        dq = dq + math.sqrt(read_const * pv2_sum) * torch.randn(qd.shape, **kw)
    return dq


def noisy_weight_ste(w: torch.Tensor, config: CrossbarConfig, generator: torch.Generator | None, *,
                     scale: float = 1.0) -> torch.Tensor:
    """Quantized weight as the noisy crossbar stores it, with a straight-through gradient.

    Forward: the weight is quantized (:func:`quantize_weight_ste`) and one fresh device error
    (:func:`weight_perturbation`: slicing into cell levels, every level perturbed, recombined
    ``sum_s 2**(c s) (l+_s - l-_s)``) is added, times ``delta``. Backward: identity with respect
    to ``w`` (the noise is a detached additive term). ``scale`` multiplies the drawn perturbation
    (per-layer training noise, as ReSNA injects less into FC layers).
    """
    q, delta = quantize_weight_ste(w, config.weight_bits)
    if not config.noise.is_noisy:
        return q * delta
    dq = weight_perturbation(q, config, generator)
    return (q + scale * dq) * delta

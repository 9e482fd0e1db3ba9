"""Device noise of stored weights in torch (CPU or CUDA): bit slicing and conductance noise.

The torch twins of :mod:`crossbar.slicing` and :mod:`crossbar.noise` for ``"noisy"`` training
(with the reference columns of ``gmin_removal="reference"``: :func:`reference_perturbation`); tests
check that they agree. Randomness comes only from an explicit source: a ``torch.Generator`` on
the tensor's device, or for the CPU noise kernel the random streams of :func:`noise_streams`.
"""

from __future__ import annotations

import functools
import math
from typing import NamedTuple

import numba
import numpy as np
import torch

from crossbar import _rng
from crossbar._kernels import njit_kernel
from crossbar.config import BOLTZMANN, ELEMENTARY_CHARGE, CrossbarConfig
from crossbar.errors import ConfigError
from crossbar.noise import column_arrays, n_column_arrays
from mapping.nn.functional import (
    _fake_quantize_weight,
    _MaskedSTE,
    _on_cpu_kernel,
    _round_clamp,
    _weight_step,
    exponent_of,
)


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


class _NoiseParams(NamedTuple):
    """The scalars of one device draw (level units), shared by the torch and Numba backends."""

    offset: int  # offset encoding's shift (differential: 0)
    lognormal_sigma: float  # lognormal programming sigma (0: off)
    gauss_sigma: float  # constant-std Gaussian programming terms, combined
    stuck_on: float
    stuck_off: float
    top: float  # highest cell level
    g_floor: float  # g_min / dg
    per_g: float  # thermal + shot variance per unit conductance, over dg [level units]
    read_const: float  # constant read variance per cell [level**2]
    rtn_p: float  # RTN hit probability (0: off)
    rtn_a: float  # rtn_a / dg
    rtn_b: float


def _noise_params(config: CrossbarConfig) -> _NoiseParams:
    noise = config.noise
    top = 2**config.cell_bits - 1
    dg = config.level_conductance
    lognormal = sigma = 0.0
    if noise.program_sigma is not None and noise.program_sigma > 0:
        if noise.program_model == "lognormal":
            lognormal = noise.program_sigma
        else:
            sigma = noise.program_sigma * (1.0 if noise.program_model == "level" else top)
    read_const = (noise.read_sigma * (1.0 if noise.read_model == "level" else top)) ** 2 \
        if noise.read_sigma is not None and noise.read_sigma > 0 else 0.0
    per_g = 0.0  # thermal + shot variance per unit conductance [S]
    if noise.thermal:
        per_g += config.frequency * 4.0 * BOLTZMANN * config.temperature / config.read_voltage**2
    if noise.shot:
        per_g += config.frequency * 2.0 * ELEMENTARY_CHARGE / config.read_voltage
    return _NoiseParams(
        offset=config.offset, lognormal_sigma=lognormal,
        gauss_sigma=math.hypot(sigma, config.physical_programming_std),
        stuck_on=noise.stuck_on_rate, stuck_off=noise.stuck_off_rate, top=float(top),
        g_floor=config.g_min / dg, per_g=per_g / dg, read_const=read_const,
        rtn_p=noise.rtn_probability if noise.rtn else 0.0, rtn_a=noise.rtn_a / dg, rtn_b=noise.rtn_b)


NOISE_STREAMS = 64
"""Random streams per layer for the CPU noise kernel: the weights are cut into at most this many
contiguous blocks of at least :data:`NOISE_BLOCK` weights, block ``b`` drawn from stream ``b``,
so the draws do not depend on the thread count."""
NOISE_BLOCK = 1024
PARALLEL_MIN_WEIGHTS = 16384
"""Layers with fewer weights run the kernel's serial build: starting Numba's threads costs about
0.1 ms here, more than a parallel pass saves on a small layer. Both builds cut the same blocks,
so their draws are equal (tested)."""


def noise_streams(seed: np.random.SeedSequence) -> np.ndarray:
    """The :data:`NOISE_STREAMS` xoshiro256** states (``(NOISE_STREAMS, 4)`` ``uint64``, see
    :mod:`crossbar._rng`) of :func:`weight_perturbation`'s CPU kernel, from ``seed``."""
    return _rng.seed_streams(seed, NOISE_STREAMS)


def _check_streams(streams, device: torch.device) -> None:
    if not (isinstance(streams, np.ndarray) and streams.dtype == np.uint64 and streams.ndim == 2
            and streams.shape[0] >= 1 and streams.shape[1] == 4 and streams.flags.writeable):
        raise ConfigError(f"generator must be a torch.Generator, None or writable noise streams "
                          f"(uint64 array (n, 4) from noise_streams); got {type(streams).__name__} "
                          f"{getattr(streams, 'dtype', '')} {getattr(streams, 'shape', '')}.")
    if device.type != "cpu":
        raise ConfigError(f"noise streams draw the noise of CPU tensors only; q is on {device}; "
                          f"pass a torch.Generator on that device.")


def _kernel_terms(p: _NoiseParams) -> tuple:
    """:func:`_perturb_block`'s noise arguments: each term's scalars, or ``None`` when the term is
    off. Numba compiles one specialization per pattern of ``None``s, with the absent terms'
    code removed (their branches cost about 40 % of a noise-free pass when merely skipped)."""
    return (p.offset, p.lognormal_sigma if p.lognormal_sigma > 0 else None,
            p.gauss_sigma if p.gauss_sigma > 0 else None,
            (p.stuck_on, p.stuck_off) if (p.stuck_on > 0 or p.stuck_off > 0) else None,
            p.top, p.g_floor,
            (p.per_g, p.read_const) if (p.per_g > 0 or p.read_const > 0) else None,
            (p.rtn_p, p.rtn_a, p.rtn_b) if p.rtn_p > 0 else None)


def _kernel_perturb(w: np.ndarray, delta: float, q_max: float, out_scale: float, config: CrossbarConfig,
                    streams: np.ndarray, res: np.ndarray | None = None,
                    inside: np.ndarray | None = None) -> np.ndarray:
    """Run :func:`_perturb_block` over all blocks of the 1-D array ``w`` (threaded for large
    layers) into ``res`` (new if ``None``); with ``inside``, ``res`` is the quantized weight plus
    the noise and ``inside`` whether the clamp left each weight alone."""
    res = np.empty_like(w) if res is None else res
    n_blocks = max(1, min(len(streams), w.size // NOISE_BLOCK))
    kernel = _perturbation_parallel if w.size >= PARALLEL_MIN_WEIGHTS else _perturbation_serial
    kernel(w, delta, q_max, out_scale, config.n_signs, config.n_slices, config.cell_bits,
           *_kernel_terms(_noise_params(config)), streams[:n_blocks], res, inside)
    return res


def weight_perturbation(q: torch.Tensor, config: CrossbarConfig,
                        generator: torch.Generator | np.ndarray | None) -> torch.Tensor:
    """One fresh device draw of the stored weight's error, in weight integer units (no gradient).

    Same distribution as slicing ``q`` (:func:`slice_levels`), perturbing every cell level with
    the formulas of :mod:`crossbar.noise` and recombining ``sum sign * 2**(c s) * (l' - l)``, at a
    fraction of the random numbers: programming terms with a constant std (``level``/``range``
    models and the physical ``dg_p/3`` term) are one normal per cell; the Gaussian read terms
    (``read_sigma``, thermal, shot), independent given the programmed levels, are one normal per
    *weight* with variance ``sum 4**(c s) var_cell``; stuck-at faults and RTN are drawn per cell.
    Tested against a per-cell oracle that does exactly that.

    Two implementations of that law, chosen by the random source: a ``torch.Generator`` (or
    ``None``, torch's default) runs vectorized torch code on ``q``'s device (CUDA's path); random
    streams from :func:`noise_streams` (CPU tensors only; advanced in place) run one fused Numba
    pass over the weights with inline random numbers (:mod:`crossbar._rng`), about 2x faster on
    CPU (LeNet-5's layers: medians 1.0 vs 1.9 ms and 2.1 vs 4.4 ms on two days,
    ``experiments.bench_bridge``), threaded over
    blocks for large layers. Both are tested on CPU against the oracle. The cells only: the
    reference columns of ``gmin_removal="reference"`` are :func:`reference_perturbation`.
    """
    if generator is None or isinstance(generator, torch.Generator):
        return _perturbation_torch(q.detach(), config, _noise_params(config), generator)
    _check_streams(generator, q.device)
    work = q.detach().reshape(-1)
    if not _on_cpu_kernel(work):  # e.g. half: the kernel takes float32/64
        work = work.to(torch.float32)
    dq = _kernel_perturb(work.numpy(), 1.0, np.inf, 1.0, config, generator)
    return torch.from_numpy(dq).to(q.dtype).reshape(q.shape)


@njit_kernel
def _perturb_block(w, delta, q_max, out_scale, n_signs, n_slices, cell_bits, offset, lognormal_sigma,
                   gauss_sigma, stuck, top, g_floor, read, rtn, streams, b, res, inside):  # pragma: no cover - compiled
    """Numba twin of :func:`_perturbation_torch` for block ``b`` of ``len(streams)`` contiguous
    blocks of weights, drawn from stream ``b`` (advanced in place): per weight, the integer
    ``q = clamp(rint(w / delta), -q_max, q_max)``, every (sign, slice) cell in turn (lognormal,
    Gaussian programming, stuck, RTN), then one read normal; ``res = err * out_scale``, rounded
    to ``res``'s dtype before and after the product as torch's ``err.mul_(out_scale)`` rounds it.
    The terms (:func:`_kernel_terms`) are ``lognormal_sigma``, ``gauss_sigma``, ``stuck = (on,
    off)``, ``read = (thermal + shot variance per level, constant variance)`` and ``rtn = (p, a,
    b)``; ``None`` leaves a term out at compile time. With an array ``inside`` (else ``None``),
    ``res = q * delta + res`` (one rounding to ``res``'s dtype: exact double rounding for a sum
    of two float32 values in float64, so torch's float32 sum) and ``inside = (q == rint(w /
    delta))``."""
    mask = (1 << cell_bits) - 1
    n_blocks = streams.shape[0]
    pv2_sum = 0.0
    for s in range(n_slices):
        pv2_sum += n_signs * float(1 << (2 * cell_bits * s))
    s0, s1, s2, s3 = streams[b, 0], streams[b, 1], streams[b, 2], streams[b, 3]
    for i in range(b * w.size // n_blocks, (b + 1) * w.size // n_blocks):
        qf, kept = _round_clamp(w[i], delta, -q_max, q_max)
        qi = np.int64(qf)
        err = 0.0
        var = 0.0
        for sign in range(n_signs):
            if n_signs == 2:
                mag = max(qi, 0) if sign == 0 else max(-qi, 0)
            else:
                mag = qi + offset
            pv_sign = 1.0 if sign == 0 else -1.0
            for s in range(n_slices):
                level = float((mag >> (cell_bits * s)) & mask)
                pv = pv_sign * float(1 << (cell_bits * s))
                out = level
                if lognormal_sigma is not None:
                    z, s0, s1, s2, s3 = _rng.next_normal(s0, s1, s2, s3)
                    out = (g_floor + out) * np.exp(lognormal_sigma * z) - g_floor
                if gauss_sigma is not None:
                    z, s0, s1, s2, s3 = _rng.next_normal(s0, s1, s2, s3)
                    out += gauss_sigma * z
                if stuck is not None:
                    u, s0, s1, s2, s3 = _rng.next_uniform(s0, s1, s2, s3)
                    if u < stuck[0]:
                        out = top
                    elif u < stuck[0] + stuck[1]:
                        out = 0.0
                cell = out - level
                gl = max(out + g_floor, 0.0)
                if rtn is not None:
                    x = max(gl, g_floor)
                    u, s0, s1, s2, s3 = _rng.next_uniform(s0, s1, s2, s3)
                    hit = 1.0 if u < rtn[0] else 0.0  # a select, not a branch (p ~ 0.5)
                    cell += hit * (x * (rtn[2] * x + rtn[1]) / ((1.0 - rtn[2]) * x - rtn[1]))
                err += pv * cell
                var += pv * pv * gl
        if read is not None:
            z, s0, s1, s2, s3 = _rng.next_normal(s0, s1, s2, s3)
            err += np.sqrt(var * read[0] + read[1] * pv2_sum) * z
        res[i] = err  # rounded to res's dtype; a product of float32 values is exact in float64,
        res[i] = res[i] * out_scale  # so rounding it on store is float32 arithmetic
        if inside is not None:
            inside[i] = kept
            res[i] = qf * delta + res[i]
    streams[b, 0], streams[b, 1], streams[b, 2], streams[b, 3] = s0, s1, s2, s3


@njit_kernel
def _perturbation_serial(w, delta, q_max, out_scale, n_signs, n_slices, cell_bits, offset, lognormal_sigma,
                         gauss_sigma, stuck, top, g_floor, read, rtn, streams, res,
                         inside):  # pragma: no cover - compiled
    """All blocks of :func:`_perturb_block` in turn."""
    for b in range(streams.shape[0]):
        _perturb_block(w, delta, q_max, out_scale, n_signs, n_slices, cell_bits, offset, lognormal_sigma,
                       gauss_sigma, stuck, top, g_floor, read, rtn, streams, b, res, inside)


@njit_kernel(parallel=True)
def _perturbation_parallel(w, delta, q_max, out_scale, n_signs, n_slices, cell_bits, offset, lognormal_sigma,
                           gauss_sigma, stuck, top, g_floor, read, rtn, streams, res,
                           inside):  # pragma: no cover - compiled
    """The blocks of :func:`_perturb_block` across threads (the same draws as the serial one)."""
    for b in numba.prange(streams.shape[0]):
        _perturb_block(w, delta, q_max, out_scale, n_signs, n_slices, cell_bits, offset, lognormal_sigma,
                       gauss_sigma, stuck, top, g_floor, read, rtn, streams, b, res, inside)


def _perturbation_torch(qd: torch.Tensor, config: CrossbarConfig, p: _NoiseParams,
                        generator: torch.Generator | None) -> torch.Tensor:
    """Torch backend of :func:`weight_perturbation` (vectorized over cells)."""
    dtype, dev = qd.dtype, qd.device
    kw = {"generator": generator, "device": dev, "dtype": dtype}
    levels = slice_levels(qd, config).to(dtype)
    pv, pv2, pv2_sum = _place_values(config.n_signs, config.n_slices, config.cell_bits, qd.dim(), dev, dtype)
    out = levels
    if p.lognormal_sigma > 0:
        out = (p.g_floor + out) * torch.exp(p.lognormal_sigma * torch.randn(levels.shape, **kw)) - p.g_floor
    if p.gauss_sigma > 0:
        out = out + p.gauss_sigma * torch.randn(levels.shape, **kw)
    if p.stuck_on > 0 or p.stuck_off > 0:
        u = torch.rand(levels.shape, **kw)
        out = torch.where(u < p.stuck_on, torch.full_like(out, p.top), out)
        off = (u >= p.stuck_on) & (u < p.stuck_on + p.stuck_off)
        out = torch.where(off, torch.zeros_like(out), out)
    cell = out - levels if out is not levels else None  # per-cell error, level units
    gl = torch.clamp(out + p.g_floor, min=0.0) if (p.per_g > 0 or p.rtn_p > 0) else None  # G / dg
    if p.rtn_p > 0:  # dG = G k / (G - k), k = b G + a, in level units with x = max(G, g_min) / dg
        x = torch.clamp(gl, min=p.g_floor)
        offset = x * (p.rtn_b * x + p.rtn_a) / ((1.0 - p.rtn_b) * x - p.rtn_a)
        hit = torch.rand(levels.shape, **kw) < p.rtn_p
        cell = offset * hit if cell is None else cell + offset * hit
    dq = (cell * pv).sum(dim=(0, 1)) if cell is not None else torch.zeros_like(qd)
    if p.per_g > 0:
        var = (gl * pv2).sum(dim=(0, 1)) * p.per_g + p.read_const * pv2_sum
        dq = dq + torch.sqrt(var) * torch.randn(qd.shape, **kw)
    elif p.read_const > 0:
        dq = dq + math.sqrt(p.read_const * pv2_sum) * torch.randn(qd.shape, **kw)
    return dq


def _reference_torch(shape: tuple[int, int], p: _NoiseParams, generator: torch.Generator | None,
                     device: torch.device) -> torch.Tensor:
    """Errors of level-0 cells ``shape`` after one fresh draw of every source, float64 level units:
    source by source over all cells, in :func:`reference_perturbation`'s order (the law of
    :func:`_perturb_block` for one-cell weights at level 0)."""
    kw = {"generator": generator, "device": device, "dtype": torch.float64}
    out = torch.zeros(shape, device=device, dtype=torch.float64)
    if p.lognormal_sigma > 0:
        out = p.g_floor * torch.exp(p.lognormal_sigma * torch.randn(shape, **kw)) - p.g_floor
    if p.gauss_sigma > 0:
        out = out + p.gauss_sigma * torch.randn(shape, **kw)
    if p.stuck_on > 0 or p.stuck_off > 0:
        u = torch.rand(shape, **kw)
        out = torch.where(u < p.stuck_on, p.top, torch.where(u < p.stuck_on + p.stuck_off, 0.0, out))
    gl = torch.clamp(out + p.g_floor, min=0.0)  # programmed G / dg: the read terms' conductance
    if p.rtn_p > 0:
        x = torch.clamp(gl, min=p.g_floor)
        hit = torch.rand(shape, **kw) < p.rtn_p
        out = out + hit * (x * (p.rtn_b * x + p.rtn_a) / ((1.0 - p.rtn_b) * x - p.rtn_a))
    if p.per_g > 0 or p.read_const > 0:
        out = out + torch.sqrt(gl * p.per_g + p.read_const) * torch.randn(shape, **kw)
    return out


@functools.lru_cache(maxsize=64)
def _reference_layout(config: CrossbarConfig, n_out: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """``(arrays, coef)``, ``(K, n_out)`` int64 and float64 on ``device``: output ``j``'s fields
    lie in the arrays ``a(0, j) + k`` (:func:`crossbar.noise.column_arrays`; ``arrays`` clipped to
    the last one where ``coef`` is 0), ``coef[k, j] = -sum pv_f`` over its fields in array ``k``."""
    a = column_arrays(config, n_out)  # (F, n_out), nondecreasing in f
    pv = (np.array([1.0, -1.0][:config.n_signs])[:, None]
          * 2.0 ** (config.cell_bits * np.arange(config.n_slices))[None, :]).reshape(-1, 1)
    k = a - a[:1]
    coef = np.zeros((int(k.max(initial=0)) + 1, n_out))
    np.add.at(coef, (k, np.broadcast_to(np.arange(n_out), k.shape)), np.broadcast_to(-pv, k.shape))
    arrays = np.minimum(a[:1] + np.arange(len(coef))[:, None], n_column_arrays(config, n_out) - 1)
    return torch.from_numpy(arrays).to(device), torch.from_numpy(coef).to(device)


def reference_perturbation(shape: tuple[int, ...] | torch.Size, config: CrossbarConfig,
                           generator: torch.Generator | np.ndarray | None, *,
                           device: torch.device | None = None) -> torch.Tensor:
    """One fresh draw of the reference columns' error in every weight (``gmin_removal="reference"``),
    in weight integer units: float64, ``shape``, no gradient.

    Weight ``[j, i]`` of ``shape = (n_out, *rest)`` (``i`` indexing ``rest`` flattened) is the
    matrix entry ``(i, j)``. Each of the ``n_column_arrays(config, n_out)`` arrays has one level-0
    reference cell per row ``i``, with error ``r[a, i]`` after one fresh draw of every source of
    :mod:`crossbar.noise` (programming, stuck-at (stuck-on: the top level), Gaussian read noise at
    its programmed conductance, RTN), independent per cell. The ADC sees ``l - r[a(f, j), i]``,
    so the weight's error is ``-sum_f sign * 2**(c s) * r[a(f, j), i]`` (field ``f = sign *
    n_slices + s``, ``a`` of :func:`crossbar.noise.column_arrays`), shared by the weights of row
    ``i`` with fields in the same arrays (it cancels for a differential pair in one array).

    Per cell, in cells' C order ``(array, row)`` as :func:`crossbar.engine.program`: a lognormal
    normal, a Gaussian programming normal (``level``/``range`` and physical terms combined, as in
    :func:`weight_perturbation`), a stuck uniform, an RTN uniform, a read normal, each when its
    source is on. A ``torch.Generator`` (or ``None``) draws source by source over all cells on its
    device (or ``device``); noise streams (:func:`noise_streams`) draw cell by cell from stream row
    0 alone, advanced in place (so independent of the thread count), on CPU: the serial
    :func:`_perturb_block` over one-cell weights at level 0 (offset 0, one slice, one sign).
    """
    if config.gmin_removal != "reference":
        raise ConfigError(f"reference_perturbation needs gmin_removal='reference'; got {config.gmin_removal!r}.")
    n_out, n_in = shape[0], math.prod(shape[1:])
    cells = (n_column_arrays(config, n_out), n_in)
    if generator is None or isinstance(generator, torch.Generator):
        dev = torch.device(device if device is not None else generator.device if generator is not None else "cpu")
        r = _reference_torch(cells, _noise_params(config), generator, dev)
    else:
        _check_streams(generator, torch.device(device if device is not None else "cpu"))
        r = np.empty(cells)
        _perturbation_serial(np.zeros(r.size), 1.0, np.inf, 1.0, 1, 1, config.cell_bits, 0,
                             *_kernel_terms(_noise_params(config))[1:], generator[:1], r.reshape(-1), None)
        r = torch.from_numpy(r)
    arrays, coef = _reference_layout(config, n_out, r.device)
    return sum(coef[k, :, None] * r.index_select(0, arrays[k]) for k in range(len(coef))).reshape(shape)


def noisy_weight_ste(w: torch.Tensor, config: CrossbarConfig,
                     generator: torch.Generator | np.ndarray | None, *,
                     scale: float = 1.0) -> torch.Tensor:
    """Quantized weight as the noisy crossbar stores it, with a straight-through gradient.

    Forward: the weight is quantized (:func:`mapping.nn.functional.quantize_weight_ste`) and one fresh device error
    (:func:`weight_perturbation`: slicing into cell levels, every level perturbed, recombined
    ``sum_s 2**(c s) (l+_s - l-_s)``) is added, times ``delta``. Backward: identity with respect
    to ``w`` where the quantizer does not clamp, else 0 (the noise is a detached additive term).
    ``scale`` multiplies the drawn perturbation (per-layer training noise, as ReSNA injects less
    into FC layers). Under ``gmin_removal="reference"``, ``reference_perturbation(w.shape, ...)
    * (scale * delta)`` (float64, rounded once to ``w``'s dtype; detached) is added last, drawn
    after the cells' noise from the same source.

    With noise streams on a float32/float64 CPU weight, one Numba pass quantizes the weight,
    draws its noise, scales it and adds it: one autograd node, the same values and gradient as
    the step-by-step composition (tested bit for bit).
    """
    noisy = config.noise.is_noisy
    streams = noisy and not (generator is None or isinstance(generator, torch.Generator))
    if streams:
        _check_streams(generator, w.device)
    if streams and _on_cpu_kernel(w):
        delta, q_max = _weight_step(exponent_of(w), config.weight_bits)
        out_scale = float(np.float32(scale * delta)) if w.dtype == torch.float32 else scale * delta
        stored = _MaskedSTE.apply(w, lambda xn, out, inside: _kernel_perturb(
            xn, delta, float(q_max), out_scale, config, generator, out, inside))
    else:
        wq, delta, q_max = _fake_quantize_weight(w, config.weight_bits)
        if not noisy:
            return wq
        stored = wq + weight_perturbation(wq.detach() / delta, config, generator).mul_(scale * delta)
    if config.gmin_removal == "reference":
        stored = stored + reference_perturbation(w.shape, config, generator, device=w.device).mul_(
            scale * delta).to(w.dtype)
    return stored

"""Bit-slice L1 (Zhang et al., EMC2 @ NeurIPS 2019), plain L1, magnitude pruning, slice reports.

Bit-slice L1 exactly as the reference implementation (zjysteven/bitslice_sparsity,
``finetune_bitslice.py::calc_l1_and_zero_ratio``), generalized from 4 slices of 2 bits to
``ceil(magnitude_bits / cell_bits)`` slices of ``cell_bits`` bits::

    s   = ceil(log2(max(|W|, 1e-5)))                 per tensor
    x   = min(Round(|w| / 2**(s - b)), 2**b - 1)     b magnitude bits (8 in the paper); the clamp
                                                     fixes the reference's x = 2**b overflow
    B_1 = Floor(x / 2**(c(S-1)))                     most significant slice first
    B_k = Floor((x - sum_{i<k} 2**(c(S-i)) B_i.detach()) / 2**(c(S-k)))
    R   = sum_layers sum_k ||B_k||_1
    loss term = alpha * R / (S * n_params)           (the reference divides by 4 x #params)

``Round``/``Floor`` have identity gradients (STE). Only non-zero slices push (``|.|`` has zero
gradient at 0) and the least significant slice pushes hardest:
``dR/dw = sign(w) / delta * sum_k 2**(-c(S-k)) 1[B_k > 0]``.

Plain L1 (``finetune_l1.py``): ``alpha * sum |W| / n_params``. Pruning: ``|w| < 0.01`` set to
zero with a fixed mask and masked gradients.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from crossbar import CrossbarConfig
from crossbar.errors import ConfigError
from crossbar.slicing import encode_weights
from mapping.nn.convert import crossbar_layers
from mapping.nn.functional import exponent_of, floor_ste, round_ste


def _regularized_params(model: nn.Module, include_bias: bool) -> list[torch.Tensor]:
    params = []
    for m in model.modules():
        if isinstance(m, (nn.Linear, nn.Conv2d)):
            params.append(m.weight)
            if include_bias and m.bias is not None:
                params.append(m.bias)
    return params


def bitslice_slices(w: torch.Tensor, *, magnitude_bits: int = 8, cell_bits: int = 2) -> list[torch.Tensor]:
    """Slices ``B_1`` (most significant) .. ``B_S`` of ``|w|`` with the reference's STE chain."""
    delta = 2.0 ** (exponent_of(w) - magnitude_bits)
    x = torch.clamp(round_ste(w.abs() / delta), max=2**magnitude_bits - 1)
    n_slices = math.ceil(magnitude_bits / cell_bits)
    slices: list[torch.Tensor] = []
    rest = x
    for k in range(n_slices):
        place = 2.0 ** (cell_bits * (n_slices - 1 - k))
        b = floor_ste(rest / place) if k < n_slices - 1 else rest
        slices.append(b)
        rest = rest - place * b.detach()
    return slices


def bitslice_l1(model: nn.Module, *, alpha: float = 0.5, magnitude_bits: int = 8, cell_bits: int = 2,
                include_bias: bool = True) -> torch.Tensor:
    """The bit-slice L1 loss term ``alpha * R / (S * n_params)`` over Linear/Conv2d parameters."""
    params = _regularized_params(model, include_bias)
    n_slices = math.ceil(magnitude_bits / cell_bits)
    total = sum(p.numel() for p in params)
    reg = sum(sum(b.abs().sum() for b in bitslice_slices(p, magnitude_bits=magnitude_bits,
                                                          cell_bits=cell_bits)) for p in params)
    return alpha * reg / (n_slices * total)


def plain_l1(model: nn.Module, *, alpha: float, include_bias: bool = True) -> torch.Tensor:
    """The plain L1 baseline ``alpha * sum |W| / n_params``."""
    params = _regularized_params(model, include_bias)
    return alpha * sum(p.abs().sum() for p in params) / sum(p.numel() for p in params)


def prune(model: nn.Module, *, threshold: float = 0.01, include_bias: bool = True) -> dict[str, torch.Tensor]:
    """Zero every weight with ``|w| < threshold`` and fix the mask: gradients of pruned weights
    are zeroed by a hook, so they stay zero under SGD without weight decay. Returns the masks."""
    masks: dict[str, torch.Tensor] = {}
    for name, p in model.named_parameters():
        if not any(p is q for q in _regularized_params(model, include_bias)):
            continue
        masks[name] = (p.detach().abs() >= threshold).to(p.dtype)
    apply_masks(model, masks)
    return masks


def apply_masks(model: nn.Module, masks: dict[str, torch.Tensor]) -> nn.Module:
    """Zero ``model``'s parameters where ``masks`` is 0 and keep them zero under SGD (gradient
    hooks), as :func:`prune` does; returns ``model``.

    Use it to fix the masks :func:`prune` returned on a copy of the pruned model:
    ``copy.deepcopy`` (and so :func:`mapping.nn.reconfigure`) drops tensor hooks.

    Args:
        model: The model whose parameters are masked (in place).
        masks: ``{parameter name: 0/1 tensor of that parameter's shape}`` (names of
            ``model.named_parameters()``); parameters not named are left free.

    Raises:
        ConfigError: A name is not a parameter of ``model`` or a mask's shape differs from it.

    Example:
        >>> lin = nn.Linear(2, 1, bias=False)
        >>> _ = apply_masks(lin, {"weight": torch.tensor([[1.0, 0.0]])})
        >>> bool(lin.weight.detach()[0, 1] == 0)
        True
    """
    params = dict(model.named_parameters())
    for name, mask in masks.items():
        if name not in params:
            raise ConfigError(f"apply_masks: masks names {name!r}, which is not a parameter of the model; "
                              f"parameters: {sorted(params)}.")
        p = params[name]
        if tuple(mask.shape) != tuple(p.shape):
            raise ConfigError(f"apply_masks: the mask of {name!r} has shape {tuple(mask.shape)}; "
                              f"the parameter's shape is {tuple(p.shape)}.")
        mask = mask.detach().to(device=p.device, dtype=p.dtype)
        with torch.no_grad():
            p.mul_(mask)
        p.register_hook(lambda g, m=mask: g * m)
    return model


@dataclass(frozen=True, slots=True, kw_only=True)
class SliceReport:
    """Per-layer, per-slice sparsity of a converted model (slice 0 = least significant).

    Attributes:
        layers: Layer names, in module order.
        zero_ratio: ``(n_layers, n_slices)``: fraction of weights whose slice is zero (the
            magnitude's slice under differential encoding).
        mean_zero_ratio: Mean over slices of the parameter-weighted zero ratio.
    """

    layers: tuple[str, ...]
    zero_ratio: np.ndarray
    mean_zero_ratio: float


def slice_zero_ratios(model: nn.Module) -> SliceReport:
    """Zero ratio of every slice of every crossbar layer's quantized weight."""
    names, ratios, counts = [], [], []
    for name, layer in crossbar_layers(model):
        cfg: CrossbarConfig = layer.xbar.config
        w = layer.weight.detach().reshape(layer.weight.shape[0], -1).t().cpu().double()
        delta = 2.0 ** (exponent_of(w) - (cfg.weight_bits - 1))
        q = torch.clamp(torch.round(w / delta), -cfg.q_max, cfg.q_max).to(torch.int64).numpy()
        levels = encode_weights(q, cfg)  # (signs, slices, n_in, n_out)
        active = levels.sum(axis=0)  # differential: one of the pair is zero
        names.append(name)
        ratios.append((active == 0).mean(axis=(1, 2)))
        counts.append(q.size)
    zr = np.array(ratios)
    weights = np.array(counts, dtype=np.float64) / sum(counts)
    return SliceReport(layers=tuple(names), zero_ratio=zr,
                       mean_zero_ratio=float((zr * weights[:, None]).sum(axis=0).mean()))


def adc_bits_needed(column_sums: np.ndarray, coverage: float, *, signed: bool = False) -> int:
    """ADC bits covering ``coverage`` percent of column sums (``higher`` percentile): the
    smallest ``B`` with ``2**B - 1 >= ceil(v)``, at least 1; with ``signed`` (the signed ADC of
    ``differential_adc="subtract"``, given the magnitudes ``|p+ - p-|``) one more, at least 2."""
    v = float(np.percentile(column_sums, coverage, method="higher")) if column_sums.size else 0.0
    return max(1, int(math.ceil(v)).bit_length()) + (1 if signed else 0)


@dataclass(frozen=True, slots=True, kw_only=True)
class ColumnSumReport:
    """Per-slice statistics of the column partial sums (ADC inputs) on real inputs.

    Pools every sign, row tile, input cycle, input vector and column of a slice (programmed
    levels, no read noise: the ADC input of a noise-free read); under
    ``differential_adc="subtract"`` the signed ADC's input magnitudes ``|p+ - p-|`` instead.

    Attributes:
        layers: Layer names. coverages: Coverage percentages of ``adc_bits``.
        histograms: Per layer, ``(n_slices, max_sum + 1)`` counts of each integer column sum.
        adc_bits: ``(n_layers, n_slices, n_coverages)``: bits needed so that the top code
            (``2**B - 1``; ``2**(B-1) - 1`` signed) covers the coverage percentile of the sums
            (slice 0 = least significant).
    """

    layers: tuple[str, ...]
    coverages: tuple[float, ...]
    histograms: tuple[np.ndarray, ...]
    adc_bits: np.ndarray


def column_sum_report(model: nn.Module, x: np.ndarray, *, coverages: tuple[float, ...] = (100.0, 99.9, 99.0),
                      max_vectors: int = 4096, batch_size: int = 256) -> ColumnSumReport:
    """Run ``x`` through ``model`` in ``"hardware"`` mode and report every crossbar layer's
    per-slice column sums (at most ``max_vectors`` input vectors per layer, the first ones)."""
    from mapping.nn.convert import set_mode

    layers = list(crossbar_layers(model))
    modes = [(layer, layer.xbar.mode) for _, layer in layers]
    for _, layer in layers:
        layer.xbar.probe = []
    was_training = model.training
    model.eval()
    set_mode(model, "hardware")
    try:
        dev = next(model.parameters()).device
        with torch.no_grad():
            for i in range(0, len(x), batch_size):
                model(torch.as_tensor(x[i:i + batch_size], device=dev))
        names, hists, bits = [], [], []
        for name, layer in layers:
            probe = layer.xbar.probe
            matrix = probe[-1][1]
            xs = np.concatenate([p[0] for p in probe if p[1] is matrix])[:max_vectors]
            sums = matrix.column_sums(xs, read_noise=False)  # (signs, slices, tiles, cycles, batch, n_out)
            signed = matrix.config.differential_adc == "subtract"
            if signed:
                sums = np.abs(sums[0] - sums[1])[None]
            per_slice = np.moveaxis(sums, 1, 0).reshape(sums.shape[1], -1)
            top = int(np.ceil(per_slice.max())) if per_slice.size else 0
            hists.append(np.stack([np.bincount(np.rint(np.clip(v, 0, None)).astype(np.int64),
                                               minlength=top + 1)[: top + 1] for v in per_slice]))
            bits.append([[adc_bits_needed(v, c, signed=signed) for c in coverages] for v in per_slice])
            names.append(name)
    finally:
        for layer, m in modes:
            layer.xbar.probe = None
            layer.xbar.mode = m
        model.train(was_training)
    return ColumnSumReport(layers=tuple(names), coverages=tuple(coverages), histograms=tuple(hists),
                           adc_bits=np.array(bits, dtype=np.int64))

"""Where low-resolution ADCs cost accuracy, and the fewest extra ADC bits (or least extra cost) that win it back.

For a converted model whose crossbar layers have noise-free configs (so every column sum is an
integer number of cell levels):

- :func:`adc_attribution`: ``"hardware"``-mode accuracy with every ADC ideal, with every ADC as
  configured, and with only one layer's ADCs (or one slice of one layer) as configured and every
  other ADC ideal: what each layer and each slice costs alone.
- :func:`plan_adc_bits`: greedy widening from the configured ADCs. At each step, every
  (layer, slice) ADC whose range does not yet reach the largest possible column sum is tried
  with one more bit at the same step ``FS / top(B)`` (``top(B) = 2**B - 1``, or ``2**(B-1) - 1``
  for the signed ADC of ``differential_adc="subtract"``; so the extra bit about doubles its range,
  ``FS' = step * top(B+1)``); the one giving the highest accuracy on the given data is kept
  (ties: first in layer, then slice order). It stops as soon as the accuracy is within
  ``max_loss`` points of the all-ideal accuracy, or when nothing is left to widen. The plan
  widens ranges (against clipping); it never refines a step. With a ``cost`` of the layer
  configs (e.g. energy per inference from :mod:`crossbar.cost`), the widening kept is the one
  with the most accuracy per unit of added cost (a free gain first; when no widening gains,
  the highest accuracy, then the least added cost); without one every bit costs the same, which
  is the same rule as "highest accuracy" (tested).
  With ``trim=True`` a met plan is then trimmed: greedy steps can make earlier ones redundant, so
  every widened ADC is tried one bit narrower again (the reverse of a widening: the same step, about
  half the range); among those that keep the accuracy within ``max_loss``, the one saving the most
  cost (without ``cost``: any, the highest accuracy first) is narrowed, until none can be. The
  result is 1-minimal: no single widened ADC can lose a bit (tested by brute force).

An "ideal" slice inside a layer whose other slices are not ideal is an ADC with step 1 and
``top(B) >= max_column_sum``: for integer column sums it returns every sum exactly, so
it equals ``adc_bits=None`` (tested); a layer with every slice ideal gets ``adc_bits=None``.

Select a plan on data other than the data you report (e.g. the training set), as
``experiments.bitslice_sparsity`` does. Each plan step evaluates every ADC left to widen once on
``(x, y)``, so a plan costs about (extra bits) x (layers x slices) hardware-mode evaluations.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from torch import nn

from crossbar import CrossbarConfig
from crossbar.cost import CostReport
from crossbar.errors import ConfigError
from crossbar.tech import Technology, load_technology
from mapping.nn.convert import crossbar_layers, reconfigure
from mapping.nn.specs import specs_from_torch
from mapping.nn.train import evaluate
from mapping.plan import place


@dataclass(frozen=True, slots=True)
class _Adc:
    """One slice's ADC: ``bits`` (``None`` = ideal) and ``full_scale`` in column-sum units."""

    bits: int | None
    full_scale: float | None


def _slice_adcs(name: str, cfg: CrossbarConfig) -> list[_Adc]:
    """The ADCs of ``cfg``'s slices (least significant first) as explicit bits and full scales,
    with the engine's step for each (``crossbar.engine``: ``adc_range="max"`` steps at least 1)."""
    if cfg.noise.is_noisy:
        raise ConfigError(f"ADC study: layer {name!r} has device noise ({cfg.noise}); the study needs "
                          f"noise-free configs (integer column sums). Use NoiseConfig().")
    if cfg.adc_range == "calibrated":
        raise ConfigError(f"ADC study: layer {name!r} has adc_range='calibrated'; give explicit full "
                          f"scales (a float or one per slice) or 'max'.")
    out = []
    for s, bits in enumerate(cfg.slice_adc_bits()):
        if bits is None:
            out.append(_Adc(None, None))
            continue
        n_codes = cfg.adc_top_code(bits)
        if cfg.adc_range == "max":  # the engine's step is max(1, max_column_sum / n_codes)
            fs = float(cfg.max_column_sum) if cfg.max_column_sum >= n_codes else float(n_codes)
        else:
            fs = cfg.adc_range[s] if isinstance(cfg.adc_range, tuple) else float(cfg.adc_range)
        out.append(_Adc(bits, fs))
    return out


def _lossless(cfg: CrossbarConfig) -> _Adc:
    bits = cfg.lossless_adc_bits
    return _Adc(bits, float(cfg.adc_top_code(bits)))


def _config(cfg: CrossbarConfig, adcs: list[_Adc]) -> CrossbarConfig:
    """``cfg`` with per-slice ``adcs`` (``None`` bits = ideal)."""
    if all(a.bits is None for a in adcs):
        return cfg.replace(adc_bits=None, adc_range="max")
    full = [a if a.bits is not None else _lossless(cfg) for a in adcs]
    return cfg.replace(adc_bits=tuple(a.bits for a in full), adc_range=tuple(a.full_scale for a in full))


def _layers(model: nn.Module) -> tuple[list[str], list[CrossbarConfig]]:
    layers = list(crossbar_layers(model))
    if not layers:
        raise ConfigError("ADC study: the model has no crossbar layers; convert it first (mapping.nn.convert).")
    return [n for n, _ in layers], [layer.xbar.config for _, layer in layers]


def _accuracy(model: nn.Module, configs: dict[str, CrossbarConfig], x, y, batch_size: int) -> float:
    return evaluate(reconfigure(model, configs), x, y, mode="hardware", batch_size=batch_size).mean


def _ideal(configs: list[CrossbarConfig]) -> list[CrossbarConfig]:
    return [c.replace(adc_bits=None, adc_range="max") for c in configs]


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class AdcAttribution:
    """What each layer's and slice's ADCs cost alone (accuracies as fractions).

    Attributes:
        layers: Crossbar layer names, in module order.
        ideal_accuracy: Every ADC ideal.
        accuracy: Every ADC as configured.
        layer_accuracy: ``(n_layers,)``: only that layer's ADCs as configured.
        slice_accuracy: ``(n_layers, max_slices)``: only that slice's ADC as configured (NaN
            where a layer has fewer slices); slice 0 is the least significant.
    """

    layers: tuple[str, ...]
    ideal_accuracy: float
    accuracy: float
    layer_accuracy: np.ndarray
    slice_accuracy: np.ndarray


def adc_attribution(model: nn.Module, x: np.ndarray, y: np.ndarray, *, batch_size: int = 256) -> AdcAttribution:
    """Accuracy of ``model`` in ``"hardware"`` mode with its ADCs as configured, all ideal, and
    one layer or one slice as configured at a time (module docstring)."""
    names, configs = _layers(model)
    adcs = [_slice_adcs(n, c) for n, c in zip(names, configs, strict=True)]
    ideal = dict(zip(names, _ideal(configs), strict=True))

    def acc(changed: dict[str, CrossbarConfig]) -> float:  # the changed layers, every other ADC ideal
        return _accuracy(model, {**ideal, **changed}, x, y, batch_size)

    ideal_accuracy = acc({})
    by_slice = np.full((len(names), max(len(a) for a in adcs)), np.nan)
    for k, (name, cfg, layer_adcs) in enumerate(zip(names, configs, adcs, strict=True)):
        for s, adc in enumerate(layer_adcs):
            alone = [adc if t == s else _Adc(None, None) for t in range(len(layer_adcs))]
            by_slice[k, s] = acc({name: _config(cfg, alone)}) if adc.bits is not None else ideal_accuracy
    return AdcAttribution(layers=tuple(names), ideal_accuracy=ideal_accuracy,
                          accuracy=acc(dict(zip(names, configs, strict=True))),
                          layer_accuracy=np.array([acc({n: c}) for n, c in zip(names, configs, strict=True)]),
                          slice_accuracy=by_slice)


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class AdcPlan:
    """Result of :func:`plan_adc_bits` (accuracies as fractions, on the data it was given).

    Attributes:
        layers: Crossbar layer names, in module order.
        ideal_accuracy: Every ADC ideal.
        start_accuracy: The ADCs as configured.
        accuracy: The planned ADCs.
        configs: The planned config of every layer, by name (:func:`mapping.nn.reconfigure`
            takes this dict).
        start_bits, bits: ``(n_layers, max_slices)`` ADC bits before and after (0 = ideal, -1
            where a layer has fewer slices); slice 0 is the least significant.
        steps: ``(layer index, slice, new bits, accuracy after)`` of every widening, in order.
        trims: The same of every narrowing of the trim pass (``trim=True``), in order.
        met: Whether the plan is within ``max_loss`` of the ideal accuracy.
        start_cost, cost: ``cost`` of the configured and the planned ADCs (``None`` without one).
        path: The layer configs after each widening (``path[-1] == configs`` without trims;
            empty without steps): the plan's accuracy/cost trade-off curve, e.g. to evaluate on
            other data.
    """

    layers: tuple[str, ...]
    ideal_accuracy: float
    start_accuracy: float
    accuracy: float
    configs: dict[str, CrossbarConfig]
    start_bits: np.ndarray
    bits: np.ndarray
    steps: tuple[tuple[int, int, int, float], ...]
    met: bool
    start_cost: float | None = None
    cost: float | None = None
    path: tuple[dict[str, CrossbarConfig], ...] = ()
    trims: tuple[tuple[int, int, int, float], ...] = ()

    @property
    def extra_bits(self) -> int:
        """Bits added over all (layer, slice) ADCs (widenings less trims)."""
        return len(self.steps) - len(self.trims)


def _bits_table(adcs: list[list[_Adc]]) -> np.ndarray:
    out = np.full((len(adcs), max(len(a) for a in adcs)), -1, dtype=np.int64)
    for k, layer_adcs in enumerate(adcs):
        out[k, :len(layer_adcs)] = [a.bits or 0 for a in layer_adcs]
    return out


Cost = Callable[[dict[str, CrossbarConfig]], float]


def network_cost(model: nn.Module, input_shape: tuple[int, ...],
                 tech: Technology | str) -> Callable[[dict[str, CrossbarConfig]], CostReport]:
    """The cost model's report (:mod:`crossbar.cost`) of ``model``'s crossbar layers placed with
    given per-layer configs (``{name: config}``, as :class:`AdcPlan.configs`): ``place`` of
    :func:`mapping.nn.specs.specs_from_torch` (traced once, for one sample of ``input_shape``)
    with each layer's config replaced. For :func:`plan_adc_bits`, e.g.
    ``cost=lambda c: report(c).energy`` with ``report = network_cost(model, (1, 8, 8),
    "isaac_ce_32nm")``."""
    layers = specs_from_torch(model, input_shape)
    tech = tech if isinstance(tech, Technology) else load_technology(tech)

    def report(configs: dict[str, CrossbarConfig]) -> CostReport:
        return place([dataclasses.replace(la, config=configs[la.spec.name]) for la in layers]).cost(tech)

    return report


def _checked_cost(cost: Cost | None, configs: dict[str, CrossbarConfig]) -> float | None:
    if cost is None:
        return None
    value = cost(configs)
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating)) or not math.isfinite(value):
        raise ConfigError(f"plan_adc_bits: cost must return a finite number; got {value!r}.")
    return float(value)


def _one_bit(cfg: CrossbarConfig, layer_adcs: list[_Adc], s: int, change: int) -> list[_Adc]:
    """``layer_adcs`` with slice ``s``'s ADC one bit wider (``change=+1``) or narrower (``-1``) at
    the same step ``FS / top(B)``: the range about doubles or halves."""
    adc = layer_adcs[s]
    step = adc.full_scale / cfg.adc_top_code(adc.bits)
    out = list(layer_adcs)
    out[s] = _Adc(adc.bits + change, step * cfg.adc_top_code(adc.bits + change))
    return out


def _preference(gain: float, extra: float) -> tuple[int, float, float]:
    """Order of a widening that gains ``gain`` accuracy for ``extra`` cost (larger is better)."""
    if gain > 0:
        return (2, gain, 0.0) if extra <= 0 else (1, gain / extra, 0.0)
    return (0, gain, -extra)


def plan_adc_bits(model: nn.Module, x: np.ndarray, y: np.ndarray, *, max_loss: float = 1.0,
                  max_steps: int | None = None, cost: Cost | None = None, batch_size: int = 256,
                  trim: bool = False) -> AdcPlan:
    """Greedy ADC plan: fewest extra bits, or least extra ``cost`` (module docstring).

    Args:
        model: A converted model with noise-free layer configs.
        x, y: Data the plan is selected on (not the data you report).
        max_loss: Accepted loss against the all-ideal accuracy [percentage points], >= 0.
        max_steps: At most this many widenings (``None``: until met or nothing is left).
        cost: Optional cost of a full set of layer configs (``{name: config}``), e.g. energy
            per inference; ``None`` counts bits.
        batch_size: Samples per forward.
        trim: Trim a met plan to a 1-minimal one (module docstring).
    """
    if not isinstance(trim, bool):
        raise ConfigError(f"plan_adc_bits: trim must be True or False; got {trim!r}.")
    if isinstance(max_loss, bool) or not isinstance(max_loss, (int, float)) or not max_loss >= 0:
        raise ConfigError(f"plan_adc_bits: max_loss must be a number of percentage points >= 0; got {max_loss!r}.")
    if max_steps is not None and (isinstance(max_steps, bool) or not isinstance(max_steps, int) or max_steps < 0):
        raise ConfigError(f"plan_adc_bits: max_steps must be None or an integer >= 0; got {max_steps!r}.")
    if cost is not None and not callable(cost):
        raise ConfigError(f"plan_adc_bits: cost must be None or a callable of the layer configs; got {cost!r}.")
    names, configs = _layers(model)
    adcs = [_slice_adcs(n, c) for n, c in zip(names, configs, strict=True)]
    start_bits = _bits_table(adcs)
    planned = dict(zip(names, configs, strict=True))
    ideal = _accuracy(model, dict(zip(names, _ideal(configs), strict=True)), x, y, batch_size)
    start = current = _accuracy(model, planned, x, y, batch_size)
    start_cost = spent = _checked_cost(cost, planned)
    steps: list[tuple[int, int, int, float]] = []
    path: list[dict[str, CrossbarConfig]] = []
    def best_move(change: int, eligible, rank):
        """The best one-bit ``change`` over the eligible ADCs: ``(order, acc, cost, k, s, trial)``, or None.
        ``rank(acc, trial_configs)`` gives a trial's ``(order, cost)`` (None: not allowed)."""
        best = None
        for k, (name, cfg) in enumerate(zip(names, configs, strict=True)):
            for s, adc in enumerate(adcs[k]):
                if adc.bits is None or not eligible(k, s, cfg, adc):
                    continue
                trial = _one_bit(cfg, adcs[k], s, change)
                trial_configs = {**planned, name: _config(cfg, trial)}
                acc = _accuracy(model, trial_configs, x, y, batch_size)
                order = rank(acc, trial_configs)
                if order is not None and (best is None or order[0] > best[0]):
                    best = (order[0], acc, order[1], k, s, trial)
        return best

    def widen(acc, trial_configs):
        after = _checked_cost(cost, trial_configs)
        return _preference(acc - current, 1.0 if cost is None else after - spent), after

    def narrow(acc, trial_configs):
        if 100.0 * (ideal - acc) > max_loss:
            return None
        after = _checked_cost(cost, trial_configs)
        return (1.0 if cost is None else spent - after, acc), after

    def take(best, record):
        nonlocal current, spent
        _, current, spent, k, s, adcs[k] = best
        planned[names[k]] = _config(configs[k], adcs[k])
        record.append((k, s, adcs[k][s].bits, current))

    while 100.0 * (ideal - current) > max_loss and (max_steps is None or len(steps) < max_steps):
        best = best_move(+1, lambda k, s, cfg, adc: adc.full_scale < cfg.max_column_sum and adc.bits < 24, widen)
        if best is None:
            break
        take(best, steps)
        path.append(dict(planned))
    met = 100.0 * (ideal - current) <= max_loss
    trims: list[tuple[int, int, int, float]] = []
    while trim and met:
        best = best_move(-1, lambda k, s, cfg, adc: adc.bits > start_bits[k, s], narrow)
        if best is None:
            break
        take(best, trims)
    return AdcPlan(layers=tuple(names), ideal_accuracy=ideal, start_accuracy=start, accuracy=current,
                   configs=planned, start_bits=start_bits, bits=_bits_table(adcs), steps=tuple(steps),
                   met=met, start_cost=start_cost, cost=spent, path=tuple(path), trims=tuple(trims))

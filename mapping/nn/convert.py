"""``convert`` a torch model to crossbar layers, switch modes, reseed, save and load."""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import torch
from torch import nn

from crossbar import CrossbarConfig
from crossbar.errors import ConfigError
from mapping.nn.modules import HARDWARE_GRADS, MODES, CrossbarConv2d, CrossbarLinear, _check_mode

Select = Callable[[str, nn.Module], bool]


def _convertible(module: nn.Module) -> bool:
    if type(module) is nn.Linear:
        return True
    if type(module) is nn.Conv2d:
        return module.groups == 1 and module.dilation == (1, 1) and module.padding_mode == "zeros"
    return False


def convert(
    model: nn.Module,
    config: CrossbarConfig,
    *,
    overrides: dict[str, CrossbarConfig | None] | None = None,
    select: Select | None = None,
    seed: int | None = 0,
) -> nn.Module:
    """A converted deep copy of ``model`` whose Linear/Conv2d layers run on crossbars.

    Args:
        model: Any torch model; it is not modified.
        config: Crossbar design of every converted layer.
        overrides: Per-layer configs by qualified module name (``model.named_modules()``);
            ``None`` as a value keeps that layer in float (e.g. ``{"fc2": cfg_low_noise}``
            gives the last layer less noise, as ReSNA does).
        select: Optional predicate ``(name, module) -> bool``; only selected layers convert.
        seed: Seed of every layer's random sources (spawned per layer in module order).

    Returns:
        The converted model, in ``"float"`` mode, with the same parameters (copied).

    Raises:
        ConfigError: An override names no convertible layer, or a config is invalid.

    Example:
        >>> net = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))
        >>> xnet = convert(net, CrossbarConfig(), overrides={"2": None})
        >>> [type(m).__name__ for m in xnet]
        ['CrossbarLinear', 'ReLU', 'Linear']
    """
    if not isinstance(model, nn.Module):
        raise ConfigError(f"convert: model must be a torch.nn.Module; got {type(model).__name__}.")
    if not isinstance(config, CrossbarConfig):
        raise ConfigError(f"convert: config must be a CrossbarConfig; got {config!r}.")
    overrides = dict(overrides or {})
    already = [n for n, _ in crossbar_layers(model)]
    if already:
        raise ConfigError(f"convert: the model already has crossbar layers {already[:5]}; use "
                          f"reconfigure(model, config) to change their CrossbarConfig.")
    names = {n for n, m in model.named_modules() if _convertible(m)}
    unknown = sorted(set(overrides) - names)
    if unknown:
        raise ConfigError(f"convert: overrides name no convertible layer: {unknown}; "
                          f"layers: {sorted(names)}.")
    out = copy.deepcopy(model)
    seq = np.random.SeedSequence(seed)
    targets = [(n, m) for n, m in out.named_modules() if _convertible(m)]
    children = seq.spawn(len(targets))
    for (name, module), child in zip(targets, children, strict=True):
        if select is not None and not select(name, module):
            continue
        cfg = overrides.get(name, config)
        if cfg is None:
            continue
        new = _crossbar_twin(module, cfg, child)
        new.load_state_dict(module.state_dict())
        new.to(module.weight.device, module.weight.dtype)
        _set_submodule(out, name, new)
    return out


def _crossbar_twin(module: nn.Module, cfg: CrossbarConfig, seed: np.random.SeedSequence) -> nn.Module:
    bias = module.bias is not None
    if isinstance(module, nn.Linear):
        return CrossbarLinear(module.in_features, module.out_features, bias=bias, config=cfg, seed=seed)
    return CrossbarConv2d(module.in_channels, module.out_channels, module.kernel_size,
                          stride=module.stride, padding=module.padding, bias=bias, config=cfg, seed=seed)


def _set_submodule(root: nn.Module, name: str, new: nn.Module) -> None:
    parent_name, _, child = name.rpartition(".")
    parent = root.get_submodule(parent_name) if parent_name else root
    setattr(parent, child, new)


def crossbar_layers(model: nn.Module) -> Iterator[tuple[str, CrossbarLinear | CrossbarConv2d]]:
    """``(name, layer)`` of every crossbar layer, in module order."""
    for name, m in model.named_modules():
        if isinstance(m, (CrossbarLinear, CrossbarConv2d)):
            yield name, m


def set_mode(model: nn.Module, mode: str) -> nn.Module:
    """Set every crossbar layer's forward mode (``"float"``, ``"quantized"``, ``"noisy"``,
    ``"hardware"``); returns ``model``."""
    _check_mode(mode)
    for _, layer in crossbar_layers(model):
        layer.xbar.mode = mode
    return model


def set_hardware_grad(model: nn.Module, grad: str) -> nn.Module:
    """Set the gradient of every crossbar layer's ``"hardware"`` forward: ``"ste"`` (the
    ``"quantized"`` forward's, blind to the ADCs) or ``"adc"`` (that of
    :func:`mapping.nn.torch_engine.matmul_surrogate`, which is zero through clipped column sums);
    returns ``model``."""
    if grad not in HARDWARE_GRADS:
        raise ConfigError(f"hardware_grad must be one of {list(HARDWARE_GRADS)}; got {grad!r}.")
    for _, layer in crossbar_layers(model):
        layer.xbar.hardware_grad = grad
    return model


def reseed(model: nn.Module, seed: int | np.random.SeedSequence | None) -> nn.Module:
    """Fresh random sources for every crossbar layer (spawned per layer, in module order); the
    next hardware forward reprograms each matrix with new programming noise. Returns ``model``."""
    seq = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
    layers = list(crossbar_layers(model))
    for (_, layer), child in zip(layers, seq.spawn(len(layers)), strict=True):
        layer.xbar.reseed(child)
    return model


def reconfigure(model: nn.Module, config: CrossbarConfig | dict[str, CrossbarConfig], *,
                names: list[str] | None = None) -> nn.Module:
    """A deep copy of a converted model whose crossbar layers (those in ``names``, default all)
    use ``config``; weights, modes and seeds are kept, programmed matrices are dropped.

    ``config`` may also be a dict of per-layer configs by layer name (then ``names`` must be
    ``None``): those layers use theirs, the others keep their own.

    Example:
        >>> xnet = convert(nn.Sequential(nn.Linear(4, 2)), CrossbarConfig())
        >>> reconfigure(xnet, CrossbarConfig(adc_bits=4))[0].xbar.config.adc_bits
        4
        >>> reconfigure(xnet, {"0": CrossbarConfig(adc_bits=(3, 3, 3, 1))})[0].xbar.config.adc_bits
        (3, 3, 3, 1)
    """
    if isinstance(config, dict):
        if names is not None:
            raise ConfigError(f"reconfigure: names must be None when config is a dict of per-layer "
                              f"configs; got names={names!r}.")
        configs = dict(config)
    elif isinstance(config, CrossbarConfig):
        configs = {name: config for name, _ in crossbar_layers(model) if names is None or name in names}
        configs.update({name: config for name in names or []})
    else:
        raise ConfigError(f"reconfigure: config must be a CrossbarConfig or a dict of them by layer name; "
                          f"got {config!r}.")
    bad = {name: c for name, c in configs.items() if not isinstance(c, CrossbarConfig)}
    if bad:
        raise ConfigError(f"reconfigure: per-layer configs must be CrossbarConfig; got {bad!r}.")
    out = copy.deepcopy(model)
    found = set()
    for name, layer in crossbar_layers(out):
        if name in configs:
            mode, scale, grad = layer.xbar.mode, layer.xbar.noise_scale, layer.xbar.hardware_grad
            layer.xbar = type(layer.xbar)(configs[name], layer.xbar.seed)
            layer.xbar.mode, layer.xbar.noise_scale, layer.xbar.hardware_grad = mode, scale, grad
            found.add(name)
    missing = sorted(set(configs) - found)
    if missing:
        raise ConfigError(f"reconfigure: no crossbar layers named {missing}.")
    return out


def save_state(model: nn.Module, path: str | Path) -> None:
    """Save ``model.state_dict()`` (parameters and buffers only: load with :func:`load_state`)."""
    torch.save(model.state_dict(), Path(path))


def load_state(model: nn.Module, path: str | Path) -> nn.Module:
    """Load a state dict saved by :func:`save_state` into ``model`` with
    ``torch.load(weights_only=True)`` (no pickled code runs); returns ``model``."""
    state = torch.load(Path(path), map_location="cpu", weights_only=True)
    model.load_state_dict(state)
    return model


__all__ = ["MODES", "convert", "crossbar_layers", "load_state", "reconfigure", "reseed", "save_state",
           "set_hardware_grad", "set_mode"]

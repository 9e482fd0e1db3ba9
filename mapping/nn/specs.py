"""Trace a torch model into the framework-free layer list that :func:`mapping.plan.place` takes."""

from __future__ import annotations

import torch
from torch import nn

from crossbar.errors import ConfigError, ShapeError
from mapping.layers import Conv2dSpec, LinearSpec
from mapping.nn.modules import CrossbarConv2d, CrossbarLinear
from mapping.plan import LayerInstance

__all__ = ["specs_from_torch"]


def _spec(name: str, module: nn.Module, shape: torch.Size) -> LayerInstance:
    config = module.xbar.config if isinstance(module, (CrossbarLinear, CrossbarConv2d)) else None
    if isinstance(module, nn.Conv2d):
        if module.groups != 1 or module.dilation != (1, 1) or module.padding_mode != "zeros" or \
                isinstance(module.padding, str):
            raise ConfigError(f"specs_from_torch: Conv2d {name!r} has groups={module.groups}, "
                              f"dilation={module.dilation}, padding={module.padding!r}, padding_mode="
                              f"{module.padding_mode!r}; only groups=1, dilation=1, numeric zero padding "
                              "map to a crossbar matrix.")
        if len(shape) != 4:
            raise ShapeError(f"specs_from_torch: Conv2d {name!r} got an input of shape {tuple(shape)}; "
                             "expected (batch, C, H, W).")
        spec = Conv2dSpec(in_channels=module.in_channels, out_channels=module.out_channels,
                          kernel_size=module.kernel_size, stride=module.stride, padding=module.padding,
                          bias=module.bias is not None, name=name)
        return LayerInstance(spec=spec, input_hw=(int(shape[2]), int(shape[3])), config=config)
    if len(shape) != 2:
        raise ShapeError(f"specs_from_torch: Linear {name!r} got an input of shape {tuple(shape)}; only "
                         "(batch, in_features) inputs map to one vector per inference.")
    spec = LinearSpec(in_features=module.in_features, out_features=module.out_features,
                      bias=module.bias is not None, name=name)
    return LayerInstance(spec=spec, config=config)


def specs_from_torch(model: nn.Module, input_shape: tuple[int, ...]) -> list[LayerInstance]:
    """The crossbar layers of a torch model, in execution order, with the input size each sees.

    Runs one forward pass of a zero sample with forward pre-hooks (under ``torch.no_grad``, the
    model in eval mode and crossbar layers in ``"float"`` mode; every flag is restored). In a
    converted model (one with :class:`~mapping.nn.CrossbarLinear`/``CrossbarConv2d`` layers) only
    the crossbar layers are returned, each with its own ``xbar.config`` (layers left in float run
    off the crossbar); in a plain model every ``nn.Linear`` and ``nn.Conv2d`` is returned with
    ``config=None``. A module called twice appears twice (``name#2``).

    Args:
        model: A torch model.
        input_shape: Shape of ONE sample, without the batch dimension, e.g. ``(3, 32, 32)``.

    Returns:
        Layer instances for :func:`mapping.plan.place`; spec names are module names.

    Raises:
        ConfigError: A Conv2d that is not a plain matrix (groups, dilation, non-zero padding
            mode) or a wrong ``model``.
        ShapeError: A Linear whose input is not ``(batch, features)``.

    Example:
        >>> from mapping.nn.models import lenet5
        >>> layers = specs_from_torch(lenet5(1, 8), (1, 8, 8))
        >>> [(la.spec.name, la.input_hw) for la in layers][:3]
        [('0', (8, 8)), ('3', (4, 4)), ('7', None)]
    """
    if not isinstance(model, nn.Module):
        raise ConfigError(f"specs_from_torch: model must be a torch.nn.Module; got {type(model).__name__}.")
    shape = tuple(input_shape)
    if not shape or not all(isinstance(s, int) and s >= 1 for s in shape):
        raise ShapeError(f"specs_from_torch: input_shape must be the shape of one sample (positive ints, "
                         f"no batch dimension); got {input_shape!r}.")
    converted = any(isinstance(m, (CrossbarLinear, CrossbarConv2d)) for m in model.modules())
    wanted = (CrossbarLinear, CrossbarConv2d) if converted else (nn.Linear, nn.Conv2d)
    names = {m: n for n, m in model.named_modules()}
    seen: list[tuple[str, nn.Module, torch.Size]] = []

    def hook(module: nn.Module, args) -> None:
        seen.append((names[module], module, args[0].shape))

    targets = [m for m in model.modules() if isinstance(m, wanted)]
    training = {m: m.training for m in model.modules()}
    modes = {m: m.xbar.mode for m in targets if isinstance(m, (CrossbarLinear, CrossbarConv2d))}
    handles = [m.register_forward_pre_hook(hook) for m in targets]
    param = next(model.parameters(), None)
    x = torch.zeros((1, *shape), dtype=param.dtype if param is not None else torch.float32,
                    device=param.device if param is not None else "cpu")
    try:
        model.eval()
        for m in modes:
            m.xbar.mode = "float"
        with torch.no_grad():
            model(x)
    finally:
        for h in handles:
            h.remove()
        for m, mode in modes.items():
            m.xbar.mode = mode
        for m, flag in training.items():
            m.training = flag
    out, count = [], {}
    for name, module, in_shape in seen:
        count[name] = count.get(name, 0) + 1
        label = name if count[name] == 1 else f"{name}#{count[name]}"
        out.append(_spec(label, module, in_shape))
    return out

"""Majority voting over independent crossbar copies of one layer (ReSNA's 3-copy last layer)."""

from __future__ import annotations

import copy

import numpy as np
import torch
from torch import nn

from crossbar.errors import ConfigError
from mapping.nn.modules import CrossbarConv2d, CrossbarLinear, _CrossbarState


class MajorityVote(nn.Module):
    """``copies`` crossbar copies of one layer that share its weights but not its devices.

    Each copy has its own programming and read noise (its own :class:`_CrossbarState`). In
    training mode the output is the mean of the copies' outputs (differentiable). In eval mode
    it is the number of copies voting for each class (argmax of each copy) plus
    ``1e-3 * softmax(mean output)``, so ``argmax`` is the majority class with ties broken by the
    mean output.
    """

    def __init__(self, layer: CrossbarLinear | CrossbarConv2d, copies: int = 3) -> None:
        super().__init__()
        if not isinstance(layer, (CrossbarLinear, CrossbarConv2d)):
            raise ConfigError(f"MajorityVote needs a converted crossbar layer; got {type(layer).__name__}.")
        if isinstance(copies, bool) or not isinstance(copies, int) or copies < 2:
            raise ConfigError(f"MajorityVote.copies must be an integer >= 2; got {copies!r}.")
        seeds = layer.xbar.seed.spawn(copies)
        replicas = []
        for i in range(copies):
            rep = copy.copy(layer)  # shallow: shares Parameters and buffers with the original
            rep._parameters = layer._parameters
            rep._buffers = layer._buffers
            rep.xbar = _CrossbarState(layer.xbar.config, seeds[i])
            rep.xbar.mode = layer.xbar.mode
            replicas.append(rep)
        self.copies = nn.ModuleList(replicas)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        outs = torch.stack([c(x) for c in self.copies])  # (copies, batch, classes)
        mean = outs.mean(dim=0)
        if self.training:
            return mean
        votes = nn.functional.one_hot(outs.argmax(dim=-1), mean.shape[-1]).sum(dim=0).to(mean.dtype)
        return votes + 1e-3 * torch.softmax(mean, dim=-1)


def add_majority_vote(model: nn.Module, name: str, copies: int = 3) -> nn.Module:
    """Replace converted layer ``name`` of ``model`` by a :class:`MajorityVote` of ``copies``
    (in place); returns ``model``."""
    layer = model.get_submodule(name)
    parent_name, _, child = name.rpartition(".")
    parent = model.get_submodule(parent_name) if parent_name else model
    setattr(parent, child, MajorityVote(layer, copies))
    return model


def set_noise_scale(model: nn.Module, scale: float, *, names: list[str] | None = None) -> nn.Module:
    """Multiply the noise that ``"noisy"`` mode injects in the named crossbar layers (all when
    ``names`` is None) by ``scale`` (ReSNA trains FC layers with less noise); returns ``model``."""
    from mapping.nn.convert import crossbar_layers

    if not (isinstance(scale, (int, float)) and np.isfinite(scale) and scale >= 0):
        raise ConfigError(f"set_noise_scale: scale must be a finite number >= 0; got {scale!r}.")
    found = set()
    for layer_name, layer in crossbar_layers(model):
        base = layer_name.split(".copies.")[0]
        if names is None or base in names:
            layer.xbar.noise_scale = float(scale)
            found.add(base)
    missing = sorted(set(names or []) - found)
    if missing:
        raise ConfigError(f"set_noise_scale: no crossbar layers named {missing}.")
    return model

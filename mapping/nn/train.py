"""Training (``fit``, resumable, with tqdm progress) and crossbar-in-the-loop ``evaluate``.

Noise-aware training (ReSNA, Yang et al. ICCAD 2021) is ``fit`` on a converted model in
``"noisy"`` mode: every forward samples a fresh device (programming + physical thermal/shot/RTN
noise at the layer config's frequency and temperature) while SGD updates the noise-free float
master weights; per-layer noise levels come from ``convert(..., overrides=...)``.

Hardware-in-the-loop training (e.g. ADC-aware fine-tuning) is ``fit`` in ``"hardware"`` mode:
the loss is computed on the exact crossbar forward (lossy ADCs, programming and read noise). The
gradient is the straight-through one of the ``"quantized"`` forward (``hardware_grad="ste"``,
blind to ADC clipping) or that of the differentiable crossbar twin
(``hardware_grad="adc"``, :func:`mapping.nn.torch_engine.matmul_surrogate`: zero through
clipped column sums). Every step whose quantized weights changed reprograms the matrices (fresh programming
noise, if any, from the layer's program generator; a ``"calibrated"`` ADC is recalibrated on that
step's batch).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from crossbar.errors import ConfigError, TrainingDivergedError
from mapping.nn.convert import crossbar_layers, reseed, set_hardware_grad, set_mode
from mapping.nn.modules import HARDWARE_GRADS, MODES

Regularizer = Callable[[nn.Module], torch.Tensor]


@dataclass(frozen=True, slots=True, kw_only=True)
class TrainConfig:
    """SGD hyper-parameters.

    Attributes:
        epochs: Total epochs (resuming continues up to this number).
        lr: Learning rate.
        momentum: SGD momentum.
        batch_size: Samples per step.
        lr_step: Multiply ``lr`` by ``lr_factor`` every ``lr_step`` epochs (``None``: constant).
        lr_factor: Step factor.
        mode: Forward mode used for training (``"float"``, ``"quantized"``, ``"noisy"`` or
            ``"hardware"``, see the module docstring); also the mode of the per-epoch test
            accuracy.
        weight_clip_sigma: Clip every crossbar layer's float weights (:func:`clip_weights`) with
            this many standard deviations once before training and after every step (``None``:
            no clipping). Under device noise whose size scales with the layer's largest weight,
            this is what lets noise-aware training recover (``experiments/resna.py``).
        hardware_grad: Gradient of ``"hardware"`` training: ``"ste"`` or ``"adc"`` (module
            docstring; set on every crossbar layer by ``fit``, ignored in the other modes).
        grad_clip: Clip the gradient's global 2-norm to this value before each step (``None``:
            no clipping). Noise-aware training under heavy noise can diverge without it.
        seed: Seed of shuffling and of per-epoch noise (epoch ``e`` uses ``[seed, e]``).
        select_best: When ``fit`` returns, the model holds the weights of the epoch with the highest
            per-epoch accuracy (the first of equals) instead of the last epoch's. That accuracy is
            measured on ``data``'s test split: pass a validation split
            (:meth:`mapping.data.Dataset.split_validation`) to select without the test set.
    """

    epochs: int
    lr: float = 0.01
    momentum: float = 0.9
    batch_size: int = 64
    lr_step: int | None = None
    lr_factor: float = 0.5
    mode: str = "float"
    grad_clip: float | None = None
    weight_clip_sigma: float | None = None
    hardware_grad: str = "ste"
    seed: int = 0
    select_best: bool = False

    def __post_init__(self) -> None:
        for name in ("epochs", "batch_size"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < (0 if name == "epochs" else 1):
                raise ConfigError(f"TrainConfig.{name} must be an integer >= {0 if name == 'epochs' else 1}; "
                                  f"got {v!r}.")
        if not (isinstance(self.lr, (int, float)) and math.isfinite(self.lr) and self.lr > 0):
            raise ConfigError(f"TrainConfig.lr must be a finite number > 0; got {self.lr!r}.")
        st = self.lr_step
        if st is not None and (isinstance(st, bool) or not isinstance(st, int) or st < 1):
            raise ConfigError(f"TrainConfig.lr_step must be None (constant rate) or an integer >= 1; got {st!r}.")
        f = self.lr_factor
        if isinstance(f, bool) or not (isinstance(f, (int, float)) and math.isfinite(f) and f > 0):
            raise ConfigError(f"TrainConfig.lr_factor must be a finite number > 0; got {f!r}.")
        c = self.weight_clip_sigma
        if c is not None and (isinstance(c, bool) or not (isinstance(c, (int, float)) and math.isfinite(c) and c > 0)):
            raise ConfigError(f"TrainConfig.weight_clip_sigma must be None or a finite number > 0; got {c!r}.")
        g = self.grad_clip
        if g is not None and not (isinstance(g, (int, float)) and not isinstance(g, bool) and math.isfinite(g)
                                  and g > 0):
            raise ConfigError(f"TrainConfig.grad_clip must be None or a finite number > 0; got {g!r}.")
        if not isinstance(self.select_best, bool):
            raise ConfigError(f"TrainConfig.select_best must be True or False; got {self.select_best!r}.")
        if self.mode not in MODES:
            raise ConfigError(f"TrainConfig.mode must be one of {list(MODES)}; got {self.mode!r}.")
        if self.hardware_grad not in HARDWARE_GRADS:
            raise ConfigError(f"TrainConfig.hardware_grad must be one of {list(HARDWARE_GRADS)}; "
                              f"got {self.hardware_grad!r}.")


@dataclass(slots=True)
class History:
    """Per-epoch training loss and accuracy on ``data``'s test split (mode of training, no repeats;
    the validation accuracy when ``data`` is a :meth:`mapping.data.Dataset.split_validation`)."""

    loss: list[float] = field(default_factory=list)
    test_accuracy: list[float] = field(default_factory=list)

    @property
    def best_epoch(self) -> int | None:
        """0-based epoch of the highest per-epoch accuracy (the first of equals); None before any."""
        return int(np.argmax(self.test_accuracy)) if self.test_accuracy else None


def _device(model: nn.Module) -> torch.device:
    return next(model.parameters()).device


def _accuracy(model: nn.Module, x: np.ndarray, y: np.ndarray, batch_size: int) -> float:
    dev = _device(model)
    correct = 0
    with torch.no_grad():
        for i in range(0, len(x), batch_size):
            out = model(torch.as_tensor(x[i:i + batch_size], device=dev))
            correct += int((out.argmax(1).cpu().numpy() == y[i:i + batch_size]).sum())
    return correct / max(1, len(x))


def clip_weights(model: nn.Module, sigma: float) -> nn.Module:
    """Clamp every crossbar layer's float weight to ``[-c, c]``, ``c = 2**floor(log2(sigma * std(w)))``.

    The clip is a power of two so that the dynamic fixed-point scale ``2**ceil(log2 max|w|)`` of
    a clipped layer is exactly ``c``: no code range is spent on outliers. Device noise is
    proportional to that scale (a cell level is a fixed fraction of it), so the clip raises the
    typical weight's signal-to-noise ratio; training under noise with it learns weights that
    work clipped. This is the hardware-aware training clip of IBM aihwkit
    (``WeightClipType.LAYER_GAUSSIAN``: clamp at ``sigma * std``), rounded down to a power of two
    for the crossbar's dynamic fixed point. Layers whose weights are all equal to 0 are left
    alone. In place, without gradient; returns ``model``.
    """
    layers = list(crossbar_layers(model))
    if not layers:
        raise ConfigError("clip_weights: the model has no crossbar layers (convert it first); "
                          "weight clipping sets the crossbar's fixed-point scale.")
    with torch.no_grad():
        for _, layer in layers:
            std = float(layer.weight.std()) if layer.weight.numel() > 1 else 0.0
            if std > 0:
                c = 2.0 ** math.floor(math.log2(sigma * std))
                layer.weight.clamp_(-c, c)
    return model


def fit(model: nn.Module, data, config: TrainConfig, *, regularizer: Regularizer | None = None,
        checkpoint: str | Path | None = None, progress: bool = True,
        callback: Callable[[int, nn.Module, History], None] | None = None) -> History:
    """Train ``model`` in place with SGD + cross-entropy (+ ``regularizer(model)``).

    With ``checkpoint``, the model, optimizer and history (and with ``config.select_best`` the
    best epoch's weights) are saved after every epoch (atomically) and a later call resumes after
    the last finished epoch: shuffling and noise depend only on ``(seed, epoch)``, so an
    interrupted and resumed run equals an uninterrupted one.

    Args:
        model: Torch model (converted or not); trained on its current device.
        data: A :class:`mapping.data.Dataset` (``x_train``, ``y_train``, ``x_test``, ``y_test``).
        config: Hyper-parameters and training mode.
        regularizer: Extra loss term, e.g. ``lambda m: bitslice_l1(m, alpha=0.5)``.
        checkpoint: Path of the checkpoint file (``.pt``); ``None`` = no checkpointing.
        progress: Show a tqdm progress bar.
        callback: Called as ``callback(epoch, model, history)`` after every finished epoch (e.g.
            for model selection); runs after the checkpoint is written.

    Returns:
        The full history (including epochs finished before a resume).

    Raises:
        TrainingDivergedError: The loss or the gradient norm is not finite (lower ``lr`` or set
            ``grad_clip``); epochs finished before are in the checkpoint.
    """
    set_mode(model, config.mode)
    if config.mode == "hardware":
        set_hardware_grad(model, config.hardware_grad)
    opt = torch.optim.SGD(model.parameters(), lr=config.lr, momentum=config.momentum)
    hist = History()
    start = 0
    best = None  # the best epoch's state dict (select_best)
    ckpt = Path(checkpoint) if checkpoint is not None else None
    if ckpt is not None and ckpt.exists():
        state = torch.load(ckpt, map_location=_device(model), weights_only=True)
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        hist = History(**json.loads(state["history"]))
        start = int(state["epoch"])
        best = state.get("best")
        if config.select_best and best is None and start > 0:
            raise ConfigError(f"fit: checkpoint {str(ckpt)!r} was written with select_best=False, so it has no "
                              "best epoch's weights; train with select_best=True from the start (another "
                              "checkpoint path).")
    clip_w = config.weight_clip_sigma
    if clip_w is not None and start == 0:
        clip_weights(model, clip_w)
    dev = _device(model)
    n = len(data.x_train)
    bar = tqdm(range(start, config.epochs), disable=not progress, desc="epochs", leave=False)
    for epoch in bar:
        lr = config.lr * (config.lr_factor ** (epoch // config.lr_step) if config.lr_step else 1.0)
        for g in opt.param_groups:
            g["lr"] = lr
        reseed(model, np.random.SeedSequence([config.seed, epoch]))
        order = np.random.default_rng([config.seed, epoch]).permutation(n)
        model.train()
        total = 0.0
        for i in range(0, n, config.batch_size):
            idx = order[i:i + config.batch_size]
            xb = torch.as_tensor(data.x_train[idx], device=dev)
            yb = torch.as_tensor(data.y_train[idx], device=dev)
            loss = nn.functional.cross_entropy(model(xb), yb)
            if regularizer is not None:
                loss = loss + regularizer(model)
            value = float(loss.detach())
            if not math.isfinite(value):
                raise TrainingDivergedError(
                    f"fit: the training loss is {value} at epoch {epoch} (step {i // config.batch_size}); "
                    f"lower TrainConfig.lr (now {config.lr}) or set TrainConfig.grad_clip.")
            opt.zero_grad()
            loss.backward()
            clip = config.grad_clip if config.grad_clip is not None else math.inf
            norm = float(nn.utils.clip_grad_norm_(model.parameters(), clip))
            if not math.isfinite(norm):
                raise TrainingDivergedError(
                    f"fit: the gradient norm is {norm} at epoch {epoch} (step {i // config.batch_size}); "
                    f"lower TrainConfig.lr (now {config.lr}) or set TrainConfig.grad_clip.")
            opt.step()
            if clip_w is not None:
                clip_weights(model, clip_w)
            total += value * len(idx)
        model.eval()
        hist.loss.append(total / n)
        hist.test_accuracy.append(_accuracy(model, data.x_test, data.y_test, 512))
        bar.set_postfix(loss=f"{hist.loss[-1]:.4f}", acc=f"{hist.test_accuracy[-1]:.4f}")
        if config.select_best and hist.best_epoch == epoch:
            best = {k: v.detach().clone() for k, v in model.state_dict().items()}
        if ckpt is not None:
            tmp = ckpt.with_suffix(ckpt.suffix + ".tmp")
            extra = {"best": best} if config.select_best else {}
            torch.save({"model": model.state_dict(), "optimizer": opt.state_dict(), "epoch": epoch + 1,
                        "history": json.dumps(asdict(hist)), **extra}, tmp)
            tmp.replace(ckpt)
        if callback is not None:
            callback(epoch, model, hist)
    if config.select_best and best is not None:
        model.load_state_dict(best)  # the checkpoint keeps the last epoch's: more epochs continue from it
    return hist


@dataclass(frozen=True, slots=True, kw_only=True)
class EvalResult:
    """Accuracy over independent noise draws.

    Attributes:
        mode: Forward mode evaluated.
        accuracies: One accuracy per repeat (fresh programming and read noise each).
        mean: Mean accuracy.
        std: Sample standard deviation (0 for one repeat).
    """

    mode: str
    accuracies: tuple[float, ...]
    mean: float
    std: float


def evaluate(model: nn.Module, x: np.ndarray, y: np.ndarray, *, mode: str = "hardware", n_repeats: int = 1,
             seed: int = 0, batch_size: int = 256) -> EvalResult:
    """Test accuracy of ``model`` in ``mode``, over ``n_repeats`` independent noise draws.

    Repeat ``r`` reseeds every crossbar layer from ``[seed, r]`` (new programming noise, new
    read noise). The model's previous modes are restored afterwards.

    Args:
        model: A converted model.
        x: Inputs ``(n, ...)`` float32. y: Labels ``(n,)`` int.
        mode: ``"float"``, ``"quantized"``, ``"noisy"`` or ``"hardware"``.
        n_repeats: Independent draws (>= 1).
        seed: Seed of the draws.
        batch_size: Samples per forward (the activation exponent is per batch).
    """
    if isinstance(n_repeats, bool) or not isinstance(n_repeats, int) or n_repeats < 1:
        raise ConfigError(f"evaluate: n_repeats must be an integer >= 1; got {n_repeats!r}.")
    from mapping.nn.convert import crossbar_layers

    saved = [(layer, layer.xbar.mode, layer.xbar.seed) for _, layer in crossbar_layers(model)]
    was_training = model.training
    model.eval()
    set_mode(model, mode)
    accs = []
    try:
        for r in range(n_repeats):
            reseed(model, np.random.SeedSequence([seed, r]))
            accs.append(_accuracy(model, x, y, batch_size))
    finally:
        for layer, m, s in saved:
            layer.xbar.mode = m
            layer.xbar.reseed(s)
        model.train(was_training)
    a = np.array(accs)
    return EvalResult(mode=mode, accuracies=tuple(accs), mean=float(a.mean()),
                      std=float(a.std(ddof=1)) if len(a) > 1 else 0.0)

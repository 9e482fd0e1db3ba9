"""The ``xbarsim train`` config file: read and check it (:func:`load_train_job`).

What a job computes: :mod:`search.cli_train`.

Config file (TOML; unknown keys are an error naming the allowed ones; paths relative to the
current directory)::

    output = "results/train/lenet5_digits"    # folder: checkpoints, float.pt, model.pt, report.json
    seed = 0                                  # split, initialization, shuffling, device seeds
    device = "cpu"                            # or "cuda" / "cuda:1": where torch trains and measures

    [data]
    dataset = "digits"                        # digits | mnist | cifar10
    directory = "/data/mnist"                 # mnist / cifar10 files (nothing is downloaded)
    limit = 1000                              # optional: the first `limit` samples of each split
    validation = 0.15                         # optional: hold out this fraction of each training class;
                                              # per-epoch accuracies are then validation accuracies

    [model]
    name = "lenet5"                           # mlp | lenet5 | resnet20 | vgg11
    weights = "results/other/float.pt"        # optional, instead of [pretrain]

    [pretrain]                                # TrainConfig fields but mode and seed (float SGD)
    epochs = 40
    lr = 0.05

    [crossbar]                                # CrossbarConfig fields: the target design
    cell_bits = 2
    frequency = 1e9
    temperature = 400.0
    noise = {physical_programming = true, thermal = true, shot = true, rtn = true}

    [layers."7"]                              # optional per-layer changes
    noise_scale = 0.5

    [finetune]                                # TrainConfig fields but seed; mode "noisy" by default
    epochs = 30
    lr = 0.01
    grad_clip = 1.0
    weight_clip_sigma = 2.0
    select_best = true                        # keep the epoch of the best validation accuracy (needs validation)
    vote = false
    prune = 0.01                              # optional: magnitude pruning, fixed mask
    l1 = "bitslice"                           # optional: "plain" | "bitslice"
    l1_alpha = 0.5

    [evaluate]
    n_repeats = 5
    seed = 1000
    batch_size = 256

    [grid]                                    # optional: one target per combination
    cell_bits = [2, 4, 8]
    temperature = [300.0, 400.0]
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from crossbar.config import CrossbarConfig
from crossbar.errors import ConfigError
from mapping.data import is_fraction
from search.sweep_settings import _check_keys, _int, _read_toml

_TOP = ("output", "seed", "device", "data", "model", "pretrain", "crossbar", "layers", "grid", "finetune", "evaluate")
_DATA = ("dataset", "directory", "limit", "validation")
_MODEL = ("name", "weights")
_TRAIN = ("epochs", "lr", "momentum", "batch_size", "lr_step", "lr_factor", "mode", "grad_clip",
          "weight_clip_sigma", "hardware_grad", "select_best")
_LAYER_EXTRA = ("float", "noise_scale")
_EVALUATE = ("n_repeats", "seed", "batch_size")
MODES = ("float", "quantized", "hardware_noise_free", "hardware")
"""The measured modes, in report order (:func:`run_train_job`)."""
SHOWN_LOSS = 1.0
"""Tables show the recovered fraction only where noise costs at least this many points."""


@dataclass(frozen=True, slots=True, kw_only=True)
class TrainJob:
    """A checked ``xbarsim train`` config (the module docstring says what each part does)."""

    output: Path
    """The output folder."""
    seed: int
    """Seed of the split, the initialization, the training and the converted layers."""
    device: str
    """Torch device of training and measurement (``"cpu"``, ``"cuda"``, ``"cuda:N"``); not part of
    a stage's settings, so a job may move between devices (results agree only up to the devices'
    arithmetic)."""
    data: dict
    """``[data]``: :func:`mapping.data.load_dataset` arguments."""
    model: str
    """Model name (:func:`mapping.nn.models.build_model`)."""
    weights: Path | None
    """A float state dict to start from instead of pretraining."""
    pretrain: Any
    """:class:`mapping.nn.train.TrainConfig` of the float training, or None with ``weights``."""
    crossbar: CrossbarConfig
    """The target design."""
    overrides: dict
    """Per-layer designs by layer name (None: the layer stays float)."""
    noise_scales: dict
    """Per-layer training noise scales."""
    finetune: Any
    """:class:`mapping.nn.train.TrainConfig` of the fine-tuning."""
    vote: bool
    """3-copy majority vote on the last layer."""
    prune: float | None
    """Magnitude pruning threshold before fine-tuning (None: no pruning)."""
    l1: str
    """Fine-tuning regularizer: ``"none"``, ``"plain"`` or ``"bitslice"``."""
    l1_alpha: float
    """Its alpha."""
    n_repeats: int
    """Devices per hardware measurement."""
    eval_seed: int
    """Seed of the measured devices."""
    eval_batch: int
    """Samples per forward pass when measuring."""
    raw: dict
    """The file's content."""
    grid: tuple = ()
    """``[grid]`` targets ``(name, values, crossbar, overrides, noise scales)`` (:func:`run_train_grid`)."""


def _device(path: Path, value: Any) -> str:
    import torch

    try:
        dev = torch.device(value) if isinstance(value, str) else None
    except RuntimeError:
        dev = None
    if dev is None or dev.type not in ("cpu", "cuda"):
        raise ConfigError(f"{path}: device must be 'cpu', 'cuda' or 'cuda:N'; got {value!r}.")
    if dev.type == "cuda" and not (torch.cuda.is_available() and (dev.index or 0) < torch.cuda.device_count()):
        raise ConfigError(f"{path}: device {value!r} is not available here ({torch.cuda.device_count()} CUDA "
                          "devices); use device = \"cpu\".")
    return value


def _layer_changes(path: Path, xbar: dict, layers: dict) -> tuple[dict, dict]:
    """``(overrides, noise scales)`` of the ``[layers]`` tables over the target ``xbar`` (raw fields)."""
    overrides, scales = {}, {}
    allowed = tuple(f.name for f in dataclasses.fields(CrossbarConfig)) + _LAYER_EXTRA
    for name, change in layers.items():
        change = _check_keys(f"[layers.{name!r}]", change, allowed, path)
        keep_float = change.pop("float", False)
        if not isinstance(keep_float, bool):
            raise ConfigError(f"{path}: layers.{name!r}.float must be true or false; got {keep_float!r}.")
        if "noise_scale" in change:
            s = change.pop("noise_scale")
            if isinstance(s, bool) or not isinstance(s, (int, float)) or not (math.isfinite(s) and s >= 0):
                raise ConfigError(f"{path}: layers.{name!r}.noise_scale must be a finite number >= 0; got {s!r}.")
            scales[name] = float(s)
        if keep_float:
            if change or name in scales:
                raise ConfigError(f"{path}: layers.{name!r}: a float layer takes no crossbar fields or noise_scale; "
                                  f"got {sorted(change) + (['noise_scale'] if name in scales else [])}.")
            overrides[name] = None
        elif change:
            try:
                overrides[name] = CrossbarConfig.from_dict(_merged(xbar, change))
            except (ConfigError, TypeError) as err:
                raise ConfigError(f"{path}: [layers.{name!r}]: {err}") from err
    return overrides, scales


def _grid(path: Path, xbar: dict, layers: dict, table: Any) -> tuple:
    """The ``[grid]`` targets: ``((name, values, crossbar, overrides, noise scales), ...)``, empty
    without one."""
    if table is None:
        return ()
    fields = tuple(f.name for f in dataclasses.fields(CrossbarConfig) if f.name != "noise")
    table = _check_keys("[grid]", table, fields, path)
    if not table:
        raise ConfigError(f"{path}: [grid] must list at least one CrossbarConfig field, e.g. cell_bits = [2, 4, 8].")
    for k, v in table.items():
        if not isinstance(v, list) or not v or len(set(map(repr, v))) != len(v):
            raise ConfigError(f"{path}: grid.{k} must be a non-empty list of distinct values; got {v!r}.")
    out = []
    for values in itertools.product(*table.values()):
        point = dict(zip(table, values, strict=True))
        name = ",".join(f"{k}={format(v, 'g') if isinstance(v, float) else v}" for k, v in point.items())
        raw = {**xbar, **point}
        try:
            crossbar = CrossbarConfig.from_dict(raw)
        except (ConfigError, TypeError) as err:
            raise ConfigError(f"{path}: [grid] point {name}: {err}") from err
        out.append((name, point, crossbar, *_layer_changes(path, raw, layers)))
    return tuple(out)


def _positive(path: Path, where: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not (math.isfinite(value) and value > 0):
        raise ConfigError(f"{path}: {where} must be a finite number > 0; got {value!r}.")
    return float(value)


def _train_config(path: Path, where: str, table: dict, *, seed: int, mode: str):
    from mapping.nn.train import TrainConfig

    if "epochs" not in table:
        raise ConfigError(f"{path}: {where} needs 'epochs' (an integer >= 0).")
    try:
        return TrainConfig(**{"mode": mode, **table, "seed": seed})
    except ConfigError as err:
        raise ConfigError(f"{path}: {where}: {err}") from err


def _merged(base: dict, change: dict) -> dict:
    """``base`` with ``change``'s fields; a ``noise`` table changes single noise fields."""
    out = {**base, **{k: v for k, v in change.items() if k != "noise"}}
    if "noise" in change:
        noise = change["noise"]
        out["noise"] = {**base.get("noise", {}), **noise} if isinstance(noise, dict) else noise
    return out


def load_train_job(path: str | Path) -> TrainJob:
    """Read and check an ``xbarsim train`` config file (format: the module docstring).

    Raises:
        ConfigError: An unreadable file, invalid TOML, an unknown key (named with the allowed ones),
            a missing or invalid value (named with what is allowed).
    """
    path = Path(path)
    raw = _read_toml(path, "train config")
    top = _check_keys("the top level", raw, _TOP, path)
    for key in ("output", "model", "crossbar", "finetune"):
        if key not in top:
            raise ConfigError(f"{path}: missing {'key' if key == 'output' else 'section'} "
                              f"{key if key == 'output' else f'[{key}]'}.")
    if not isinstance(top["output"], str) or not top["output"]:
        raise ConfigError(f"{path}: output must be a folder path string; got {top['output']!r}.")
    seed = _int(path, "seed", top.get("seed", 0), 0)
    device = _device(path, top.get("device", "cpu"))
    data = _check_keys("[data]", top.get("data", {"dataset": "digits"}), _DATA, path)
    data.setdefault("dataset", "digits")
    if data["dataset"] not in ("digits", "mnist", "cifar10"):
        raise ConfigError(f"{path}: data.dataset must be one of ['digits', 'mnist', 'cifar10']; "
                          f"got {data['dataset']!r}.")
    if "limit" in data:
        _int(path, "data.limit", data["limit"], 1)
    v = data.get("validation")
    if v is not None and not is_fraction(v):
        raise ConfigError(f"{path}: data.validation must be a fraction in the open interval (0, 1); got {v!r}.")
    if "directory" in data and not isinstance(data["directory"], str):
        raise ConfigError(f"{path}: data.directory must be a path string; got {data['directory']!r}.")
    model = _check_keys("[model]", top["model"], _MODEL, path)
    if model.get("name") not in ("mlp", "lenet5", "resnet20", "vgg11"):
        raise ConfigError(f"{path}: model.name must be one of ['mlp', 'lenet5', 'resnet20', 'vgg11']; "
                          f"got {model.get('name')!r}.")
    weights = model.get("weights")
    if weights is not None and (not isinstance(weights, str) or not weights):
        raise ConfigError(f"{path}: model.weights must be the path of a float state dict; got {weights!r}.")
    if (weights is None) == ("pretrain" not in top):
        raise ConfigError(f"{path}: give exactly one of [pretrain] (train the float model) and model.weights "
                          f"(load it); got {'both' if weights is not None else 'neither'}.")
    pretrain = None
    if "pretrain" in top:
        table = _check_keys("[pretrain]", top["pretrain"], tuple(k for k in _TRAIN if k != "mode"), path)
        pretrain = _train_config(path, "[pretrain]", table, seed=seed, mode="float")
    xbar = _check_keys("[crossbar]", top["crossbar"], tuple(f.name for f in dataclasses.fields(CrossbarConfig)), path)
    try:
        crossbar = CrossbarConfig.from_dict(xbar)
    except (ConfigError, TypeError) as err:
        raise ConfigError(f"{path}: [crossbar]: {err}") from err
    layers = top.get("layers", {})
    if not isinstance(layers, dict):
        raise ConfigError(f"{path}: [layers] must be tables by layer name, e.g. [layers.\"0\"]; got {layers!r:.80}.")
    overrides, scales = _layer_changes(path, xbar, layers)
    grid = _grid(path, xbar, layers, top.get("grid"))
    ft = _check_keys("[finetune]", top["finetune"], _TRAIN + ("vote", "prune", "l1", "l1_alpha"), path)
    vote = ft.pop("vote", False)
    if not isinstance(vote, bool):
        raise ConfigError(f"{path}: finetune.vote must be true or false; got {vote!r}.")
    l1 = ft.pop("l1", "none")
    if l1 not in ("none", "plain", "bitslice"):
        raise ConfigError(f"{path}: finetune.l1 must be one of ['none', 'plain', 'bitslice']; got {l1!r}.")
    alpha = _positive(path, "finetune.l1_alpha", ft.pop("l1_alpha", 0.5 if l1 == "bitslice" else 1.0))
    prune = ft.pop("prune", None)
    if prune is not None:
        _positive(path, "finetune.prune", prune)
    finetune = _train_config(path, "[finetune]", ft, seed=seed, mode="noisy")
    if l1 != "none" and finetune.weight_clip_sigma is not None:
        raise ConfigError(f"{path}: finetune.l1 = {l1!r} cannot be combined with finetune.weight_clip_sigma: the clip "
                          "is recomputed from the weights' std after every step and L1 shrinks the weights, so the "
                          "power-of-two clip halves again and again (LeNet-5 on digits fell to 18 % float accuracy "
                          "in 3 epochs). Use one of them.")
    for where, cfg in (("pretrain", pretrain), ("finetune", finetune)):
        if cfg is not None and cfg.select_best and v is None:
            raise ConfigError(f"{path}: {where}.select_best = true needs data.validation (the fraction of the "
                              "training split to select on): selecting on the test split would report an "
                              "optimistic test accuracy.")
    if finetune.mode == "float":
        raise ConfigError(f"{path}: finetune.mode must be 'noisy', 'hardware' or 'quantized' (float training "
                          "is [pretrain]); got 'float'.")
    ev = _check_keys("[evaluate]", top.get("evaluate", {}), _EVALUATE, path)
    return TrainJob(output=Path(top["output"]), seed=seed, device=device, data=data, model=model["name"],
                    weights=Path(weights) if weights is not None else None, pretrain=pretrain, crossbar=crossbar,
                    overrides=overrides, noise_scales=scales, finetune=finetune, vote=vote, prune=prune, l1=l1,
                    l1_alpha=float(alpha),
                    n_repeats=_int(path, "evaluate.n_repeats", ev.get("n_repeats", 5), 1),
                    eval_seed=_int(path, "evaluate.seed", ev.get("seed", 1000), 0),
                    eval_batch=_int(path, "evaluate.batch_size", ev.get("batch_size", 256), 1), raw=raw,
                    grid=grid)

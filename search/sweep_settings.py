"""Sweep config files: read and validate them (:func:`load_sweep_settings`) and run them.

This is what ``xbarsim sweep CONFIG.toml`` (:mod:`search.cli`) does; the same functions run a
config file from Python.

Sweep config (TOML; unknown keys are an error that names the key and the allowed keys; relative
paths are relative to the current directory)::

    technology = "isaac_ce_32nm"      # name or path for crossbar.tech.load_technology
    output = "results/sweep/results.h5"
    executor = "local"                # "local", "serial" or a Dask scheduler "tcp://host:port"
    max_workers = 2                   # optional, "local" only (default: all cores)

    [network]
    model = "mlp"                     # mlp, lenet5, resnet20, vgg11 (mapping.nn.models.build_model)
    input_shape = [1, 8, 8]           # one sample, C x H x W (H == W); default from the data set,
                                      # or [3, 32, 32] for resnet20 and vgg11
    n_classes = 10                    # default 10 (from the data set with [accuracy])

    [base]                            # CrossbarConfig fields (crossbar.config), [base.noise] too
    weight_bits = 8

    [grid]                            # design variables: CrossbarConfig field -> list of values
    rows = [64, 128]
    adc_bits = [4, 6, 8]

    [accuracy]                        # optional: hardware-mode accuracy of a pretrained model
    dataset = "digits"                # digits (embedded), or mnist / cifar10 with directory = ...
    pretrain_epochs = 10              # float training (SGD); the weights are cached next to output
    n_repeats = 2                     # independent device draws per design
"""

from __future__ import annotations

import dataclasses
import functools
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

import tomllib

from crossbar.config import CrossbarConfig
from crossbar.errors import ConfigError
from search.sweep import AccuracySpec, SweepResult, expand_grid, sweep

__all__ = ["AccuracySettings", "NetworkSettings", "SweepSettings", "load_sweep_settings", "run_sweep_settings"]

_MODELS = ("mlp", "lenet5", "resnet20", "vgg11")
_DATASETS = {"digits": (1, 8, 8), "mnist": (1, 28, 28), "cifar10": (3, 32, 32)}  # name -> sample shape
_TOP_KEYS = ("technology", "output", "executor", "max_workers", "network", "base", "grid", "accuracy")
_NETWORK_KEYS = ("model", "input_shape", "n_classes")
_ACCURACY_KEYS = ("dataset", "directory", "limit", "pretrain_epochs", "lr", "batch_size", "n_repeats", "seed")


@dataclass(frozen=True, slots=True, kw_only=True)
class NetworkSettings:
    """``[network]``: which model to map."""

    model: str
    """One of ``mlp``, ``lenet5``, ``resnet20``, ``vgg11``."""
    input_shape: tuple[int, int, int]
    """One sample, ``(C, H, W)`` [pixels], ``H == W``."""
    n_classes: int = 10
    """Outputs of the classifier [1]."""


@dataclass(frozen=True, slots=True, kw_only=True)
class AccuracySettings:
    """``[accuracy]``: pretraining and evaluation of the model for hardware-mode accuracy."""

    dataset: str = "digits"
    """``digits``, ``mnist`` or ``cifar10`` (:func:`mapping.data.load_dataset`)."""
    directory: str | None = None
    """Folder of the MNIST/CIFAR-10 files."""
    limit: int | None = None
    """First ``limit`` samples of each split."""
    pretrain_epochs: int = 10
    """Float SGD epochs [1]."""
    lr: float = 0.05
    """Learning rate."""
    batch_size: int = 64
    """SGD batch size [1]."""
    n_repeats: int = 1
    """Device draws per design [1]."""
    seed: int = 0
    """Seed of the split, the initialization, the training and the device draws."""


@dataclass(frozen=True, slots=True, kw_only=True)
class SweepSettings:
    """A validated sweep config file."""

    network: NetworkSettings
    """The model."""
    base: CrossbarConfig
    """The design the grid modifies."""
    grid: Mapping[str, tuple[Any, ...]]
    """Design variables -> values."""
    technology: str
    """Technology name or path."""
    output: Path
    """The results store."""
    executor: str = "local"
    """Executor spec (:func:`search.executors.make_executor`)."""
    max_workers: int | None = None
    """Local worker processes."""
    accuracy: AccuracySettings | None = None
    """Accuracy section, or ``None`` for cost only."""
    raw: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    """The file's content, stored as the run's metadata."""

    def designs(self) -> list[CrossbarConfig]:
        """The grid applied to the base design."""
        return expand_grid({k: list(v) for k, v in self.grid.items()}, base=self.base)


def _check_keys(where: str, table: Any, allowed: Sequence[str], path: Path) -> dict[str, Any]:
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: {where} must be a table; got {table!r:.80}.")
    unknown = [k for k in table if k not in allowed]
    if unknown:
        raise ConfigError(f"{path}: unknown key {unknown[0]!r} in {where}; allowed keys: {list(allowed)}.")
    return dict(table)


def _read_toml(path: Path, what: str) -> dict[str, Any]:
    """The TOML file ``path`` (a ``what``, e.g. "sweep config"), or a ConfigError saying why not."""
    try:
        return tomllib.loads(path.read_text())
    except OSError as err:
        raise ConfigError(f"cannot read {what} {str(path)!r}: {err}") from err
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{path}: invalid TOML: {err}") from err


def _int(path: Path, where: str, value: Any, lo: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < lo:
        raise ConfigError(f"{path}: {where} must be an integer >= {lo}; got {value!r}.")
    return value


def load_sweep_settings(path: str | os.PathLike[str]) -> SweepSettings:
    """Read and validate a sweep config file (format: the module docstring).

    Raises:
        ConfigError: An unreadable file, an unknown key (named with the allowed keys), a missing
            section, or an invalid value or design.
    """
    path = Path(path)
    raw = _read_toml(path, "sweep config")
    top = _check_keys("the top level", raw, _TOP_KEYS, path)
    for name in ("network", "grid"):
        if name not in top:
            raise ConfigError(f"{path}: missing section [{name}].")
    if "output" not in top:
        raise ConfigError(f"{path}: missing key 'output' (the results .h5 path) at the top level.")
    acc = None
    if "accuracy" in top:
        a = _check_keys("[accuracy]", top["accuracy"], _ACCURACY_KEYS, path)
        try:
            acc = AccuracySettings(**a)
        except TypeError as err:
            raise ConfigError(f"{path}: [accuracy]: {err}") from err
        for name in ("pretrain_epochs", "batch_size", "n_repeats", "seed"):
            lo = 0 if name in ("pretrain_epochs", "seed") else 1
            _int(path, f"accuracy.{name}", getattr(acc, name), lo)
        if acc.limit is not None:
            _int(path, "accuracy.limit", acc.limit, 1)
        if acc.dataset not in _DATASETS:
            raise ConfigError(f"{path}: accuracy.dataset must be one of {list(_DATASETS)}; got "
                              f"{acc.dataset!r}.")
        if acc.directory is not None and not isinstance(acc.directory, str):
            raise ConfigError(f"{path}: accuracy.directory must be a path string; got {acc.directory!r}.")
        if isinstance(acc.lr, bool) or not isinstance(acc.lr, (int, float)) or not acc.lr > 0:
            raise ConfigError(f"{path}: accuracy.lr must be a number > 0; got {acc.lr!r}.")
    net = _check_keys("[network]", top["network"], _NETWORK_KEYS, path)
    model = net.get("model")
    if model not in _MODELS:
        raise ConfigError(f"{path}: network.model must be one of {list(_MODELS)}; got {model!r}.")
    shape = net.get("input_shape")
    if shape is None:
        if acc is not None:
            shape = list(_dataset_sample_shape(acc))
        elif model in ("resnet20", "vgg11"):
            shape = [3, 32, 32]
        else:
            raise ConfigError(f"{path}: network.input_shape (C, H, W) is required for model {model!r} "
                              "without an [accuracy] data set.")
    positive = isinstance(shape, list) and all(isinstance(s, int) and s >= 1 for s in shape)
    if not positive or len(shape) != 3 or shape[1] != shape[2]:
        raise ConfigError(f"{path}: network.input_shape must be [C, H, W] with H == W (positive integers); "
                          f"got {shape!r}.")
    network = NetworkSettings(model=model, input_shape=tuple(shape),
                              n_classes=_int(path, "network.n_classes", net.get("n_classes", 10), 2))
    base_table = top.get("base", {})
    if not isinstance(base_table, dict):
        raise ConfigError(f"{path}: [base] must be a table of CrossbarConfig fields.")
    try:
        base = CrossbarConfig.from_dict(base_table)
    except (ConfigError, TypeError) as err:
        raise ConfigError(f"{path}: [base]: {err}") from err
    grid_table = top["grid"]
    if not isinstance(grid_table, dict) or not grid_table:
        raise ConfigError(f"{path}: [grid] must list at least one design variable, e.g. "
                          "adc_bits = [4, 6, 8].")
    grid = {k: tuple(v) if isinstance(v, list) else v for k, v in grid_table.items()}
    for k, v in grid.items():
        if not isinstance(v, tuple) or not v:
            raise ConfigError(f"{path}: grid.{k} must be a non-empty list of values; got {v!r}.")
    executor = top.get("executor", "local")
    if not isinstance(executor, str):
        raise ConfigError(f"{path}: executor must be a string ('local', 'serial' or 'tcp://host:port').")
    max_workers = top.get("max_workers")
    if max_workers is not None:
        _int(path, "max_workers", max_workers, 1)
    technology = top.get("technology", "isaac_ce_32nm")
    if not isinstance(technology, str):
        raise ConfigError(f"{path}: technology must be a name or a path; got {technology!r}.")
    settings = SweepSettings(network=network, base=base, grid=MappingProxyType(grid), technology=technology,
                             output=Path(str(top["output"])), executor=executor, max_workers=max_workers,
                             accuracy=acc, raw=MappingProxyType(raw))
    try:
        settings.designs()
    except ConfigError as err:
        raise ConfigError(f"{path}: [grid]: {err}") from err
    return settings


def _dataset_sample_shape(acc: AccuracySettings) -> tuple[int, ...]:
    return _DATASETS[acc.dataset]


def _pretrained(settings: SweepSettings, *, progress: bool) -> AccuracySpec:
    """Train (or load the cached weights of) the model of ``settings`` and wrap it for the sweep."""
    import torch

    from mapping.data import load_dataset
    from mapping.nn.models import build_model
    from mapping.nn.train import TrainConfig, fit

    acc, net = settings.accuracy, settings.network
    data = load_dataset(acc.dataset, directory=acc.directory, limit=acc.limit, seed=acc.seed)
    if tuple(data.sample_shape) != net.input_shape:
        raise ConfigError(f"network.input_shape {list(net.input_shape)} does not match the {acc.dataset} "
                          f"samples {list(data.sample_shape)}.")
    build = functools.partial(build_model, net.model, in_channels=net.input_shape[0],
                              image_size=net.input_shape[1], n_classes=data.n_classes)
    key = json.dumps({"network": dataclasses.asdict(net), "accuracy": dataclasses.asdict(acc)},
                     sort_keys=True)
    cache = settings.output.with_name(settings.output.stem + ".pretrained.pt")
    if cache.exists():
        saved = torch.load(cache, map_location="cpu", weights_only=True)
        if saved.get("settings") == key:
            with torch.random.fork_rng(devices=[]):
                model = build()
            model.load_state_dict(saved["state"])
            return AccuracySpec.from_model(model, build=build, x=data.x_test, y=data.y_test,
                                           n_repeats=acc.n_repeats, seed=acc.seed)
    with torch.random.fork_rng(devices=[]):  # seeded initialization without touching the caller's RNG
        torch.manual_seed(acc.seed)
        model = build()
    train = TrainConfig(epochs=acc.pretrain_epochs, lr=float(acc.lr), batch_size=acc.batch_size,
                        seed=acc.seed)
    hist = fit(model, data, train, progress=progress)
    if hist.test_accuracy:
        print(f"pretrained {net.model} on {acc.dataset}: {acc.pretrain_epochs} epochs, float test accuracy "
              f"{100 * hist.test_accuracy[-1]:.2f}%")
    cache.parent.mkdir(parents=True, exist_ok=True)
    tmp = cache.with_name(cache.name + ".tmp")
    torch.save({"settings": key, "state": model.state_dict()}, tmp)
    tmp.replace(cache)
    return AccuracySpec.from_model(model, build=build, x=data.x_test, y=data.y_test, n_repeats=acc.n_repeats,
                                   seed=acc.seed)


def run_sweep_settings(settings: SweepSettings, *, progress: bool = True,
                       executor: Any = None) -> SweepResult:
    """Run the sweep a config file describes.

    Args:
        settings: From :func:`load_sweep_settings`.
        progress: Show progress bars.
        executor: Overrides the file's executor (anything :func:`search.executors.make_executor`
            takes); left running.

    Returns:
        The sweep's rows.
    """
    import torch

    from mapping.nn.models import build_model
    from search.executors import make_executor

    net = settings.network
    accuracy = _pretrained(settings, progress=progress) if settings.accuracy is not None else None
    with torch.random.fork_rng(devices=[]):  # the traced model's weights do not matter
        model = accuracy.build() if accuracy is not None else build_model(
            net.model, in_channels=net.input_shape[0], image_size=net.input_shape[1], n_classes=net.n_classes)
    owned = executor is None
    if owned:
        local = settings.executor in ("local", None)
        executor = make_executor(settings.executor, max_workers=settings.max_workers if local else None)
    try:
        return sweep((model, net.input_shape), settings.designs(), tech=settings.technology,
                     store_path=settings.output, accuracy=accuracy, executor=executor, progress=progress,
                     meta={"config": dict(settings.raw)})
    finally:
        if owned:
            executor.shutdown()

"""The ``xbarsim`` command line: ``xbarsim sweep CONFIG.toml`` and ``xbarsim report RESULTS.h5``.

Each subcommand is one function decorated with :func:`subcommand` that adds its parser to the
``subparsers`` it is given and sets ``run=<function(args) -> int>``; :func:`main` builds the
parser from every registered function, so a new subcommand is one more decorated function, here
or in a module listed in :data:`EXTENSIONS` (``search.cli_search``: ``search`` and ``plot``).
Errors of this package (bad configs, damaged stores) are printed as one line on stderr with exit
status 2; anything else is a bug and shows its traceback.

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

import argparse
import dataclasses
import functools
import importlib
import importlib.util
import json
import math
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np
import tomllib

from crossbar.config import CrossbarConfig
from crossbar.cost import COMPONENTS
from crossbar.errors import ConfigError, XbarError
from search.store import ResultStore, StoreError
from search.sweep import SWEEP_COLUMNS, AccuracySpec, SweepResult, expand_grid, load_sweep, sweep

__all__ = ["AccuracySettings", "NetworkSettings", "SweepSettings", "build_parser", "load_sweep_settings",
           "main", "run_sweep_settings", "subcommand"]

_SUBCOMMANDS: list[Callable[[Any], None]] = []
EXTENSIONS: tuple[str, ...] = ("search.cli_search",)
"""Modules that register more subcommands with :func:`subcommand` (``search``, ``plot``)."""
_MODELS = ("mlp", "lenet5", "resnet20", "vgg11")
_DATASETS = {"digits": (1, 8, 8), "mnist": (1, 28, 28), "cifar10": (3, 32, 32)}  # name -> sample shape
_TOP_KEYS = ("technology", "output", "executor", "max_workers", "network", "base", "grid", "accuracy")
_NETWORK_KEYS = ("model", "input_shape", "n_classes")
_ACCURACY_KEYS = ("dataset", "directory", "limit", "pretrain_epochs", "lr", "batch_size", "n_repeats", "seed")


def subcommand(add: Callable[[Any], None]) -> Callable[[Any], None]:
    """Register ``add(subparsers)``, which adds one subcommand parser with ``set_defaults(run=...)``.

    Example:
        >>> "sweep" in build_parser().format_help()
        True
    """
    _SUBCOMMANDS.append(add)
    return add


def build_parser() -> argparse.ArgumentParser:
    """The ``xbarsim`` parser with every registered subcommand (this module's and those of the
    modules in :data:`EXTENSIONS`, imported here when they exist)."""
    for name in EXTENSIONS:
        if importlib.util.find_spec(name) is not None:
            importlib.import_module(name)
    parser = argparse.ArgumentParser(prog="xbarsim", description="ReRAM crossbar accelerator simulator: "
                                     "design sweeps, reports and design search.")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for add in _SUBCOMMANDS:
        add(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``xbarsim`` with ``argv`` (default ``sys.argv[1:]``); returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "run", None) is None:
        parser.print_help()
        return 2
    try:
        return int(args.run(args))
    except XbarError as err:
        print(f"xbarsim {args.command}: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"xbarsim {args.command}: interrupted (finished rows are stored; re-run to resume)",
              file=sys.stderr)
        return 130


# ---- sweep config --------------------------------------------------------------------------
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
    try:
        raw = tomllib.loads(path.read_text())
    except OSError as err:
        raise ConfigError(f"cannot read sweep config {str(path)!r}: {err}") from err
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{path}: invalid TOML: {err}") from err
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


@subcommand
def _add_sweep(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "sweep", help="evaluate a grid of crossbar designs (TOML config) into an HDF5 store",
        description="Evaluate a grid of crossbar designs: area, energy, latency and, with an [accuracy] "
        "section, hardware-mode accuracy. Re-running resumes.")
    p.add_argument("config", type=Path, help="sweep config (TOML)")
    p.add_argument("--out", type=Path, default=None, help="results store (overrides 'output')")
    p.add_argument("--executor", default=None,
                   help="'local', 'serial' or tcp://host:port (overrides the file)")
    p.add_argument("--max-workers", type=int, default=None, help="local worker processes")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.set_defaults(run=_run_sweep)


def _run_sweep(args: argparse.Namespace) -> int:
    settings = load_sweep_settings(args.config)
    changes: dict[str, Any] = {}
    if args.out is not None:
        changes["output"] = args.out
    if args.executor is not None:
        changes["executor"] = args.executor
    if args.max_workers is not None:
        changes["max_workers"] = args.max_workers
    settings = dataclasses.replace(settings, **changes)
    res = run_sweep_settings(settings, progress=not args.no_progress)
    print(f"sweep: {len(res)} designs ({res.n_skipped} already stored, {res.n_new} evaluated, {res.n_failed} "
          f"failed) -> {res.path}")
    return 0 if res.n_failed == 0 else 1


# ---- report --------------------------------------------------------------------------------
def _fmt(value: float, scale: float, digits: int) -> str:
    return "-" if not math.isfinite(value) else f"{value * scale:.{digits}f}"


def report_table(res: SweepResult) -> str:
    """A fixed-width text table of a sweep: design fields, area, energy, latency, accuracy, status."""
    head = (f"{'key':<16} {'rows':>5} {'cols':>5} {'cell':>4} {'wbits':>5} {'ibits':>5} {'dac':>3} "
            f"{'adc':>10} {'MHz':>7} {'area mm^2':>10} {'energy uJ':>10} {'latency us':>11} {'inf/s':>10} "
            f"{'accuracy %':>12} status")
    lines = [head, "-" * len(head)]
    c = res.columns
    for i in range(len(res)):
        acc = c["accuracy_mean"][i]
        acc_s = "-" if not math.isfinite(acc) else f"{100 * acc:.2f}+-{100 * c['accuracy_std'][i]:.2f}"
        status = str(c["status"][i]) if c["status"][i] == "ok" else f"failed: {c['error'][i][:60]}"
        adc = str(c["adc_bits"][i]).replace(" ", "")
        lines.append(
            f"{c['key'][i]:<16} {c['rows'][i]:>5} {c['cols'][i]:>5} {c['cell_bits'][i]:>4} "
            f"{c['weight_bits'][i]:>5} {c['input_bits'][i]:>5} {c['dac_bits'][i]:>3} {adc:>10} "
            f"{_fmt(c['frequency'][i], 1e-6, 1):>7} {_fmt(c['area'][i], 1e6, 4):>10} "
            f"{_fmt(c['energy'][i], 1e6, 4):>10} {_fmt(c['latency'][i], 1e6, 2):>11} "
            f"{_fmt(c['throughput'][i], 1.0, 0):>10} {acc_s:>12} {status}")
    return "\n".join(lines)


_LABEL_FIELDS = (("rows", "R"), ("cols", "C"), ("cell_bits", "c"), ("weight_bits", "W"), ("input_bits", "A"),
                 ("dac_bits", "d"), ("adc_bits", "adc"), ("frequency", "f"), ("encoding", ""))


def _labels(c: Mapping[str, np.ndarray], idx: np.ndarray) -> list[str]:
    varying = [(f, short) for f, short in _LABEL_FIELDS if len(set(c[f][idx].tolist())) > 1]
    out = []
    for i in idx:
        parts = []
        for f, short in varying:
            v = c[f][i]
            text = f"{v / 1e6:g}M" if f == "frequency" else str(v).replace(" ", "")
            parts.append(f"{short}{text}" if short else text)
        out.append(" ".join(parts) or str(c["key"][i])[:8])
    return out


def plot_breakdown(res: SweepResult, stem: Path, *, sort: str = "energy",
                   max_designs: int = 30) -> list[Path]:
    """Stacked per-component energy and area bars of the ok designs; saves ``stem.png`` and ``stem.pdf``.

    With more than ``max_designs`` ok designs, evenly spaced ones (in ``sort`` order) are shown.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    c = res.columns
    ok = np.flatnonzero(c["status"] == "ok")
    if ok.size == 0:
        raise StoreError(f"{res.path}: no successful designs to plot.")
    idx = ok[np.argsort(c[sort][ok], kind="stable")]
    if idx.size > max_designs:
        idx = idx[np.unique(np.linspace(0, idx.size - 1, max_designs).round().astype(int))]
    labels = _labels(c, idx)
    x = np.arange(idx.size)
    fig, axes = plt.subplots(2, 1, figsize=(max(6.0, 0.38 * idx.size + 2.5), 7.0), sharex=True)
    colors = plt.get_cmap("tab10").colors
    for ax, (what, scale, unit) in zip(axes, (("energy", 1e6, "energy per inference [uJ]"),
                                              ("area", 1e6, "area [mm$^2$]")), strict=True):
        bottom = np.zeros(idx.size)
        for k, comp in enumerate(COMPONENTS):
            vals = c[f"{what}_{comp}"][idx] * scale
            if np.any(vals > 0):
                ax.bar(x, vals, bottom=bottom, color=colors[k % len(colors)], label=comp, width=0.8)
                bottom += vals
        ax.set_ylabel(unit)
        ax.grid(axis="y", alpha=0.3)
    axes[0].legend(fontsize=7, ncol=3, loc="upper left")
    axes[0].set_title(f"Per-component breakdown ({idx.size} of {ok.size} designs, sorted by {sort})",
                      fontsize=10)
    axes[1].set_xticks(x, labels, rotation=60, ha="right", fontsize=7)
    fig.tight_layout()
    stem.parent.mkdir(parents=True, exist_ok=True)
    paths = [stem.with_suffix(".png"), stem.with_suffix(".pdf")]
    fig.savefig(paths[0], dpi=150)
    fig.savefig(paths[1])
    plt.close(fig)
    return paths


@subcommand
def _add_report(subparsers: Any) -> None:
    p = subparsers.add_parser("report", help="print a sweep's table and plot its per-component breakdown",
                              description="Print the designs of a sweep store (area, energy, latency, "
                              "accuracy) and write per-component breakdown bar plots (PNG + PDF) next to it.")
    p.add_argument("results", type=Path, help="results store (.h5) written by 'xbarsim sweep'")
    p.add_argument("--sort", default=None, choices=("area", "energy", "latency", "accuracy_mean"),
                   help="order of the table and the plot (default: store order; plot: energy)")
    p.add_argument("--max-designs", type=int, default=30, help="designs in the breakdown plot")
    p.add_argument("--out-dir", type=Path, default=None,
                   help="folder of the plots (default: next to the store)")
    p.set_defaults(run=_run_report)


def _run_report(args: argparse.Namespace) -> int:
    store = ResultStore.read(args.results)
    missing = [k for k in SWEEP_COLUMNS if k not in store.columns]
    if missing or store.meta.get("kind") != "sweep":
        raise StoreError(f"{args.results}: not a sweep results store (kind {store.meta.get('kind')!r}); "
                         "'xbarsim report' reads stores written by 'xbarsim sweep'.")
    res = load_sweep(args.results)
    if args.sort is not None:
        order = np.argsort(-res[args.sort] if args.sort == "accuracy_mean" else res[args.sort], kind="stable")
    else:  # design order: the first design field varies slowest
        order = np.lexsort([res[f] for f, _ in reversed(_LABEL_FIELDS)])
    if len(res):
        res = dataclasses.replace(res, columns=MappingProxyType({k: v[order]
                                                                  for k, v in res.columns.items()}))
    meta = store.meta
    print(f"{args.results}: {len(res)} designs ({res.n_failed} failed); network "
          f"{len(meta.get('network', []))} layers; technology {meta.get('technology')}")
    print(report_table(res))
    ok = res["status"] == "ok"
    if ok.any():
        best = []
        for name, scale, unit, fn in (("area", 1e6, "mm^2", np.argmin), ("energy", 1e6, "uJ", np.argmin),
                                      ("latency", 1e6, "us", np.argmin),
                                      ("accuracy_mean", 100, "%", np.argmax)):
            vals = np.where(ok, res[name], np.nan)
            if np.all(np.isnan(vals)):
                continue
            i = int(fn(np.where(np.isnan(vals), np.inf if fn is np.argmin else -np.inf, vals)))
            best.append(f"{name} {vals[i] * scale:.4g} {unit} ({res['key'][i]})")
        print("best: " + "; ".join(best))
        out_dir = args.out_dir if args.out_dir is not None else args.results.parent
        stem = out_dir / f"{args.results.stem}_breakdown"
        for path in plot_breakdown(res, stem, sort=args.sort or "energy", max_designs=args.max_designs):
            print(f"wrote {path}")
    return 0


if __name__ == "__main__":  # python -m search.cli: run the importable module (one subcommand registry)
    from search.cli import main as _main

    raise SystemExit(_main())

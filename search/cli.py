"""The ``xbarsim`` command line: ``xbarsim sweep CONFIG.toml`` and ``xbarsim report RESULTS.h5``.

Each subcommand is one function decorated with :func:`subcommand` that adds its parser to the
``subparsers`` it is given and sets ``run=<function(args) -> int>``; :func:`main` builds the
parser from every registered function, so a new subcommand is one more decorated function, here
or in a module listed in :data:`EXTENSIONS` (``search.cli_search``: ``search``, ``plot`` and
``rescore``; ``search.cli_train``: ``train``).
Errors of this package (bad configs, damaged stores) are printed as one line on stderr with exit
status 2; anything else is a bug and shows its traceback.

The sweep config file (TOML) is described in :mod:`search.sweep_settings`, which reads and runs
it; the report's table and plots are :mod:`search.sweep_report`. Their public names are
re-exported here.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import importlib.util
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np

from crossbar.errors import XbarError
from search.store import ResultStore, StoreError
from search.sweep import SWEEP_COLUMNS, load_sweep
from search.sweep_report import _LABEL_FIELDS, plot_breakdown, report_table  # re-exported
from search.sweep_settings import (  # re-exported: the sweep config API was defined here
    AccuracySettings,
    NetworkSettings,
    SweepSettings,
    load_sweep_settings,
    run_sweep_settings,
)

__all__ = ["AccuracySettings", "NetworkSettings", "SweepSettings", "build_parser", "load_sweep_settings",
           "main", "run_sweep_settings", "subcommand"]

_SUBCOMMANDS: list[Callable[[Any], None]] = []
EXTENSIONS: tuple[str, ...] = ("search.cli_search", "search.cli_train")
"""Modules that register more subcommands with :func:`subcommand` (``search``, ``plot``,
``rescore``, ``train``)."""


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
                                     "design sweeps, reports, design search and training for a target crossbar.")
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


# ---- sweep ---------------------------------------------------------------------------------
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
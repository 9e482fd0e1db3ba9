"""``xbarsim search CONFIG.toml`` and ``xbarsim plot STORE.h5``.

Search configuration (TOML; unknown keys are an error)::

    output = "results/search/store.h5"   # HDF5 store (resumed when it exists)
    algorithm = "cfmesmo"                 # random | nsga2 | mesmo | cfmesmo | qlognehvi
    truncation = "per_objective"          # or "tradeoff" (MESMO/CF-MESMO)
    reference_box = false                 # tradeoff only: information about the front inside the
                                          # hypervolume's reference box (search.loop.MESSearch)
    budget = 120.0                        # cost budget: seconds of evaluation
    charge_proposals = false              # true: the budget also counts the seconds spent proposing
    q = 1                                 # evaluations in flight
    seed = 0
    n_samples = 10                        # posterior samples
    n_init = 6                            # random evaluations before the model is used
    executor = "serial"                   # serial | local | tcp://host:port
    max_workers = 2                       # for "local"

    [task]                                # search.evaluate.ReramTask fields
    dataset = "digits"
    model = "mlp"
    pretrain_epochs = 30
    max_epochs = 4
    n_repeats = 2
    technology = "isaac_ce_32nm"
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import tomllib

from crossbar.errors import ConfigError
from search.cli import subcommand

_TOP = {"output": str, "algorithm": str, "truncation": str, "budget": (int, float), "q": int, "seed": int,
        "n_samples": int, "n_init": int, "executor": str, "max_workers": int, "task": dict, "charge_proposals": bool,
        "reference_box": bool}
_TASK = ("dataset", "data_dir", "model", "pretrain_epochs", "max_epochs", "n_repeats", "technology", "lr", "seed",
         "adc_range", "grad_clip")


def load_search_config(path: str | Path) -> dict:
    """Read and check a search TOML file (see the module docstring)."""
    path = Path(path)
    try:
        with open(path, "rb") as fh:
            cfg = tomllib.load(fh)
    except FileNotFoundError as err:
        raise ConfigError(f"search config {str(path)!r} does not exist.") from err
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"search config {str(path)!r} is not valid TOML: {err}") from err
    unknown = sorted(set(cfg) - set(_TOP))
    if unknown:
        raise ConfigError(f"search config {str(path)!r}: unknown keys {unknown}; allowed: {sorted(_TOP)}.")
    for key, typ in _TOP.items():
        if key in cfg and (not isinstance(cfg[key], typ) or (isinstance(cfg[key], bool) and typ is not bool)):
            raise ConfigError(f"search config {str(path)!r}: {key} = {cfg[key]!r} has the wrong type.")
    bad = sorted(set(cfg.get("task", {})) - set(_TASK))
    if bad:
        raise ConfigError(f"search config {str(path)!r}: unknown [task] keys {bad}; allowed: {sorted(_TASK)}.")
    if "budget" not in cfg:
        raise ConfigError(f"search config {str(path)!r}: 'budget' (seconds of evaluation) is required.")
    return cfg


def run_search_config(cfg: dict, *, base_dir: Path, progress: bool = True):
    """Run (or resume) the search a checked config describes; returns the store path."""
    from search.evaluate import ReramTask
    from search.executors import make_executor
    from search.run import reram_search, run_stored_search

    task = ReramTask(**cfg.get("task", {}))
    out = Path(cfg.get("output", "results/search/store.h5"))
    out = out if out.is_absolute() else base_dir / out
    problem, alg, spec, describe = reram_search(
        task, algorithm=cfg.get("algorithm", "cfmesmo"), truncation=cfg.get("truncation", "per_objective"),
        n_samples=cfg.get("n_samples", 10), n_init=cfg.get("n_init", 6), budget=float(cfg["budget"]),
        q=cfg.get("q", 1), seed=cfg.get("seed", 0), progress=progress,
        charge_proposals=cfg.get("charge_proposals", False), reference_box=cfg.get("reference_box", False))
    spec_exec = cfg.get("executor", "serial")
    executor = None
    if spec_exec == "local":
        executor = make_executor("local", max_workers=cfg.get("max_workers"))
    elif spec_exec != "serial":
        executor = make_executor(spec_exec)
    try:
        run_stored_search(problem, alg, spec, out, executor=executor, describe=describe, progress=progress)
    finally:
        if executor is not None:
            executor.shutdown()
    return out


def plot_store(path: str | Path) -> list[Path]:
    """Figures of a search store next to it: pairwise fronts, Pareto designs, hypervolume vs cost.

    Prints the Pareto-optimal designs (full-fidelity evaluations only). Normalization of the
    hypervolume: accuracy in [0, 1] (ideal 1), the exact objectives between their minimum and
    1.05 x their maximum over the run; reference point 1.1.
    """
    from search.plot import hypervolume_vs_cost, pairwise_fronts, parallel_coordinates, pareto_mask
    from search.run import load_evaluations
    from search.store import ResultStore
    from search.tasks import hypervolume_trace

    path = Path(path)
    store = ResultStore.read(path)
    names = store.meta.get("objectives") or ["f0", "c0", "c1", "c2"]
    evs = load_evaluations(path)
    rows = store.to_dict_of_arrays(["design"])["design"]
    designs = {int(e.index): json.loads(d) for e, d in zip(evs, rows, strict=True)}
    full = [e for e in evs if e.status == "ok" and e.z == 1.0]
    if not full:
        raise ConfigError(f"plot: {str(path)!r} has no successful full-fidelity evaluation to plot.")
    F = np.array([np.concatenate([e.f, e.cheap]) for e in full])
    stem = path.with_suffix("")
    out = pairwise_fronts(F, names, stem.with_name(stem.name + "_fronts"),
                          transforms={0: ("accuracy [%]", -100.0)}, title=f"{len(full)} full-fidelity designs")
    front = pareto_mask(F)
    pareto = [e for e, keep in zip(full, front, strict=True) if keep]
    cols: dict[str, list] = {}
    for e in pareto:
        for k, v in designs[e.index].items():
            cols.setdefault(k, []).append(float(v))
        cols.setdefault("accuracy", []).append(-float(e.f[0]))
    out += parallel_coordinates({k: np.array(v) for k, v in cols.items()},
                                stem.with_name(stem.name + "_pareto_designs"), color_by="accuracy",
                                title="Pareto-optimal designs")
    ideal = np.concatenate([[-1.0], F[:, 1:].min(axis=0)])
    nadir = np.concatenate([[0.0], F[:, 1:].max(axis=0) * 1.05])
    charged = bool(store.meta.get("charge_proposals", False))
    c, hv = hypervolume_trace(evs, ideal=ideal, nadir=nadir, include_proposals=charged)
    alg = store.meta.get("algorithm", {}).get("name", "search")
    out += hypervolume_vs_cost({alg: [(c, hv)]}, stem.with_name(stem.name + "_hypervolume"),
                               xlabel="cumulative evaluation + proposal seconds" if charged
                               else "cumulative evaluation cost")
    print(f"{len(pareto)} Pareto-optimal designs of {len(full)} full-fidelity evaluations "
          f"({len(evs)} in all, cost {c[-1]:.1f}):")
    for e in sorted(pareto, key=lambda e: e.f[0]):
        d = ", ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in designs[e.index].items())
        print(f"  accuracy {-100 * e.f[0]:5.1f}%  area {e.cheap[0]:.4g} mm^2  energy {e.cheap[1]:.3g} J  "
              f"latency {e.cheap[2]:.3g} s  | {d}")
    return out


@subcommand
def _add_search(subparsers) -> None:
    p = subparsers.add_parser("search", help="run or resume a design search from a TOML config")
    p.add_argument("config", type=Path)
    p.add_argument("--no-progress", action="store_true")

    def run(args) -> int:
        cfg = load_search_config(args.config)
        out = run_search_config(cfg, base_dir=Path.cwd(), progress=not args.no_progress)
        print(f"search store: {out}")
        return 0

    p.set_defaults(run=run)


@subcommand
def _add_plot(subparsers) -> None:
    p = subparsers.add_parser("plot", help="plot a search store (fronts, Pareto designs, hypervolume)")
    p.add_argument("store", type=Path)

    def run(args) -> int:
        for path in plot_store(args.store):
            print(f"wrote {path}")
        return 0

    p.set_defaults(run=run)

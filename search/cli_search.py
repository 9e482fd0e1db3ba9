"""``xbarsim search CONFIG.toml``, ``xbarsim plot STORE.h5 [STORE.h5 ...] [--reference ...] [--measured]`` and
``xbarsim rescore STORE.h5`` (:mod:`search.rescore`).

Search configuration (TOML; unknown keys are an error)::

    output = "results/search/store.h5"   # HDF5 store (resumed when it exists)
    algorithm = "cfmesmo"                 # random | nsga2 | mesmo | cfmesmo | qlognehvi
    truncation = "per_objective"          # or "tradeoff" (MESMO/CF-MESMO)
    reference_box = false                 # tradeoff only: information about the front inside the
                                          # hypervolume's reference box (search.algorithms.MESSearch)
    front_candidates = false              # MESMO/CF-MESMO: the sampled Pareto sets' designs join the
                                          # acquisition's random candidates (README)
    refine = false                        # MESMO/CF-MESMO: front_candidates, then refine the best by
                                          # local search (fronts on the cube's boundary; README)
    pinned = false                        # tradeoff only: a candidate in a sampled Pareto set gains
                                          # the information of pinning its accuracy there (README)
    gain_cap = false                      # MESMO/CF-MESMO: cap the information gain at what the
                                          # observation tells about its own accuracy (README)
    correlated = false                    # CF-MESMO: credit a fewer-epoch evaluation with what it
                                          # tells about the full-fidelity accuracy (iMOCA-E; README)
    unpruned = false                      # CF-MESMO: no BOCA-style fidelity pruning (README)
    budget = 120.0                        # cost budget: seconds of evaluation (passes with
                                          # [task] evaluation_cost = "passes")
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
    weight_clip_sigma = 2.0               # optional: noise-aware fine-tuning with weight clipping
    common_seed = 0                       # optional: every evaluation uses this seed (common random
                                          # numbers: the same design always gets the same accuracy)
    validation = 0.2                      # optional: hold out 20 % of each training class; the search
                                          # measures accuracy on it, xbarsim rescore on the test split
    evaluation_cost = "passes"            # optional: an evaluation costs 1 + its epochs, not its
                                          # seconds: a budget no machine's speed changes

    [space]                               # optional: the design space (default: default_reram_space)
    config_fn = "search.space.square_crossbar"   # crossbar_size -> rows = cols; msb_adc_bits
    base = {differential_adc = "subtract"}        # CrossbarConfig fields the variables leave alone
    variables = [                         # search.variables.variable_from_dict forms
      {type = "Choice", name = "crossbar_size", values = [64, 128]},
      {type = "IntegerRange", name = "adc_bits", low = 3, high = 8},      # every slice but the MSB
      {type = "IntegerRange", name = "msb_adc_bits", low = 2, high = 6},  # the MSB slice's ADC
      {type = "Choice", name = "differential_adc", values = ["separate", "subtract"]},
    ]
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import numpy as np
import tomllib

from crossbar.errors import ConfigError
from search.algorithms import MES_SWITCHES
from search.cli import subcommand

_TOP = {"output": str, "algorithm": str, "truncation": str, "budget": (int, float), "q": int, "seed": int,
        "n_samples": int, "n_init": int, "executor": str, "max_workers": int, "task": dict, "charge_proposals": bool,
        "space": dict} | dict.fromkeys(MES_SWITCHES, bool)
_TASK = ("dataset", "data_dir", "model", "pretrain_epochs", "max_epochs", "n_repeats", "technology", "lr", "seed",
         "adc_range", "grad_clip", "weight_clip_sigma", "common_seed", "validation", "evaluation_cost")


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
        raise ConfigError(f"search config {str(path)!r}: 'budget' (seconds of evaluation, or passes) is required.")
    if "space" in cfg:
        try:
            search_space(cfg)
        except ConfigError as err:
            raise ConfigError(f"search config {str(path)!r}: [space]: {err}") from err
    return cfg


def search_space(cfg: dict):
    """The design space of a checked config: its ``[space]`` (:meth:`DesignSpace.from_dict`), or
    ``None`` for :func:`search.space.default_reram_space`."""
    from search.design_space import DesignSpace

    return DesignSpace.from_dict(cfg["space"]) if "space" in cfg else None


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
        charge_proposals=cfg.get("charge_proposals", False), space=search_space(cfg),
        **{key: cfg.get(key, False) for key in MES_SWITCHES})
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


def parse_reference(text: str, names: list[str]) -> np.ndarray:
    """A hypervolume reference point from ``"accuracy=0.9,area_mm2=2,energy_j=1e-6,latency_s=1e-3"``.

    Every objective of the store must be given once, by its stored name (``names``) or, for
    ``neg_accuracy``, as ``accuracy`` (a fraction in [0, 1], the worst accuracy of interest).
    Returns the point in the stored (minimized) objective order.
    """
    shown = ["accuracy" if n == "neg_accuracy" else n for n in names]  # the names a user types
    given: dict[str, float] = {}
    for part in (p.strip() for p in text.split(",")):
        key, eq, value = part.partition("=")
        key = key.strip()
        try:
            v = float(value) if eq else float("nan")
        except ValueError:
            v = float("nan")
        if not np.isfinite(v):
            raise ConfigError(f"--reference: {part!r} is not NAME=NUMBER (a finite number); names: {shown}.")
        name = "neg_accuracy" if key == "accuracy" and "neg_accuracy" in names else key
        if name not in names or name in given:
            raise ConfigError(f"--reference: {key!r} is {'given twice' if name in given else 'not an objective'};"
                              f" give each of {shown} once.")
        if key == "accuracy" and not 0.0 <= v <= 1.0:
            raise ConfigError(f"--reference: accuracy={v} must be a fraction in [0, 1].")
        given[name] = -v if key == "accuracy" else v
    missing = [s for n, s in zip(names, shown, strict=True) if n not in given]
    if missing:
        raise ConfigError(f"--reference: missing {missing}.")
    return np.array([given[n] for n in names])


def _label(meta: dict) -> str:
    """Legend label of a store's algorithm: its name, and its truncation and switches when not the default."""
    alg = meta.get("algorithm", {})
    label = str(alg.get("name", "search"))
    if alg.get("truncation", "per_objective") != "per_objective" and label in ("mesmo", "cfmesmo"):
        label += f" {alg['truncation']}"
    return " ".join([label] + [word for key, word in MES_SWITCHES.items() if alg.get(key)])


def plot_store(path: str | Path) -> list[Path]:
    """:func:`plot_stores` of one store (figures next to it)."""
    return plot_stores([path])


def plot_stores(paths: list[str | Path], *, reference: str | None = None, out: str | Path | None = None,
                measured: bool | str | Path = False) -> list[Path]:
    """Figures of one or several search stores of the same problem: pairwise fronts and Pareto
    designs of all their full-fidelity evaluations together, hypervolume vs cost per algorithm
    (median and inter-quartile band over the stores of each algorithm, e.g. seeds), a JSON file
    with the normalization, every store's hypervolume trace and how many of its proposals came
    from each candidate origin (``origins``), and, when some store's algorithm noted its
    information gains (MESMO, CF-MESMO), each such store's fidelity and gain per proposal
    (``*_proposals``, :func:`search.plot.proposal_trace`).

    Normalization of the hypervolume, shared by all stores (minimized objectives, accuracy as
    ``-accuracy``): ``ideal`` = (-1, the exact objectives' minima over all stores); reference point
    1.1 in normalized units, i.e. at ``ideal + 1.1 (nadir - ideal)``. ``nadir`` is (0, 1.05 x the
    exact objectives' maxima) by default, so the figures of different runs differ in scale; with
    ``reference`` (:func:`parse_reference`) the reference point is the given one
    (``nadir = ideal + (reference - ideal) / 1.1``), fixed across runs: the region of interest.

    With ``measured``, every figure uses measured instead of recorded accuracies: each successful
    full-fidelity evaluation's expensive objectives become its design's mean over the fresh
    measurements of ``xbarsim rescore --all`` (:func:`search.rescore.measured_evaluations`; a design
    whose measurement failed counts as failed), from each store's own rescore store
    (``measured=True``) or from one shared by all (a path). Every such design must have been
    measured. Output files get ``_measured`` in their names.

    Args:
        paths: Search stores (``xbarsim search`` / :func:`search.run.run_stored_search`).
        reference: Reference point text, or None.
        out: Stem of the output files; default the single store's path without suffix, or
            ``comparison`` next to the first store.
        measured: False (recorded values), True or a rescore store path (see above).

    Raises:
        ConfigError: No store, stores of different problems or cost accounting, no successful
            full-fidelity evaluation, a bad reference point.
    """
    from search.plot import hypervolume_vs_cost, pairwise_fronts, parallel_coordinates, pareto_mask, proposal_trace
    from search.rescore import measured_evaluations, store_task
    from search.run import evaluations_of
    from search.store import ResultStore
    from search.tasks import hypervolume_trace

    paths = [Path(p) for p in paths]
    if not paths:
        raise ConfigError("plot: give at least one search store.")
    runs, fewest = [], np.inf
    for path in paths:
        store = ResultStore.read(path)
        meta = store.meta
        if "problem" not in meta:
            raise ConfigError(f"plot: {str(path)!r} is not a search store (no problem in its metadata).")
        if runs and meta["problem"] != runs[0][1]["problem"]:
            raise ConfigError(f"plot: {str(path)!r} searched another problem than {str(paths[0])!r} (task, space "
                              f"or objectives differ): their hypervolumes are not comparable.")
        if runs and bool(meta.get("charge_proposals", False)) != bool(runs[0][1].get("charge_proposals", False)):
            raise ConfigError(f"plot: {str(path)!r} and {str(paths[0])!r} count cost differently "
                              f"(charge_proposals): their hypervolume-vs-cost curves are not comparable.")
        evs = evaluations_of(store)
        if measured is not False:
            evs, n = measured_evaluations(path, evs, None if measured is True else measured)
            fewest = min(fewest, n)
        rows = store.to_dict_of_arrays(["design"])["design"]
        runs.append((path, meta, evs, {int(e.index): json.loads(d) for e, d in zip(evs, rows, strict=True)}))
    names = runs[0][1].get("objectives") or ["f0", "c0", "c1", "c2"]
    full = [(e, designs) for _, _, evs, designs in runs for e in evs if e.status == "ok" and e.z == 1.0]
    if not full:
        raise ConfigError(f"plot: {[str(p) for p in paths]} have no successful full-fidelity evaluation to plot.")
    F = np.array([np.concatenate([e.f, e.cheap]) for e, _ in full])
    stem = Path(out) if out is not None else (paths[0].with_suffix("") if len(paths) == 1
                                              else paths[0].parent / "comparison")
    title = f"{len(full)} full-fidelity designs"
    if measured is not False:
        stem = stem.with_name(stem.name + "_measured")
        title += f", measured afresh (mean of >= {fewest} evaluations)"
    acc_label = _accuracy_label(runs[0][1], measured is not False)
    figs = pairwise_fronts(F, names, stem.with_name(stem.name + "_fronts"),
                           transforms={0: (acc_label, -100.0)}, title=title)
    front = pareto_mask(F)
    pareto = [(e, d) for (e, d), keep in zip(full, front, strict=True) if keep]
    cols: dict[str, list] = {}
    for e, designs in pareto:
        for k, v in designs[e.index].items():
            cols.setdefault(k, []).append(v)  # numbers, or strings (a Choice of e.g. "separate" / "subtract")
        cols.setdefault("accuracy", []).append(-float(e.f[0]))
    figs += parallel_coordinates({k: np.array(v) for k, v in cols.items()},
                                 stem.with_name(stem.name + "_pareto_designs"), color_by="accuracy",
                                 title="Pareto-optimal designs")
    ideal = np.concatenate([[-1.0], F[:, 1:].min(axis=0)])
    if reference is None:
        nadir = np.concatenate([[0.0], F[:, 1:].max(axis=0) * 1.05])
        ref = ideal + 1.1 * (nadir - ideal)
    else:
        ref = parse_reference(reference, list(names))
        bad = [n for n, r, i in zip(names, ref, ideal, strict=True) if not r > i]
        if bad:
            raise ConfigError(f"plot: the reference point must be worse than the best value found in every objective;"
                              f" it is not in {bad} (best found: {dict(zip(names, ideal.tolist(), strict=True))}).")
        nadir = ideal + (ref - ideal) / 1.1
    charged = bool(runs[0][1].get("charge_proposals", False))
    traces: dict[str, list] = {}
    record = []
    for path, meta, evs, _ in runs:
        c, hv = hypervolume_trace(evs, ideal=ideal, nadir=nadir, include_proposals=charged)
        traces.setdefault(_label(meta), []).append((c, hv))
        origins = Counter(e.proposal["origin"] for e in evs if "origin" in e.proposal)
        record.append({"store": str(path), "label": _label(meta), "seed": meta.get("seed"),
                       "cost": c.tolist(), "hypervolume": hv.tolist(), "origins": dict(sorted(origins.items()))})
    task = store_task(runs[0][1])  # a ReRAM search's: its cost is seconds or passes
    unit = "cost" if task is None else task.get("evaluation_cost", "seconds")
    figs += hypervolume_vs_cost(traces, stem.with_name(stem.name + "_hypervolume"),
                                xlabel="cumulative evaluation + proposal seconds" if charged
                                else f"cumulative evaluation {unit}")
    noted: dict[str, list] = {}
    for path, meta, evs, _ in runs:
        if any("gain" in e.proposal for e in evs):
            label = f"{_label(meta)} seed {meta.get('seed')}"
            noted[label if label not in noted else f"{label} ({path})"] = [
                (e.z, e.proposal) for e in sorted(evs, key=lambda e: e.index)]
    if noted:  # the model-based searches' proposal notes
        figs += proposal_trace(noted, stem.with_name(stem.name + "_proposals"))
    summary = stem.with_name(stem.name + "_hypervolume.json")
    summary.write_text(json.dumps({"objectives": list(names), "ideal": ideal.tolist(), "nadir": nadir.tolist(),
                                   "reference_point": ref.tolist(), "reference_given": reference is not None,
                                   "charge_proposals": charged, "runs": record,
                                   "measured": measured if isinstance(measured, bool) else str(measured)}, indent=1))
    figs.append(summary)
    print(f"hypervolume reference point ({', '.join(names)}): {', '.join(f'{v:.4g}' for v in ref)}")
    for r in record:
        print(f"  {r['label']:<22} {r['store']}: hypervolume {r['hypervolume'][-1] if r['hypervolume'] else 0.0:.4f}"
              f" at cost {r['cost'][-1] if r['cost'] else 0.0:.1f}")
    print(f"{len(pareto)} Pareto-optimal designs of {len(full)} full-fidelity evaluations ({acc_label[:-4]}"
          + (", measured mean" if measured is not False else "") + "):")
    for e, designs in sorted(pareto, key=lambda p: p[0].f[0]):
        d = ", ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in designs[e.index].items())
        values = "  ".join(_shown_value(n, v) for n, v in zip(names, np.concatenate([e.f, e.cheap]), strict=True))
        print(f"  {values}  | {d}")
    return figs


def _accuracy_label(meta: dict, measured: bool) -> str:
    """The accuracy axis: a task with a ``validation`` part records validation accuracies, and
    ``xbarsim rescore`` measures its designs on the test split."""
    from search.rescore import task_validation

    if task_validation(meta) is None:
        return "accuracy [%]"
    return "test accuracy [%]" if measured else "validation accuracy [%]"


_SHOWN = {"neg_accuracy": lambda v: f"accuracy {-100 * v:5.1f}%", "area_mm2": lambda v: f"area {v:.4g} mm^2",
          "energy_j": lambda v: f"energy {v:.3g} J", "latency_s": lambda v: f"latency {v:.3g} s"}


def _shown_value(name: str, value: float) -> str:
    """An objective's value as printed: the ReRAM objectives with units, others by name."""
    return _SHOWN[name](value) if name in _SHOWN else f"{name} {value:.4g}"


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
    p = subparsers.add_parser("plot", help="plot search stores (fronts, Pareto designs, hypervolume vs cost)")
    p.add_argument("stores", type=Path, nargs="+", help="one or more search stores of the same problem")
    p.add_argument("--reference", default=None, metavar="NAME=VALUE,...",
                   help="hypervolume reference point, e.g. accuracy=0.9,area_mm2=5,energy_j=1e-5,latency_s=1e-3 "
                        "(default: from the stores' own ranges)")
    p.add_argument("--out", type=Path, default=None, help="output stem (default: next to the first store)")
    p.add_argument("--measured", nargs="?", const=True, default=False, metavar="RESCORED.h5",
                   help="plot measured instead of recorded accuracies: the designs' means from `xbarsim rescore "
                        "STORE --all` (each store's STORE_rescored.h5, or the one given, shared by all stores)")

    def run(args) -> int:
        for path in plot_stores(args.stores, reference=args.reference, out=args.out, measured=args.measured):
            print(f"wrote {path}")
        return 0

    p.set_defaults(run=run)


@subcommand
def _add_rescore(subparsers) -> None:
    from search.rescore import DEFAULT_REPEATS, DEFAULT_SEED, SPLITS

    p = subparsers.add_parser(
        "rescore", help="measure a search store's Pareto designs afresh (mean +- std over fresh evaluations)",
        description="Re-evaluate the designs of a search store with fresh seeds, the same seeds for every design, "
        "into a resumable store next to it (STORE_rescored.h5); print recorded vs measured accuracy and the "
        "measured front, and plot them. A search's front keeps its luckiest measurements; this measures the designs.")
    p.add_argument("store", type=Path, help="search store (.h5) written by 'xbarsim search'")
    p.add_argument("--repeats", type=int, default=DEFAULT_REPEATS, help="fresh evaluations per design")
    p.add_argument("--seed", type=int, default=DEFAULT_SEED, help="seed of the first evaluation (then seed+1, ...)")
    p.add_argument("--all", action="store_true", help="every full-fidelity design, not only the recorded front's")
    p.add_argument("--split", default="test", choices=SPLITS,
                   help="where to measure: the test split, or (a task with a validation part) the part the "
                        "search measured on, afresh: its drop there is the front's luck, the rest of the drop on "
                        "test the part's bias (store STORE_rescored_search.h5)")
    p.add_argument("--out", type=Path, default=None,
                   help="rescore store (default: STORE_rescored.h5, STORE_rescored_search.h5 for --split search)")
    p.add_argument("--executor", default="serial", help="'serial', 'local' or tcp://host:port")
    p.add_argument("--max-workers", type=int, default=None, help="local worker processes")
    p.add_argument("--no-plot", action="store_true", help="no figure")
    p.add_argument("--no-progress", action="store_true")

    def run(args) -> int:
        from search.executors import make_executor
        from search.rescore import plot_rescore, rescore_store, rescore_table

        executor = None if args.executor == "serial" else make_executor(args.executor, max_workers=args.max_workers)
        try:
            res = rescore_store(args.store, repeats=args.repeats, seed=args.seed,
                                designs="all" if args.all else "front", split=args.split, out=args.out,
                                executor=executor, progress=not args.no_progress)
        finally:
            if executor is not None:
                executor.shutdown()
        print(rescore_table(res))
        print(f"rescore store: {res.out} ({res.n_new} new evaluations)")
        if not args.no_plot:
            for path in plot_rescore(res):
                print(f"wrote {path}")
        return 0 if all(d.ok for d in res.designs) else 1

    p.set_defaults(run=run)

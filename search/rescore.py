"""Measure a search store's designs afresh: ``xbarsim rescore STORE.h5``.

Why: the ReRAM accuracy is a noisy measurement (fine-tuning and the device draws follow the
evaluation seed), and a search keeps each design's recorded value. A front built from recorded
values keeps the lucky draws, above all after a search that evaluates near-identical designs many
times (NSGA-II). Plotting it as "the accuracy of these designs" overstates them; rescoring measures
the designs themselves.

What it computes. The designs are the store's successful full-fidelity (``z = 1``) evaluations,
unique by ``x``: by default those on the recorded Pareto front (all objectives, recorded values),
with ``designs="all"`` every one of them. Measurement ``r`` of a design is
``problem.evaluate(x, 1.0, seed + r)`` for ``r < repeats``: a fresh evaluation, the same seeds for
every design (common random numbers), none equal to a recorded one (the recorded value is not
reused: it is the selected, biased one). A search whose task has a ``common_seed`` evaluated every
design with that one seed; its measurements use their own seeds (:func:`search.tasks.remeasurement`).
A search whose task holds out a ``validation`` part measured accuracy on it; its designs are
measured on the test split, so the measured accuracy is one no design was chosen on. With
``split="search"`` they are measured afresh on the validation part instead: the recorded front's
drop there is the luck of its draws alone (the front kept lucky measurements), and the rest of its
drop on the test split is the validation part's bias towards the chosen designs (too small a part).
A design's measured objectives are the mean of its measurements; ``std`` is their sample standard
deviation (``ddof = 1``), the spread of one evaluation. A design with a failed measurement is
failed (first error kept) and has no mean. The measured front is the Pareto front of the measured
designs' means and exact objectives; with the default selection it is a front among the recorded
front's designs only (a design the recorded front dropped may belong to it: ``designs="all"``
measures everything).

Storage and resume. Each measurement is appended to its own results store (default
``<store>_rescored.h5``; ``<store>_rescored_search.h5`` for ``split="search"``) the moment it
finishes, one row per ``(x, r)``. A re-run measures only what is missing: more ``repeats`` or
``designs="all"`` later add rows, a killed run loses only the measurements in flight. The rescore
store's fingerprint is the source's problem (task, space, objectives), the seed and the split, so
stores of different searches of the same problem can share one rescore store (``out=``), and each
design is measured once. The ReRAM problem is rebuilt from the source's metadata: its task is
pretrained again (the same seed gives the same model on the same software and thread count).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from crossbar.errors import ConfigError
from search.benchmarks import non_dominated
from search.loop import _evaluate_one
from search.run import evaluations_of
from search.store import ResultStore, StoreError, fingerprint
from search.tasks import remeasurement

__all__ = ["DEFAULT_REPEATS", "DEFAULT_SEED", "RESCORE_COLUMNS", "RescoreResult", "RescoredDesign",
           "default_out", "measured_evaluations", "plot_rescore", "problem_of_store", "rescore_store",
           "rescore_summary", "rescore_table", "store_task", "task_validation"]

#: Columns of a rescore store (besides ``key``, ``status`` and ``error``): one row per measurement.
RESCORE_COLUMNS = {"x": "str", "design": "str", "repeat": "int64", "seed": "int64", "f": "str",
                   "seconds": "float64"}
#: Measurements per design by default.
DEFAULT_REPEATS = 4
#: Seed of the first measurement by default: far from the seeds a search gives its evaluations
#: (``seed * 100003 + i``, :func:`search.loop.run_search`) for search seeds below 10^4.
DEFAULT_SEED = 10**9
DESIGN_SETS = ("front", "all")
#: Where a rescore measures accuracy: the test split, or the split the search measured on.
SPLITS = ("test", "search")
_SPLIT_TEXT = {"test": "recorded: validation part, measured: test split",
               "search": "recorded and measured: validation part (fresh draws)"}


@dataclass(frozen=True, eq=False)
class RescoredDesign:
    """One design of the source store and its fresh measurements.

    Attributes:
        index: Store index of its recorded evaluation (on the recorded front when one is).
        x: Design in the unit cube ``(n_var,)``. design: Its decoded variables (as stored).
        cheap: Exact objectives ``(m,)``. recorded: Recorded expensive objectives ``(K,)`` of
            evaluation ``index``. n_recorded: Its successful full-fidelity evaluations in the store.
        measured: Successful measurements ``(n, K)``, by repeat. error: First failed measurement's
            message, ``""`` when all succeeded.
        on_recorded_front: One of its evaluations is on the recorded front.
        on_measured_front: Its mean is on the measured front (False when failed).
    """

    index: int
    x: np.ndarray
    design: dict
    cheap: np.ndarray
    recorded: np.ndarray
    n_recorded: int
    measured: np.ndarray
    error: str
    on_recorded_front: bool
    on_measured_front: bool

    @property
    def ok(self) -> bool:
        return not self.error

    @property
    def mean(self) -> np.ndarray:
        """Mean measured expensive objectives ``(K,)``; NaN when failed."""
        if self.error or not len(self.measured):
            return np.full(len(self.recorded), np.nan)
        return self.measured.mean(axis=0)

    @property
    def std(self) -> np.ndarray:
        """Sample standard deviation of the measurements ``(K,)`` (``ddof = 1``); NaN below 2."""
        if self.error or len(self.measured) < 2:
            return np.full(len(self.recorded), np.nan)
        return self.measured.std(axis=0, ddof=1)


@dataclass(frozen=True, eq=False)
class RescoreResult:
    """What :func:`rescore_store` measured.

    Attributes:
        source: The search store. out: The rescore store. repeats, seed: As given.
        objectives: Objective names (expensive first, then exact). designs: The measured designs.
        n_new: Measurements made by this call (the others were in the rescore store).
        splits: Where the recorded and the measured accuracies come from, when they differ (a task
            with a ``validation`` part: ``"recorded: validation part, measured: test split"``), else ``""``.
    """

    source: Path
    out: Path
    repeats: int
    seed: int
    objectives: list[str]
    designs: list[RescoredDesign]
    n_new: int
    splits: str = ""


def default_out(source: str | Path, split: str = "test") -> Path:
    """``<source stem>_rescored.h5`` next to the source store (``_rescored_search.h5`` for the
    ``"search"`` split)."""
    source = Path(source)
    return source.with_name(source.stem + ("_rescored.h5" if split == "test" else f"_rescored_{split}.h5"))


def problem_of_store(meta: dict, *, progress: bool = False):
    """The ReRAM search problem a store's metadata describes (its task pretrained again).

    Raises:
        ConfigError: The store's problem is not a ReRAM task (e.g. a synthetic benchmark).
    """
    from search.design_space import DesignSpace
    from search.evaluate import ReramTask, pretrain
    from search.tasks import ReramSearch

    problem = meta.get("problem", {})
    if not isinstance(problem, dict) or "task" not in problem or "space" not in problem:
        raise ConfigError(f"rescore: the store's problem {json.dumps(problem)[:80]} is not a ReRAM task "
                          "(no task and space in its metadata); pass the problem explicitly.")
    task = ReramTask.from_json(json.dumps(problem["task"]))
    space = DesignSpace.from_dict(problem["space"])
    return ReramSearch(space, task, pretrain(task, progress=progress))


def _x_key(x: np.ndarray) -> str:
    return hashlib.sha256(np.asarray(x, dtype=np.float64).tobytes()).hexdigest()[:24]


def measured_evaluations(source: str | Path, evaluations: list, rescored: str | Path | None = None
                         ) -> tuple[list, int]:
    """``evaluations`` of search store ``source`` with every successful full-fidelity one's expensive
    objectives replaced by its design's measured mean (all measurements of the design in the rescore
    store ``rescored``, default :func:`default_out`); a design whose measurement failed becomes a
    failed evaluation. Other evaluations are returned unchanged. Returns ``(evaluations, fewest
    measurements of a design)``.

    Raises:
        ConfigError: ``rescored`` does not exist, or lacks a successful full-fidelity design (the
            message says how to measure them all: ``xbarsim rescore SOURCE --all``).
        StoreError: ``rescored`` is not a rescore store of ``source``'s problem.
    """
    source = Path(source)
    path = default_out(source) if rescored is None else Path(rescored)
    command = f"xbarsim rescore {source} --all" + ("" if rescored is None else f" --out {path}")
    if not path.exists():
        raise ConfigError(f"{str(path)!r} does not exist: measure the designs of {str(source)!r} with `{command}`.")
    store = ResultStore.read(path)
    meta = store.meta
    if meta.get("kind") != "rescore" or meta.get("problem") != ResultStore.read(source).meta.get("problem"):
        raise StoreError(f"{str(path)!r} is not a rescore store of the problem of {str(source)!r} "
                         f"(kind {meta.get('kind')!r}); `{command}` writes one.")
    if meta.get("split", "test") != "test":
        raise StoreError(f"{str(path)!r} measured the {meta['split']!r} split, not the test split; "
                         f"`{command}` measures the test split.")
    rows: dict[str, list] = {}
    for r in store.rows():
        rows.setdefault(r["key"].rpartition(":")[0], []).append(r)
    out, missing, fewest = [], 0, None
    full = [e for e in evaluations if e.status == "ok" and e.z == 1.0]
    for e in evaluations:
        if e.status == "ok" and e.z == 1.0:
            measured = rows.get(_x_key(e.x))
            if not measured:
                missing += 1
                continue
            fewest = len(measured) if fewest is None else min(fewest, len(measured))
            bad = [r for r in measured if r["status"] != "ok"]
            if bad:
                e = dataclasses.replace(e, status="failed",
                                        error=f"rescore (seed {bad[0]['seed']}): {bad[0]['error']}")
            else:
                e = dataclasses.replace(e, f=np.mean([json.loads(r["f"]) for r in measured], axis=0))
        out.append(e)
    if missing:
        raise ConfigError(f"{missing} of the {len(full)} full-fidelity evaluations of {str(source)!r} have no "
                          f"measurement in {str(path)!r}; measure every design with `{command}`.")
    return out, int(fewest or 0)


def rescore_store(source: str | Path, *, repeats: int = DEFAULT_REPEATS, seed: int = DEFAULT_SEED,
                  designs: str = "front", split: str = "test", out: str | Path | None = None, problem=None,
                  executor=None, progress: bool = True) -> RescoreResult:
    """Measure the designs of a search store afresh (see the module docstring).

    Args:
        source: A search store (``xbarsim search``, :func:`search.run.run_stored_search`).
        repeats: Measurements per design (>= 1).
        seed: Seed of measurement 0 (an integer >= 0); measurement ``r`` uses ``seed + r``.
        designs: ``"front"`` (the recorded Pareto front's designs) or ``"all"``.
        split: ``"test"`` (the test split) or ``"search"`` (the split the search measured on: its
            task's validation part; the test split for a task without one).
        out: Rescore store (created or resumed); default :func:`default_out` of ``split``.
        problem: The :class:`search.loop.SearchProblem` to evaluate with; default rebuilt from the
            store's metadata (:func:`problem_of_store`).
        executor: A :mod:`search.executors` executor (default: in process).
        progress: tqdm bar over the measurements.

    Returns:
        The designs with their measurements.

    Raises:
        ConfigError: Bad ``repeats``, ``seed``, ``designs`` or ``split``; a store with no successful
            full-fidelity evaluation; a problem whose sizes do not match the store.
        StoreError: ``source`` is not a search store; ``out`` was written for another problem or seed.
    """
    if isinstance(repeats, bool) or not isinstance(repeats, int | np.integer) or repeats < 1:
        raise ConfigError(f"rescore: repeats must be an integer >= 1; got {repeats!r}.")
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise ConfigError(f"rescore: seed must be an integer >= 0; got {seed!r}.")
    if designs not in DESIGN_SETS:
        raise ConfigError(f"rescore: designs must be one of {list(DESIGN_SETS)}; got {designs!r}.")
    if split not in SPLITS:
        raise ConfigError(f"rescore: split must be one of {list(SPLITS)}; got {split!r}.")
    source = Path(source)
    src = ResultStore.read(source)
    meta = src.meta
    if "problem" not in meta or "x" not in src.columns:
        raise StoreError(f"rescore: {str(source)!r} is not a search store (kind {meta.get('kind')!r}); "
                         "'xbarsim rescore' reads stores written by 'xbarsim search'.")
    evs = evaluations_of(src)
    stored_designs = src.to_dict_of_arrays(["design"])["design"]
    full = [(e, d) for e, d in zip(evs, stored_designs, strict=True) if e.status == "ok" and e.z == 1.0]
    if not full:
        raise ConfigError(f"rescore: {str(source)!r} has no successful full-fidelity evaluation to measure.")
    F = np.array([np.concatenate([e.f, e.cheap]) for e, _ in full])
    front = non_dominated(F)
    chosen: dict[str, dict] = {}  # x key -> its evaluations, first one on the front first
    for (e, d), on_front in zip(full, front, strict=True):
        entry = chosen.setdefault(_x_key(e.x), {"evs": [], "design": d, "front": False})
        if on_front and not entry["front"]:
            entry["evs"].insert(0, e)
        else:
            entry["evs"].append(e)
        entry["front"] |= bool(on_front)
    if designs == "front":
        chosen = {k: v for k, v in chosen.items() if v["front"]}
    K = len(full[0][0].f)
    if problem is None:
        problem = problem_of_store(meta, progress=progress)
    validation = task_validation(meta) is not None
    split = split if validation else "test"  # without a validation part the search measured on test
    problem = remeasurement(problem, split)
    if int(problem.n_var) != len(full[0][0].x) or int(problem.n_expensive) != K:
        raise ConfigError(f"rescore: the problem has {problem.n_var} variables and {problem.n_expensive} expensive "
                          f"objectives; the store's designs have {len(full[0][0].x)} and {K}.")

    out = default_out(source, split) if out is None else Path(out)
    on = () if split == "test" else (split,)  # test-split stores keep the fingerprint they always had
    store = ResultStore.open(out, columns=RESCORE_COLUMNS,
                             fingerprint=fingerprint("rescore", meta["problem"], int(seed), *on),
                             meta={"kind": "rescore", "problem": meta["problem"], "seed": int(seed),
                                   "objectives": meta.get("objectives"), "source": str(source)}
                             | ({"split": split} if on else {}))
    rows = store.rows()
    have = {r["key"] for r in rows}
    todo = [(k, r) for k in chosen for r in range(repeats) if f"{k}:{r}" not in have]
    bar = tqdm(total=len(todo), disable=not progress or not todo, desc="rescore", unit="eval")
    new_rows = []

    def record(k: str, r: int, result) -> None:
        f, seconds, status, error = result
        entry = chosen[k]
        row = {"key": f"{k}:{r}", "status": status, "error": error,
               "x": json.dumps(entry["evs"][0].x.tolist()), "design": entry["design"], "repeat": r,
               "seed": int(seed) + r, "f": json.dumps([float(v) for v in f]), "seconds": seconds}
        store.append(row)
        new_rows.append(row)
        bar.update(1)

    try:
        if executor is None:
            for k, r in todo:
                record(k, r, _evaluate_one(problem, chosen[k]["evs"][0].x, 1.0, int(seed) + r))
        else:
            futures = {executor.submit(_evaluate_one, problem, chosen[k]["evs"][0].x, 1.0, int(seed) + r): (k, r)
                       for k, r in todo}
            for fut in executor.as_completed(list(futures)):
                record(*futures[fut], fut.result())
    finally:
        bar.close()

    by_key = {r["key"]: r for r in rows + new_rows}
    result = []
    for k, entry in chosen.items():
        measured, error = [], ""
        for r in range(repeats):
            row = by_key[f"{k}:{r}"]
            if row["status"] != "ok":
                error = error or f"rescore (seed {row['seed']}): {row['error']}"
            else:
                measured.append(json.loads(row["f"]))
        e = entry["evs"][0]
        result.append(dict(index=e.index, x=e.x, design=json.loads(entry["design"]), cheap=e.cheap, recorded=e.f,
                           n_recorded=len(entry["evs"]), measured=np.array(measured, dtype=np.float64).reshape(-1, K),
                           error=error, on_recorded_front=entry["front"]))
    ok = [i for i, d in enumerate(result) if not d["error"]]
    on_measured = np.zeros(len(result), dtype=bool)
    if ok:
        G = np.array([np.concatenate([result[i]["measured"].mean(axis=0), result[i]["cheap"]]) for i in ok])
        on_measured[ok] = non_dominated(G)
    names = list(meta.get("objectives") or [f"f{j}" for j in range(F.shape[1])])
    return RescoreResult(source=source, out=out, repeats=int(repeats), seed=int(seed), objectives=names,
                         designs=[RescoredDesign(**d, on_measured_front=bool(m))
                                  for d, m in zip(result, on_measured, strict=True)],
                         n_new=len(new_rows), splits=_SPLIT_TEXT[split] if validation else "")


def store_task(meta: dict) -> dict | None:
    """The ReRAM task (``ReramTask`` JSON fields) of a search store's metadata ``meta``; ``None``
    when the problem is not a ReRAM task."""
    task = meta["problem"].get("task") if isinstance(meta.get("problem"), dict) else None
    return task if isinstance(task, dict) else None


def task_validation(meta: dict) -> float | None:
    """The ``validation`` fraction of a search store's ReRAM task (its metadata ``meta``), ``None``
    when it has none (the search recorded test accuracy) or the problem is not a ReRAM task."""
    task = store_task(meta)
    return None if task is None else task.get("validation")


def _shown(result: RescoreResult) -> tuple[str, float]:
    """Label and factor of the first expensive objective in tables and figures."""
    return ("accuracy [%]", -100.0) if result.objectives[0] == "neg_accuracy" else (result.objectives[0], 1.0)


def rescore_table(result: RescoreResult) -> str:
    """The designs, best measured first (failed last): recorded and measured first expensive
    objective (mean +- std over the repeats), their difference, the exact objectives, which front
    each design is on (``R`` recorded, ``M`` measured) and the design."""
    label, factor = _shown(result)
    K = len(result.designs[0].recorded) if result.designs else 1
    cheap_names = result.objectives[K:]
    order = sorted(result.designs, key=lambda d: (not d.ok, float(d.mean[0]) if d.ok else 0.0))  # minimized
    head = (f"{'recorded':>9} {'measured':>17} {'change':>7}  " + " ".join(f"{n:>10}" for n in cheap_names)
            + "  front  design")
    lines = [f"{label}: recorded, measured mean +- std over {result.repeats} fresh evaluations"
             + (f" ({result.splits})" if result.splits else ""), head]
    for d in order:
        rec = factor * d.recorded[0]
        if d.ok:
            mu, sd = factor * d.mean[0], abs(factor * d.std[0])
            meas, change = f"{mu:9.2f} +- {sd:5.2f}", f"{mu - rec:+7.2f}"
        else:
            meas, change = f"{'failed':>17}", f"{'':>7}"
        fronts = ("R" if d.on_recorded_front else "-") + ("M" if d.on_measured_front else "-")
        design = ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in d.design.items())
        lines.append(f"{rec:9.2f} {meas} {change}  " + " ".join(f"{v:10.4g}" for v in d.cheap)
                     + f"  {fronts:>5}  {design}")
    if any(d.ok for d in result.designs):
        lines.append(rescore_summary(result))
    return "\n".join(lines)


def rescore_summary(result: RescoreResult) -> str:
    """One line: the designs, how many failed and are on the measured front, and the mean and range
    of measured minus recorded first expensive objective (as :func:`rescore_table` shows it)."""
    _, factor = _shown(result)
    ok = [d for d in result.designs if d.ok]
    head = (f"{len(result.designs)} designs ({len(result.designs) - len(ok)} failed), "
            f"{sum(d.on_measured_front for d in ok)} on the measured front")
    if not ok:
        return head
    delta = np.array([factor * (d.mean[0] - d.recorded[0]) for d in ok])
    return head + f"; measured - recorded: mean {delta.mean():+.2f}, range {delta.min():+.2f} to {delta.max():+.2f}"


def plot_rescore(result: RescoreResult, stem: str | Path | None = None) -> list[Path]:
    """:func:`search.plot.measured_vs_recorded` of a rescore (default stem: the rescore store's path
    without suffix)."""
    from search.plot import measured_vs_recorded

    label, factor = _shown(result)
    ds = result.designs
    K = len(ds[0].recorded)
    return measured_vs_recorded(np.array([d.cheap for d in ds]), np.array([d.recorded[0] for d in ds]),
                                np.array([d.mean[0] for d in ds]), np.array([d.std[0] for d in ds]),
                                np.array([d.on_measured_front for d in ds]), result.objectives[K:],
                                Path(stem) if stem is not None else result.out.with_suffix(""), label=label,
                                factor=factor, title=f"{len(ds)} designs, {result.repeats} fresh evaluations each"
                                + (f"\n{result.splits}" if result.splits else ""))

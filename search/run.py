"""A search backed by the HDF5 results store: every evaluation is appended the moment it
finishes, and re-running the same search resumes from the store (losing only evaluations in
flight, which are re-run). A store written for another search (another problem, algorithm,
settings or seed) is refused with a clear error, never overwritten.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from search.loop import Evaluation, SearchResult, run_search
from search.store import RESERVED_COLUMNS, ResultStore, StoreError, fingerprint

#: Columns of a search store (besides the store's own ``key``, ``status`` and ``error``).
SEARCH_COLUMNS = {"index": "int64", "x": "str", "z": "float64", "f": "str", "cheap": "str", "cost": "float64",
                  "seed": "int64", "design": "str", "propose_seconds": "float64", "proposal": "str"}
#: The schemas of search stores written before proposal notes (and before proposal times) were
#: recorded; they still resume, without those columns.
_LEGACY_SCHEMAS = tuple({k: v for k, v in SEARCH_COLUMNS.items() if k not in dropped}
                        for dropped in (("proposal",), ("proposal", "propose_seconds")))


@dataclass(frozen=True, slots=True, kw_only=True)
class SearchSpec:
    """Everything that defines a search (its fingerprint), as JSON-compatible data.

    Attributes:
        problem: Problem description (e.g. the task JSON and the design space).
        algorithm: Algorithm name and settings.
        budget: Cost budget. q: Evaluations in flight. seed: Seed.
        charge_proposals: The budget counts proposal seconds too
            (:func:`search.loop.run_search`). Like the budget, it is not part of the fingerprint: a
            resumed search may change it.
    """

    problem: dict
    algorithm: dict
    budget: float
    q: int
    seed: int
    charge_proposals: bool = False

    def fingerprint(self) -> str:
        return fingerprint(self.problem, self.algorithm, self.q, self.seed)

    def meta(self) -> dict:
        return {"problem": self.problem, "algorithm": self.algorithm, "budget": self.budget, "q": self.q,
                "seed": self.seed, "objectives": self.problem.get("objectives"),
                "charge_proposals": self.charge_proposals}


def _row(ev: Evaluation, design: dict | None) -> dict:
    return {"key": str(ev.index), "status": ev.status, "error": ev.error, "index": ev.index,
            "x": json.dumps(ev.x.tolist()), "z": ev.z, "f": json.dumps([float(v) for v in ev.f]),
            "cheap": json.dumps(ev.cheap.tolist()), "cost": ev.cost, "seed": ev.seed,
            "design": json.dumps(design or {}, sort_keys=True, default=float), "propose_seconds": ev.propose_seconds,
            "proposal": json.dumps(ev.proposal, sort_keys=True, default=float)}


def _columns_of(path: Path) -> dict[str, str]:
    """The schema to reopen ``path`` with: the current one, or a legacy one if the file has it."""
    if path.exists():
        try:
            stored = ResultStore.read(path).columns
        except StoreError:
            return SEARCH_COLUMNS  # ResultStore.open reports what is wrong with the file
        for legacy in _LEGACY_SCHEMAS:
            if stored == dict(RESERVED_COLUMNS) | legacy:  # the same test ResultStore.open applies
                return legacy
    return SEARCH_COLUMNS


def load_evaluations(path: str | Path) -> list[Evaluation]:
    """Evaluations of a search store, in completion order."""
    return evaluations_of(ResultStore.read(path))


def evaluations_of(store: ResultStore) -> list[Evaluation]:
    """Evaluations of a read search store (:meth:`search.store.ResultStore.read`), in completion
    order."""
    out = []
    for r in store.rows():
        f = np.array(json.loads(r["f"]) if r["f"] else [], dtype=np.float64)  # NaN round-trips as NaN
        out.append(Evaluation(index=int(r["index"]), x=np.array(json.loads(r["x"]), dtype=np.float64),
                              z=float(r["z"]), f=f,
                              cheap=np.array(json.loads(r["cheap"]), dtype=np.float64), cost=float(r["cost"]),
                              seed=int(r["seed"]), status=str(r["status"]), error=str(r["error"] or ""),
                              propose_seconds=float(r.get("propose_seconds", np.nan)),
                              proposal=json.loads(r["proposal"]) if r.get("proposal") else {}))
    return out


def run_stored_search(problem, algorithm, spec: SearchSpec, store_path: str | Path, *, executor=None,
                      describe=None, progress: bool = True) -> SearchResult:
    """Run (or resume) a search whose evaluations live in ``store_path``.

    Args:
        problem: A :class:`search.loop.SearchProblem`. algorithm: Its proposer.
        spec: The search definition (fingerprint and metadata of the store).
        store_path: HDF5 store path (created, or resumed when it exists).
        executor: ``search.executors`` executor, or None (in process).
        describe: Optional ``x -> dict`` stored with each evaluation (e.g. the decoded design).
        progress: Show a tqdm bar over the cost budget.
    """
    store_path = Path(store_path)
    store = ResultStore.open(store_path, columns=_columns_of(store_path), fingerprint=spec.fingerprint(),
                             meta=spec.meta())
    kept = store.columns  # a legacy store lacks the newer columns
    done = load_evaluations(store_path) if len(store) else []
    bar = tqdm(total=float(spec.budget), disable=not progress, desc=f"{getattr(algorithm, 'name', 'search')} cost",
               unit="cost", leave=True)
    bar.update(min(float(spec.budget), float(sum(e.charged_cost(spec.charge_proposals) for e in done))))

    def on_result(ev: Evaluation) -> None:
        row = _row(ev, describe(ev.x) if describe is not None else None)
        store.append({k: v for k, v in row.items() if k in kept})
        bar.update(min(ev.charged_cost(spec.charge_proposals), max(0.0, bar.total - bar.n)))
        if ev.status == "ok":
            bar.set_postfix(z=f"{ev.z:.2f}", f0=f"{ev.f[0]:.4g}")

    try:
        return run_search(problem, algorithm, budget=spec.budget, q=spec.q, seed=spec.seed, executor=executor,
                          done=done, on_result=on_result, charge_proposals=spec.charge_proposals)
    finally:
        bar.close()


ALGORITHMS = ("random", "nsga2", "mesmo", "cfmesmo", "qlognehvi")


def make_algorithm(name: str, *, truncation: str = "per_objective", n_samples: int = 10, n_init: int = 6,
                   pop_size: int = 20, **switches: bool):
    """An algorithm of :mod:`search.algorithms` by name (see :data:`ALGORITHMS`); ``truncation`` and the
    boolean ``switches`` (the keys of :data:`search.algorithms.MES_SWITCHES`, :class:`search.algorithms.MESSearch`
    fields) apply to MESMO and CF-MESMO."""
    from crossbar.errors import ConfigError
    from search.algorithms import MES_SWITCHES, MESSearch, NSGA2Search, QLogNEHVISearch, RandomSearch

    unknown = sorted(set(switches) - set(MES_SWITCHES))
    if unknown:
        raise ConfigError(f"make_algorithm: unknown switches {unknown}; allowed: {list(MES_SWITCHES)}.")
    on = {key: True for key, value in switches.items() if value}
    for key in on:
        if name not in ("mesmo", "cfmesmo"):
            hint = " (qlognehvi always refines)" if key == "refine" else ""
            raise ConfigError(f"{key} applies to the algorithms mesmo and cfmesmo; got algorithm={name!r}{hint}.")
    if name == "random":
        return RandomSearch()
    if name == "nsga2":
        return NSGA2Search(pop_size=pop_size)
    if name == "mesmo":
        return MESSearch(multi_fidelity=False, name="mesmo", truncation=truncation, n_samples=n_samples,
                         n_init=n_init, **on)
    if name == "cfmesmo":
        return MESSearch(truncation=truncation, n_samples=n_samples, n_init=n_init, **on)
    if name == "qlognehvi":
        return QLogNEHVISearch(n_init=n_init)
    raise ConfigError(f"algorithm must be one of {list(ALGORITHMS)}; got {name!r}.")


def reram_search(task, *, algorithm: str = "cfmesmo", truncation: str = "per_objective", n_samples: int = 10,
                 n_init: int = 6, budget: float, q: int = 1, seed: int = 0, space=None, progress: bool = True,
                 charge_proposals: bool = False, **switches: bool):
    """The ReRAM design search on ``task`` (a :class:`search.evaluate.ReramTask`) over ``space``
    (default :func:`search.space.default_reram_space`): pretrains the task's model, builds the
    problem (and warms it up, :meth:`search.tasks.ReramSearch.warm_up`) and algorithm
    (:func:`make_algorithm`, with the ``switches``). Returns ``(problem, algorithm, spec, describe)``
    for :func:`run_stored_search`."""
    from crossbar.errors import ConfigError
    from search.evaluate import OBJECTIVES, pretrain
    from search.space import default_reram_space
    from search.tasks import ReramSearch

    if charge_proposals and task.evaluation_cost != "seconds":
        raise ConfigError(f"charge_proposals adds proposal seconds to the budget, so it needs the task's "
                          f"evaluation_cost = 'seconds'; got {task.evaluation_cost!r}.")
    # bad algorithm settings are refused before the model is pretrained
    alg = make_algorithm(algorithm, truncation=truncation, n_samples=n_samples, n_init=n_init, **switches)
    space = space if space is not None else default_reram_space()
    problem = ReramSearch(space, task, pretrain(task, progress=progress))
    problem.warm_up()  # untimed: a fresh checkout's JIT compilation is not charged to the first evaluations
    settings = {"name": algorithm, "truncation": truncation, "n_samples": n_samples, "n_init": n_init}
    # a switch is recorded only when on, so stores written before it existed still resume
    settings |= {key: True for key, on in switches.items() if on}
    spec = SearchSpec(problem={"task": json.loads(task.to_json()), "space": space.to_dict(),
                               "objectives": list(OBJECTIVES)},
                      algorithm=settings,
                      budget=float(budget), q=int(q), seed=int(seed), charge_proposals=bool(charge_proposals))

    def describe(x):
        return dict(space.decode(np.asarray(x)[None, :])[0])

    return problem, alg, spec, describe

"""One ask/tell loop for every algorithm: random, NSGA-II, MESMO, CF-MESMO, qLogNEHVI.

A *problem* (:class:`SearchProblem`) has ``n_var`` design variables in the unit cube, ``K``
expensive objectives measured at a fidelity ``z`` in (0, 1] by :meth:`evaluate` (in a worker),
and ``m`` cheap exact objectives from :meth:`exact`; every objective is minimized (pymoo's ``F``).
An *algorithm* (:class:`Algorithm`; those shipped are in :mod:`search.algorithms`) proposes
``(x, z)`` pairs from the finished evaluations and the pending ones.

Fidelities are coupled: one ``z`` per evaluation for all expensive objectives, as iMOCA's code
pairs them (``zip``; reference ``algorithms.md`` §4, pitfall 5), not MF-OSEMO's per-objective
product. For the ReRAM problem this is no restriction: accuracy is its only expensive objective
(area, energy and latency are exact). The synthetic benchmarks accept per-objective ``z``
(``search.benchmarks``), so a decoupled search could be added without changing them.

:func:`run_search` keeps ``q`` evaluations in flight on an executor, records every finished
(or failed) evaluation through ``on_result`` the moment it finishes (the caller appends it to the
HDF5 store), and stops when the cumulative measured cost reaches the budget. Resuming replays
the stored evaluations into the algorithm, in completion order, before proposing anything new.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from crossbar.errors import ConfigError


class SearchProblem(Protocol):
    """The problem interface of :func:`run_search`."""

    n_var: int
    n_expensive: int
    fidelities: np.ndarray

    def exact(self, x: np.ndarray) -> np.ndarray:
        """Cheap exact objectives ``(n, m)`` of designs ``x (n, n_var)``."""

    def cost(self, x: np.ndarray, z: np.ndarray) -> np.ndarray:
        """Predicted evaluation cost ``(n,)`` (for cost-aware acquisitions)."""

    def evaluate(self, x: np.ndarray, z: float, seed: int) -> tuple[np.ndarray, float]:
        """Expensive objectives ``(K,)`` at fidelity ``z`` and the measured cost (picklable)."""


@dataclass(frozen=True, slots=True)
class Evaluation:
    """One finished (or failed) evaluation.

    Attributes:
        index: Proposal number (0, 1, ...). x: Design ``(n_var,)``. z: Fidelity.
        f: Expensive objectives ``(K,)`` (NaN when failed). cheap: Exact objectives ``(m,)``.
        cost: Measured cost (failed evaluations cost what they used). seed: Evaluation seed.
        status: ``"ok"`` or ``"failed"``. error: Failure message (empty when ok).
        propose_seconds: Wall time the algorithm spent producing this proposal (its ``ask``), NaN
            when unknown (stores written before it was recorded).
        proposal: What the algorithm noted about its proposal (JSON-compatible; empty when it
            notes nothing, and in stores written before notes were recorded). The MES methods
            note the candidate's ``origin`` (``"init"``: a warm-up design; ``"random"``,
            ``"front"``: a sampled Pareto set's design, ``"refined"``: the local search's), and
            for model-based proposals the ``acquisition`` value and the information ``gain``
            (nats) at the chosen ``(x, z)``: :func:`search.acquisition.propose`'s ``trace``, and
            the fitted GPs' ARD ``lengthscales`` (per expensive objective; unit cube, fidelity last).
    """

    index: int
    x: np.ndarray
    z: float
    f: np.ndarray
    cheap: np.ndarray
    cost: float
    seed: int
    status: str = "ok"
    error: str = ""
    propose_seconds: float = 0.0
    proposal: dict = field(default_factory=dict)

    def charged_cost(self, proposals: bool) -> float:
        """``cost``, plus ``propose_seconds`` when ``proposals`` (unknown proposal times count 0)."""
        return self.cost + (float(np.nan_to_num(self.propose_seconds)) if proposals else 0.0)


class Algorithm(Protocol):
    """Proposes the next ``(x, z)`` from the evaluations so far and those in flight.

    ``ask`` is called once per proposal index, in increasing order, and returns ``(x, z)`` or
    ``(x, z, notes)``: a JSON-compatible dict the loop records as the evaluation's ``proposal``.
    ``stateful`` algorithms (NSGA-II) are replayed on resume; ``ready`` may return False to wait
    for evaluations in flight.
    """

    name: str
    stateful: bool

    def ready(self, done: list[Evaluation]) -> bool: ...

    def ask(self, problem: SearchProblem, done: list[Evaluation], pending: list[tuple[np.ndarray, float]],
            rng: np.random.Generator) -> tuple[np.ndarray, float] | tuple[np.ndarray, float, dict]: ...


@dataclass(frozen=True, slots=True)
class SearchResult:
    """All evaluations of a run, in completion order."""

    evaluations: tuple[Evaluation, ...]

    @property
    def cumulative_cost(self) -> np.ndarray:
        return np.cumsum([e.cost for e in self.evaluations])


def _evaluate_one(problem: SearchProblem, x: np.ndarray, z: float, seed: int):
    try:
        f, cost = problem.evaluate(x, z, seed)
        return np.asarray(f, dtype=np.float64), float(cost), "ok", ""
    except Exception as exc:  # noqa: BLE001 - a failing evaluation is recorded and the search goes on
        return np.full(problem.n_expensive, np.nan), 0.0, "failed", f"{type(exc).__name__}: {exc}"


def run_search(problem: SearchProblem, algorithm: Algorithm, *, budget: float, q: int = 1, seed: int = 0,
               executor=None, done: list[Evaluation] | None = None,
               on_result: Callable[[Evaluation], None] | None = None, max_evaluations: int = 10**6,
               charge_proposals: bool = False) -> SearchResult:
    """Run the ask/tell loop until the cumulative measured cost reaches ``budget``.

    Every evaluation records the wall time its proposal took (``propose_seconds``). With
    ``charge_proposals`` the budget counts it too: spent = sum of ``cost + propose_seconds``. That
    is the honest budget when cost is measured seconds and evaluations are cheap (a model-based
    proposal can take longer than the evaluation it proposes); it is conservative with ``q > 1``,
    where proposing overlaps with evaluations in flight. Leave it off when cost is not seconds.

    Args:
        problem: The problem. algorithm: The proposer.
        budget: Cost budget (same units as the problem's measured cost).
        q: Evaluations kept in flight (>= 1).
        seed: Seed of the proposals (``SeedSequence([seed, i])`` for proposal ``i``) and of each
            evaluation (``seed * 100003 + i``).
        executor: ``submit``/``as_completed`` executor (``search.executors``); None = in process.
        done: Evaluations of an earlier run of the same search (resume), in completion order.
        on_result: Called with every finished evaluation, in completion order (store it there).
        max_evaluations: Hard cap on the number of evaluations.
        charge_proposals: Count proposal seconds against ``budget`` (see above).

    Returns:
        Every evaluation, the resumed ones first.
    """
    if isinstance(q, bool) or not isinstance(q, int) or q < 1:
        raise ConfigError(f"run_search: q must be an integer >= 1; got {q!r}.")
    if not (isinstance(budget, (int, float)) and budget > 0):
        raise ConfigError(f"run_search: budget must be a number > 0; got {budget!r}.")
    if not isinstance(charge_proposals, bool):
        raise ConfigError(f"run_search: charge_proposals must be True or False; got {charge_proposals!r}.")
    done = list(done or [])
    pending: dict[object, tuple[int, np.ndarray, float, int, float, dict]] = {}

    def finish(i: int, x: np.ndarray, z: float, eseed: int, result, secs: float, notes: dict) -> Evaluation:
        f, cost, status, err = result
        ev = Evaluation(index=i, x=np.asarray(x, dtype=np.float64), z=float(z), f=f,
                        cheap=np.asarray(problem.exact(np.asarray(x)[None, :])[0], dtype=np.float64),
                        cost=cost, seed=eseed, status=status, error=err, propose_seconds=secs, proposal=notes)
        done.append(ev)
        if on_result is not None:
            on_result(ev)
        return ev

    stored = {e.index: e for e in done}
    last = max(stored, default=-1)
    redo: list[tuple[int, np.ndarray, float, float, dict]] = []  # proposals lost in flight by an earlier run
    replayed: list[Evaluation] = []

    def ask(evaluations: list[Evaluation], pend: list[tuple[np.ndarray, float]], i: int):
        t0 = time.perf_counter()
        out = algorithm.ask(problem, evaluations, pend, np.random.default_rng([seed, i]))
        secs = time.perf_counter() - t0
        return out[0], out[1], secs, dict(out[2]) if len(out) > 2 else {}

    for i in range(last + 1):  # replay proposals so stateful algorithms resume their state
        if algorithm.stateful or i not in stored:
            if algorithm.stateful and not algorithm.ready(replayed):
                for j, xj, zj, sj, nj in redo:  # the algorithm needs the lost evaluations first
                    eseed = seed * 100003 + j
                    replayed.append(finish(j, xj, zj, eseed, _evaluate_one(problem, xj, zj, eseed), sj, nj))
                redo.clear()
            proposal = ask(replayed, [], i)
            if i not in stored:
                redo.append((i, *proposal))
        if i in stored:
            replayed.append(stored[i])
    next_index = last + 1

    def spent() -> float:
        return float(sum(e.charged_cost(charge_proposals) for e in done))

    def submit(i: int, x: np.ndarray, z: float, secs: float, notes: dict) -> None:
        eseed = seed * 100003 + i
        key = executor.submit(_evaluate_one, problem, x, z, eseed) if executor is not None else (i,)
        pending[key] = (i, x, z, eseed, secs, notes)

    while spent() < budget and len(done) < max_evaluations:
        while (len(pending) < q and spent() < budget and len(done) + len(pending) < max_evaluations
               and (redo or algorithm.ready(done))):
            if redo:
                submit(*redo.pop(0))
                continue
            submit(next_index, *ask(done, [(p[1], p[2]) for p in pending.values()], next_index))
            next_index += 1
        if not pending:
            break
        if executor is None:
            key = next(iter(pending))
            i, x, z, eseed, secs, notes = pending.pop(key)
            finish(i, x, z, eseed, _evaluate_one(problem, x, z, eseed), secs, notes)
        else:
            key = next(iter(executor.as_completed(list(pending))))
            i, x, z, eseed, secs, notes = pending.pop(key)
            finish(i, x, z, eseed, key.result(), secs, notes)
    return SearchResult(evaluations=tuple(done))

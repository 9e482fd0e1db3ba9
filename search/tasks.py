"""Search problems for :func:`search.loop.run_search`: synthetic benchmarks and the ReRAM task,
and the hypervolume-versus-cost trace used by every comparison.

Fidelity is shared by all expensive objectives of an evaluation (iMOCA's convention, reference
§4 pitfall 5). Only evaluations at the target fidelity ``z = 1`` enter the Pareto front: a
lower-fidelity accuracy is a lower bound, not a measurement of the design.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np

from crossbar.errors import ConfigError
from search.benchmarks import hypervolume
from search.loop import Evaluation, _evaluate_one


@dataclass(eq=False)
class BenchmarkSearch:
    """A :mod:`search.benchmarks` problem as a :class:`search.loop.SearchProblem`.

    Attributes:
        bench: The benchmark. fidelities: Fidelity levels offered to CF-MESMO.
    """

    bench: object
    fidelities: np.ndarray = field(default_factory=lambda: np.linspace(0.1, 1.0, 10))

    def __post_init__(self) -> None:
        mask = np.asarray(self.bench.expensive, dtype=bool)
        self._exp, self._cheap = np.flatnonzero(mask), np.flatnonzero(~mask)
        self.n_var = int(self.bench.n_var)
        self.n_expensive = int(mask.sum())

    def exact(self, x: np.ndarray) -> np.ndarray:
        if self._cheap.size == 0:
            return np.zeros((np.atleast_2d(x).shape[0], 0))
        return np.asarray(self.bench.evaluate(np.atleast_2d(x), 1.0))[:, self._cheap]

    def cost(self, x: np.ndarray, z: np.ndarray) -> np.ndarray:
        return np.asarray(self.bench.cost(np.asarray(z, dtype=np.float64)), dtype=np.float64)

    def evaluate(self, x: np.ndarray, z: float, seed: int) -> tuple[np.ndarray, float]:
        f = np.asarray(self.bench.evaluate(np.asarray(x)[None, :], z))[0, self._exp]
        return f, float(np.asarray(self.bench.cost(np.array([z])))[0])

    def normalization(self) -> tuple[np.ndarray, np.ndarray]:
        """``(ideal, nadir)`` in the loop's objective order (expensive first, then cheap)."""
        order = np.concatenate([self._exp, self._cheap])
        return np.asarray(self.bench.ideal)[order], np.asarray(self.bench.nadir)[order]


@dataclass(eq=False)
class ReramSearch:
    """The ReRAM design problem (:mod:`search.evaluate`) over a :class:`search.space.DesignSpace`.

    The predicted evaluation cost (for CF-MESMO) is ``1 + max_epochs * z`` in units of one
    hardware-mode evaluation (a fine-tuning epoch costs about as much as one evaluation pass on
    digits); the measured cost is the wall time of the evaluation in seconds, or with the task's
    ``evaluation_cost="passes"`` its ``1 + epochs`` (the prediction, exactly). An evaluation uses
    its own seed, or the task's ``common_seed`` when set (common random numbers,
    :class:`search.evaluate.ReramTask`), and measures accuracy on ``split`` (``"search"``: the
    task's validation part when it has one, else the test split; ``"test"``: the test split).
    """

    space: object
    task: object
    pretrained: bytes
    costs: object = None
    split: str = "search"

    def __post_init__(self) -> None:
        from search.evaluate import SPLITS, CostObjectives

        if self.split not in SPLITS:
            raise ConfigError(f"ReramSearch.split must be one of {list(SPLITS)}; got {self.split!r}.")
        self.n_var = int(self.space.n_var)
        self.n_expensive = 1
        m = self.task.max_epochs
        self.fidelities = np.arange(1, m + 1) / m if m > 0 else np.array([1.0])
        if self.costs is None:
            self.costs = CostObjectives.for_task(self.task)

    def configs(self, x: np.ndarray) -> list:
        designs = self.space.decode(np.atleast_2d(x))
        return [self.space.to_config(d) for d in designs]

    def exact(self, x: np.ndarray) -> np.ndarray:
        return self.costs(self.configs(x))

    def cost(self, x: np.ndarray, z: np.ndarray) -> np.ndarray:
        return 1.0 + self.task.max_epochs * np.asarray(z, dtype=np.float64)

    def evaluate(self, x: np.ndarray, z: float, seed: int) -> tuple[np.ndarray, float]:
        from search.evaluate import evaluate_accuracy

        cfg = self.configs(x)[0]
        seed = seed if self.task.common_seed is None else self.task.common_seed
        r = evaluate_accuracy(self.task.to_json(), cfg.to_json(), float(z), self.pretrained, int(seed),
                              split=self.split)
        cost = r["seconds"] if self.task.evaluation_cost == "seconds" else 1 + r["epochs"]
        return np.array([-r["accuracy"]]), float(cost)

    def with_common_seed(self, common_seed: int | None) -> ReramSearch:
        """This problem with the task's ``common_seed`` set to ``common_seed`` (``self`` when it
        already is; the pretrained weights and cost objectives are shared)."""
        if self.task.common_seed == common_seed:
            return self
        return dataclasses.replace(self, task=dataclasses.replace(self.task, common_seed=common_seed))

    def remeasurement(self, split: str = "test") -> ReramSearch:
        """The problem :func:`rescore` measures designs with: evaluations that follow their own seed
        (no ``common_seed``) and measure on ``split`` (default the test split; ``"search"``: the
        split the search measured on, to tell the luck of its draws from the split's bias), whose
        cost is measured seconds (what a re-measurement records; a rescored evaluation keeps its
        recorded cost); ``self`` when this one already is that."""
        own = self.with_common_seed(None)
        if own.task.evaluation_cost != "seconds":
            own = dataclasses.replace(own, task=dataclasses.replace(own.task, evaluation_cost="seconds"))
        if own.split == split or self.task.validation is None:  # without validation both splits are test
            return own
        return dataclasses.replace(own, split=split)

    def warm_up(self, n: int = 4, seed: int = 12345) -> None:
        """Evaluate ``n`` random designs (unit cube, ``default_rng(seed)``) at full fidelity and
        discard them. In a fresh checkout the first evaluations compile the Numba kernels (about
        8 s on 2 cores), which would be charged to the first evaluations' measured cost (and so to
        a search's budget and its hypervolume-vs-cost curve); compiled kernels are cached on
        disk, so later warm-ups take about 0.1 s per design. Evaluations depend only on their own
        seed, so a warm-up does not change any later result."""
        for u in np.random.default_rng(seed).random((int(n), self.n_var)):
            self.evaluate(u, 1.0, 10**9 + 7)


def hypervolume_trace(evaluations: list[Evaluation] | tuple[Evaluation, ...], *, ideal: np.ndarray,
                      nadir: np.ndarray, include_proposals: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Hypervolume of the full-fidelity front after each evaluation, versus cumulative cost.

    Args:
        evaluations: In completion order.
        ideal, nadir: Normalization in the loop's objective order (expensive, then cheap).
        include_proposals: Add each evaluation's ``propose_seconds`` to its cost (wall-clock
            accounting when cost is measured seconds; unknown proposal times count as 0).

    Returns:
        ``(cumulative_cost (n,), hypervolume (n,))``; normalized objectives, reference point 1.1
        (:func:`search.benchmarks.hypervolume`).
    """
    cost = np.cumsum([e.charged_cost(include_proposals) for e in evaluations])
    hv = np.zeros(len(evaluations))
    pts: list[np.ndarray] = []
    for k, e in enumerate(evaluations):
        if e.status == "ok" and e.z == 1.0:
            pts.append(np.concatenate([e.f, e.cheap]))
        hv[k] = hypervolume(np.array(pts), ideal=ideal, nadir=nadir) if pts else 0.0
    return cost, hv


def remeasurement(problem, split: str = "test"):
    """The problem to re-measure designs with: ``problem.remeasurement(split)`` where it has one (a
    ReRAM task: with a ``common_seed`` the repeats must draw afresh, not repeat the search's common
    draw; with a ``validation`` part the search measured on it, and the designs are measured on the
    test split, or with ``split="search"`` afresh on that part), else ``problem``."""
    return problem.remeasurement(split) if hasattr(problem, "remeasurement") else problem


def rescore(problem, evaluations: list[Evaluation] | tuple[Evaluation, ...], *, repeats: int, seed: int,
            cache: dict | None = None) -> list[Evaluation]:
    """The evaluations with every full-fidelity design's expensive objectives measured afresh.

    A noisy objective (the ReRAM accuracy: fine-tuning and device draws follow the evaluation
    seed) rewards a search that evaluates near-identical designs many times: its front keeps the
    luckiest draws, and a front built so is a target no measurement of the same designs
    reproduces. Rescoring scores what a search found rather than how lucky its measurements were.

    Every ``"ok"`` evaluation at ``z = 1`` gets ``f`` = the mean over ``r < repeats`` of
    ``problem.evaluate(x, 1.0, seed + r)``. The seeds are the same for every design (common random
    numbers), so designs are compared under the same draws. Order, ``x``, ``z``, ``cheap``,
    ``cost``, ``seed`` and the other evaluations are kept. A design whose re-measurement fails
    becomes ``"failed"`` (its ``error`` says so) and leaves the front instead of keeping its
    recorded value. For a deterministic problem rescoring returns the recorded objectives. The
    measurements use :func:`remeasurement` of the problem.

    Args:
        problem: The :class:`search.loop.SearchProblem` the evaluations came from.
        evaluations: Any order.
        repeats: Measurements per design (>= 1).
        seed: Seed of the first measurement (an integer >= 0).
        cache: ``{x.tobytes(): (f, error)}``; designs found in it are not measured again, new ones
            are added. Share it between runs rescored with the same ``repeats`` and ``seed``.

    Returns:
        The rescored evaluations, in the same order.
    """
    if isinstance(repeats, bool) or not isinstance(repeats, int | np.integer) or repeats < 1:
        raise ConfigError(f"rescore: repeats must be an integer >= 1; got {repeats!r}.")
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise ConfigError(f"rescore: seed must be an integer >= 0; got {seed!r}.")
    cache = {} if cache is None else cache
    problem = remeasurement(problem)
    out = []
    for e in evaluations:
        if e.status != "ok" or e.z != 1.0:
            out.append(e)
            continue
        key = np.asarray(e.x, dtype=np.float64).tobytes()
        if key not in cache:
            runs = [_evaluate_one(problem, e.x, 1.0, int(seed) + r) for r in range(repeats)]
            bad = [err for _, _, status, err in runs if status != "ok"]
            cache[key] = ((np.full(len(e.f), np.nan), f"rescore: {bad[0]}") if bad
                          else (np.mean([f for f, *_ in runs], axis=0), ""))
        f, err = cache[key]
        out.append(dataclasses.replace(e, f=f.copy(), status="failed" if err else "ok", error=err))
    return out


def greedy_hypervolume_subset(points: np.ndarray, *, ideal: np.ndarray, nadir: np.ndarray,
                              k: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Greedy hypervolume subset selection: the ``k`` rows that add the most hypervolume in turn.

    Each step adds the row whose hypervolume contribution to the rows chosen so far is largest
    (ties: the lowest index). Contributions only shrink as rows are added (hypervolume is monotone
    and submodular), so a stale contribution bounds the fresh one from above and is re-computed
    only when it heads the queue (lazy greedy; the same choice as recomputing every row, tested).
    The greedy prefix of length ``j`` has at least ``1 - 1/e`` of the best ``j``-subset's
    hypervolume (Nemhauser et al. 1978).

    Args:
        points: Objectives (minimized), ``(n, m)``.
        ideal, nadir: Normalization of :func:`search.benchmarks.hypervolume` (reference point 1.1).
        k: Rows to choose at most (default all); it stops early when no row adds hypervolume.

    Returns:
        ``(order, hv)``: chosen row indices in order, and the hypervolume of each prefix
        (``hv[j]`` of ``points[order[:j + 1]]``), nondecreasing.

    Example:
        >>> order, hv = greedy_hypervolume_subset(np.array([[0.0, 1.0], [0.5, 0.5], [1.0, 0.0]]),
        ...                                       ideal=np.zeros(2), nadir=np.ones(2))
        >>> order.tolist(), hv.round(4).tolist()
        ([1, 0, 2], [0.36, 0.41, 0.46])
    """
    import heapq

    pts = np.asarray(points, dtype=np.float64)
    n = pts.shape[0]
    k = n if k is None else min(int(k), n)
    heap = [(-np.inf, i) for i in range(n)]  # (-contribution bound, index)
    order: list[int] = []
    hv: list[float] = []
    best = 0.0
    while heap and len(order) < k:
        _, i = heapq.heappop(heap)
        new = hypervolume(pts[order + [i]], ideal=ideal, nadir=nadir)
        gain = new - best
        if heap and -gain > heap[0][0] or (heap and -gain == heap[0][0] and heap[0][1] < i):
            heapq.heappush(heap, (-gain, i))  # stale bound: another row may add more now
            continue
        if gain <= 0.0:
            break
        order.append(i)
        best = new
        hv.append(best)
    return np.array(order, dtype=np.int64), np.array(hv)


def cost_to_reach(cost: np.ndarray, hv: np.ndarray, target: float) -> float:
    """Smallest cumulative cost at which ``hv >= target`` (``inf`` if never)."""
    hit = np.flatnonzero(hv >= target - 1e-12)
    return float(cost[hit[0]]) if hit.size else float("inf")

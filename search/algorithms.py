"""The search algorithms of :func:`search.loop.run_search`: random, NSGA-II, MESMO, CF-MESMO, qLogNEHVI.

Each proposes ``(x, z)`` from the finished evaluations and those in flight (the
:class:`search.loop.Algorithm` protocol). The model-based ones fit their GPs afresh at every
proposal, so only NSGA-II (``stateful``) is replayed on resume.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from crossbar.errors import ConfigError
from search.loop import Evaluation, SearchProblem


def _at_least(algorithm, **minima: int) -> None:
    """Raise ConfigError unless each named field of ``algorithm`` is an integer >= its minimum."""
    for key, lo in minima.items():
        v = getattr(algorithm, key)
        if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < lo:
            raise ConfigError(f"{type(algorithm).__name__}.{key} must be an integer >= {lo}; got {v!r}.")


def _full(done: list[Evaluation]) -> list[Evaluation]:
    return [e for e in done if e.status == "ok"]


class _Stateless:
    """An algorithm that proposes from the evaluations alone: nothing to replay, never waits."""

    stateful: ClassVar[bool] = False

    def ready(self, done) -> bool:
        return True


@dataclass
class RandomSearch(_Stateless):
    """Uniform designs at the target fidelity."""

    name: str = "random"

    def ask(self, problem, done, pending, rng):
        return rng.random(problem.n_var), 1.0


@dataclass
class NSGA2Search:
    """pymoo's NSGA-II at the target fidelity, driven through its ask/tell interface.

    A generation's population is handed out one individual per ``ask`` (proposal indices are
    consecutive); the next generation is asked for once every member has finished, so at most
    ``pop_size`` evaluations run in parallel. A failed member counts as dominated (``F = 1e30``).
    """

    pop_size: int = 20
    name: str = "nsga2"
    stateful: ClassVar[bool] = True

    def __post_init__(self) -> None:
        _at_least(self, pop_size=1)
        self._algo = None
        self._pop = None
        self._queue: list[int] = []
        self._first = 0  # proposal index of the current generation's first member

    def _setup(self, problem, rng) -> None:
        from pymoo.algorithms.moo.nsga2 import NSGA2
        from pymoo.core.problem import Problem
        from pymoo.termination.max_gen import MaximumGenerationTermination

        n_obj = problem.n_expensive + problem.exact(np.full((1, problem.n_var), 0.5)).shape[1]
        self._problem = Problem(n_var=problem.n_var, n_obj=n_obj, xl=0.0, xu=1.0)
        self._algo = NSGA2(pop_size=self.pop_size)
        self._algo.setup(self._problem, termination=MaximumGenerationTermination(10**9),
                         seed=int(rng.integers(2**31)))

    def _generation_done(self, done) -> bool:
        if self._pop is None:
            return True
        finished = {e.index for e in done}
        return all(self._first + k in finished for k in range(len(self._pop)))

    def ready(self, done) -> bool:
        return bool(self._queue) or self._generation_done(done)

    def ask(self, problem, done, pending, rng):
        from pymoo.core.evaluator import Evaluator
        from pymoo.problems.static import StaticProblem

        if self._algo is None:
            self._setup(problem, rng)
        if not self._queue:
            if self._pop is not None:
                by_index = {e.index: e for e in done}
                rows = []
                for k in range(len(self._pop)):
                    e = by_index[self._first + k]
                    f = e.f if e.status == "ok" else np.full(problem.n_expensive, 1e30)
                    rows.append(np.concatenate([f, e.cheap]))
                Evaluator().eval(StaticProblem(self._problem, F=np.array(rows)), self._pop)
                self._algo.tell(infills=self._pop)
                self._first += len(self._pop)
            self._pop = self._algo.ask()
            self._queue = list(range(len(self._pop)))
        k = self._queue.pop(0)
        return np.asarray(self._pop.get("X")[k], dtype=np.float64), 1.0


MES_SWITCHES = {"reference_box": "box", "refine": "refine", "pinned": "pinned", "front_candidates": "fronts",
                "gain_cap": "cap", "correlated": "corr", "unpruned": "unpruned"}
"""Boolean :class:`MESSearch` options a search config can switch on (all off by default), with the
word that names each in plot legends."""


@dataclass
class MESSearch(_Stateless):
    """MESMO (``fidelities=(1,)``, per-objective truncation, no cost) or CF-MESMO.

    Attributes:
        multi_fidelity: Use the problem's fidelity levels and cost model (CF-MESMO).
        truncation: ``"per_objective"`` (the papers) or ``"tradeoff"`` (ours: the truncation by
            the region the sampled front dominates at the design's exact objectives; any number
            of expensive objectives).
        n_samples: Posterior samples ``S`` (>= 1). n_init: Random evaluations before the model is
            used (>= 2; at mixed fidelities for CF-MESMO, one at the target fidelity included).
        n_candidates: Random candidates per proposal (>= 1; with ``front_candidates`` or ``refine``,
            the sampled Pareto sets' designs are candidates too).
        nsga_pop, nsga_gen: NSGA-II population and generations per posterior sample's front (>= 1).
        front_candidates: The sampled Pareto sets' designs join the random candidates (no local
            search; ``experiments/cfmesmo_vs_nsga2.py --mes-front-candidates``). The samples'
            NSGA-II reaches designs random candidates in many dimensions almost never do (e.g. on
            the cube's boundary), and they are the designs the acquisition is about.
        refine: ``front_candidates``, and then refine the best candidates by local search
            (``search._optimize``; ``experiments/cfmesmo_vs_nsga2.py --mes-refine``). Off by default (README).
        reference_box: With ``truncation="tradeoff"``, seek information about the part of the front
            inside the hypervolume's reference box only (:class:`search.acquisition.CFMESMO`'s
            ``reference``; the point is :func:`reference_point` of the designs observed at the
            target fidelity). Without it, the sampled fronts' extremes far outside the box (e.g. the
            best accuracy at any area) draw evaluations that add no hypervolume. Use it when the
            problem knows its reference point: a data-driven one also excludes designs costlier
            than any observed so far.
        pinned: With ``truncation="tradeoff"`` and one expensive objective, a candidate in a
            sampled Pareto set gains the information of pinning its value there
            (:class:`search.acquisition.CFMESMO`'s ``pinned``). Off by default (README).
        gain_cap: Cap each candidate's information gain at what its observation can tell about its
            own latent values (:class:`search.acquisition.CFMESMO`'s ``gain_cap``): a design already
            observed on a noise-free problem, or one whose posterior mean sits on a sampled front,
            otherwise keeps a gain of order 1 nat however certain the model is. Off by default (README).
        correlated: An evaluation's information about the target fidelity's values, through its
            posterior correlation with them (iMOCA-E; ``CFMESMO.correlated``); the default credits a
            cheap fidelity with information about its own values. Off by default (README).
        unpruned: No BOCA-style fidelity pruning (``CFMESMO.prune``; on the ReRAM demo, ZDT1-MF and
            the DTLZ2 variant it excluded every lower fidelity once a model was fitted, README).
        log_gain: Rank candidates by ``ln(information gain / cost)``
            (:func:`search._info_gain.log_mes_term`): the same order wherever the gain is
            representable, and still an order where it underflows to 0 for every candidate.
    """

    multi_fidelity: bool = True
    truncation: str = "per_objective"
    n_samples: int = 10
    n_init: int = 6
    n_candidates: int = 1000
    nsga_pop: int = 60
    nsga_gen: int = 40
    refine: bool = False
    reference_box: bool = False
    log_gain: bool = True
    pinned: bool = False
    front_candidates: bool = False
    gain_cap: bool = False
    correlated: bool = False
    unpruned: bool = False
    name: str = "cfmesmo"

    def __post_init__(self) -> None:
        _at_least(self, n_samples=1, n_init=2, n_candidates=1, nsga_pop=1, nsga_gen=1)
        if self.truncation not in ("per_objective", "tradeoff"):
            raise ConfigError(f"MESSearch.truncation must be 'per_objective' or 'tradeoff'; got {self.truncation!r}.")
        for key in ("reference_box", "pinned"):
            if getattr(self, key) and self.truncation != "tradeoff":
                raise ConfigError(f"MESSearch.{key} needs truncation='tradeoff'; got truncation={self.truncation!r}.")

    def ask(self, problem, done, pending, rng):
        from search.acquisition import CFMESMO, propose, sample_pareto_fronts
        from search.surrogate import fit_surrogate

        if self.correlated and self.truncation == "tradeoff" and problem.n_expensive != 1:
            raise ConfigError("MESSearch.correlated with truncation='tradeoff' needs one expensive objective; "
                              f"the problem has {problem.n_expensive}.")
        levels = np.asarray(problem.fidelities if self.multi_fidelity else [1.0], dtype=np.float64)
        ok = _full(done)
        n_started = len(done) + len(pending)
        if len(ok) < self.n_init or not any(e.z == 1.0 for e in ok):
            z = 1.0 if (n_started == 0 or not self.multi_fidelity) else float(rng.choice(levels))
            return rng.random(problem.n_var), z, {"origin": "init"}
        xz = np.array([np.concatenate([e.x, [e.z]]) for e in ok])
        f = np.array([e.f for e in ok])
        cheap = np.array([e.cheap for e in ok]).reshape(len(ok), -1)
        surrogates = [fit_surrogate(xz, f[:, j]) for j in range(problem.n_expensive)]
        full = np.array([e.z == 1.0 for e in ok])
        fronts = sample_pareto_fronts(surrogates, problem.exact, n_samples=self.n_samples,
                                      seed=int(rng.integers(2**31)), pop_size=self.nsga_pop,
                                      n_gen=self.nsga_gen)
        cost_fn = problem.cost if self.multi_fidelity else None
        ref = None
        if self.reference_box:
            ref = reference_point(problem, np.hstack([f[full], cheap[full]]))

        def factory(sur):
            return CFMESMO(sur, fronts, exact_fn=problem.exact, cost_fn=cost_fn, truncation=self.truncation,
                           observed=-f[full], observed_cheap=cheap[full], reference=ref, iteration=len(ok),
                           log_gain=self.log_gain, pinned=self.pinned, gain_cap=self.gain_cap,
                           correlated=self.correlated, prune=not self.unpruned)

        pend = np.array([np.concatenate([x, [z]]) for x, z in pending]) if pending else None
        seeds = np.vstack([f.x for f in fronts]) if self.refine or self.front_candidates else None
        trace: list[dict] = []
        x, z = propose(factory, surrogates, n_var=problem.n_var, fidelities=levels, q=1, pending=pend,
                       rng=rng, n_candidates=self.n_candidates, seeds=seeds, refine=self.refine, trace=trace)
        return x[0], float(z[0]), trace[0] | {"lengthscales": [s.lengthscales.tolist() for s in surrogates]}


@dataclass
class QLogNEHVISearch(_Stateless):
    """BoTorch's qLogNEHVI at the target fidelity: GPs for the expensive objectives, the exact
    objectives as deterministic model outputs; maximized over random candidates and the observed
    designs, then refined by local search around the best (``refine``; the exact objectives are
    piecewise constant, so gradients are not used).

    Reference point (minimized objectives, expensive first): when the problem has
    ``normalization() -> (ideal, nadir)`` (the synthetic benchmarks), ``nadir + 0.1 (nadir -
    ideal)``, the reference point the comparison's hypervolume uses; otherwise the observed worst
    value plus 10 % of the observed range per objective. A data-driven point can sit beyond the
    metric's: on the DTLZ2 variant it made designs with zero cost and the worst error look like
    large improvements.
    """

    n_init: int = 6
    n_candidates: int = 512
    refine: bool = True
    name: str = "qlognehvi"

    def __post_init__(self) -> None:
        from search.surrogate import load_fused_kernel

        _at_least(self, n_init=2, n_candidates=1)

        load_fused_kernel()  # its first compilation (about 25 s) is not a proposal's time

    def ask(self, problem, done, pending, rng):
        import torch
        from botorch.acquisition.multi_objective.logei import qLogNoisyExpectedHypervolumeImprovement
        from botorch.models.deterministic import GenericDeterministicModel
        from botorch.models.model import ModelList

        from search._optimize import maximize_on_cube
        from search.surrogate import fit_surrogate, fused_kernel_is_optional, jitter_is_expected

        ok = [e for e in _full(done) if e.z == 1.0]
        if len(ok) < self.n_init:
            return rng.random(problem.n_var), 1.0
        x = np.array([e.x for e in ok])
        f = np.array([e.f for e in ok])
        cheap = np.array([e.cheap for e in ok])
        xz = np.hstack([x, np.ones((len(x), 1))])
        gps = [fit_surrogate(xz, -f[:, j]).model for j in range(problem.n_expensive)]  # BoTorch maximizes
        m = cheap.shape[1]

        def exact_t(t):
            arr = t.detach().numpy().reshape(-1, t.shape[-1])[:, :-1]
            out = -problem.exact(arr)  # maximize
            return torch.as_tensor(out, dtype=t.dtype).reshape(*t.shape[:-1], m)

        det = GenericDeterministicModel(exact_t, num_outputs=m)
        model = ModelList(*gps, det)  # the expensive objectives' GPs, then the exact objectives
        ref = torch.as_tensor(-reference_point(problem, np.hstack([f, cheap])))  # maximization form
        x_base = torch.as_tensor(xz)
        with torch.random.fork_rng(), jitter_is_expected(), fused_kernel_is_optional():  # also while pruning
            torch.manual_seed(int(rng.integers(2**31)))
            acq = qLogNoisyExpectedHypervolumeImprovement(model=model, ref_point=ref, X_baseline=x_base,
                                                          prune_baseline=True, cache_root=False)

            def score(xs: np.ndarray) -> np.ndarray:
                cand = np.hstack([xs, np.ones((len(xs), 1))])
                with torch.no_grad(), jitter_is_expected():
                    return torch.cat([acq(torch.as_tensor(c)[:, None, :])
                                      for c in np.array_split(cand, max(1, len(cand) // 64))]).numpy()

            best, _ = maximize_on_cube(score, problem.n_var, rng, n_random=self.n_candidates,
                                       seeds=x if self.refine else None, rounds=16 if self.refine else 0)
        return best, 1.0


def reference_point(problem: SearchProblem, observed: np.ndarray) -> np.ndarray:
    """The hypervolume reference point the model-based searches use (minimized objectives,
    expensive then exact): ``nadir + 0.1 (nadir - ideal)`` when the problem has
    ``normalization() -> (ideal, nadir)`` (the comparison's metric uses the same point), otherwise
    the worst of the ``observed`` objectives ``(n, K + m)`` plus 10 % of their range."""
    if callable(getattr(problem, "normalization", None)):
        ideal, nadir = (np.asarray(v, dtype=np.float64) for v in problem.normalization())
        return nadir + 0.1 * (nadir - ideal)
    return observed.max(axis=0) + 0.1 * (observed.max(axis=0) - observed.min(axis=0) + 1e-9)

"""CF-MESMO: information gain about the Pareto front per unit cost, and plain MESMO.

Problem convention (pymoo): every objective is *minimized*. Objectives are split into
``K`` expensive ones (modelled by one GP each over ``[x, z]``; accuracy enters as ``-accuracy``)
and ``m`` cheap exact ones (area, energy, latency: computed, never modelled).

Acquisition (reference ``algorithms.md`` §3.3, iMOCA-T), with ``g_j = -F_j`` maximized::

    alpha(x, z) = 1 / C(x, z) * 1/S * sum_s sum_j h((f*_sj - mu_j(x, z)) / sigma_j(x, z))

``h`` is the truncated-Gaussian entropy reduction (:func:`search._info_gain.mes_term`).
``f*_sj`` comes from posterior sample ``s``: its Pareto set ``P_s`` is found with pymoo's NSGA-II
on (the sampled ``g`` at ``z = 1``, the exact objectives); then

* ``truncation="per_objective"`` (the paper): ``f*_sj = max_{P_s} g_sj``, floored at the best
  value observed at ``z = 1``;
* ``truncation="tradeoff"`` (ours, reference §8): ``g(x)`` is truncated to the region that the
  sampled front dominates *at x's exact objectives*: the union of the lower orthants
  ``{g <= g_s(x')}`` over the points ``x'`` of ``P_s`` that are at least as cheap as ``x`` in every
  exact objective (all of ``P_s`` if none is) and over the observed designs as cheap as ``x``. The entropy reduction
  of the ``K`` independent Gaussians under that truncation (PFES, Suzuki et al. 2020;
  :func:`search._info_gain.pareto_gain`) replaces the sum of per-objective terms. With ``K = 1``
  it is §8's bound ``f*_s(x) = max`` of those points' ``g``, taken with ``g_s(x)`` itself instead
  of the all-of-``P_s`` fallback: an exact ``P_s`` holds a point that weakly dominates ``x``, so
  the exact bound is never below ``g_s(x)`` and never falls back; a finite NSGA-II front breaks
  both, and the sample's own value repairs them (:func:`bounding_points`). With ``K >= 2`` the whole front, not
  only each objective's extreme, carries information, so cheap designs and compromises keep an
  information value of their own. Optionally (``pinned``, ``K = 1``) a candidate in a sample's Pareto
  set gains the entropy reduction of pinning its value there instead (:meth:`CFMESMO.pinned_gain`).

With ``z = 1`` only and ``C = 1`` this is MESMO. Lower fidelities can be pruned BOCA-style
(:func:`search._info_gain.fidelity_pruned`). Batches of ``q`` proposals condition the GPs on
hallucinated observations (their posterior mean) at pending and already chosen points.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from crossbar.errors import ConfigError
from search import _info_gain
from search._optimize import candidate_pool, local_search
from search.surrogate import GPSurrogate

ExactFn = Callable[[np.ndarray], np.ndarray]
CostFn = Callable[[np.ndarray, np.ndarray], np.ndarray]
Truncation = Literal["per_objective", "tradeoff"]


@dataclass(frozen=True, slots=True)
class ParetoSample:
    """The Pareto set of one posterior sample at the target fidelity.

    Attributes:
        x: Designs in the unit cube, ``(p, d)``.
        g: Sampled expensive objectives in maximization form, ``(p, K)``.
        cheap: Exact objectives (minimized), ``(p, m)``.
        values: The sample itself at the target fidelity: designs ``(n, d)`` -> ``g`` ``(n, K)``,
            or None. With one expensive objective the trade-off truncation bounds a candidate by
            its own sampled value too (:func:`bounding_points`).
    """

    x: np.ndarray
    g: np.ndarray
    cheap: np.ndarray
    values: Callable[[np.ndarray], np.ndarray] | None = None


class _SampleValues:
    """All posterior samples' ``g`` at designs ``x`` (target fidelity), ``(S, n, K)``; the last
    ``x`` is cached, so the fronts of one acquisition call share one evaluation of the paths."""

    def __init__(self, paths: list[Callable[[np.ndarray], np.ndarray]]) -> None:
        self.paths = paths
        self._x: np.ndarray | None = None
        self._g: np.ndarray | None = None

    def __call__(self, x: np.ndarray) -> np.ndarray:
        if self._x is None or self._x.shape != x.shape or not np.array_equal(self._x, x):
            xz = np.hstack([x, np.ones((x.shape[0], 1))])
            self._g = -np.stack([p(xz) for p in self.paths], axis=2)  # the GPs model F = -g
            self._x = x.copy()
        return self._g


def _exact(exact_fn: ExactFn | None, x: np.ndarray) -> np.ndarray:
    if exact_fn is None:
        return np.zeros((x.shape[0], 0))
    out = np.asarray(exact_fn(x), dtype=np.float64)
    return out.reshape(x.shape[0], -1)


def sample_pareto_fronts(surrogates: list[GPSurrogate], exact_fn: ExactFn | None, *, n_samples: int,
                         seed: int, pop_size: int = 60, n_gen: int = 40) -> list[ParetoSample]:
    """Draw ``n_samples`` posterior function samples and solve each one's multi-objective problem
    at ``z = 1`` with pymoo's NSGA-II (``pop_size`` x ``n_gen`` evaluations, seeded).

    The surrogates model the minimized objectives ``F_j``; NSGA-II minimizes the sampled ``F_j`` and
    the exact objectives, and the fronts carry ``g = -F`` (maximization form)."""
    from pymoo.algorithms.moo.nsga2 import NSGA2
    from pymoo.core.problem import Problem
    from pymoo.optimize import minimize

    n_var = surrogates[0].n_var
    seq = np.random.SeedSequence(seed)
    path_seeds = seq.generate_state(len(surrogates))
    paths = [s.sample_paths(n_samples, seed=int(ps)) for s, ps in zip(surrogates, path_seeds, strict=True)]
    nsga_seeds = np.random.SeedSequence(seed + 1).generate_state(n_samples)

    shared = _SampleValues(paths)
    fronts = []
    for s in range(n_samples):

        class _Sample(Problem):
            def _evaluate(self, x, out, *args, _s=s, **kwargs):
                out["F"] = np.hstack([-shared(x)[_s], _exact(exact_fn, x)])  # F = -g, minimized

        n_obj = len(surrogates) + _exact(exact_fn, np.full((1, n_var), 0.5)).shape[1]
        prob = _Sample(n_var=n_var, n_obj=n_obj, xl=0.0, xu=1.0)
        res = minimize(prob, NSGA2(pop_size=pop_size), ("n_gen", n_gen), seed=int(nsga_seeds[s] % 2**31),
                       verbose=False)
        x = np.atleast_2d(res.X)
        f = np.atleast_2d(res.F)
        k = len(surrogates)
        fronts.append(ParetoSample(x=x, g=-f[:, :k], cheap=f[:, k:], values=lambda xx, _s=s: shared(xx)[_s]))
    return fronts


def bounding_points(front: ParetoSample, observed: np.ndarray | None, cheap_x: np.ndarray,
                    box: np.ndarray | None = None, observed_cheap: np.ndarray | None = None,
                    own: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray | None]:
    """The points whose dominated region truncates each candidate (``truncation="tradeoff"``).

    Returns ``(points, applies)`` for :func:`search._info_gain.pareto_gain`: the sampled front's
    points and the observed designs (``observed`` ``g``, ``(n_obs, K)``, with their exact
    objectives ``observed_cheap``, ``(n_obs, m)``) that are at least as cheap as the candidate in
    every exact objective; where none is, the whole sampled front (reference §8's fallback).
    ``applies`` is None when all points bound every candidate. ``box`` (``(K,)``, maximization
    form: the reference point's expensive part negated) adds the ``K`` faces of the reference box,
    the points ``(+inf, .., box_j, .., +inf)``: values worse than the reference point count as
    dominated, so only the front inside the box carries information.

    ``own`` (``(n, K)``): the candidates' own values under this sample. Each candidate is as cheap
    as itself, so the sample's best value among designs at least as cheap as ``x`` is at least its
    own, and the truncation may never cut below it: ``own`` row ``i`` bounds candidate ``i`` only,
    and replaces the whole-front fallback (with one expensive objective this is the exact bound
    of the designs known to be at least as cheap; a crude sampled front otherwise puts it below
    the sample's own value, or, with no front point as cheap, at the front's far end). Each row
    adds a point, so pass it for ``K = 1`` only (the cells of ``pareto_gain`` grow with the points).
    """
    k, m = front.g.shape[1], front.cheap.shape[1]
    obs = observed if observed is not None else np.zeros((0, k))
    if observed_cheap is None:
        if m and len(obs):
            raise ConfigError("bounding_points: observed designs need their exact objectives (observed_cheap) "
                              f"when there are exact objectives; got observed_cheap=None with m={m}.")
        observed_cheap = np.zeros((len(obs), m))
    cheap = np.vstack([front.cheap, observed_cheap])
    cheaper = np.all(cheap[None, :, :] <= cheap_x[:, None, :], axis=2)  # (n, p + n_obs)
    if own is None:
        cheaper[~cheaper.any(axis=1), :len(front.g)] = True  # none as cheap: the whole sampled front bounds x
        own = np.zeros((0, k))
    else:
        cheaper = np.hstack([cheaper, np.eye(len(cheap_x), dtype=bool)])
    faces = np.zeros((0, k))
    if box is not None:
        faces = np.full((k, k), np.inf)
        np.fill_diagonal(faces, box)
    points = np.vstack([front.g, obs, own, faces])
    if cheaper.all():
        return points, None
    return points, np.hstack([cheaper, np.ones((len(cheap_x), len(faces)), dtype=bool)])


@dataclass(eq=False)
class CFMESMO:
    """CF-MESMO acquisition over candidate designs and fidelities (see module docstring).

    Attributes:
        surrogates: One fitted GP per expensive objective (minimized ``F_j``, GP models ``F_j``).
        fronts: Sampled Pareto sets (:func:`sample_pareto_fronts`).
        exact_fn: Exact objectives ``x (n, d) -> (n, m)``, or None.
        cost_fn: Evaluation cost ``(x (n, d), z (n,)) -> (n,)`` normalized so ``C(x, 1)`` is the
            full-fidelity cost (only ratios matter).
        truncation: ``"per_objective"`` or ``"tradeoff"``.
        observed: ``g = -F`` of the designs observed at ``z = 1``, ``(n_obs, K)``, or None. The true
            front dominates them: their per-objective maxima floor ``f*`` (``per_objective``), and
            each bounds the candidates at least as costly as it in every exact objective
            (``tradeoff``; every candidate when there are no exact objectives).
        observed_cheap: The observed designs' exact objectives, ``(n_obs, m)``; needed for
            ``tradeoff`` when there are exact objectives.
        reference: Hypervolume reference point (minimized objectives: the ``K`` expensive ones,
            then the exact ones), or None; ``tradeoff`` only. With it the gain is information
            about the part of the front inside the reference box (the region the hypervolume
            measures): values outside the box count as dominated (:func:`bounding_points`'s
            ``box``), and a design whose exact objectives reach the reference point gains nothing.
        prune: Apply BOCA-style fidelity pruning.
        pinned: With ``truncation="tradeoff"`` and one expensive objective: where a candidate is in
            a sample's Pareto set (its own sampled value is at least every value of the sampled
            front and observed designs at least as cheap), the observation's distribution given
            that front is pinned, ``f(x, 1) = g_s(x)``, instead of truncated there; its entropy
            reduction is then ``1/2 ln((v + n) / (v (1 - rho^2) + n))`` (:meth:`pinned_gain`).
            The truncated Gaussian's gain at its own value is the same constant for every such
            candidate however uncertain it is (``gamma`` is a standard normal draw); this one grows
            with the posterior variance over the noise.
        log_gain: Return ``ln(gain / cost)`` (same order where the gain is representable, and an
            order where it underflows to 0 for every candidate; see
            :func:`search._info_gain.log_mes_term`).
        gain_cap: Cap the gain at what the observation can tell about its own latent values,
            :meth:`gain_bound`. The observation ``y = f(x, z) + noise`` depends on the front only
            through ``f(x, z)`` (front -> ``f`` -> ``y`` is a Markov chain), so by the
            data-processing inequality ``I(y; front) <= I(y; f(x, z)) = 1/2 sum_j ln(1 + v_j / n_j)``
            (``v_j`` the posterior variance at ``(x, z)``, ``n_j`` the fitted noise variance; the
            GPs are independent). The truncated-Gaussian terms break that bound wherever the posterior
            mean sits near a sampled front point: ``gamma`` is then of order 1 and the term of order
            1 nat however small ``v`` is (at an observed design of a noise-free problem, say). The
            cap applies to the mean over samples (the bound holds for the expectation, not per
            sample), per objective for ``per_objective`` and for the sum with ``tradeoff``.
        correlated: Measure the information about the target fidelity (iMOCA-E, reference §3.3):
            truncate ``f(x, 1)`` (its posterior mean and deviation give ``gamma``) and credit the
            observation at ``(x, z)`` with what its correlation ``rho`` with ``f(x, 1)`` carries
            (:func:`search._info_gain.correlated_term`; ``rho = 1`` at ``z = 1``, where the term is
            the default's). The default (iMOCA-T) truncates the low-fidelity output ``g(x, z)``
            itself at the target's bound: it measures information about ``f(x, z)``, which a
            cheap, weakly correlated fidelity has plenty of. ``per_objective``, or ``tradeoff``
            with one expensive objective.
        iteration: Iteration counter ``t`` of the pruning rule.
    """

    surrogates: list[GPSurrogate]
    fronts: list[ParetoSample]
    exact_fn: ExactFn | None = None
    cost_fn: CostFn | None = None
    truncation: Truncation = "per_objective"
    observed: np.ndarray | None = None
    observed_cheap: np.ndarray | None = None
    reference: np.ndarray | None = None
    prune: bool = True
    iteration: int = 1
    log_gain: bool = False
    pinned: bool = False
    gain_cap: bool = False
    correlated: bool = False
    _fstar: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if self.truncation not in ("per_objective", "tradeoff"):
            raise ConfigError("CFMESMO.truncation must be 'per_objective' or 'tradeoff'; "
                              f"got {self.truncation!r}.")
        k = len(self.surrogates)
        if self.observed is not None:
            obs = np.asarray(self.observed, dtype=np.float64)
            if obs.ndim != 2 or obs.shape[1] != k or not np.all(np.isfinite(obs)):
                raise ConfigError(f"CFMESMO.observed must be a finite (n, {k}) array; got shape {obs.shape}.")
            self.observed = obs
        m = self.fronts[0].cheap.shape[1] if self.fronts else 0
        if self.observed_cheap is not None:
            oc = np.asarray(self.observed_cheap, dtype=np.float64)
            n_obs = 0 if self.observed is None else len(self.observed)
            if oc.shape != (n_obs, m) or not np.all(np.isfinite(oc)):
                raise ConfigError(f"CFMESMO.observed_cheap must be a finite (n_obs={n_obs}, m={m}) array; "
                                  f"got shape {oc.shape}.")
            self.observed_cheap = oc
        if self.reference is not None:
            ref = np.asarray(self.reference, dtype=np.float64)
            if self.truncation != "tradeoff":
                raise ConfigError("CFMESMO.reference needs truncation='tradeoff'; "
                                  f"got truncation={self.truncation!r}.")
            if ref.shape != (k + m,) or not np.all(np.isfinite(ref)):
                raise ConfigError(f"CFMESMO.reference must be {k + m} finite values (expensive objectives, then "
                                  f"exact ones); got {self.reference!r}.")
            self.reference = ref
        if self.pinned and (self.truncation != "tradeoff" or k != 1
                            or any(f.values is None for f in self.fronts)):
            raise ConfigError("CFMESMO.pinned needs truncation='tradeoff', one expensive objective and sampled "
                              f"fronts with their values; got truncation={self.truncation!r}, {k} expensive "
                              "objective(s).")
        if self.correlated and self.truncation == "tradeoff" and k != 1:
            raise ConfigError("CFMESMO.correlated with truncation='tradeoff' needs one expensive objective (the "
                              f"joint truncation of several has no one-dimensional form); got {k}.")
        fstar = np.stack([f.g.max(axis=0) for f in self.fronts])  # (S, K)
        if self.observed is not None and len(self.observed):
            fstar = np.maximum(fstar, self.observed.max(axis=0)[None, :])
        self._fstar = fstar

    def information_gain(self, x: np.ndarray, z: np.ndarray, *, log: bool = False) -> np.ndarray:
        """Mean entropy reduction over the posterior samples (nats) for candidates ``x (n, d)`` at
        fidelities ``z (n,)``; ``log=True``: its logarithm, finite where the gain underflows."""
        bound = None
        if not self.correlated or self.gain_cap:  # the posterior at (x, z) itself
            xz = np.hstack([x, np.asarray(z, dtype=np.float64).reshape(-1, 1)])
            pred = [s.predict(xz) for s in self.surrogates]
            mu = np.stack([-m for m, _ in pred], axis=1)  # g = -F, (n, K)
            sigma = np.stack([_info_gain.floored_sigma(m, sd) for m, sd in pred], axis=1)
            bound = self.gain_bound(sigma) if self.gain_cap else None  # (n, K)
        if self.correlated:  # truncate f(x, 1); the observation at z carries rho of it
            mu, sigma, rho = self.target_moments(x, z)

            def term(gamma, j):
                return _info_gain.correlated_term(gamma, rho[:, j], log=log)
        else:
            def term(gamma, j):
                return _info_gain.log_mes_term(gamma) if log else _info_gain.mes_term(gamma)
        if self.truncation == "per_objective":
            parts = [[term((fstar[j] - mu[:, j]) / sigma[:, j], j) for fstar in self._fstar]
                     for j in range(mu.shape[1])]
            caps = None if bound is None else list(bound.T)
        else:
            terms = []
            cheap_x = _exact(self.exact_fn, x)
            k = mu.shape[1]
            box = None if self.reference is None else -self.reference[:k]
            if self.pinned:
                pin = self.pinned_gain(x, z)
                pin = np.log(np.maximum(pin, 1e-300)) if log else pin
            for front in self.fronts:
                own = front.values(x) if k == 1 and front.values is not None else None
                points, applies = bounding_points(front, self.observed, cheap_x, box, self.observed_cheap, own)
                if self.correlated:  # k == 1: the bound is the largest applicable point
                    top = points[:, 0].max() if applies is None else np.where(applies, points[None, :, 0],
                                                                              -np.inf).max(axis=1)
                    term_s = term((top - mu[:, 0]) / sigma[:, 0], 0)
                else:
                    term_s = _info_gain.pareto_gain(mu, sigma, points, applies, log=log)
                if self.pinned:  # in the sample's Pareto set: own value >= every as-cheap front/observed one
                    known = len(front.g) + (0 if self.observed is None else len(self.observed))  # points' head
                    cheaper = True if applies is None else applies[:, :known]
                    on = own[:, 0] >= np.max(np.where(cheaper, points[None, :known, 0], -np.inf), axis=1,
                                             initial=-np.inf)
                    if box is not None:
                        on &= own[:, 0] > box[0]
                    term_s = np.where(on, pin, term_s)
                terms.append(term_s)
            if self.reference is not None:
                outside = np.any(cheap_x >= self.reference[None, k:], axis=1)
                terms = [np.where(outside, -np.inf if log else 0.0, t) for t in terms]
            parts, caps = [terms], None if bound is None else [bound.sum(axis=1)]
        if bound is None:  # the mean over the samples of the sum over the parts, as one sum
            terms = [t for part in parts for t in part]
            if log:
                return _info_gain.logsumexp(np.stack(terms, axis=1)) - np.log(len(self.fronts))
            return sum(terms) / len(self.fronts)
        means = []  # per part: the mean over the samples, capped
        for part, cap in zip(parts, caps, strict=True):
            if log:
                with np.errstate(divide="ignore"):
                    means.append(np.minimum(_info_gain.logsumexp(np.stack(part, axis=1)) - np.log(len(part)),
                                            np.log(cap)))
            else:
                means.append(np.minimum(sum(part) / len(part), cap))
        if log:
            return _info_gain.logsumexp(np.stack(means, axis=1))
        return sum(means)

    def gain_bound(self, sigma: np.ndarray) -> np.ndarray:
        """``1/2 ln(1 + v_j / n_j)`` per candidate and expensive objective, ``(n, K)``: the information
        a noisy observation carries about its own latent values (``v_j = sigma[:, j]**2``, the
        posterior variances at the candidates; ``n_j`` each GP's fitted noise variance, floored at
        ``1e-300``), the cap of ``gain_cap``."""
        noise = np.array([max(s.noise_variance, 1e-300) for s in self.surrogates])
        return 0.5 * np.log1p(sigma**2 / noise[None, :])

    def target_moments(self, x: np.ndarray, z: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``g = -F`` at the target fidelity: posterior means and (floored) standard deviations at
        ``(x, 1)``, and each objective's posterior correlation between ``(x, z)`` and ``(x, 1)``
        (exactly 1 where ``z = 1``); each ``(n, K)``."""
        x1 = np.hstack([x, np.ones((len(x), 1))])
        xz = np.hstack([x, np.asarray(z, dtype=np.float64).reshape(-1, 1)])
        at_target = np.asarray(z, dtype=np.float64).reshape(-1) == 1.0
        mus, sds, rhos = [], [], []
        for sur in self.surrogates:
            m, sd = sur.predict(x1)
            mus.append(-m)
            sds.append(_info_gain.floored_sigma(m, sd))
            rhos.append(np.ones(len(x)) if at_target.all() else np.where(at_target, 1.0, sur.pair_moments(xz, x1)[2]))
        return np.stack(mus, axis=1), np.stack(sds, axis=1), np.stack(rhos, axis=1)

    def pinned_gain(self, x: np.ndarray, z: np.ndarray) -> np.ndarray:
        """Entropy reduction of an observation at ``(x, z)`` once ``f(x, 1)`` is known (``pinned``):
        ``1/2 ln((v + n) / (v (1 - rho^2) + n))``, ``v`` the posterior variance at ``(x, z)``,
        ``rho`` its posterior correlation with ``(x, 1)``, ``n`` the fitted noise variance; at
        ``z = 1``, ``1/2 ln(1 + v / n)``."""
        sur = self.surrogates[0]
        xz = np.hstack([x, np.asarray(z, dtype=np.float64).reshape(-1, 1)])
        var, _, rho = sur.pair_moments(xz, np.hstack([x, np.ones((len(x), 1))]))
        noise = max(sur.noise_variance, 1e-300)
        return 0.5 * (np.log(var + noise) - np.log(var * (1.0 - rho**2) + noise))

    def __call__(self, x: np.ndarray, z: np.ndarray) -> np.ndarray:
        """Information gain per unit cost; ``-inf`` where a lower fidelity is pruned."""
        x = np.atleast_2d(np.asarray(x, dtype=np.float64))
        z = np.broadcast_to(np.asarray(z, dtype=np.float64), (x.shape[0],)).copy()
        gain = self.information_gain(x, z, log=self.log_gain)
        if self.cost_fn is None:
            return gain
        cost = np.asarray(self.cost_fn(x, z), dtype=np.float64)
        if self.log_gain:
            value = gain - np.log(np.maximum(cost, 1e-300))
        else:
            value = gain / np.maximum(cost, 1e-300)
        if self.prune and np.any(z < 1.0):
            full = np.asarray(self.cost_fn(x, np.ones_like(z)), dtype=np.float64)
            xz = np.hstack([x, z[:, None]])
            # standardized posterior std (iMOCA's thresholds assume standardized outputs)
            sigma = np.max([s.predict(xz)[1] / s.output_scale for s in self.surrogates], axis=0)
            ls = self.surrogates[0].lengthscales
            pruned = _info_gain.fidelity_pruned(sigma, z, cost / full, n_var=x.shape[1], ell_z=float(ls[-1]),
                                                ell_x=float(np.mean(ls[:-1])), t=self.iteration)
            value = np.where(pruned, -np.inf, value)
        return value


def propose(acq_factory: Callable[[list[GPSurrogate]], CFMESMO], surrogates: list[GPSurrogate], *,
            n_var: int, fidelities: np.ndarray, q: int = 1, pending: np.ndarray | None = None,
            rng: np.random.Generator, n_candidates: int = 1000, seeds: np.ndarray | None = None,
            refine: bool = True, trace: list[dict] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Maximize the acquisition for a batch of ``q`` points.

    A design's score is its best acquisition value over the fidelity levels in ``fidelities``.
    It is maximized over ``n_candidates`` random designs plus ``seeds`` (ties go to the cheapest
    fidelity, then to the first candidate), then refined by a local search from the best of them
    (:func:`search._optimize.local_search`; ``refine=False``: candidates only). The best (design,
    fidelity) is taken, the GPs are conditioned on
    a hallucinated observation there (and at the ``pending`` inputs ``(n_pending, d + 1)``
    first), and the next point is chosen the same way.

    Args:
        acq_factory: Builds the acquisition from (conditioned) surrogates.
        surrogates: Fitted GPs.
        n_var: Design dimensions.
        fidelities: Fidelity levels to consider, e.g. ``[0.1, ..., 1.0]``.
        q: Batch size (>= 1).
        pending: Inputs of evaluations in flight, ``(n, d + 1)``, or None.
        rng: Source of the random candidates.
        n_candidates: Random candidate designs per batch point.
        seeds: Extra candidate designs ``(k, d)``, e.g. the sampled Pareto sets' designs.
        refine: Run the local search after the candidates.
        trace: A list to append, per batch point, where it came from and what it scored:
            ``{"origin": "random" | "front" | "refined", "acquisition": its value, "gain": the
            information gain (nats)}`` (``"front"``: one of ``seeds``, ``"refined"``: the local
            search's; under the pending and earlier batch points' hallucinated observations), and
            with a ``correlated`` acquisition ``"rho"``, the posterior correlation of each expensive
            objective at ``(x, z)`` with ``(x, 1)``.

    Returns:
        ``(x (q, d), z (q,))``.
    """
    if isinstance(q, bool) or not isinstance(q, int) or q < 1:
        raise ConfigError(f"propose: q must be an integer >= 1; got {q!r}.")
    levels = np.asarray(fidelities, dtype=np.float64).reshape(-1)
    if levels.size == 0 or levels.min() <= 0 or levels.max() > 1:
        raise ConfigError(f"propose: fidelities must be in (0, 1]; got {levels!r}.")
    sur = list(surrogates)
    if pending is not None and len(pending):
        sur = [s.condition(pending) for s in sur]
    xs, zs = [], []
    for _ in range(q):
        acq = acq_factory(sur)

        def per_level(x: np.ndarray, acq=acq) -> np.ndarray:
            return np.stack([acq(x, np.full(x.shape[0], z)) for z in levels], axis=1)  # (n, levels)

        pool = candidate_pool(n_var, rng, n_random=n_candidates, seeds=seeds)
        values = per_level(pool)
        # ties (e.g. an information gain that is 0 everywhere) go to the cheapest fidelity, then the first candidate
        level, i = divmod(int(np.argmax(values.T)), len(pool))
        x_best, z_best, v_best = pool[i], float(levels[level]), float(values[i, level])
        origin = "random" if i < n_candidates else "front"
        if refine:
            x_ref, v_ref = local_search(lambda x: per_level(x).max(axis=1), pool, values.max(axis=1), rng)
            if v_ref > v_best:
                x_best, z_best, v_best = x_ref, float(levels[int(np.argmax(per_level(x_ref[None, :])[0]))]), v_ref
                origin = "refined"
        if trace is not None:
            gain = float(acq.information_gain(x_best[None, :], np.array([z_best]))[0])
            note = {"origin": origin, "acquisition": v_best, "gain": gain}
            if acq.correlated:  # what the gain credited: the correlation with f(x, 1), per objective
                note["rho"] = acq.target_moments(x_best[None, :], np.array([z_best]))[2][0].tolist()
            trace.append(note)
        xs.append(x_best)
        zs.append(z_best)
        chosen = np.hstack([x_best, [z_best]])[None, :]
        sur = [s.condition(chosen) for s in sur]
    return np.array(xs), np.array(zs)

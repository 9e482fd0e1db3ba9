"""Gradient-free maximization of an acquisition function over the unit cube (private).

The acquisitions of :mod:`search.algorithms` are not smooth in ``x``: the exact objectives of a design
space are piecewise constant (designs decode to a grid), and fidelity pruning sets values to
``-inf``. So, like BoTorch's ``optimize_acqf`` (raw samples, then local refinement from the best
ones, ``sample_around_best``), but without gradients:

1. score ``n_random`` uniform points plus the given ``seeds`` (for example the designs of the
   sampled Pareto sets, or of the observed front);
2. from the ``n_starts`` best of them, a (1 + lambda) local search: each of ``rounds`` rounds draws
   ``n_perturb`` Gaussian perturbations (clipped to the cube) around every start and moves the
   start to the best perturbation if that scores higher. Each start's step std begins at
   ``sigma`` and halves after a round without improvement.

In the reference MESMO/iMOCA code the second step is L-BFGS-B from random restarts; random
candidates alone (what the search did before) rarely land where several variables are near their
optimum at once (with ``d`` variables each needing to be within ``+-0.1`` of it, a fraction
``0.2^d`` of uniform points does).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def maximize_on_cube(score: Callable[[np.ndarray], np.ndarray], n_var: int, rng: np.random.Generator, *,
                     n_random: int, seeds: np.ndarray | None = None, n_starts: int = 4, n_perturb: int = 8,
                     rounds: int = 16, sigma: float = 0.1) -> tuple[np.ndarray, float]:
    """Best point found and its score.

    Args:
        score: Vectorized objective, ``(n, n_var) -> (n,)`` (``-inf`` allowed).
        n_var: Dimensions. rng: Source of the random points and perturbations.
        n_random: Uniform random points of step 1. seeds: Extra step-1 points ``(k, n_var)``.
        n_starts, n_perturb, rounds, sigma: The local search (:func:`local_search`).

    Returns:
        ``(x (n_var,), value)``; the value is never below the best score of step 1.
    """
    pool = candidate_pool(n_var, rng, n_random=n_random, seeds=seeds)
    vals = np.asarray(score(pool), dtype=np.float64)
    return local_search(score, pool, vals, rng, n_starts=n_starts, n_perturb=n_perturb, rounds=rounds, sigma=sigma)


def candidate_pool(n_var: int, rng: np.random.Generator, *, n_random: int, seeds: np.ndarray | None = None
                   ) -> np.ndarray:
    """``n_random`` uniform points, then the ``seeds`` clipped to the cube: ``(n_random + k, n_var)``."""
    pool = rng.random((n_random, n_var))
    if seeds is not None and len(seeds):
        pool = np.vstack([pool, np.clip(np.asarray(seeds, dtype=np.float64).reshape(-1, n_var), 0.0, 1.0)])
    return pool


def local_search(score: Callable[[np.ndarray], np.ndarray], pool: np.ndarray, values: np.ndarray,
                 rng: np.random.Generator, *, n_starts: int = 4, n_perturb: int = 8, rounds: int = 16,
                 sigma: float = 0.1) -> tuple[np.ndarray, float]:
    """Step 2 from the ``n_starts`` best points of ``pool`` (scored ``values``); ties keep pool order.

    Returns:
        ``(x, value)``: the best start after ``rounds`` rounds (the best pool point if none improved).
    """
    n_var = pool.shape[1]
    order = np.argsort(-values, kind="stable")[:n_starts]
    starts, best = pool[order].copy(), np.asarray(values, dtype=np.float64)[order].copy()
    rows = np.arange(len(starts))
    std = np.full(len(starts), float(sigma))
    for _ in range(rounds):
        step = std[:, None, None] * rng.standard_normal((len(starts), n_perturb, n_var))
        cand = np.clip(starts[:, None, :] + step, 0.0, 1.0)
        v = np.asarray(score(cand.reshape(-1, n_var)), dtype=np.float64).reshape(len(starts), n_perturb)
        j = np.argmax(v, axis=1)
        better = v[rows, j] > best
        starts[better] = cand[rows[better], j[better]]
        best[better] = v[rows[better], j[better]]
        std = np.where(better, std, 0.5 * std)
    i = int(np.argmax(best))
    return starts[i], float(best[i])

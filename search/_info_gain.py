"""Private maths of the max-value entropy acquisitions (MESMO, CF-MESMO/iMOCA-T, trade-off).

Symbols (paper notation, allowed here only): ``g`` the modelled objective at fidelity ``z``
(maximization convention), ``f*`` a sampled maximum at the target fidelity ``z* = 1``,
``gamma = (f* - mu) / sigma``, ``phi``/``Phi`` the standard normal pdf/cdf, ``C(x, z)`` the
normalized evaluation cost, ``S`` the number of posterior samples.

Entropy reduction of a Gaussian truncated above at ``f*`` (Wang & Jegelka 2017; MESMO,
Belakaria et al. 2019; iMOCA-T, Belakaria et al. 2020)::

    h(gamma) = gamma phi(gamma) / (2 Phi(gamma)) - ln Phi(gamma)     (>= 0)

computed stably through ``log Phi`` (``scipy.special.log_ndtr``) and the inverse Mills ratio.
"""

from __future__ import annotations

import numpy as np
from scipy.special import erfcx, log_ndtr

_LOG_SQRT_2PI = 0.5 * np.log(2.0 * np.pi)


def mes_term(gamma: np.ndarray) -> np.ndarray:
    """``h(gamma) = gamma phi / (2 Phi) - ln Phi``, finite and ``>= 0`` for every real ``gamma``.

    For ``gamma -> +inf`` it tends to 0 (the truncation removes nothing); for
    ``gamma -> -inf`` it grows like ``ln(-gamma)`` (the truncation pins the value). For
    ``gamma < 0`` the scaled complementary error function gives ``Phi = erfcx(t) exp(-gamma**2/2) / 2``
    with ``t = -gamma / sqrt(2)``, so the inverse Mills ratio ``R = phi / Phi = sqrt(2/pi) / erfcx(t)``
    is exact and ``h = gamma (R + gamma) / 2 - ln(erfcx(t) / 2)`` has no large cancelling terms.
    Rounding can leave a tiny negative value: the result is clamped at 0.
    """
    g = np.asarray(gamma, dtype=np.float64)
    out = np.empty_like(g)
    neg = g < 0
    gn = g[neg]
    ex = erfcx(-gn / np.sqrt(2.0))
    ratio = np.sqrt(2.0 / np.pi) / ex
    out[neg] = 0.5 * gn * (ratio + gn) - np.log(0.5 * ex)
    gp = g[~neg]
    log_cdf = log_ndtr(gp)
    ratio_p = np.exp(-0.5 * gp * gp - _LOG_SQRT_2PI - log_cdf)
    out[~neg] = 0.5 * gp * ratio_p - log_cdf
    return np.maximum(out, 0.0)


def gamma_of(f_star: np.ndarray, mu: np.ndarray, sigma: np.ndarray) -> np.ndarray:
    """``(f* - mu) / sigma`` with ``sigma`` floored at ``1e-12`` times the scale (no division by 0)."""
    scale = np.maximum(np.abs(mu), 1.0)
    return (f_star - mu) / np.maximum(sigma, 1e-12 * scale)


def tradeoff_bound(cheap_x: np.ndarray, cheap_front: np.ndarray, g_front: np.ndarray) -> np.ndarray:
    """The trade-off-aware truncation level (reference §8) of one posterior sample.

    ``a*(x) = max { g(x') : x' in front, c(x') <= c(x) componentwise }``, falling back to
    ``max g(front)`` where no front point is at least as cheap as ``x``.

    Args:
        cheap_x: Exact (minimized) objectives of the candidates, ``(n, m)``.
        cheap_front: Exact objectives of the sampled Pareto set, ``(p, m)``.
        g_front: Sampled (maximized) objective of the Pareto set, ``(p,)``.

    Returns:
        ``(n,)`` truncation levels.
    """
    fallback = g_front.max()
    if cheap_x.shape[1] == 0:
        return np.full(cheap_x.shape[0], fallback)
    cheaper = np.all(cheap_front[None, :, :] <= cheap_x[:, None, :], axis=2)  # (n, p)
    bound = np.where(cheaper, g_front[None, :], -np.inf).max(axis=1)
    return np.where(np.isfinite(bound), bound, fallback)


def fidelity_pruned(sigma: np.ndarray, z: np.ndarray, cost_ratio: np.ndarray, *, n_var: int,
                    ell_z: float, ell_x: float, t: int) -> np.ndarray:
    """BOCA-style exclusion of lower fidelities (iMOCA ``main.py``), ``True`` = excluded.

    For ``z < 1`` a candidate is excluded when ``sigma < xi(z) (C(z)/C(1))**q`` with
    ``q = 1/(d+3)``, ``xi(z) = |1 - z| / ell_z`` (the GP is already confident there), or when
    ``xi(z) < beta_t / ell_z`` with ``beta_t = 0.125 d ln(2 ell_x t + 1)`` (the fidelity is too
    close to the target to be informative for its lower cost).
    """
    xi = np.abs(1.0 - z) / max(ell_z, 1e-12)
    q = 1.0 / (n_var + 3)
    confident = sigma < xi * np.power(np.maximum(cost_ratio, 0.0), q)
    beta_t = 0.125 * n_var * np.log(2.0 * ell_x * max(t, 1) + 1.0)
    too_close = xi < beta_t / max(ell_z, 1e-12)
    return (z < 1.0) & (confident | too_close)

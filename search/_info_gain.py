"""Private maths of the max-value entropy acquisitions (MESMO, CF-MESMO/iMOCA-T, trade-off).

Symbols (paper notation, allowed here only): ``g`` the modelled objective at fidelity ``z``
(maximization convention), ``f*`` a sampled maximum at the target fidelity ``z* = 1``,
``gamma = (f* - mu) / sigma``, ``phi``/``Phi`` the standard normal pdf/cdf, ``C(x, z)`` the
normalized evaluation cost, ``S`` the number of posterior samples.

Entropy reduction of a Gaussian truncated above at ``f*`` (Wang & Jegelka 2017; MESMO,
Belakaria et al. 2019; iMOCA-T, Belakaria et al. 2020)::

    h(gamma) = gamma phi(gamma) / (2 Phi(gamma)) - ln Phi(gamma)     (>= 0)

computed stably through ``log Phi`` (``scipy.special.log_ndtr``) and the inverse Mills ratio;
its logarithm (:func:`log_mes_term`) stays finite where ``h`` underflows. The trade-off
truncation's multi-objective form (:func:`pareto_gain`) truncates the ``K`` expensive objectives
jointly to the region a sampled Pareto front dominates.
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


def log_mes_term(gamma: np.ndarray) -> np.ndarray:
    """``ln h(gamma)``, finite far beyond where ``h`` underflows to 0 (``gamma > ~38``).

    ``h = A + B`` with ``A = -ln Phi(gamma) = -ln(1 - Q)``, ``Q = Phi(-gamma)``, and
    ``B = gamma phi(gamma) / (2 Phi(gamma))``; for ``gamma >= 5`` both are positive and are added in
    log space (``ln A = ln Q`` once ``Q`` underflows); below, ``ln h`` of :func:`mes_term`.
    Ranking candidates by it keeps an order where ``h`` is 0 for all of them (LogEI's remedy,
    Ament et al. 2023, applied to the max-value entropy term).
    """
    g = np.asarray(gamma, dtype=np.float64)
    out = np.full_like(g, -np.inf)
    small = g < 5.0
    with np.errstate(divide="ignore"):
        out[small] = np.log(mes_term(g[small]))
    big = ~small & np.isfinite(g)
    gb = g[big]
    log_q = log_ndtr(-gb)
    q = np.exp(log_q)
    with np.errstate(divide="ignore"):
        log_a = np.where(q > 1e-300, np.log(-np.log1p(-q)), log_q)
    log_b = np.log(gb) - 0.5 * gb * gb - _LOG_SQRT_2PI - np.log(2.0) - log_ndtr(gb)
    out[big] = np.logaddexp(log_a, log_b)
    return out


def floored_sigma(mu: np.ndarray, sigma: np.ndarray) -> np.ndarray:
    """``sigma`` floored at ``1e-12`` times the scale ``max(|mu|, 1)`` (no division by 0)."""
    return np.maximum(sigma, 1e-12 * np.maximum(np.abs(mu), 1.0))


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


def _log_interval_mass(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``ln(Phi(b) - Phi(a))`` for ``a <= b`` (infinite ends allowed), stable in both tails: an
    interval right of 0 is mirrored so both ends use the lower tail of ``log_ndtr``."""
    flip = a > 0
    lo, hi = np.where(flip, -b, a), np.where(flip, -a, b)
    l_hi = log_ndtr(hi)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = l_hi + np.log1p(-np.exp(log_ndtr(lo) - l_hi))
    return np.where(np.isnan(out), -np.inf, out)


def _t_phi_over_mass(t: np.ndarray, log_mass: np.ndarray) -> np.ndarray:
    """``t phi(t) / mass`` with ``t = +-inf`` giving 0 and an empty interval (``mass = 0``) giving 0
    (its weight in every sum is 0)."""
    ok = np.isfinite(t) & np.isfinite(log_mass)
    tt = np.where(ok, t, 0.0)
    lm = np.where(ok, log_mass, 0.0)
    with np.errstate(over="ignore"):
        return np.where(ok, tt * np.exp(-0.5 * tt * tt - _LOG_SQRT_2PI - lm), 0.0)


def interval_term(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Entropy reduction of a standard normal truncated to ``(a, b]``, ``a < b``:
    ``-ln(Phi(b) - Phi(a)) + (b phi(b) - a phi(a)) / (2 (Phi(b) - Phi(a)))``; ``a = -inf`` gives
    :func:`mes_term` ``(b)``.

    An interval in a tail is mirrored into the lower tail (the term is symmetric under
    ``u -> -u``); there, with ``r = Phi(a) / Phi(b)`` and the inverse Mills ratio ``R = phi / Phi``,
    it is ``mes_term(b) - ln(1 - r) + r (b R(b) - a R(a)) / (2 (1 - r))``, free of the large
    cancelling terms of the direct form.
    """
    flip = a >= 0
    lo, hi = np.where(flip, -b, a), np.where(flip, -a, b)
    direct = (lo < 0) & (hi > 0)
    hi_t = np.where(direct, 0.0, hi)
    lo_t = np.where(direct, -1.0, lo)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        l_hi, l_lo = log_ndtr(hi_t), log_ndtr(lo_t)
        r = np.exp(l_lo - l_hi)
        fin = np.isfinite(lo_t)
        lo_f = np.where(fin, lo_t, 0.0)
        term_lo = np.where(fin & (r > 0), lo_f * np.exp(-0.5 * lo_f**2 - _LOG_SQRT_2PI - l_lo), 0.0)
        term_hi = hi_t * np.exp(-0.5 * hi_t**2 - _LOG_SQRT_2PI - l_hi)
        tail = mes_term(hi_t) - np.log1p(-r) + np.where(r > 0, r * (term_hi - term_lo) / (2.0 * (1.0 - r)), 0.0)
        lm = _log_interval_mass(lo, hi)
        direct_v = -lm + 0.5 * (_t_phi_over_mass(hi, lm) - _t_phi_over_mass(lo, lm))
    return np.where(direct, direct_v, tail)


def logsumexp(a: np.ndarray) -> np.ndarray:
    """``ln sum exp`` along axis 1; all ``-inf`` gives ``-inf``."""
    top = a.max(axis=1, keepdims=True)
    top = np.where(np.isfinite(top), top, 0.0)
    with np.errstate(divide="ignore"):
        return np.log(np.exp(a - top).sum(axis=1)) + top[:, 0]


def pareto_gain(mu: np.ndarray, sigma: np.ndarray, points: np.ndarray,
                applies: np.ndarray | None = None, *, log: bool = False) -> np.ndarray:
    """Entropy reduction of independent Gaussians truncated to the region a Pareto front dominates.

    ``y ~ N(mu, diag(sigma^2))`` in ``R^K`` (maximized objectives) is conditioned on
    ``y in A = U_p {y <= points[p]}`` (componentwise; the union of the points' lower orthants: the
    sample's front dominates ``y``). This is PFES's truncation (Suzuki et al., ICML 2020) and, for
    ``K = 1``, :func:`mes_term` at ``gamma = (max points - mu) / sigma``. With ``Z = P(A)`` and
    standardized ``u = (y - mu) / sigma``,

        gain = H[y] - H[y | A] = K/2 - ln Z - E[|u|^2 | A] / 2.

    ``A`` is cut into disjoint cells: a grid over the first ``K - 1`` axes (the points'
    coordinates) times ``(-inf, u_c]`` on the last axis, ``u_c`` the largest last coordinate of the
    points that dominate the cell's upper corner (``-inf``: none). Per cell the Gaussian moments are
    closed-form: an interval ``(a, b]`` has mass ``Phi(b) - Phi(a)`` and
    ``E[u^2; (a, b]] = mass - (b phi(b) - a phi(a))``, so

        gain = -ln Z + 1/(2 Z) sum_cells mass_c sum_i kappa_ci,  kappa = (b phi(b) - a phi(a)) / mass.

    When ``Z`` is near 1 the complement (the same grid, last axis ``(u_c, inf)``, mass ``Q = 1 - Z``)
    is used instead, ``gain = -ln(1 - Q) - 1/(2 (1 - Q)) sum_cells mass'_c sum_i kappa'_ci`` (the two
    cell sums add to 0), so small gains keep their relative precision until ``Q`` underflows.
    All masses are carried as logarithms.

    Args:
        mu, sigma: Posterior means and standard deviations (``sigma > 0``), ``(n, K)``.
        points: The front, ``(p, K)``, ``p >= 1``; dominated points are allowed (they change nothing).
            Coordinates may be ``+inf``: ``(r_1, +inf, ...)`` bounds only the first objective, so
            such points put the region outside a reference box into ``A``.
        applies: ``(n, p)`` booleans, which points bound each candidate (e.g. those at least as
            cheap as it in the exact objectives), or None for all; a row must have a True.
        log: Return ``ln gain`` instead, finite where the gain underflows (the complement form is
            ``Q (r - S / (2 (1 - Q)))`` with ``r = -ln(1 - Q) / Q``, kept as ``ln Q + ln(...)``).

    Returns:
        ``(n,)`` gains in nats, ``>= 0`` (or their logarithms, ``-inf`` for 0).
    """
    n, k = mu.shape
    lead = points[:, :k - 1]
    grid = [np.unique(c[c < np.inf]) for c in lead.T]  # a +inf coordinate (a box face) adds no cell
    lows = [np.concatenate([[-np.inf], g]) for g in grid]
    highs = [np.concatenate([g, [np.inf]]) for g in grid]
    if k == 1:
        idx = np.zeros((1, 0), dtype=np.int64)
    else:
        idx = np.indices([len(lo) for lo in lows]).reshape(k - 1, -1).T  # (C, K-1)
    corner = np.stack([highs[j][idx[:, j]] for j in range(k - 1)], axis=1) if k > 1 else np.zeros((1, 0))
    dominates = np.all(lead[None, :, :] >= corner[:, None, :], axis=2)  # (C, p)
    last = points[:, -1]
    if applies is None:
        top = np.where(dominates, last[None, :], -np.inf).max(axis=1)[None, :]  # (1, C)
    else:
        top = np.where(dominates[None] & applies[:, None, :], last[None, None, :], -np.inf).max(axis=2)

    log_mass = np.zeros((n, len(idx)))
    kappa = np.zeros((n, len(idx)))
    h_cell = np.zeros((n, len(idx)))
    for j in range(k - 1):
        a = (lows[j][None, :] - mu[:, j:j + 1]) / sigma[:, j:j + 1]
        b = (highs[j][None, :] - mu[:, j:j + 1]) / sigma[:, j:j + 1]
        lm = _log_interval_mass(a, b)
        kap = _t_phi_over_mass(b, lm) - _t_phi_over_mass(a, lm)
        log_mass += lm[:, idx[:, j]]
        kappa += kap[:, idx[:, j]]
        h_cell += interval_term(a, b)[:, idx[:, j]]
    with np.errstate(invalid="ignore"):
        gam = (top - mu[:, -1:]) / sigma[:, -1:]  # (n, C); -inf where no point dominates the cell
    gam = np.where(np.isnan(gam), -np.inf, gam)
    if k == 1:  # one cell, (-inf, max]: exactly the MES term
        return log_mes_term(gam[:, 0]) if log else mes_term(gam[:, 0])
    l_in, l_out = log_ndtr(gam), log_ndtr(-gam)
    log_in, log_out = log_mass + l_in, log_mass + l_out
    log_z, log_q = logsumexp(log_in), logsumexp(log_out)

    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        # chain rule over the disjoint cells: H[y | A] = H(w) + sum_c w_c H[y | cell c]
        w_in = np.exp(log_in - log_z[:, None])
        h_cell += np.where(gam == np.inf, 0.0, mes_term(np.where(np.isfinite(gam), gam, 0.0)))
        gain_in = np.where(w_in > 0, w_in * (h_cell + np.log(w_in)), 0.0).sum(axis=1)
        w_out = np.exp(log_out - log_q[:, None])
        s_out = np.where(w_out > 0, w_out * (kappa - _t_phi_over_mass(gam, l_out)), 0.0).sum(axis=1)
    q = np.exp(log_q)
    qc = np.minimum(q, 0.5)
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.where(q > 0, -np.log1p(-qc) / np.where(q > 0, qc, 1.0), 1.0)
        bracket = r - s_out / (2.0 * (1.0 - qc))  # gain_out = Q * bracket
        if log:
            return np.where(q < 0.5, log_q + np.log(np.maximum(bracket, 0.0)), np.log(np.maximum(gain_in, 0.0)))
    gain_out = q * bracket
    return np.maximum(np.where(q < 0.5, gain_out, gain_in), 0.0)

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


_GL_X, _GL_W = np.polynomial.legendre.leggauss(64)


def _gl_nodes(lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Gauss-Legendre nodes ``(m, 64)`` on ``[lo, hi]`` per row, and the half-widths ``(m,)`` that
    scale the weights ``_GL_W``."""
    half = 0.5 * (hi - lo)
    return 0.5 * (hi + lo)[:, None] + half[:, None] * _GL_X[None, :], half


def _log_quad(log_f, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """``ln int_lo^hi exp(log_f(u)) du`` per row (Gauss-Legendre, 64 nodes; ``lo``, ``hi`` ``(m,)``)."""
    u, half = _gl_nodes(lo, hi)
    with np.errstate(divide="ignore"):
        return logsumexp(log_f(u) + np.log(_GL_W)[None, :]) + np.log(np.maximum(half, 1e-300))


def correlated_term(gamma: np.ndarray, rho: np.ndarray, *, log: bool = False) -> np.ndarray:
    """Entropy reduction of ``g`` when a correlated ``f`` is truncated above (iMOCA-E, reference §3.3).

    ``(g, f)`` standard bivariate normal with correlation ``rho`` (``g`` the observation at a lower
    fidelity, standardized; ``f`` the target-fidelity value), conditioned on ``f <= gamma``:
    ``u = rho v + s w`` with ``v ~ N(0, 1)`` truncated to ``(-inf, gamma]``, ``w ~ N(0, 1)``,
    ``s = sqrt(1 - rho^2)``, so ``p(u) = phi(u) Phi(a - b u) / Phi(gamma)`` with ``a = gamma / s``,
    ``b = rho / s``. With ``E[u^2 | f <= gamma] = 1 - rho^2 gamma R``, ``R = phi(gamma) / Phi(gamma)``,

        gain = 1/2 ln(2 pi e) - H[p] = rho^2 gamma R / 2 - ln Phi(gamma) + E_p[ln Phi(a - b u)]   (A)

    exactly; only the last expectation is a one-dimensional integral (used for ``-30 <= gamma < 0``
    and ``rho >= 1/2``; otherwise :func:`_correlated_far`'s centred form, where the terms of order
    ``gamma^2`` of (A) would cancel against a small gain). For ``gamma >= 0`` the same
    value is carried as non-negative parts, ``Q = Phi(-gamma)``, ``eps(u) = Phi(b u - a)``,
    ``P = int phi(u) [(1 - eps) ln(1 - eps) + eps] du``:

        gain = (rho^2 gamma phi(gamma) / 2 + P) / (1 - Q) - (Q / (1 - Q) + ln(1 - Q))             (B)

    (the last bracket is ``Q^2 / 2 + O(Q^3)``), so small gains keep their relative precision and
    ``log=True`` stays finite where they underflow. ``P`` is split at ``u = gamma / rho`` and its
    right part written as ``Phi(-gamma / rho) - int phi(u) delta (1 - ln delta)``,
    ``delta = Phi(a - b u)``, so that every integrand decays; each integral runs over the window
    where its log-integrand (about a Gaussian of width ``~s`` centred at a known point, e.g.
    ``gamma rho`` for (A)) is within ~100 of its peak, by 64-point Gauss-Legendre. For
    ``rho < 1e-2`` the term is ``-1/2 ln(1 - rho^2 (gamma R + R^2))`` (:func:`_log_small_rho`),
    exact to a relative ``O(rho^4)``, which the quadrature's cancellations could not reach.

    Limits: ``rho = 1`` is :func:`mes_term` (the MES/iMOCA-T term); ``rho = 0`` gives 0; it is
    ``<= mes_term(gamma)`` and even in ``rho`` (only ``|rho|`` is used). ``gamma -> -inf`` (``f``
    pinned at the bound) gives ``-1/2 ln(1 - rho^2)``, what knowing ``f`` tells about ``g``.

    Args:
        gamma: Standardized bounds ``(f* - mu_f) / sigma_f`` (any real; ``+-inf`` allowed).
        rho: Correlations in ``[-1, 1]``, broadcast against ``gamma``.
        log: Return ``ln gain`` (``-inf`` for 0).

    A NaN in either input gives NaN there.
    """
    shape = np.broadcast_shapes(np.shape(gamma), np.shape(rho))
    g = np.broadcast_to(np.asarray(gamma, dtype=np.float64), shape).ravel()
    r = np.minimum(np.abs(np.broadcast_to(np.asarray(rho, dtype=np.float64), shape).ravel()), 1.0)
    lin = np.zeros(g.shape)  # the gain where it is computed directly (A, and the limits) ...
    logs = np.full(g.shape, -np.inf)  # ... and its logarithm where it is computed as one (B, small rho)
    in_log = np.zeros(g.shape, dtype=bool)
    full, pinned = (r >= 1.0), (g == -np.inf)
    fin = np.isfinite(g)
    lin[full & pinned] = np.inf
    lin[full & fin] = mes_term(g[full & fin])
    lin[~full & pinned] = -0.5 * np.log1p(-r[~full & pinned] ** 2)
    part = ~full & fin & (r > 0)
    for mask, fn in ((part & (r < 1e-2), _log_small_rho), (part & (r >= 1e-2) & (g >= 0), _log_correlated_pos)):
        logs[mask] = fn(g[mask], r[mask])
        in_log |= mask
    mid = part & (r >= 0.5) & (g < 0) & (g >= -30.0)
    for mask, fn in ((mid, _correlated_mid), (part & (r >= 1e-2) & (g < 0) & ~mid, _correlated_far)):
        lin[mask] = fn(g[mask], r[mask])
    nan = np.isnan(g) | np.isnan(r)
    if log:
        with np.errstate(divide="ignore"):
            res = np.where(in_log, logs, np.log(np.maximum(lin, 0.0)))
        res[full & fin] = log_mes_term(g[full & fin])
        return np.where(nan, np.nan, res).reshape(shape)
    return np.where(nan, np.nan, np.maximum(np.where(in_log, np.exp(logs), lin), 0.0)).reshape(shape)


def _truncation_moments(g: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``ln R`` and ``c = gamma + R`` for ``v ~ N(0, 1)`` truncated to ``(-inf, gamma]``,
    ``R = phi(gamma) / Phi(gamma)`` (so ``E[v] = -R``, ``1 - Var[v] = R c``), both without
    cancellation: for ``gamma < -10``, ``c = 1 / (y + 2 / K)``, ``y = -gamma``,
    ``K = y + 3/(y + 4/(y + 5/...))`` (the Mills ratio's continued fraction)."""
    y = np.maximum(-g, 10.0)
    cf = y
    for k in range(80, 2, -1):
        cf = y + k / cf
    with np.errstate(over="ignore"):
        l_r = np.where(g < 0, 0.5 * np.log(2.0 / np.pi) - np.log(erfcx(-np.minimum(g, 0.0) / np.sqrt(2.0))),
                       -0.5 * g * g - _LOG_SQRT_2PI - log_ndtr(g))
        c = np.where(g < -10.0, 1.0 / (y + 2.0 / cf), g + np.exp(l_r))
    return l_r, c


def _correlated_mid(g: np.ndarray, r: np.ndarray) -> np.ndarray:
    """Form (A) of :func:`correlated_term` for ``-30 <= gamma < 0``, ``1/2 <= rho < 1``; the
    expectation's integrand ``p(u) (-ln Phi(a - b u))`` lives within ``~14 s`` of ``u = gamma rho``."""
    s = np.sqrt((1.0 - r) * (1.0 + r))
    l_cdf = log_ndtr(g)

    def log_f(u):
        lt = log_ndtr((g[:, None] - r[:, None] * u) / s[:, None])
        with np.errstate(divide="ignore"):
            return -0.5 * u * u - _LOG_SQRT_2PI + lt - l_cdf[:, None] + np.log(-lt)

    e = -np.exp(_log_quad(log_f, g * r - 14.0 * s, g * r + 14.0 * s))
    ratio = np.exp(-0.5 * g * g - _LOG_SQRT_2PI - l_cdf)
    return 0.5 * r * r * g * ratio - l_cdf + e


def _log_cdf_plus_half_square(t: np.ndarray) -> np.ndarray:
    """``ln Phi(t) + t^2 / 2`` without the large cancelling terms for ``t < 0``."""
    with np.errstate(over="ignore"):
        return np.where(t <= 0, np.log(0.5 * erfcx(-np.minimum(t, 0.0) / np.sqrt(2.0))),
                        log_ndtr(np.maximum(t, 0.0)) + 0.5 * np.maximum(t, 0.0) ** 2)


def _correlated_far(g: np.ndarray, r: np.ndarray) -> np.ndarray:
    """:func:`correlated_term` for ``gamma < 0``, ``0 < rho < 1``, in the centred coordinate
    ``x = (u - gamma rho) / s`` where no ``gamma^2``-sized terms cancel numerically.

    With ``t = gamma s - rho x`` (so ``u^2 + t^2 = gamma^2 + x^2``) and ``L(t) = ln Phi(t) + t^2/2``,
    the density of ``x`` is ``q(x) = s phi(x) exp(L(t) - L(gamma))`` and, using
    ``E[x^2] = (1 + rho^2 (gamma R + gamma^2)) / s^2``,

        gain = -rho^2 D / (2 s^2) + E_q[L(t) - L(gamma)],    D = 1 + gamma R + gamma^2 >= 0,

    ``D = 1 + gamma c`` with ``c = gamma + R`` from :func:`_truncation_moments`. Its own
    cancellation, ``rho^2 D / s^2`` against the expectation, grows as ``rho -> 1`` (relative
    error ~1e-8 at ``rho = 1 - 1e-9``), where form (A) is used instead for ``gamma >= -30``.
    ``q`` is a Gaussian body of width 1 near ``x = 0`` and a tail to the left where ``v``'s
    truncated law (width up to 1, or ``1/|gamma|``) is scaled by ``rho / s``: two Gauss-Legendre
    pieces, ``[-14 - span, -14]`` and ``[-14, 14]``.
    """
    s = np.sqrt((1.0 - r) * (1.0 + r))
    d = 1.0 + g * _truncation_moments(g)[1]
    l_g = _log_cdf_plus_half_square(g)
    span = (r / s) * (np.sqrt(g * g + 80.0) + g)

    def piece(lo, hi):
        x, half = _gl_nodes(lo, hi)
        t = g[:, None] * s[:, None] - r[:, None] * x
        l_t = _log_cdf_plus_half_square(t)
        # -x^2/2 + t^2/2 [+ ln Phi(t)] for t > 0, factored so that nothing large cancels
        pos = (g[:, None] * s[:, None] + (s * s / (1.0 + r))[:, None] * x) * (t - x) / 2.0
        log_q = np.where(t > 0, pos + log_ndtr(np.maximum(t, 0.0)), -0.5 * x * x + l_t)
        q = s[:, None] * np.exp(log_q - _LOG_SQRT_2PI - l_g[:, None])
        return half * ((q * (l_t - l_g[:, None])) @ _GL_W)

    edge = np.full_like(g, 14.0)
    return -0.5 * (r / s) ** 2 * d + piece(-edge - span, -edge) + piece(-edge, edge)


def _log_correlated_pos(g: np.ndarray, r: np.ndarray) -> np.ndarray:
    """``ln`` of form (B) of :func:`correlated_term` for ``gamma >= 0``, ``0 < rho < 1``."""
    s = np.sqrt((1.0 - r) * (1.0 + r))
    edge = g / r
    cl, wl = 2.0 * g * r / (1.0 + r * r), s / np.sqrt(1.0 + r * r)

    def log_left(u):  # ln[phi(u) psi2(eps)], eps = Phi(b u - a) <= 1/2
        le = log_ndtr((r[:, None] * u - g[:, None]) / s[:, None])
        e = np.exp(le)
        with np.errstate(divide="ignore", invalid="ignore"):
            small = 2.0 * le - np.log(2.0) + np.log1p(e / 3.0 + e * e / 6.0)
            big = np.log(np.maximum((1.0 - e) * np.log1p(-e) + e, 1e-300))
        return -0.5 * u * u - _LOG_SQRT_2PI + np.where(e < 1e-3, small, big)

    def log_right(u):  # ln[phi(u) delta (1 - ln delta)], delta = Phi(a - b u) <= 1/2
        ld = log_ndtr((g[:, None] - r[:, None] * u) / s[:, None])
        return -0.5 * u * u - _LOG_SQRT_2PI + ld + np.log1p(-ld)

    p_left = _log_quad(log_left, cl - 14.0 * wl, np.minimum(cl + 14.0 * wl, edge))
    l_tail = log_ndtr(-edge)
    with np.errstate(divide="ignore", invalid="ignore"):
        l_inner = _log_quad(log_right, edge, edge + 28.0 * s)
        p_right = l_tail + np.log1p(-np.minimum(np.exp(l_inner - l_tail), 1.0))
        l_q = log_ndtr(-g)
        l_1mq = log_ndtr(g)
        lead = np.log(0.5 * r * r * g) - 0.5 * g * g - _LOG_SQRT_2PI  # -inf at gamma = 0
        first = np.logaddexp(np.logaddexp(lead, p_left), p_right) - l_1mq
        q = np.exp(l_q)
        # Q / (1 - Q) + ln(1 - Q) = Q^2/2 + 2 Q^3/3 + 3 Q^4/4 + ...
        second = np.where(q < 1e-4, 0.5 * q * q * (1.0 + q * (4.0 / 3.0 + 1.5 * q)), q / (1.0 - q) + np.log1p(-q))
        return first + np.log1p(-np.minimum(np.exp(np.log(second) - first), 1.0))


def _log_small_rho(g: np.ndarray, r: np.ndarray) -> np.ndarray:
    """``ln(-1/2 ln(1 - rho^2 R (gamma + R)))``, ``R = phi(gamma) / Phi(gamma)``: the gain of a
    Gaussian with the truncated law's variance, which :func:`correlated_term` equals up to a
    relative ``O(rho^4)`` (the non-Gaussian part, the negentropy, is ``O(rho^6)``)."""
    l_r, c = _truncation_moments(g)
    with np.errstate(divide="ignore", over="ignore"):
        log_x = 2.0 * np.log(r) + l_r + np.log(np.maximum(c, 0.0))
        x = np.exp(log_x)
        return np.where(x < 1e-8, log_x - np.log(2.0) + np.log1p(x / 2.0), np.log(-0.5 * np.log1p(-x)))


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

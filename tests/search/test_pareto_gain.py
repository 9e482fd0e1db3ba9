"""The Pareto-region entropy reduction (PFES truncation) against exact identities and oracles."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.integrate import quad
from scipy.stats import norm

from search._info_gain import interval_term, log_mes_term, mes_term, pareto_gain


def _gain(mu, sigma, points, applies=None):
    return pareto_gain(np.atleast_2d(mu).astype(float), np.atleast_2d(sigma).astype(float),
                       np.atleast_2d(points).astype(float), applies)


def test_one_objective_is_the_mes_term_down_to_the_far_tails():
    gam = np.concatenate([-np.logspace(-3, 6, 60), [0.0], np.logspace(-3, np.log10(37), 60)])
    got = _gain(np.zeros((gam.size, 1)), np.ones((gam.size, 1)), [[0.0]])  # placeholder shape check
    assert got.shape == (gam.size,)
    got = np.array([_gain([[0.0]], [[1.0]], [[g]])[0] for g in gam])
    np.testing.assert_allclose(got, mes_term(gam), rtol=1e-9)
    # several points on one axis: only the largest matters; mean and scale enter through gamma
    np.testing.assert_allclose(_gain([[1.0]], [[2.0]], [[0.0], [3.0], [-1.0]]), mes_term(np.array([1.0])),
                               rtol=1e-12)


def test_a_single_point_separates_into_a_sum_of_mes_terms():
    r = np.random.default_rng(0)
    for k in (2, 3):
        pts = r.normal(0, 6, (60, k))
        got = np.array([_gain(np.zeros((1, k)), np.ones((1, k)), p[None])[0] for p in pts])
        want = mes_term(pts).sum(axis=1)
        np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-300)


def test_interval_term_matches_quadrature():
    for a, b in [(-1.0, 1.0), (-3.0, -2.0), (-np.inf, 0.5), (0.5, np.inf), (-0.1, 0.0), (-6.0, -5.5), (-1e-3, 1e-3)]:
        mass = norm.cdf(b) - norm.cdf(a)
        second = quad(lambda t: t * t * norm.pdf(t), a, b, epsabs=0, epsrel=1e-12)[0]
        want = 0.5 - np.log(mass) - 0.5 * second / mass
        np.testing.assert_allclose(interval_term(np.array([a]), np.array([b])), [want], rtol=1e-9)
        # symmetric under u -> -u
        np.testing.assert_allclose(interval_term(np.array([-b]), np.array([-a])), [want], rtol=1e-9)
    # far tails: an interval of width 1 at distance t behaves like an exponential of rate t
    t = np.array([40.0, 200.0])
    np.testing.assert_allclose(interval_term(t, t + 1), 0.5 * np.log(2 * np.pi * np.e) - 1 + np.log(t), rtol=2e-3)


def _staircase_oracle(points):
    """K = 2, standard normal: integrate over y1 with the closed form in y2 (no cell decomposition)."""
    v = np.sort(np.unique(points[:, 0]))

    def s(t):
        ok = points[:, 0] >= t
        return points[ok, 1].max()

    z = e2 = 0.0
    for lo, hi in zip(np.concatenate([[-np.inf], v[:-1]]), v, strict=True):
        mid = hi - 0.5 if np.isinf(lo) else 0.5 * (lo + hi)
        c = s(mid)  # constant on the segment
        z += norm.cdf(c) * (norm.cdf(hi) - norm.cdf(lo))
        e2 += quad(lambda t, c=c: norm.pdf(t) * (t * t * norm.cdf(c) + norm.cdf(c) - c * norm.pdf(c)),
                   lo, hi, epsabs=0, epsrel=1e-12)[0]
    return 1.0 - np.log(z) - e2 / (2 * z)


def test_two_objectives_match_an_independent_quadrature(seed):
    r = np.random.default_rng(seed)
    x = np.sort(r.normal(0, 1.5, 6))
    front = np.stack([x, np.sort(r.normal(0, 1.5, 6))[::-1]], axis=1)  # a staircase
    pts = np.vstack([front, front[:2] - 0.3])  # plus dominated points
    mu = r.normal(0, 1, 2)
    sd = r.uniform(0.5, 2, 2)
    got = _gain(mu, sd, pts)[0]
    want = _staircase_oracle((pts - mu) / sd)
    np.testing.assert_allclose(got, want, rtol=1e-7)
    # dominated points change nothing; the order of the objectives does not matter
    np.testing.assert_allclose(_gain(mu, sd, front)[0], got, rtol=1e-12)
    np.testing.assert_allclose(_gain(mu[::-1], sd[::-1], pts[:, ::-1])[0], got, rtol=1e-10)


def test_three_objectives_match_monte_carlo():
    r = np.random.default_rng(7)
    pts = r.normal(0, 1, (8, 3))
    y = r.standard_normal((1_000_000, 3))
    inside = np.any(np.all(y[:, None, :] <= pts[None, :, :], axis=2), axis=1)
    z = inside.mean()
    want = 1.5 - np.log(z) - 0.5 * (y[inside] ** 2).sum(axis=1).mean()
    got = _gain(np.zeros(3), np.ones(3), pts)[0]
    assert abs(got - want) < 0.01 * want
    perm = [2, 0, 1]
    np.testing.assert_allclose(_gain(np.zeros(3), np.ones(3), pts[:, perm])[0], got, rtol=1e-10)


def test_applies_mask_equals_bounding_by_the_subset():
    r = np.random.default_rng(3)
    pts = r.normal(0, 1, (7, 2))
    mu = r.normal(0, 1, (9, 2))
    sd = r.uniform(0.3, 2, (9, 2))
    applies = r.random((9, 7)) < 0.5
    applies[:, 0] = True
    got = pareto_gain(mu, sd, pts, applies)
    want = [pareto_gain(mu[i:i + 1], sd[i:i + 1], pts[applies[i]])[0] for i in range(9)]
    np.testing.assert_allclose(got, want, rtol=1e-12)


def test_small_gains_keep_relative_precision_and_extremes_stay_finite():
    # the front far above the mean on one axis: the gain is the other axis' MES term, however small
    gam = np.array([5.0, 10.0, 20.0, 30.0])
    got = np.array([_gain([[0.0, 0.0]], [[1.0, 1.0]], [[1e3, g]])[0] for g in gam])
    np.testing.assert_allclose(got, mes_term(gam), rtol=1e-8)
    assert got[-1] > 0
    # a staircase with many points, means far on both sides, tiny and huge sigma
    r = np.random.default_rng(5)
    pts = np.cumsum(r.random((40, 2)), axis=0) * [1, -1]
    mu = np.concatenate([r.normal(0, 1e3, (50, 2)), pts[:10] + 1e-9])
    sd = np.concatenate([r.uniform(1e-6, 1e3, (50, 2)), np.full((10, 2), 1e-8)])
    g = pareto_gain(mu, sd, pts)
    assert np.all(np.isfinite(g)) and np.all(g >= 0)
    # more spread makes the truncation matter less: the gain of a design far inside the region falls with sigma
    inside = [[-50.0, -50.0]]
    vals = [_gain(inside, [[s, s]], pts)[0] for s in (1.0, 5.0, 20.0)]
    assert vals[0] < vals[1] < vals[2]


def test_log_mes_term_matches_high_precision_arithmetic():
    mpmath = pytest.importorskip("mpmath")
    mpmath.mp.dps = 50

    def exact(g):
        g = mpmath.mpf(g)
        q, cdf = mpmath.ncdf(-g), mpmath.ncdf(g)  # -ln Phi(g) = -ln(1 - q): a series where q is tiny
        a = -mpmath.log(cdf) if q > mpmath.mpf("1e-20") else q + q**2 / 2 + q**3 / 3
        return float(mpmath.log(g * mpmath.npdf(g) / (2 * cdf) + a))

    gam = [-1e4, -3.0, 0.0, 2.0, 4.99, 5.0, 6.0, 10.0, 37.0, 38.0, 50.0, 100.0, 1000.0]
    got = log_mes_term(np.array(gam))
    np.testing.assert_allclose(got, [exact(g) for g in gam], rtol=1e-8)
    assert np.all(np.diff(got[1:]) < 0)  # strictly decreasing: an order where h itself is 0


def test_log_gain_is_the_log_of_the_gain_and_finite_in_the_far_tail():
    r = np.random.default_rng(0)
    pts = np.cumsum(r.random((10, 2)), axis=0) * [1, -1]
    mu = r.normal(0, 3, (300, 2))
    sd = r.uniform(0.05, 2, (300, 2))
    plain = pareto_gain(mu, sd, pts)
    logged = pareto_gain(mu, sd, pts, log=True)
    ok = plain > 1e-290
    assert ok.sum() > 250 and np.all(np.isfinite(logged))
    np.testing.assert_allclose(logged[ok], np.log(plain[ok]), rtol=1e-10, atol=1e-10)
    # where the gain underflows, the far point on axis 0 leaves axis 1's log MES term
    gam = np.array([5.0, 40.0, 100.0])
    got = [pareto_gain(np.zeros((1, 2)), np.ones((1, 2)), np.array([[1e3, g]]), log=True)[0] for g in gam]
    np.testing.assert_allclose(got, log_mes_term(gam), rtol=1e-9)
    # deeper inside the region means less information, however small
    deep = [pareto_gain(np.array([[-d, -d]]) + pts[3], np.ones((1, 2)), pts, log=True)[0] for d in (30, 40, 60)]
    assert deep[0] > deep[1] > deep[2] > -np.inf


def test_reference_box_faces_match_monte_carlo_and_reduce_to_the_box_free_gain():
    """Points ``(+inf, .., b_j, .., +inf)`` add ``{y_j <= b_j}`` (outside a reference box) to the region."""
    r = np.random.default_rng(11)
    for k in (2, 3):
        pts = r.normal(0, 1, (6, k))
        box = r.normal(-1.0, 0.3, k)
        faces = np.full((k, k), np.inf)
        np.fill_diagonal(faces, box)
        y = r.standard_normal((1_000_000, k))
        inside = np.any(np.all(y[:, None, :] <= pts[None, :, :], axis=2), axis=1) | np.any(y <= box, axis=1)
        z = inside.mean()
        want = k / 2 - np.log(z) - 0.5 * (y[inside] ** 2).sum(axis=1).mean()
        got = _gain(np.zeros(k), np.ones(k), np.vstack([pts, faces]))[0]
        assert abs(got - want) < 0.01 * want
    # faces far below every plausible value change nothing; the log form agrees
    mu = r.normal(0, 1, (20, 2))
    sd = r.uniform(0.3, 2, (20, 2))
    pts = np.cumsum(r.random((5, 2)), axis=0) * [1, -1]
    far = np.array([[-1e6, np.inf], [np.inf, -1e6]])
    np.testing.assert_allclose(pareto_gain(mu, sd, np.vstack([pts, far])), pareto_gain(mu, sd, pts), rtol=1e-12)
    near = np.array([[-0.5, np.inf], [np.inf, -2.0]])
    plain = pareto_gain(mu, sd, np.vstack([pts, near]))
    logged = pareto_gain(mu, sd, np.vstack([pts, near]), log=True)
    assert np.all(np.isfinite(plain)) and np.all(plain >= 0)
    np.testing.assert_allclose(logged, np.log(plain), rtol=1e-10)
    # one objective: the face raises the bound to it, max(front, b)
    np.testing.assert_allclose(_gain([[0.0]], [[1.0]], [[-2.0], [0.5]]), mes_term(np.array([0.5])), rtol=1e-12)

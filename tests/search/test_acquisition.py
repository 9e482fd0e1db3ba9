"""CF-MESMO maths: the entropy term, GP recovery, MESMO reduction, trade-off truncation, seeding."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import norm

from crossbar.errors import ConfigError
from search import _info_gain
from search.acquisition import CFMESMO, ParetoSample, bounding_points, propose, sample_pareto_fronts
from search.surrogate import fit_surrogate


def test_mes_term_finite_nonnegative_and_exact():
    g = np.sort(np.concatenate([-np.logspace(-3, 6, 200), [0.0], np.logspace(-3, 6, 200)]))
    h = _info_gain.mes_term(g)
    assert np.all(np.isfinite(h)) and np.all(h >= 0)
    mid = np.linspace(-6, 6, 101)
    want = mid * norm.pdf(mid) / (2 * norm.cdf(mid)) - norm.logcdf(mid)
    np.testing.assert_allclose(_info_gain.mes_term(mid), want, rtol=1e-10, atol=1e-13)
    # monotone decreasing in gamma, and its numerical derivative is finite everywhere
    assert np.all(np.diff(h) <= 1e-12)
    eps = 1e-6
    dh = (_info_gain.mes_term(g + eps) - _info_gain.mes_term(g - eps)) / (2 * eps)
    assert np.all(np.isfinite(dh))
    # gamma -> -inf: h ~ ln(-gamma) + 0.5 ln(2 pi e) - ln ... grows only logarithmically
    assert _info_gain.mes_term(np.array([-1e6]))[0] < 20


def _toy(x, z):
    return np.sin(3 * x[:, 0]) + x[:, 1] ** 2 - 0.3 * (1 - z)


def test_gp_recovers_a_toy_function(seed):
    r = np.random.default_rng(seed)
    x = r.random((40, 2))
    z = r.choice([0.3, 1.0], 40)
    sur = fit_surrogate(np.hstack([x, z[:, None]]), _toy(x, z))
    xt = r.random((50, 2))
    mean, std = sur.predict(np.hstack([xt, np.ones((50, 1))]))
    np.testing.assert_allclose(mean, _toy(xt, np.ones(50)), atol=0.05)
    _, std_train = sur.predict(np.hstack([x, z[:, None]]))
    assert std_train.max() < 0.05 < std.max() * 20  # confident at data, calibrated scale
    # conditioning on a pending point collapses its variance, keeps its mean
    grid = np.hstack([r.random((200, 2)), np.full((200, 1), 0.65)])  # an unobserved fidelity
    p = grid[[int(np.argmax(sur.predict(grid)[1]))]]
    m0, s0 = sur.predict(p)
    m1, s1 = sur.condition(p).predict(p)
    np.testing.assert_allclose(m1, m0, atol=1e-6)
    assert s1[0] < 0.5 * s0[0]


def test_fit_does_not_depend_on_the_callers_torch_thread_count():
    """Unpinned, these 30 points' fitted length-scales differ by up to 0.5 % between 1 and 2 threads
    (search.surrogate.FIT_THREADS)."""
    import torch

    from search.benchmarks import AccuracyCostDTLZ2

    bench = AccuracyCostDTLZ2(n_obj=4, n_distance=5)
    r = np.random.default_rng(0)
    x = r.random((30, bench.n_var))
    z = r.choice([0.4, 0.7, 1.0], 30)
    y = np.array([bench.evaluate(xi[None], zi)[0, 0] for xi, zi in zip(x, z, strict=True)])
    xz = np.hstack([x, z[:, None]])
    before = torch.get_num_threads()
    fits = []
    try:
        for n in (1, 2, 3):
            torch.set_num_threads(n)
            fits.append(fit_surrogate(xz, y))
            assert torch.get_num_threads() == n  # the caller's setting is restored
    finally:
        torch.set_num_threads(before)
    for other in fits[1:]:
        np.testing.assert_array_equal(other.lengthscales, fits[0].lengthscales)
        np.testing.assert_array_equal(other.predict(xz)[0], fits[0].predict(xz)[0])


def test_fit_surrogate_rejects_bad_input():
    with pytest.raises(ConfigError, match="unit cube"):
        fit_surrogate(np.array([[0.0, 2.0], [0.5, 0.5]]), np.array([0.0, 1.0]))
    with pytest.raises(ConfigError, match="finite"):
        fit_surrogate(np.array([[0.0, 0.2], [0.5, 0.5]]), np.array([np.nan, 1.0]))


@pytest.fixture(scope="module")
def fitted():
    r = np.random.default_rng(0)
    x = r.random((15, 3))
    z = r.choice([0.25, 1.0], 15)
    sur = fit_surrogate(np.hstack([x, z[:, None]]), -_toy(x, z))  # F = -accuracy-like

    def exact(xx):
        return np.stack([xx.sum(1), (1 - xx[:, 0]) ** 2], axis=1)

    fronts = sample_pareto_fronts([sur], exact, n_samples=4, seed=3, pop_size=30, n_gen=15)
    return sur, exact, fronts


def test_cf_mesmo_reduces_to_mesmo_at_full_fidelity(fitted):
    sur, exact, fronts = fitted
    acq = CFMESMO([sur], fronts, exact_fn=exact)
    x = np.random.default_rng(1).random((25, 3))
    got = acq(x, np.ones(25))
    mean, std = sur.predict(np.hstack([x, np.ones((25, 1))]))
    want = np.zeros(25)
    gams = np.array([(f.g.max() - (-mean)) / std for f in fronts])  # MESMO: g = -F, per-objective max
    ok = np.all(np.abs(gams) < 30, axis=0)  # where the textbook formula is numerically safe
    assert ok.sum() >= 10
    for gam in gams:
        want += np.where(ok, gam * norm.pdf(gam) / (2 * norm.cdf(np.where(ok, gam, 0.0)))
                         - norm.logcdf(gam), 0.0)
    np.testing.assert_allclose(got[ok], want[ok] / len(fronts), rtol=1e-9)
    assert np.all(np.isfinite(got))
    assert np.all(got >= 0)


def test_cost_weighting_and_pruning(fitted):
    sur, exact, fronts = fitted
    x = np.random.default_rng(2).random((10, 3))
    base = CFMESMO([sur], fronts, exact_fn=exact)
    costly = CFMESMO([sur], fronts, exact_fn=exact, cost_fn=lambda xx, z: 2.0 + 0 * z, prune=False)
    np.testing.assert_allclose(costly(x, 1.0), base(x, 1.0) / 2.0, rtol=1e-12)
    pruned = CFMESMO([sur], fronts, exact_fn=exact, cost_fn=lambda xx, z: 0.05 + z**2)
    v = pruned(x, np.full(10, 0.99))  # a fidelity this close to the target is never worth it
    assert np.all(v == -np.inf)


def test_tradeoff_truncation_reduces_to_mes_without_tradeoffs(fitted):
    sur, exact, fronts = fitted
    x = np.random.default_rng(3).random((12, 3))
    const = lambda xx: np.zeros((xx.shape[0], 2))  # noqa: E731 - every design equally cheap
    flat = [ParetoSample(x=f.x, g=f.g, cheap=np.zeros_like(f.cheap)) for f in fronts]
    obs = np.array([[-0.5], [0.1]])
    a = CFMESMO([sur], flat, exact_fn=const, truncation="tradeoff", observed=obs,
                observed_cheap=np.zeros((2, 2)))(x, 1.0)
    b = CFMESMO([sur], flat, exact_fn=const, truncation="per_objective", observed=obs)(x, 1.0)
    np.testing.assert_array_equal(a, b)
    # with real trade-offs a design's bound is never above the global maximum, and a lower bound
    # (a smaller gamma) never means less information
    c = CFMESMO([sur], fronts, exact_fn=exact, truncation="tradeoff")(x, 1.0)
    d = CFMESMO([sur], fronts, exact_fn=exact, truncation="per_objective")(x, 1.0)
    assert np.all(c >= d - 1e-12)


def test_tradeoff_with_single_point_fronts_is_mesmo_for_any_number_of_objectives(fitted):
    sur = fitted[0]
    r = np.random.default_rng(4)
    fronts = [ParetoSample(x=r.random((1, 3)), g=r.normal(0, 1, (1, 2)), cheap=np.zeros((1, 0))) for _ in range(3)]
    x = r.random((20, 3))
    a = CFMESMO([sur, sur], fronts, truncation="tradeoff")(x, 1.0)
    b = CFMESMO([sur, sur], fronts, truncation="per_objective")(x, 1.0)
    np.testing.assert_allclose(a, b, rtol=1e-9)
    with pytest.raises(ConfigError, match="observed"):
        CFMESMO([sur, sur], fronts, observed=np.zeros((2, 3)))


def test_bounding_points_by_hand():
    front = ParetoSample(x=np.zeros((3, 1)), g=np.array([[0.2], [0.6], [0.9]]),
                         cheap=np.array([[1.0, 1.0], [2.0, 2.0], [3.0, 0.5]]))
    cand = np.array([[1.5, 1.5], [2.5, 2.5], [0.5, 0.5], [3.0, 3.0]])

    def bounds(points, applies, n=None):
        n = len(cand) if n is None else n
        applies = np.ones((n, len(points)), dtype=bool) if applies is None else applies
        return np.where(applies, points[:, 0][None, :], -np.inf).max(axis=1)

    np.testing.assert_array_equal(bounds(*bounding_points(front, None, cand)), [0.2, 0.6, 0.9, 0.9])
    # an observed design bounds the candidates at least as costly as it, like a front point
    obs, obs_cheap = np.array([[0.7], [0.4]]), np.array([[1.5, 1.2], [0.2, 0.2]])
    np.testing.assert_array_equal(bounds(*bounding_points(front, obs, cand, observed_cheap=obs_cheap)),
                                  [0.7, 0.7, 0.4, 0.9])
    # where neither the front nor an observed design is as cheap, the whole sampled front bounds x (reference §8)
    np.testing.assert_array_equal(bounds(*bounding_points(front, obs[:1], cand, observed_cheap=obs_cheap[:1])),
                                  [0.7, 0.7, 0.9, 0.9])
    assert bounding_points(front, None, np.full((2, 2), 5.0))[1] is None  # every point applies
    with pytest.raises(ConfigError, match="observed_cheap"):
        bounding_points(front, obs, cand)
    no_exact = ParetoSample(x=front.x, g=front.g, cheap=np.zeros((3, 0)))  # no exact objectives: observed bound all
    np.testing.assert_array_equal(bounds(*bounding_points(no_exact, obs, np.zeros((2, 0))), n=2), [0.9, 0.9])
    # a candidate's own sampled value bounds it (and only it), and replaces the whole-front fallback
    own = np.array([[0.1], [0.8], [0.3], [0.5]])
    np.testing.assert_array_equal(bounds(*bounding_points(front, obs[:1], cand, observed_cheap=obs_cheap[:1], own=own)),
                                  [0.7, 0.8, 0.3, 0.9])
    points, applies = bounding_points(front, None, cand, box=np.array([0.05]), own=own)
    np.testing.assert_array_equal(bounds(points, applies), [0.2, 0.8, 0.3, 0.9])  # the box face bounds all
    assert applies.shape == (4, 3 + 4 + 1) and applies[:, -1].all()


def test_sampled_fronts_carry_their_sample_and_the_bound_never_cuts_below_it(fitted):
    sur, exact, fronts = fitted
    x = np.random.default_rng(4).random((40, 3))
    paths = sur.sample_paths(4, seed=int(np.random.SeedSequence(3).generate_state(1)[0]))
    want = -paths(np.hstack([x, np.ones((40, 1))]))  # (S, n): the same draws as sample_pareto_fronts(seed=3)
    for s, front in enumerate(fronts):
        np.testing.assert_allclose(front.values(x)[:, 0], want[s], rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(front.values(front.x), front.g, rtol=1e-9, atol=1e-9)  # the front is that sample's
    # one expensive objective: the gain is MES's term at the bound max(own, cheaper front points)
    mu, sd = sur.predict(np.hstack([x, np.ones((40, 1))]))
    sigma = _info_gain.floored_sigma(mu, sd)
    cheap_x = exact(x)
    want_gain = 0.0
    for front in fronts:
        cheaper = np.all(front.cheap[None, :, :] <= cheap_x[:, None, :], axis=2)
        top = np.where(cheaper, front.g[:, 0][None, :], -np.inf).max(axis=1)
        top = np.maximum(top, front.values(x)[:, 0])
        want_gain = want_gain + _info_gain.mes_term((top + mu) / sigma)  # g = -F: (top - (-mu)) / sigma
    got = CFMESMO([sur], fronts, exact_fn=exact, truncation="tradeoff").information_gain(x, np.ones(40))
    np.testing.assert_allclose(got, want_gain / len(fronts), rtol=1e-9)


def test_same_seed_same_proposals_different_seeds_differ(fitted):
    sur, exact, fronts = fitted

    def run(seed):
        return propose(lambda s: CFMESMO(s, fronts, exact_fn=exact, cost_fn=lambda xx, z: 0.05 + z**2),
                       [sur], n_var=3, fidelities=np.array([0.25, 0.5, 1.0]), q=2,
                       rng=np.random.default_rng(seed), n_candidates=200)

    a, b, c = run(5), run(5), run(6)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    assert not np.array_equal(a[0], c[0])
    assert a[0].shape == (2, 3) and np.all((a[1] > 0) & (a[1] <= 1))
    f1 = sample_pareto_fronts([sur], exact, n_samples=2, seed=9, pop_size=20, n_gen=5)
    f2 = sample_pareto_fronts([sur], exact, n_samples=2, seed=9, pop_size=20, n_gen=5)
    np.testing.assert_array_equal(f1[0].x, f2[0].x)
    with pytest.raises(ConfigError, match="q must be"):
        propose(lambda s: CFMESMO(s, fronts), [sur], n_var=3, fidelities=np.array([1.0]), q=0,
                rng=np.random.default_rng(0))


def test_propose_traces_each_points_origin_acquisition_and_gain(fitted):
    """Oracle: the first point's noted acquisition is the best over the same candidate pool and the
    fidelity levels, its origin the part of the pool it came from, its gain the acquisition's
    information gain there; a refined point scores above the whole pool."""
    from search._optimize import candidate_pool

    sur, exact, fronts = fitted
    levels = np.array([0.25, 0.5, 1.0])
    seeds = np.random.default_rng(99).random((50, 3))  # as good as the random ones: either part may win

    def factory(s):
        return CFMESMO(s, fronts, exact_fn=exact, cost_fn=lambda xx, z: 0.05 + z**2, truncation="tradeoff")

    acq = factory([sur])
    origins = set()
    for rng_seed in range(6):
        for refine in (False, True):
            trace: list[dict] = []
            x, z = propose(factory, [sur], n_var=3, fidelities=levels, q=2, rng=np.random.default_rng(rng_seed),
                           n_candidates=50, seeds=seeds, refine=refine, trace=trace)
            pool = candidate_pool(3, np.random.default_rng(rng_seed), n_random=50, seeds=seeds)
            values = np.stack([acq(pool, np.full(len(pool), lv)) for lv in levels], axis=1)
            first = trace[0]
            assert len(trace) == 2 and all(t["origin"] in ("random", "front", "refined") for t in trace)
            np.testing.assert_allclose(first["acquisition"], acq(x[:1], z[:1])[0], rtol=1e-12)
            np.testing.assert_allclose(first["gain"], acq.information_gain(x[:1], z[:1])[0], rtol=1e-12)
            assert all(t["gain"] >= 0 for t in trace)
            if first["origin"] == "refined":
                assert refine and first["acquisition"] > values.max()
            else:
                i = int(np.argmax(values.max(axis=1)))
                assert first["acquisition"] == values.max()
                assert first["origin"] == ("random" if i < 50 else "front")
                np.testing.assert_array_equal(x[0], pool[i])
            origins.add(first["origin"])
    assert origins == {"random", "front", "refined"}


def test_propose_breaks_ties_toward_the_cheapest_fidelity_then_the_first_candidate():
    """An information gain that is 0 everywhere (it underflows once the GPs are confident) must not
    pick an arbitrary fidelity: the cheapest one, and the first random candidate."""

    class _Same:
        def condition(self, xz):
            return self

    for refine in (False, True):
        x, z = propose(lambda s: (lambda xx, zz: np.zeros(len(xx))), [_Same()], n_var=2,
                       fidelities=np.array([0.25, 0.5, 1.0]), q=1, rng=np.random.default_rng(0), n_candidates=10,
                       refine=refine)
        assert z[0] == 0.25
        np.testing.assert_array_equal(x[0], np.random.default_rng(0).random((10, 2))[0])


@pytest.mark.parametrize("truncation", ["per_objective", "tradeoff"])
def test_log_gain_is_the_log_of_gain_per_cost(fitted, truncation):
    sur, exact, fronts = fitted
    x = np.random.default_rng(5).random((30, 3))
    z = np.repeat([0.25, 0.6, 1.0], 10)
    kw = dict(exact_fn=exact, cost_fn=lambda xx, zz: 0.05 + zz**2, truncation=truncation, observed=np.array([[0.3]]),
              observed_cheap=np.array([[1.0, 0.2]]))
    plain = CFMESMO([sur], fronts, **kw)(x, z)
    logged = CFMESMO([sur], fronts, log_gain=True, **kw)(x, z)
    np.testing.assert_array_equal(plain == -np.inf, logged == -np.inf)  # the same fidelities pruned
    ok = plain > 1e-290
    assert ok.sum() >= 10
    np.testing.assert_allclose(logged[ok], np.log(plain[ok]), rtol=1e-9, atol=1e-9)


class _FarBelow:
    """A confident model 100-150 standard deviations below every front: MES gains underflow."""

    def predict(self, xz):
        return 100.0 + 50.0 * xz[:, 0], np.ones(len(xz))  # F; g = -F


@pytest.mark.parametrize("truncation", ["per_objective", "tradeoff"])
def test_log_gain_orders_candidates_whose_gain_underflows(truncation):
    fronts = [ParetoSample(x=np.zeros((1, 2)), g=np.zeros((1, 1)), cheap=np.zeros((1, 0)))]
    x = np.column_stack([np.linspace(0, 1, 11), np.full(11, 0.5)])
    plain = CFMESMO([_FarBelow()], fronts, truncation=truncation)(x, 1.0)
    logged = CFMESMO([_FarBelow()], fronts, truncation=truncation, log_gain=True)(x, 1.0)
    assert np.all(plain == 0.0)
    assert np.all(np.isfinite(logged)) and np.all(np.diff(logged) < 0)  # nearer the front: more information


def test_sampled_fronts_are_at_the_optimum_of_the_minimized_objectives(seed):
    """The GPs model minimized F; each sampled front must sit at F's minimum (g = -F maximal), and
    for two conflicting objectives span both optima."""
    r = np.random.default_rng(seed)
    x = r.random((25, 2))
    f1 = (x[:, 0] - 0.3) ** 2 + 0.2 * (x[:, 1] - 0.5) ** 2
    f2 = (x[:, 0] - 0.8) ** 2 + 0.2 * (x[:, 1] - 0.5) ** 2
    xz = np.hstack([x, np.ones((25, 1))])
    s1, s2 = fit_surrogate(xz, f1), fit_surrogate(xz, f2)
    one = sample_pareto_fronts([s1], None, n_samples=3, seed=seed, pop_size=20, n_gen=15)
    for front in one:
        best = front.x[np.argmax(front.g[:, 0])]
        assert abs(best[0] - 0.3) < 0.15
        assert front.g.max() > -f1.min() - 0.05  # g = -F: near the best observed value, not the worst
    two = sample_pareto_fronts([s1, s2], None, n_samples=2, seed=seed, pop_size=30, n_gen=20)
    for front in two:
        assert front.x[:, 0].min() < 0.4 and front.x[:, 0].max() > 0.7  # from one optimum to the other
        assert np.all(front.g <= 0.1)  # both F >= 0


def test_reference_box_keeps_the_gain_to_the_front_inside_the_box(fitted):
    sur, exact, fronts = fitted
    x = np.random.default_rng(6).random((40, 3))
    cheap = exact(x)
    far = np.array([1e6, 1e6, 1e6])  # a box containing everything changes nothing
    a = CFMESMO([sur], fronts, exact_fn=exact, truncation="tradeoff")(x, 1.0)
    np.testing.assert_allclose(CFMESMO([sur], fronts, exact_fn=exact, truncation="tradeoff", reference=far)(x, 1.0),
                               a, rtol=1e-12)
    # a design whose exact objectives reach the reference point gains nothing; the others are bounded by
    # max(the front's bound, the face), so they gain at most what they gained without the box
    ref = np.array([0.0, np.median(cheap[:, 0]), 1e6])
    for log in (False, True):
        b = CFMESMO([sur], fronts, exact_fn=exact, truncation="tradeoff", reference=ref, log_gain=log)(x, 1.0)
        out = cheap[:, 0] >= ref[1]
        assert np.all(b[out] == (-np.inf if log else 0.0)) and out.any() and (~out).any()
        assert np.all(b[~out] <= (np.log(a[~out]) if log else a[~out]) + 1e-12)
    with pytest.raises(ConfigError, match="tradeoff"):
        CFMESMO([sur], fronts, exact_fn=exact, reference=far)
    with pytest.raises(ConfigError, match=r"observed_cheap must be a finite \(n_obs=1, m=2\)"):
        CFMESMO([sur], fronts, exact_fn=exact, truncation="tradeoff", observed=[[0.1]], observed_cheap=[[1.0]])
    with pytest.raises(ConfigError, match="3 finite values"):
        CFMESMO([sur], fronts, exact_fn=exact, truncation="tradeoff", reference=far[:2])


def test_bounding_points_add_the_reference_box_faces():
    front = ParetoSample(x=np.zeros((2, 1)), g=np.array([[0.2, 0.1], [0.6, -0.4]]), cheap=np.array([[1.0], [2.0]]))
    points, applies = bounding_points(front, None, np.array([[1.5], [3.0]]), box=np.array([-1.0, -2.0]))
    np.testing.assert_array_equal(points[2:], [[-1.0, np.inf], [np.inf, -2.0]])
    np.testing.assert_array_equal(applies, [[True, False, True, True], [True, True, True, True]])


def test_pinned_gain_replaces_the_truncation_exactly_where_a_candidate_is_in_the_sampled_pareto_set(fitted):
    """Oracle: per sample, the candidate is in the Pareto set when its own sampled value is at least the
    best front/observed value among designs at least as cheap; there the gain is 1/2 ln((v + n) / (v (1 -
    rho^2) + n)) from a brute-force joint posterior, elsewhere the unpinned truncated gain."""
    import torch

    sur, exact, fronts = fitted
    r = np.random.default_rng(7)
    x = r.random((60, 3))
    obs, obs_x = np.array([[-0.2], [0.4]]), r.random((2, 3))
    kw = dict(exact_fn=exact, truncation="tradeoff", observed=obs, observed_cheap=exact(obs_x))
    for z in (1.0, 0.25):
        zz = np.full(60, z)
        plain = CFMESMO([sur], fronts, **kw).information_gain(x, zz)
        got = CFMESMO([sur], fronts, pinned=True, **kw).information_gain(x, zz)
        # brute-force joint posterior of (x, z) and (x, 1), one candidate at a time
        want_pin = np.empty(60)
        for i in range(60):
            pts = torch.tensor(np.array([np.append(x[i], z), np.append(x[i], 1.0)]), dtype=torch.float64)
            cov = sur.model.posterior(pts).distribution.covariance_matrix.detach().numpy()
            v, c11 = cov[0, 0], cov[1, 1]
            rho2 = cov[0, 1] ** 2 / (v * c11)
            noise = float(sur.model.likelihood.noise.item()) * sur.output_scale**2
            want_pin[i] = 0.5 * np.log((v + noise) / (v * (1 - rho2) + noise))
        if z == 1.0:
            _, sd = sur.predict(np.hstack([x, np.ones((60, 1))]))
            np.testing.assert_allclose(want_pin, 0.5 * np.log1p(sd**2 / (float(sur.model.likelihood.noise.item())
                                                                          * sur.output_scale**2)), rtol=1e-6)
        cheap_x = exact(x)
        want = np.zeros(60)
        n_on = 0
        for front in fronts:
            cheap_all = np.vstack([front.cheap, exact(obs_x)])
            g_all = np.concatenate([front.g[:, 0], obs[:, 0]])
            others = [max([g for g, c in zip(g_all, cheap_all, strict=True) if np.all(c <= cx)], default=-np.inf)
                      for cx in cheap_x]
            on = front.values(x)[:, 0] >= np.array(others)
            n_on += on.sum()
            single = CFMESMO([sur], [front], **kw).information_gain(x, zz)
            want += np.where(on, want_pin, single)
        assert 0 < n_on < 60 * len(fronts)  # both cases occur
        np.testing.assert_allclose(got, want / len(fronts), rtol=1e-6)
        assert np.all(np.isfinite(got)) and np.all(got >= 0) and not np.allclose(got, plain)
        # log form: the log of the same gain
        lg = CFMESMO([sur], fronts, pinned=True, **kw).information_gain(x, zz, log=True)
        np.testing.assert_allclose(np.exp(lg), got, rtol=1e-6)
        # with a reference box, only values inside it are pinned; designs outside it still gain nothing
        vals = np.concatenate([f.values(x)[:, 0] for f in fronts])
        ref = np.array([-np.median(vals), 2.5, 0.9])  # minimized: -accuracy, then the exact objectives
        boxed = dict(kw, reference=ref)
        got_box = CFMESMO([sur], fronts, pinned=True, **boxed).information_gain(x, zz)
        want_box, n_in = np.zeros(60), 0
        for front in fronts:
            cheap_all = np.vstack([front.cheap, exact(obs_x)])
            g_all = np.concatenate([front.g[:, 0], obs[:, 0]])
            others = np.array([max([g for g, c in zip(g_all, cheap_all, strict=True) if np.all(c <= cx)],
                                   default=-np.inf) for cx in cheap_x])
            own = front.values(x)[:, 0]
            on = (own >= others) & (own > -ref[0])
            n_in += (on != (own >= others)).sum()
            single = CFMESMO([sur], [front], **boxed).information_gain(x, zz)
            want_box += np.where(on, want_pin, single)
        outside = np.any(cheap_x >= ref[1:], axis=1)
        assert n_in > 0 and 0 < outside.sum() < 60
        np.testing.assert_allclose(got_box, np.where(outside, 0.0, want_box / len(fronts)), rtol=1e-6)


def test_pinned_needs_the_tradeoff_truncation_and_one_expensive_objective(fitted):
    from search.algorithms import MESSearch

    sur, exact, fronts = fitted
    with pytest.raises(ConfigError, match="CFMESMO.pinned needs truncation='tradeoff'"):
        CFMESMO([sur], fronts, exact_fn=exact, pinned=True)
    with pytest.raises(ConfigError, match="2 expensive objective"):
        CFMESMO([sur, sur], [ParetoSample(x=f.x, g=np.hstack([f.g, f.g]), cheap=f.cheap, values=f.values)
                             for f in fronts], exact_fn=exact, truncation="tradeoff", pinned=True)
    with pytest.raises(ConfigError, match="MESSearch.pinned needs truncation='tradeoff'"):
        MESSearch(pinned=True)

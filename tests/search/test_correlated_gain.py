"""The correlated (iMOCA-E) information gain: the entropy reduction of a lower-fidelity observation
``g`` when the correlated target-fidelity value ``f`` is truncated (``_info_gain.correlated_term``),
and ``CFMESMO(correlated=True)``."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy import integrate, stats

from crossbar.errors import ConfigError
from search import _info_gain
from search.acquisition import CFMESMO, sample_pareto_fronts
from search.surrogate import fit_surrogate


def _entropy_reduction(gamma: float, rho: float) -> float:
    """Oracle by definition: ``1/2 ln(2 pi e) - H[p]``, ``p(u) = phi(u) Phi(a - b u) / Phi(gamma)``,
    integrated by adaptive quadrature (double precision; moderate ``gamma`` only)."""
    s = np.sqrt(1.0 - rho * rho)
    a, b = gamma / s, rho / s
    log_z = stats.norm.logcdf(gamma)

    def minus_p_log_p(u):
        lp = stats.norm.logpdf(u) + stats.norm.logcdf(a - b * u) - log_z
        return -np.exp(lp) * lp

    h = integrate.quad(minus_p_log_p, -40, 40, points=[gamma * rho, gamma / rho], limit=400,
                       epsabs=1e-14, epsrel=1e-12)[0]
    return 0.5 * np.log(2 * np.pi * np.e) - h


GRID = [(g, r) for g in (-5.0, -2.0, -0.5, 0.0, 0.3, 1.0, 2.0, 4.0) for r in (0.02, 0.3, 0.6, 0.9, 0.99, 0.999)]


@pytest.mark.parametrize(("gamma", "rho"), GRID)
def test_matches_the_entropy_reduction_by_quadrature(gamma, rho):
    got = _info_gain.correlated_term(np.array([gamma]), np.array([rho]))[0]
    assert got == pytest.approx(_entropy_reduction(gamma, rho), rel=1e-9, abs=1e-15)


@pytest.mark.parametrize(("gamma", "rho"), [(-1e4, 0.5), (-300.0, 0.999999), (-60.0, 0.3), (-31.0, 0.99999),
                                            (-29.0, 0.02), (-9.0, 1 - 1e-9), (8.0, 0.7), (-1e4, 0.005)])
def test_matches_high_precision_quadrature_at_the_extremes(gamma, rho):
    """Far tails (``gamma`` of -1e4, ``rho`` within 1e-9 of 1), against 40-digit quadrature."""
    mp = pytest.importorskip("mpmath")
    with mp.workdps(40):
        g, r = mp.mpf(gamma), mp.mpf(rho)
        s = mp.sqrt(1 - r * r)
        z = mp.ncdf(g)

        def minus_p_log_p(u):
            p = mp.npdf(u) * mp.ncdf((g - r * u) / s) / z
            return -p * mp.log(p) if p > 0 else mp.mpf(0)

        ratio = mp.npdf(g) / z
        mean, sd = -r * ratio, mp.sqrt(1 - r * r * (g * ratio + ratio * ratio))
        cuts = sorted({mean - 40 * sd - 10 * s, mean - 10 * sd, mean, g / r - 10 * s, g / r, g / r + 10 * s,
                       mean + 10 * sd, mean + 40 * sd + 10 * s})
        want = float(mp.log(2 * mp.pi * mp.e) / 2 - mp.quad(minus_p_log_p, cuts, maxdegree=10))
    got = _info_gain.correlated_term(np.array([gamma]), np.array([rho]))[0]
    assert got == pytest.approx(want, rel=2e-8)


GAMMAS = np.array([-1e4, -300.0, -31.0, -30.0, -29.0, -5.0, -1e-9, 0.0, 1e-9, 3.0, 12.0, 37.0, 40.0, 200.0])


def test_limits_full_and_no_correlation_and_pinned():
    """``rho = 1`` is the MES term (linear and log, bit for bit); ``rho = 0`` gives 0; ``gamma = -inf``
    gives ``-1/2 ln(1 - rho^2)``, which finite ``gamma -> -inf`` approaches."""
    one = np.ones_like(GAMMAS)
    np.testing.assert_array_equal(_info_gain.correlated_term(GAMMAS, one), _info_gain.mes_term(GAMMAS))
    np.testing.assert_array_equal(_info_gain.correlated_term(GAMMAS, one, log=True), _info_gain.log_mes_term(GAMMAS))
    assert np.all(_info_gain.correlated_term(GAMMAS, 0.0 * one) == 0.0)
    for rho in (0.005, 0.4, 0.95):
        limit = -0.5 * np.log1p(-rho * rho)
        assert _info_gain.correlated_term(np.array([-np.inf]), np.array([rho]))[0] == pytest.approx(limit, rel=1e-15)
        assert _info_gain.correlated_term(np.array([-1e5]), np.array([rho]))[0] == pytest.approx(limit, rel=1e-8)
    assert _info_gain.correlated_term(np.array([np.inf]), np.array([0.5]))[0] == 0.0
    for log in (False, True):  # NaN in, NaN out: never a silent 0
        got = _info_gain.correlated_term(np.array([np.nan, 0.0, 1.0]), np.array([0.5, np.nan, 0.5]), log=log)
        assert np.isnan(got[:2]).all() and np.isfinite(got[2])


def test_monotone_bounded_and_even():
    """More truncation (lower ``gamma``) or more correlation tells more; never more than the MES term
    (``rho = 1``) or the pinned value; only ``|rho|`` matters."""
    rhos = np.array([0.001, 0.009, 0.011, 0.2, 0.49, 0.51, 0.8, 0.99, 0.999999])
    gain = _info_gain.correlated_term(GAMMAS[:, None], rhos[None, :])
    assert np.all(np.isfinite(gain)) and np.all(gain >= 0)
    assert np.all(np.diff(gain, axis=0) <= 1e-12 * gain[:-1])  # non-increasing in gamma
    assert np.all(np.diff(gain, axis=1) >= 0)  # non-decreasing in rho
    assert np.all(gain <= _info_gain.mes_term(GAMMAS)[:, None] * (1 + 1e-12))
    assert np.all(gain <= -0.5 * np.log1p(-rhos**2)[None, :] * (1 + 1e-9))
    np.testing.assert_array_equal(gain, _info_gain.correlated_term(GAMMAS[:, None], -rhos[None, :]))


@pytest.mark.parametrize("gamma", [-30.0, 0.0])
@pytest.mark.parametrize("rho", [0.01, 0.5])
def test_continuous_across_the_forms(gamma, rho):
    """Each side of a switch between forms (``gamma`` at -30 and 0, ``rho`` at 0.01 and 0.5; below
    ``rho = 0.01`` a series exact to a relative ``O(rho^4)``)."""
    eps = 1e-12
    lo = _info_gain.correlated_term(np.array([gamma - eps, gamma]), np.array([rho - eps, rho - eps]))
    hi = _info_gain.correlated_term(np.array([gamma - eps, gamma]), np.array([rho + eps, rho + eps]))
    np.testing.assert_allclose(lo, hi, rtol=5e-8)
    left, right = _info_gain.correlated_term(np.array([gamma - eps, gamma + eps]), np.array([rho, rho]))
    assert left == pytest.approx(right, rel=1e-9)


def test_log_form_agrees_and_stays_finite_where_the_gain_underflows():
    g = np.array([-40.0, -3.0, 0.0, 5.0, 20.0, 37.0])
    for rho in (0.005, 0.3, 0.9):
        lin = _info_gain.correlated_term(g, np.full(6, rho))
        np.testing.assert_allclose(_info_gain.correlated_term(g, np.full(6, rho), log=True), np.log(lin), rtol=1e-12)
        far = _info_gain.correlated_term(np.array([40.0, 100.0, 1000.0]), np.full(3, rho), log=True)
        assert np.all(np.isfinite(far)) and np.all(np.diff(far) < 0)
        assert _info_gain.correlated_term(np.array([40.0]), np.array([rho]))[0] == 0.0


# --- the acquisition -------------------------------------------------------------------------------


def _problem(x: np.ndarray, z: np.ndarray) -> np.ndarray:
    """One minimized objective whose lower fidelity is a shifted, tilted version of the target."""
    return ((x[:, 0] - 0.3) ** 2 + 0.5 * x[:, 1] + 0.3 * (1 - z) * x[:, 0])[:, None]


@pytest.fixture(scope="module")
def one_objective():
    r = np.random.default_rng(3)
    x = r.random((16, 2))
    z = r.choice([0.25, 0.5, 1.0], 16)
    z[:3] = 1.0
    xz = np.hstack([x, z[:, None]])
    f = _problem(x, z)
    surs = [fit_surrogate(xz, f[:, 0])]

    def cheap(x):
        return x[:, 1:2].copy()  # an exact second objective: the tradeoff truncation applies

    fronts = sample_pareto_fronts(surs, cheap, n_samples=4, seed=5, pop_size=20, n_gen=10)
    full = z == 1.0
    return surs, fronts, cheap, -f[full], x[full, 1:2]


@pytest.mark.parametrize("truncation", ["per_objective", "tradeoff"])
def test_equals_the_default_at_the_target_fidelity(one_objective, truncation):
    surs, fronts, cheap, observed, observed_cheap = one_objective
    x = np.random.default_rng(1).random((50, 2))
    kw = dict(exact_fn=cheap, truncation=truncation, observed=observed, observed_cheap=observed_cheap)
    for log in (False, True):
        plain = CFMESMO(surs, fronts, **kw).information_gain(x, np.ones(50), log=log)
        corr = CFMESMO(surs, fronts, correlated=True, **kw).information_gain(x, np.ones(50), log=log)
        np.testing.assert_allclose(corr, plain, rtol=1e-13)


@pytest.mark.parametrize("truncation", ["per_objective", "tradeoff"])
def test_lower_fidelity_gain_is_the_term_at_the_targets_gamma_and_the_pairs_correlation(one_objective, truncation):
    """Oracle: ``gamma`` from the posterior at ``(x, 1)``, ``rho`` from the 2 x 2 posterior covariance
    of ``(x, z)`` and ``(x, 1)`` computed one candidate at a time, the bound from the unit tests'
    rule (``per_objective``: the sample's maximum, at least every observed value)."""
    surs, fronts, cheap, observed, observed_cheap = one_objective
    x = np.random.default_rng(2).random((12, 2))
    z = 0.25
    acq = CFMESMO(surs, fronts, exact_fn=cheap, truncation=truncation, observed=observed,
                  observed_cheap=observed_cheap, correlated=True)
    got = acq.information_gain(x, np.full(len(x), z))
    model = surs[0].model
    for i, xi in enumerate(x):
        pair = torch.tensor([[*xi, z], [*xi, 1.0]], dtype=torch.float64)
        with torch.no_grad():
            post = model.posterior(pair)
        cov = post.distribution.covariance_matrix.numpy()
        rho = cov[0, 1] / np.sqrt(cov[0, 0] * cov[1, 1])
        mu, sd = -post.mean.numpy()[1, 0], np.sqrt(cov[1, 1])
        if truncation == "per_objective":
            bounds = [max(f.g[:, 0].max(), observed.max()) for f in fronts]
        else:  # the best sampled front/observed value at least as cheap, or the candidate's own sampled value
            bounds = []
            for f in fronts:
                pts = np.concatenate([f.g[f.cheap[:, 0] <= xi[1], 0], observed[observed_cheap[:, 0] <= xi[1], 0],
                                      f.values(xi[None, :])[0]])
                bounds.append(pts.max())
        want = np.mean([_info_gain.correlated_term(np.array([(b - mu) / sd]), np.array([rho]))[0] for b in bounds])
        assert got[i] == pytest.approx(want, rel=1e-9)


def test_weakly_correlated_fidelity_gains_less_than_the_truncated_default(one_objective):
    """The default truncates ``g(x, z)`` itself (information about ``f(x, z)``); the correlated gain is
    the part that is about ``f(x, 1)``: never more, at every candidate."""
    surs, fronts, cheap, observed, observed_cheap = one_objective
    x = np.random.default_rng(9).random((80, 2))
    kw = dict(exact_fn=cheap, observed=observed, observed_cheap=observed_cheap)
    corr = CFMESMO(surs, fronts, correlated=True, **kw)
    _, _, rho = corr.target_moments(x, np.full(80, 0.25))
    assert np.all(rho < 1.0) and np.all(rho > -1.0)
    plain = CFMESMO(surs, fronts, **kw)
    at_target = plain.information_gain(x, np.ones(80))
    assert np.all(corr.information_gain(x, np.full(80, 0.25)) <= at_target * (1 + 1e-12))


def test_tradeoff_with_several_expensive_objectives_is_refused(one_objective):
    surs, fronts, *_ = one_objective
    from search.acquisition import ParetoSample

    two = [ParetoSample(f.x, np.hstack([f.g, f.g]), f.cheap) for f in fronts]
    with pytest.raises(ConfigError, match="correlated.*one expensive objective"):
        CFMESMO([surs[0], surs[0]], two, truncation="tradeoff", correlated=True)


def test_search_refuses_correlated_tradeoff_with_two_expensive_objectives_before_evaluating():
    from search.algorithms import MESSearch
    from search.benchmarks import BraninCurrin
    from search.loop import run_search
    from search.tasks import BenchmarkSearch

    with pytest.raises(ConfigError, match="MESSearch.correlated.*has 2"):
        run_search(BenchmarkSearch(BraninCurrin()), MESSearch(truncation="tradeoff", correlated=True),
                   budget=np.inf, seed=0, max_evaluations=2)


def test_fidelity_gain_diagnostic_agrees_at_the_target_and_reports_correlations():
    """``experiments.fidelity_gain``: at ``z = 1`` both gains and their best ``gain / cost`` are the
    same (``rho = 1``); below, ``rho`` is a correlation and the table is per level."""
    from experiments.fidelity_gain import level_table
    from search.benchmarks import ZDT1MF
    from search.tasks import BenchmarkSearch

    prob = BenchmarkSearch(ZDT1MF(), fidelities=np.array([0.2, 0.6, 1.0]))
    t = level_table(prob, n_evaluations=12, n_samples=2, n_candidates=60, seed=1)
    assert t["reference"].shape == t["correlated"].shape == t["rho"].shape == (3,)
    assert t["reference"][-1] == pytest.approx(t["correlated"][-1], rel=1e-12)
    assert t["reference_top"][-1] == pytest.approx(t["correlated_top"][-1], rel=1e-12)
    assert t["rho"][-1] == 1.0 and np.all((t["rho"][:-1] >= 0) & (t["rho"][:-1] < 1))
    np.testing.assert_allclose(t["cost"], prob.cost(None, prob.fidelities))


def test_proposal_notes_carry_the_correlation_the_gain_credited(one_objective):
    from search.acquisition import propose

    surs, fronts, cheap, observed, observed_cheap = one_objective
    levels = np.array([0.25, 0.5, 1.0])
    for corr in (False, True):
        def factory(s, corr=corr):
            return CFMESMO(s, fronts, exact_fn=cheap, cost_fn=lambda xx, zz: 0.05 + zz**2, truncation="tradeoff",
                           observed=observed, observed_cheap=observed_cheap, prune=False, correlated=corr)

        trace: list[dict] = []
        x, z = propose(factory, surs, n_var=2, fidelities=levels, q=1, rng=np.random.default_rng(0),
                       n_candidates=80, refine=False, trace=trace)
        if not corr:
            assert "rho" not in trace[0]
            continue
        want = factory(surs).target_moments(x, z)[2][0]
        np.testing.assert_allclose(trace[0]["rho"], want, rtol=1e-12)
        assert (want[0] == 1.0) == (z[0] == 1.0)

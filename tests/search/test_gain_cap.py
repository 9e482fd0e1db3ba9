"""The information-gain cap (``CFMESMO.gain_cap``): an observation tells at most what it tells about
its own latent values, ``1/2 sum_j ln(1 + v_j / n_j)`` (data-processing inequality)."""

from __future__ import annotations

import numpy as np
import pytest

from search import _info_gain
from search.acquisition import CFMESMO, ParetoSample, sample_pareto_fronts
from search.surrogate import fit_surrogate


def _two_objectives(x: np.ndarray, z: np.ndarray) -> np.ndarray:
    """A noise-free pair of conflicting minimized objectives, lower fidelity shifted."""
    f1 = (x[:, 0] - 0.2) ** 2 + 0.3 * x[:, 1] - 0.2 * (1 - z)
    f2 = (x[:, 0] - 0.9) ** 2 + 0.3 * (1 - x[:, 1]) ** 2 + 0.1 * (1 - z)
    return np.stack([f1, f2], axis=1)


@pytest.fixture(scope="module")
def noise_free():
    """Two GPs on a noise-free problem whose observations include a design on the front, twice."""
    r = np.random.default_rng(4)
    x = np.vstack([r.random((14, 2)), [[0.2, 0.0], [0.2, 0.0]]])
    z = np.concatenate([r.choice([0.3, 1.0], 14), [1.0, 1.0]])
    f = _two_objectives(x, z)
    xz = np.hstack([x, z[:, None]])
    surs = [fit_surrogate(xz, f[:, j]) for j in range(2)]
    fronts = sample_pareto_fronts(surs, None, n_samples=5, seed=2, pop_size=30, n_gen=20)
    return surs, fronts, -f[z == 1.0], x


def _bound(surs, x, z):
    """The oracle: ``1/2 ln(1 + v_j / n_j)`` from each GP's own posterior and noise, ``(n, K)``."""
    xz = np.hstack([x, np.full((len(x), 1), z)])
    out = []
    for s in surs:
        mean, sd = s.predict(xz)
        v = _info_gain.floored_sigma(mean, sd) ** 2
        out.append(0.5 * np.log1p(v / s.noise_variance))
    return np.stack(out, axis=1)


@pytest.mark.parametrize("z", [0.3, 1.0])
@pytest.mark.parametrize("truncation", ["per_objective", "tradeoff"])
def test_capped_gain_is_the_sample_mean_capped_by_the_observations_own_information(noise_free, truncation, z):
    """Oracle: the uncapped gain per objective (``per_objective``: one single-objective acquisition per
    objective, whose sum is the uncapped gain) or in all (``tradeoff``), each mean over the samples
    capped at the bound, then summed."""
    surs, fronts, observed, xs = noise_free
    x = np.vstack([np.random.default_rng(7).random((60, 2)), xs[-1:]])
    zz = np.full(len(x), z)
    bound = _bound(surs, x, z)
    kw = dict(truncation=truncation, observed=observed)
    plain = CFMESMO(surs, fronts, **kw).information_gain(x, zz)
    if truncation == "per_objective":
        per = [CFMESMO([s], [ParetoSample(f.x, f.g[:, [j]], f.cheap) for f in fronts], truncation=truncation,
                       observed=observed[:, [j]]).information_gain(x, zz) for j, s in enumerate(surs)]
        np.testing.assert_allclose(sum(per), plain, rtol=1e-12)
        want = sum(np.minimum(p, bound[:, j]) for j, p in enumerate(per))
    else:
        want = np.minimum(plain, bound.sum(axis=1))
    capped = CFMESMO(surs, fronts, gain_cap=True, **kw)
    got = capped.information_gain(x, zz)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-300)
    assert np.all(got <= bound.sum(axis=1) * (1 + 1e-12))
    assert np.any(got < plain * (1 - 1e-6)) and np.any(got == plain)  # the cap binds for some candidates only
    logged = capped.information_gain(x, zz, log=True)
    ok = got > 1e-290
    np.testing.assert_allclose(logged[ok], np.log(got[ok]), rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(capped.gain_bound(_info_gain.floored_sigma(0.0, np.sqrt(np.stack(
        [s.noise_variance * np.ones(3) for s in surs], axis=1)))), np.full((3, 2), 0.5 * np.log(2.0)), rtol=1e-12)


@pytest.mark.parametrize("truncation", ["per_objective", "tradeoff"])
def test_a_design_observed_twice_gains_at_most_half_ln_three_halves_per_objective(noise_free, truncation):
    """At an input observed ``r`` times the latent posterior variance is at most ``n / r`` (those
    observations alone leave ``k (n / r) / (k + n / r)``), so the capped gain there is at most
    ``K ln(1 + 1/r) / 2``; the uncapped truncated-Gaussian terms give more, because the sampled
    fronts pass through the observed value: a design on the front stays attractive however certain the
    model is there."""
    surs, fronts, observed, xs = noise_free
    x = xs[-1:]  # (0.2, 0), observed twice at z = 1: the first objective's minimum, on the front
    plain = CFMESMO(surs, fronts, truncation=truncation, observed=observed).information_gain(x, np.ones(1))
    got = CFMESMO(surs, fronts, truncation=truncation, observed=observed, gain_cap=True).information_gain(
        x, np.ones(1))
    assert got[0] <= np.log(1.5) * (1 + 1e-9) < plain[0]

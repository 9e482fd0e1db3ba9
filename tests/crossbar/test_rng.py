"""The inline random numbers of the Numba kernels (:mod:`crossbar._rng`)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from crossbar import _rng

_M = (1 << 64) - 1


def _xoshiro_reference(state, n):
    """xoshiro256** as published (Blackman and Vigna), on Python integers."""

    def rotl(x, k):
        return ((x << k) | (x >> (64 - k))) & _M

    s = [int(v) for v in state]
    out = []
    for _ in range(n):
        out.append(rotl((s[1] * 5) & _M, 7) * 9 & _M)
        t = (s[1] << 17) & _M
        s[2] ^= s[0]
        s[3] ^= s[1]
        s[1] ^= s[2]
        s[0] ^= s[3]
        s[2] ^= t
        s[3] = rotl(s[3], 45)
    return out, s


def test_words_are_xoshiro256starstar_and_the_state_advances_in_place():
    streams = _rng.seed_streams(np.random.SeedSequence(7), 3)
    start = streams.copy()
    words = _rng.draw_words(streams[1], 1000)
    want, end = _xoshiro_reference(start[1], 1000)
    assert [int(w) for w in words] == want
    assert [int(v) for v in streams[1]] == end
    np.testing.assert_array_equal(streams[[0, 2]], start[[0, 2]])  # other rows untouched
    assert len({int(v) for v in start[:, 0]}) == 3  # distinct streams


def test_seed_streams_is_reproducible_and_never_all_zero():
    a = _rng.seed_streams(np.random.SeedSequence(1), 5)
    b = _rng.seed_streams(np.random.SeedSequence(1), 5)
    assert a.dtype == np.uint64 and a.shape == (5, 4)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, _rng.seed_streams(np.random.SeedSequence(2), 5))
    assert (a != 0).any(axis=1).all()


def test_uniforms_are_uniform_on_the_half_open_unit_interval():
    state = _rng.seed_streams(np.random.SeedSequence(3), 1)[0]
    words_state = state.copy()
    u = _rng.draw(state, 200_000, False)
    assert u.min() >= 0.0 and u.max() < 1.0
    assert stats.kstest(u, "uniform").pvalue > 1e-3
    words = _rng.draw_words(words_state, 10)  # u is the top 53 bits of the word
    np.testing.assert_array_equal(u[:10], (words >> np.uint64(11)).astype(np.float64) * 2.0**-53)


def test_ziggurat_tables_are_consistent():
    k, w, f = _rng.ziggurat_tables()
    assert f[0] == 1.0 and np.all(np.diff(f) < 0) and f[-1] == pytest.approx(math.exp(-0.5 * _rng.ZIGGURAT_R**2))
    edges = w[1:] * 2.0**52  # layer edges x_1 < ... < x_255 = R
    assert np.all(np.diff(edges) > 0) and edges[-1] == pytest.approx(_rng.ZIGGURAT_R)
    np.testing.assert_allclose(f[1:], np.exp(-0.5 * edges**2), rtol=1e-12)
    # every layer has the same area v: x_i (f_(i-1) - f_i) for layers 1..255 (rectangles between edges)
    areas = edges[1:] * (f[1:-1] - f[2:])
    np.testing.assert_allclose(areas, _rng.ZIGGURAT_V, rtol=1e-9)


def test_normals_have_the_standard_normal_law_including_the_tails():
    state = _rng.seed_streams(np.random.SeedSequence(4), 1)[0]
    n = 2_000_000
    x = _rng.draw(state, n, True)
    assert stats.kstest(x, "norm").pvalue > 1e-3
    assert abs(x.mean()) < 5 / math.sqrt(n)
    assert abs(x.var() - 1.0) < 5 * math.sqrt(2.0 / n)
    assert abs(stats.skew(x)) < 5 * math.sqrt(6.0 / n)
    for t in (1.0, 2.5, _rng.ZIGGURAT_R, 4.5):  # both tails, inside and beyond the ziggurat's base strip
        p = 2 * stats.norm.sf(t)
        hits = int((np.abs(x) > t).sum())
        assert abs(hits - n * p) < 5 * math.sqrt(n * p) + 1, (t, hits, n * p)
        assert abs(int((x > t).sum()) - int((x < -t).sum())) < 5 * math.sqrt(hits) + 1

"""The reference column's error in ``"noisy"`` training (``gmin_removal="reference"``):
:func:`mapping.nn.device_noise.reference_perturbation` and its use in ``noisy_weight_ste``."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
from scipy import stats

from crossbar import CrossbarConfig, NoiseConfig
from crossbar._rng import draw
from crossbar.errors import ConfigError
from crossbar.noise import column_arrays, n_column_arrays, program_levels, read_levels, read_std
from mapping.nn import device_noise as dn
from mapping.nn import functional as xf


def _source(backend: str, seed: int):
    """The random source that selects ``backend``."""
    if backend == "torch":
        return torch.Generator().manual_seed(seed)
    return dn.noise_streams(np.random.SeedSequence(seed))


def _place_values(cfg: CrossbarConfig) -> np.ndarray:
    """``sign * 2**(c s)`` of every field ``f = sign * n_slices + s``: ``(F,)``."""
    return np.array([sg * 2.0 ** (cfg.cell_bits * s) for sg in [1.0, -1.0][: cfg.n_signs]
                     for s in range(cfg.n_slices)])


def _recombined(r: np.ndarray, cfg: CrossbarConfig, n_out: int) -> np.ndarray:
    """Oracle of the term from reference-cell errors ``r`` ``(n_col_arrays, n_in)``:
    ``-sum_f pv_f r[a(f, j), i]`` field by field, as ``(n_out, n_in)``."""
    a = column_arrays(cfg, n_out)
    pv = _place_values(cfg)
    return -sum(pv[f] * r[a[f]] for f in range(len(pv)))


def _oracle(cfg: CrossbarConfig, n_out: int, n_in: int, seed: int) -> np.ndarray:
    """The term from :mod:`crossbar.noise`'s own per-cell draws of level-0 cells, as the engine
    programs and reads the reference cells."""
    rng = np.random.default_rng(seed)
    ref = program_levels(np.zeros((n_column_arrays(cfg, n_out), n_in)), cfg, rng=rng)
    return _recombined(read_levels(ref, cfg, rng=rng), cfg, n_out)


NOISES = [
    NoiseConfig(program_sigma=0.2, physical_programming=True, read_sigma=0.1, thermal=True, shot=True, rtn=True,
                stuck_on_rate=0.01, stuck_off_rate=0.02),
    NoiseConfig(program_sigma=0.3, program_model="lognormal", thermal=True, shot=True, rtn=True, rtn_probability=0.3),
    NoiseConfig(stuck_on_rate=0.05, thermal=True, shot=True, rtn=True),
    NoiseConfig(program_sigma=0.01, program_model="range", read_sigma=0.02, read_model="range"),
]


@pytest.mark.parametrize("noise", NOISES, ids=["all", "lognormal", "stuck-on", "range"])
@pytest.mark.parametrize("encoding, cols", [("offset", 9), ("differential", 7)])
@pytest.mark.parametrize("backend", ["numba", "torch"])
def test_reference_perturbation_has_the_distribution_of_crossbar_noise(noise, encoding, cols, backend):
    """Rows are i.i.d. (their own reference cells), so each output column's 20,000 rows are
    20,000 draws of that column's term: KS and std against :mod:`crossbar.noise`'s cells. Under
    differential encoding with ``data_cols = 6`` and ``F = 4``, outputs 0 and 2 have both column
    sets in one array (the term cancels: exactly 0) and output 1 straddles arrays 0 and 1."""
    cfg = CrossbarConfig(cols=cols, cell_bits=2, weight_bits=5, encoding=encoding, gmin_removal="reference",
                         frequency=1e9, temperature=400.0, noise=noise)
    n_out, n_in = 3, 20_000
    got = dn.reference_perturbation((n_out, n_in), cfg, _source(backend, 5))
    assert got.dtype == torch.float64 and got.shape == (n_out, n_in)
    want = _oracle(cfg, n_out, n_in, 6)
    for j in range(n_out):
        a, b = got[j].numpy(), want[j]
        if encoding == "differential" and j != 1:
            assert not a.any() and np.abs(b).max() < 1e-12  # the oracle sums field by field: rounding
            continue
        assert stats.ks_2samp(a, b).pvalue > 1e-3, (j, a.mean(), b.mean(), a.std(), b.std())
        np.testing.assert_allclose(a.std(), b.std(), rtol=0.1)


@pytest.mark.parametrize("backend", ["numba", "torch"])
def test_reference_perturbation_stuck_on_cell_reads_at_the_top_level(backend):
    """Every reference cell stuck on: its error is ``top`` plus the read noise of the top level,
    ``read_std(top)``; offset encoding, every output in array 0 (``-21 r``)."""
    cfg = CrossbarConfig(cols=9, cell_bits=2, weight_bits=5, encoding="offset", gmin_removal="reference",
                         frequency=1e9, temperature=400.0,
                         noise=NoiseConfig(stuck_on_rate=1.0, thermal=True, shot=True))
    r = -dn.reference_perturbation((2, 20_000), cfg, _source(backend, 1)).numpy() / 21.0
    np.testing.assert_array_equal(r[0], r[1])
    np.testing.assert_allclose(r[0].std(), read_std(np.array([3.0]), cfg)[0], rtol=0.03)
    assert abs(r[0].mean() - 3.0) < 5 * r[0].std() / np.sqrt(20_000)
    assert read_std(np.array([0.0]), cfg)[0] < 0.5 * read_std(np.array([3.0]), cfg)[0]


def test_layout_by_hand():
    """``column_arrays`` for the two layouts the tests rely on."""
    off = CrossbarConfig(cols=9, cell_bits=2, weight_bits=5, encoding="offset", gmin_removal="reference")
    assert (off.n_signs, off.n_slices, off.data_cols) == (1, 3, 8)
    np.testing.assert_array_equal(column_arrays(off, 6), [[0, 0, 0, 1, 1, 1], [0, 0, 0, 1, 1, 2],
                                                          [0, 0, 1, 1, 1, 2]])
    diff = CrossbarConfig(cols=7, cell_bits=2, weight_bits=5, gmin_removal="reference")
    assert (diff.n_signs, diff.n_slices, diff.data_cols) == (2, 2, 6)
    np.testing.assert_array_equal(column_arrays(diff, 4), [[0, 0, 1, 2], [0, 0, 1, 2], [0, 1, 1, 2],
                                                           [0, 1, 1, 2]])


@pytest.mark.parametrize("backend", ["numba", "torch"])
def test_reference_terms_are_shared_within_an_array_and_independent_across_rows(backend):
    """Constant-std noise (one normal per cell, ``r = 0.1 z``). Offset, fields of outputs 0, 1 in
    array 0, of 3, 4 in array 1, output 2 straddles (layout above): outputs 0 and 1 get the same
    term ``-21 r[0, i]`` bit for bit, 3 and 4 ``-21 r[1, i]``, output 2 ``-5 r[0, i] - 16 r[1, i]``;
    rows draw independent cells."""
    cfg = CrossbarConfig(cols=9, cell_bits=2, weight_bits=5, encoding="offset", gmin_removal="reference",
                         noise=NoiseConfig(program_sigma=0.1))
    t = dn.reference_perturbation((5, 20_000), cfg, _source(backend, 2)).numpy()
    np.testing.assert_array_equal(t[0], t[1])
    np.testing.assert_array_equal(t[3], t[4])
    r0, r1 = -t[0] / 21.0, -t[3] / 21.0
    np.testing.assert_allclose(t[2], -5.0 * r0 - 16.0 * r1, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose([r0.std(), r1.std()], 0.1, rtol=0.03)
    assert abs(np.corrcoef(r0, r1)[0, 1]) < 0.03  # two arrays' cells
    assert abs(np.corrcoef(r0[:-1], r0[1:])[0, 1]) < 0.03  # neighbouring rows' cells


@pytest.mark.parametrize("backend", ["numba", "torch"])
def test_reference_perturbation_draw_order_and_conv_layout_exactly(backend):
    """A Conv2d weight ``(n_out, c, kh, kw)`` is the matrix ``w.reshape(n_out, -1).T``; with all
    sources on, the term is recomputed from the documented draws: cells ``(array, row)`` in C
    order, each lognormal z, Gaussian programming z, stuck u, RTN u, read z -- one cell at a time
    from stream row 0 (numba), one source at a time over all cells (torch)."""
    cfg = CrossbarConfig(cols=7, cell_bits=2, weight_bits=5, gmin_removal="reference", frequency=1e9,
                         temperature=400.0,
                         noise=NoiseConfig(program_sigma=0.3, program_model="lognormal", physical_programming=True,
                                           stuck_on_rate=0.1, stuck_off_rate=0.1, read_sigma=0.05, thermal=True,
                                           rtn=True))
    shape, n_in = (5, 2, 3, 3), 18
    n_cells = n_column_arrays(cfg, 5) * n_in
    src = _source(backend, 3)
    if backend == "torch":
        g = torch.Generator().manual_seed(3)
        z1, z2, u1, u2, z3 = (f(n_cells, generator=g, dtype=torch.float64).numpy()
                              for f in (torch.randn, torch.randn, torch.rand, torch.rand, torch.randn))
    else:
        state = src[0].copy()
        z1, z2, u1, u2, z3 = np.array([[draw(state, 1, normal)[0] for normal in (True, True, False, False, True)]
                                       for _ in range(n_cells)]).T
    p = dn._noise_params(cfg)
    out = p.g_floor * np.exp(0.3 * z1) - p.g_floor + p.gauss_sigma * z2
    out = np.where(u1 < 0.1, 3.0, np.where(u1 < 0.2, 0.0, out))
    gl = np.maximum(out + p.g_floor, 0.0)
    x = np.maximum(gl, p.g_floor)
    r = out + np.sqrt(gl * p.per_g + p.read_const) * z3 + (u2 < p.rtn_p) * x * (p.rtn_b * x + p.rtn_a) / (
        (1.0 - p.rtn_b) * x - p.rtn_a)
    assert p.gauss_sigma == pytest.approx(cfg.physical_programming_std) and p.per_g > 0 and p.rtn_p > 0
    got = dn.reference_perturbation(shape, cfg, src)
    assert got.shape == shape
    want = _recombined(r.reshape(-1, n_in), cfg, 5)
    np.testing.assert_allclose(got.reshape(5, n_in).numpy(), want, rtol=1e-12, atol=1e-12)
    t = got.reshape(5, n_in).numpy()
    assert np.abs(t[[1, 4]]).min() > 0 and not t[[0, 2, 3]].any()  # outputs 1, 4 straddle two arrays
    if backend == "numba":  # row 0 advanced past the draws, the others untouched
        np.testing.assert_array_equal(src[0], state)
        np.testing.assert_array_equal(src[1:], _source(backend, 3)[1:])


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("backend, n", [("numba", 3000), ("numba", 40_000), ("torch", 3000)])
@pytest.mark.parametrize("encoding", ["differential", "offset"])
def test_noisy_weight_ste_is_digital_plus_the_reference_term(dtype, backend, n, encoding):
    """``noisy_weight_ste`` under ``"reference"`` = the ``"digital"`` result + ``reference_perturbation
    * (scale * delta)`` drawn after it from the same source: values bit for bit, the same
    gradient, the same stream states (fused CPU kernel, its threaded build, torch path)."""
    ref = CrossbarConfig(cols=11, encoding=encoding, gmin_removal="reference",
                         noise=NoiseConfig(program_sigma=0.1, physical_programming=True, thermal=True, rtn=True,
                                           read_sigma=0.02))
    dig = dataclasses.replace(ref, gmin_removal="digital")
    gen = torch.Generator().manual_seed(n)
    w = torch.randn(n, generator=gen, dtype=dtype).reshape(-1, 8, 5) * 0.2
    w[0, 0, :2] = torch.tensor([1.0, -1.0])  # clamped: gradient 0
    a, b = w.clone().requires_grad_(True), w.clone().requires_grad_(True)
    src_a, src_b = _source(backend, 4), _source(backend, 4)
    got = dn.noisy_weight_ste(a, ref, src_a, scale=0.3)
    base = dn.noisy_weight_ste(b, dig, src_b, scale=0.3)
    _, delta = xf.quantize_weight_ste(w, ref.weight_bits)
    term = dn.reference_perturbation(w.shape, ref, src_b)
    want = base + term.mul_(0.3 * delta).to(dtype)
    assert got.dtype == dtype and got.shape == w.shape
    torch.testing.assert_close(got, want, rtol=0, atol=0)
    assert float((got != base).float().mean()) > 0.5
    if backend == "numba":
        np.testing.assert_array_equal(src_a, src_b)
    else:
        assert torch.equal(src_a.get_state(), src_b.get_state())
    grad = torch.randn(w.shape, generator=gen, dtype=dtype)
    got.backward(grad)
    base.backward(grad)
    torch.testing.assert_close(a.grad, b.grad, rtol=0, atol=0)
    assert float(a.grad[0, 0, 0]) == 0.0 and float(a.grad[0, 0, 2]) == float(grad[0, 0, 2])


@pytest.mark.parametrize("backend", ["numba", "torch"])
def test_digital_noisy_weight_ste_draws_no_reference_term(backend):
    """Under ``"digital"`` the result is quantize + cell noise only (the torch composition), with
    the source advanced by the cell noise alone. (Bit-identity with the code before the
    reference term: the trajectory and value tests of ``test_bridge.py``.)"""
    cfg = CrossbarConfig(noise=NoiseConfig(program_sigma=0.1, thermal=True, rtn=True, read_sigma=0.02))
    w = torch.randn(40, 30, generator=torch.Generator().manual_seed(0), dtype=torch.float64) * 0.2
    src_a, src_b = _source(backend, 7), _source(backend, 7)
    got = dn.noisy_weight_ste(w, cfg, src_a, scale=0.5)
    q, delta = xf.quantize_weight_ste(w, cfg.weight_bits)
    want = q * delta + dn.weight_perturbation(q, cfg, src_b).mul_(0.5 * delta)
    torch.testing.assert_close(got, want, rtol=0, atol=0)
    if backend == "numba":
        np.testing.assert_array_equal(src_a, src_b)
    else:
        assert torch.equal(src_a.get_state(), src_b.get_state())
    with pytest.raises(ConfigError, match="gmin_removal='reference'"):
        dn.reference_perturbation(w.shape, cfg, src_a)


def test_reference_perturbation_is_seeded_and_independent_of_threads():
    """Same seed, same draw (both backends); the streams' draw and a threaded ``noisy_weight_ste``
    (parallel cell kernel, then the reference cells) do not depend on numba's thread count; the
    next call is a fresh draw."""
    import numba

    cfg = CrossbarConfig(cols=11, gmin_removal="reference",
                         noise=NoiseConfig(physical_programming=True, thermal=True, rtn=True, read_sigma=0.02))
    shape = (64, 400)
    w = torch.randn(shape, generator=torch.Generator().manual_seed(1)) * 0.2
    assert w.numel() >= dn.PARALLEL_MIN_WEIGHTS
    runs = []
    before = numba.get_num_threads()
    try:
        for threads in (1, min(2, numba.config.NUMBA_NUM_THREADS)):
            numba.set_num_threads(threads)
            streams = dn.noise_streams(np.random.SeedSequence(3))
            runs.append((dn.reference_perturbation(shape, cfg, streams),
                         dn.noisy_weight_ste(w, cfg, dn.noise_streams(np.random.SeedSequence(3))), streams))
    finally:
        numba.set_num_threads(before)
    (t1, y1, s1), (t2, y2, s2) = runs
    torch.testing.assert_close(t1, t2, rtol=0, atol=0)
    torch.testing.assert_close(y1, y2, rtol=0, atol=0)
    again = dn.reference_perturbation(shape, cfg, s2)
    moved = t1 != 0
    assert float(moved.float().mean()) > 0.1 and not bool((again[moved] == t1[moved]).any())
    g1 = dn.reference_perturbation(shape, cfg, torch.Generator().manual_seed(3))
    g2 = dn.reference_perturbation(shape, cfg, torch.Generator().manual_seed(3))
    torch.testing.assert_close(g1, g2, rtol=0, atol=0)
    assert not bool((g1[moved] == t1[moved]).any())

"""Statistical tests of the noise models (STYLE R14: fixed seeds, stated bounds).

Every stochastic check uses a fixed seed, so it is deterministic; the bounds are stated so that
an unbiased sampler passes them for (almost) every seed: moment checks use 5-sigma bounds of the
estimator's sampling distribution, KS tests require ``p > 1e-3``, and binomial counts must lie
within 5 standard deviations of ``n p``.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from crossbar import CrossbarConfig, NoiseConfig, program
from crossbar.noise import program_levels, read_levels, read_std, rtn_offset
from crossbar.slicing import encode_weights

K_B = 1.380649e-23
"""Boltzmann constant [J/K] (CODATA 2018, exact), written out here independently of the code."""
Q_E = 1.602176634e-19
"""Elementary charge [C] (CODATA 2018, exact)."""

KS_P_MIN = 1e-3
N_SIGMA = 5.0


def _levels(cell_bits: int, shape=(2, 2, 60, 100), seed: int = 0) -> np.ndarray:
    """Random ideal integer levels in ``[0, 2**c - 1]`` as float64 (12,000 cells by default)."""
    rng = np.random.default_rng(seed)
    return rng.integers(0, 2**cell_bits, size=shape).astype(np.float64)


def _assert_standard_normal(z: np.ndarray, what: str) -> None:
    """KS test against N(0, 1) plus 5-sigma bounds on the sample mean and standard deviation."""
    z = np.ravel(z)
    n = z.size
    ks = stats.kstest(z, "norm")
    assert ks.pvalue > KS_P_MIN, f"{what}: KS p = {ks.pvalue:.2e} (n = {n})"
    np.testing.assert_allclose(z.mean(), 0.0, atol=N_SIGMA / math.sqrt(n), err_msg=what)
    # std of the sample standard deviation of a normal sample is ~ 1 / sqrt(2 n)
    np.testing.assert_allclose(z.std(ddof=1), 1.0, atol=N_SIGMA / math.sqrt(2 * n), err_msg=what)


def _binomial_bound(count: int, n: int, p: float, what: str) -> None:
    sd = math.sqrt(n * p * (1 - p))
    assert abs(count - n * p) <= N_SIGMA * sd, f"{what}: {count} of {n}, expected {n * p:.1f}"


# ---- programming noise (drawn once) ------------------------------------------------------------
@pytest.mark.parametrize("cell_bits", [1, 2, 4])
def test_program_gaussian_level_model_has_std_sigma_in_level_units(cell_bits):
    sigma = 0.2
    cfg = CrossbarConfig(cell_bits=cell_bits, noise=NoiseConfig(program_sigma=sigma))
    ideal = _levels(cell_bits)
    got = program_levels(ideal, cfg, rng=np.random.default_rng(1))
    assert got.shape == ideal.shape and got.dtype == np.float64
    _assert_standard_normal((got - ideal) / sigma, "program level model")


@pytest.mark.parametrize("cell_bits", [1, 3])
def test_program_gaussian_range_model_has_std_sigma_times_level_span(cell_bits):
    sigma = 0.02
    cfg = CrossbarConfig(cell_bits=cell_bits,
                         noise=NoiseConfig(program_sigma=sigma, program_model="range"))
    ideal = _levels(cell_bits)
    got = program_levels(ideal, cfg, rng=np.random.default_rng(2))
    _assert_standard_normal((got - ideal) / (sigma * (2**cell_bits - 1)), "program range model")


def test_program_lognormal_is_gaussian_in_log_conductance_including_the_floor():
    sigma = 0.15
    cfg = CrossbarConfig(cell_bits=2, g_min=2e-6, g_max=5e-5,
                         noise=NoiseConfig(program_sigma=sigma, program_model="lognormal"))
    ideal = _levels(2)
    got = program_levels(ideal, cfg, rng=np.random.default_rng(3))
    dg = (cfg.g_max - cfg.g_min) / 3
    floor = cfg.g_min / dg
    # log of the programmed over the target absolute conductance: G' / G = exp(sigma z)
    z = np.log((floor + got) / (floor + ideal)) / sigma
    _assert_standard_normal(z, "lognormal model")
    # multiplicative: the spread in conductance units grows with the target level
    g_err = np.abs(got - ideal)
    assert g_err[ideal == 3].mean() > 2.0 * g_err[ideal == 0].mean()


def test_physical_programming_has_std_one_third_of_a_level():
    cfg = CrossbarConfig(cell_bits=3, noise=NoiseConfig(physical_programming=True))
    ideal = _levels(3)
    got = program_levels(ideal, cfg, rng=np.random.default_rng(4))
    _assert_standard_normal(3.0 * (got - ideal), "physical programming (dg / 3)")


@pytest.mark.parametrize("cell_bits", [2, 8])
def test_physical_programming_bits_fix_the_step_in_conductance(cell_bits):
    """PytorX's ``dg = range / 2**7``: std (2**c - 1) / 384 levels, the same in siemens for every c."""
    noise = NoiseConfig(physical_programming=True, physical_programming_bits=7)
    cfg = CrossbarConfig(cell_bits=cell_bits, noise=noise)
    ideal = _levels(cell_bits)
    got = program_levels(ideal, cfg, rng=np.random.default_rng(4))
    std_levels = (2**cell_bits - 1) / (3.0 * 2**7)
    assert cfg.physical_programming_std == std_levels
    _assert_standard_normal((got - ideal) / std_levels, "physical programming (range / 2**7 / 3)")
    std_siemens = std_levels * cfg.level_conductance
    np.testing.assert_allclose(std_siemens, (cfg.g_max - cfg.g_min) / 2**7 / 3.0, rtol=1e-12)


def test_program_noise_is_drawn_once_and_reproducible():
    cfg = CrossbarConfig(rows=8, weight_bits=5, input_bits=4,
                         noise=NoiseConfig(program_sigma=0.3))
    q = np.random.default_rng(5).integers(-15, 16, size=(6, 7))
    x = np.random.default_rng(6).integers(0, 16, size=(3, 6))
    a = program(q, cfg, rng=np.random.default_rng(7))
    b = program(q, cfg, rng=np.random.default_rng(7))
    c = program(q, cfg, rng=np.random.default_rng(8))
    np.testing.assert_array_equal(a.levels, b.levels)
    assert not np.array_equal(a.levels, c.levels)
    # no fresh draw per read: repeated products of one programmed matrix are identical
    np.testing.assert_array_equal(a.matmul(x, engine="numpy"), a.matmul(x, engine="numpy"))
    assert not np.array_equal(a.matmul(x, engine="numpy"), x @ q)


# ---- stuck-at faults ------------------------------------------------------------------------
@pytest.mark.parametrize(("on_rate", "off_rate"), [(0.1, 0.0), (0.0, 0.2), (0.05, 0.15)])
def test_stuck_at_rates_and_levels(on_rate, off_rate):
    cell_bits = 2
    top = 2**cell_bits - 1
    # targets strictly inside (0, top) so that a stuck cell is recognisable by its level; the
    # programming noise is continuous, so only stuck cells sit exactly on 0 or top.
    ideal = np.random.default_rng(9).integers(1, top, size=(2, 2, 50, 100)).astype(np.float64)
    cfg = CrossbarConfig(cell_bits=cell_bits,
                         noise=NoiseConfig(program_sigma=0.1, stuck_on_rate=on_rate,
                                           stuck_off_rate=off_rate))
    got = program_levels(ideal, cfg, rng=np.random.default_rng(10))
    n = got.size
    n_on = int(np.count_nonzero(got == top))
    n_off = int(np.count_nonzero(got == 0.0))
    _binomial_bound(n_on, n, on_rate, "stuck-at-on")
    _binomial_bound(n_off, n, off_rate, "stuck-at-off")
    if on_rate:
        assert n_on > 0
    if off_rate:
        assert n_off > 0


def test_stuck_cells_sit_exactly_at_the_extreme_levels():
    cfg = CrossbarConfig(cell_bits=3, noise=NoiseConfig(stuck_on_rate=0.3, stuck_off_rate=0.7))
    got = program_levels(_levels(3), cfg, rng=np.random.default_rng(11))
    assert set(np.unique(got).tolist()) == {0.0, 7.0}
    _binomial_bound(int(np.count_nonzero(got == 7.0)), got.size, 0.3, "stuck-at-on")


# ---- read noise (fresh per read) ------------------------------------------------------------
@pytest.mark.parametrize(("model", "cell_bits", "scale"), [("level", 2, 1.0), ("range", 3, 7.0)])
def test_read_noise_is_fresh_each_call_with_the_stated_std(model, cell_bits, scale):
    sigma = 0.05
    cfg = CrossbarConfig(cell_bits=cell_bits, noise=NoiseConfig(read_sigma=sigma, read_model=model))
    levels = _levels(cell_bits)
    np.testing.assert_allclose(read_std(levels, cfg), sigma * scale, rtol=1e-15)
    rng = np.random.default_rng(12)
    first = read_levels(levels, cfg, rng=rng)
    second = read_levels(levels, cfg, rng=rng)
    assert not np.any(first == second), "two reads from one generator must differ everywhere"
    np.testing.assert_array_equal(first, read_levels(levels, cfg, rng=np.random.default_rng(12)))
    np.testing.assert_array_equal(levels, _levels(cell_bits))  # input not mutated
    for read in (first, second):
        _assert_standard_normal((read - levels) / (sigma * scale), f"read noise {model}")
    # the two draws are independent: their difference has variance 2 sigma**2
    _assert_standard_normal((first - second) / (math.sqrt(2) * sigma * scale), "read difference")


def _thermal_var_by_hand(levels: np.ndarray, cfg: CrossbarConfig) -> np.ndarray:
    dg = (cfg.g_max - cfg.g_min) / (2**cfg.cell_bits - 1)
    g = cfg.g_min + levels * dg
    return g * cfg.frequency * 4.0 * K_B * cfg.temperature / cfg.read_voltage**2 / dg**2


def _shot_var_by_hand(levels: np.ndarray, cfg: CrossbarConfig) -> np.ndarray:
    dg = (cfg.g_max - cfg.g_min) / (2**cfg.cell_bits - 1)
    g = cfg.g_min + levels * dg
    return 2.0 * Q_E * g * cfg.frequency / cfg.read_voltage / dg**2


@pytest.mark.parametrize("temperature", [77.0, 300.0, 400.0])
@pytest.mark.parametrize("frequency", [1e6, 1e7, 1e9])
def test_thermal_read_std_matches_the_pytorx_formula(temperature, frequency):
    cfg = CrossbarConfig(cell_bits=2, temperature=temperature, frequency=frequency,
                         read_voltage=0.3, noise=NoiseConfig(thermal=True))
    levels = np.array([0.0, 1.0, 2.0, 3.0, 1.5])
    np.testing.assert_allclose(read_std(levels, cfg) ** 2, _thermal_var_by_hand(levels, cfg),
                               rtol=1e-12)


@pytest.mark.parametrize("frequency", [1e6, 1e8])
def test_shot_read_std_matches_the_pytorx_formula(frequency):
    levels = np.array([0.0, 1.0, 2.0, 3.0])
    cfg = CrossbarConfig(cell_bits=2, frequency=frequency, read_voltage=0.2,
                         noise=NoiseConfig(shot=True))
    np.testing.assert_allclose(read_std(levels, cfg) ** 2, _shot_var_by_hand(levels, cfg),
                               rtol=1e-12)
    # shot noise does not depend on the temperature
    hot = cfg.replace(temperature=600.0)
    np.testing.assert_array_equal(read_std(levels, hot), read_std(levels, cfg))


def test_thermal_variance_is_linear_in_temperature_and_frequency():
    levels = np.array([0.0, 1.0, 3.0])
    base = CrossbarConfig(cell_bits=2, noise=NoiseConfig(thermal=True))
    var = read_std(levels, base) ** 2
    assert np.all(var > 0)
    for factor in (2.0, 3.5):
        t = base.replace(temperature=base.temperature * factor)
        f = base.replace(frequency=base.frequency * factor)
        np.testing.assert_allclose(read_std(levels, t) ** 2, factor * var, rtol=1e-12)
        np.testing.assert_allclose(read_std(levels, f) ** 2, factor * var, rtol=1e-12)
    # the std grows as sqrt(f) (PytorX: sigma_G proportional to sqrt(f))
    f4 = base.replace(frequency=4 * base.frequency)
    np.testing.assert_allclose(read_std(levels, f4), 2.0 * read_std(levels, base), rtol=1e-12)


def test_gaussian_read_variances_add():
    levels = np.array([0.0, 1.0, 2.0, 3.0])
    sigma = 0.01
    cfg = CrossbarConfig(cell_bits=2, frequency=1e9,
                         noise=NoiseConfig(read_sigma=sigma, thermal=True, shot=True))
    want = sigma**2 + _thermal_var_by_hand(levels, cfg) + _shot_var_by_hand(levels, cfg)
    np.testing.assert_allclose(read_std(levels, cfg) ** 2, want, rtol=1e-12)


def test_thermal_and_shot_reads_are_gaussian_with_read_std():
    # a high bandwidth makes the physical noise large enough to be seen in level units
    cfg = CrossbarConfig(cell_bits=2, frequency=1e11, noise=NoiseConfig(thermal=True, shot=True))
    levels = _levels(2)
    std = read_std(levels, cfg)
    assert np.all(std > 1e-3)
    got = read_levels(levels, cfg, rng=np.random.default_rng(13))
    _assert_standard_normal((got - levels) / std, "thermal + shot")


# ---- random telegraph noise -----------------------------------------------------------------
@pytest.mark.parametrize("probability", [0.5, 0.1])
def test_rtn_hits_a_binomial_fraction_with_the_pytorx_offset(probability):
    cfg = CrossbarConfig(cell_bits=2, g_min=1e-6, g_max=1e-4,
                         noise=NoiseConfig(rtn=True, rtn_probability=probability))
    levels = _levels(2)
    got = read_levels(levels, cfg, rng=np.random.default_rng(14))
    delta = got - levels
    hit = delta != 0.0
    _binomial_bound(int(hit.sum()), levels.size, probability, "RTN hits")
    # the offset by hand: G (bG + a) / (G - (bG + a)) / dg, with G = g_min + l dg
    dg = (cfg.g_max - cfg.g_min) / 3
    g = cfg.g_min + levels * dg
    k = cfg.noise.rtn_b * g + cfg.noise.rtn_a
    want = g * k / (g - k) / dg
    assert np.all(want > 0)
    np.testing.assert_allclose(delta[hit], want[hit], rtol=1e-9)
    np.testing.assert_allclose(rtn_offset(levels, cfg), want, rtol=1e-12)
    # fresh each read
    assert not np.array_equal(hit, read_levels(levels, cfg, rng=np.random.default_rng(15))
                              != levels)


def test_rtn_probability_one_hits_every_cell_and_zero_none():
    cfg = CrossbarConfig(cell_bits=2, noise=NoiseConfig(rtn=True, rtn_probability=1.0))
    levels = _levels(2, shape=(4, 50))
    got = read_levels(levels, cfg, rng=np.random.default_rng(16))
    np.testing.assert_allclose(got - levels, rtn_offset(levels, cfg), rtol=1e-9)
    off = cfg.replace(noise=NoiseConfig(rtn=True, rtn_probability=0.0))
    np.testing.assert_array_equal(read_levels(levels, off, rng=np.random.default_rng(16)), levels)


# ---- independence of the sources; noise off --------------------------------------------------
def test_noise_off_leaves_levels_unchanged_and_integer():
    cfg = CrossbarConfig(cell_bits=3)
    ideal = np.random.default_rng(17).integers(0, 8, size=(2, 3, 5, 7))
    got = program_levels(ideal, cfg, rng=None)
    assert got.dtype == np.float64
    np.testing.assert_array_equal(got, ideal)
    np.testing.assert_array_equal(got, np.rint(got))
    np.testing.assert_array_equal(read_levels(got, cfg, rng=None), ideal)


def test_read_noise_does_not_touch_programming_and_programming_does_not_read():
    q = np.random.default_rng(18).integers(-127, 128, size=(9, 5))
    read_only = CrossbarConfig(noise=NoiseConfig(read_sigma=0.2, thermal=True, rtn=True))
    rng = np.random.default_rng(19)
    state = rng.bit_generator.state
    m = program(q, read_only, rng=rng)
    assert rng.bit_generator.state == state, "programming drew numbers for read-only noise"
    np.testing.assert_array_equal(m.levels, encode_weights(q, read_only))
    # programming noise alone is drawn at program time only
    prog_only = CrossbarConfig(noise=NoiseConfig(program_sigma=0.1))
    p = program(q, prog_only, rng=np.random.default_rng(20))
    rng = np.random.default_rng(21)
    state = rng.bit_generator.state
    x = np.random.default_rng(22).integers(0, 256, size=(2, 9))
    p.matmul(x, rng=rng, engine="numpy")
    assert rng.bit_generator.state == state, "matmul drew numbers with no read noise on"


# ---- MVM level: read noise through the engine ------------------------------------------------
@pytest.mark.parametrize(("encoding", "signed_inputs"),
                         [("differential", False), ("offset", False), ("differential", True)])
def test_matmul_read_noise_mean_and_variance(encoding, signed_inputs):
    """Mean over reads -> ``x @ q``; variance = sum_i sum_s sum_sign (x_i 2**(c s))**2 sigma**2.

    Each matmul call draws one perturbation ``e`` per cell (N(0, sigma**2) in level units),
    shared by the batch rows and all input cycles. Output ``j`` of row ``x`` is
    ``sum_sign +-sum_s 2**(c s) sum_t w_t sum_i digit_t(x_i) (l + e)``, and
    ``sum_t w_t digit_t(x_i) = x_i``, so its noise is ``sum_sign +-sum_s 2**(c s) sum_i x_i e``.
    """
    sigma = 0.05
    n_reads = 400
    cfg = CrossbarConfig(rows=4, cell_bits=2, weight_bits=5, input_bits=4, dac_bits=1,
                         encoding=encoding, signed_inputs=signed_inputs, adc_bits=None,
                         noise=NoiseConfig(read_sigma=sigma, read_model="level"))
    assert cfg.n_slices >= 2  # 2 (differential) or 3 (offset: 5 unsigned bits)
    n_in, n_out = 6, 40
    q = np.random.default_rng(23).integers(-cfg.q_max, cfg.q_max + 1, size=(n_in, n_out))
    x = np.random.default_rng(24).integers(cfg.x_min, cfg.x_max + 1, size=(3, n_in))
    x[0] = cfg.x_max  # a row with every input at the top, and
    x[1, ::2] = 0  # one with zeros
    m = program(q, cfg)
    exact = (x @ q).astype(np.float64)
    rng = np.random.default_rng(25)
    ys = np.stack([m.matmul(x, rng=rng, engine="numpy") for _ in range(n_reads)])
    assert ys.shape == (n_reads, 3, n_out)

    slice_weights_sq = sum(2.0 ** (2 * cfg.cell_bits * s) for s in range(cfg.n_slices))
    var_pred = cfg.n_signs * slice_weights_sq * sigma**2 * (x.astype(np.float64) ** 2).sum(axis=1)
    assert np.all(var_pred > 0)

    # mean: every output within 5 standard errors of the exact product
    mean = ys.mean(axis=0)
    se = np.sqrt(var_pred / n_reads)[:, None]
    z_mean = (mean - exact) / se
    assert np.max(np.abs(z_mean)) < N_SIGMA, f"max |z| of the mean = {np.max(np.abs(z_mean))}"

    # variance: outputs are independent across columns (disjoint cells), so pool the columns
    # of one row: n_out * (n_reads - 1) degrees of freedom, relative std sqrt(2 / dof) ~ 1.1 %;
    # allow 6 %.
    var_emp = ys.var(axis=0, ddof=1).mean(axis=1)
    np.testing.assert_allclose(var_emp, var_pred, rtol=0.06, err_msg="per-output variance")
    # and per column, a looser bound (relative std of one column's variance ~ 7 %)
    np.testing.assert_allclose(ys.var(axis=0, ddof=1), np.broadcast_to(var_pred[:, None],
                               (3, n_out)), rtol=0.4)

    # rows of one call share the draw, so the noise of rows a and b has correlation
    # x_a . x_b / (|x_a| |x_b|); 16,000 pairs give a standard error below 0.01.
    resid = ys - exact
    xf = x.astype(np.float64)
    for a, b in ((0, 1), (0, 2), (1, 2)):
        corr = np.corrcoef(resid[:, a, :].ravel(), resid[:, b, :].ravel())[0, 1]
        want = xf[a] @ xf[b] / np.sqrt((xf[a] @ xf[a]) * (xf[b] @ xf[b]))
        np.testing.assert_allclose(corr, want, atol=0.05, err_msg=f"rows {a}, {b}")


def test_matmul_read_noise_numba_equals_numpy_for_one_generator_state():
    """The statistics above (numpy engine) carry over: both engines use the same draws."""
    cfg = CrossbarConfig(rows=4, weight_bits=5, input_bits=4,
                         noise=NoiseConfig(read_sigma=0.05, thermal=True))
    q = np.random.default_rng(26).integers(-15, 16, size=(6, 9))
    x = np.random.default_rng(27).integers(0, 16, size=(3, 6))
    m = program(q, cfg)
    a = m.matmul(x, rng=np.random.default_rng(28), engine="numba")
    b = m.matmul(x, rng=np.random.default_rng(28), engine="numpy")
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, m.matmul(x, rng=np.random.default_rng(29), engine="numba"))

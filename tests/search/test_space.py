"""Design variables and spaces: exact encode/decode round trips, level coverage of the samplers,
valid configs, sizes, and error messages that name the variable, the rule and the value."""

from __future__ import annotations

import dataclasses
import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from crossbar import ConfigError, CrossbarConfig
from crossbar.errors import InputError, ShapeError
from search.space import (
    Choice,
    DesignSpace,
    FloatRange,
    IntegerRange,
    LogFloatRange,
    default_reram_space,
    square_crossbar,
    variable_from_dict,
)

SETTINGS = settings(max_examples=60, deadline=None)
_finite = dict(allow_nan=False, allow_infinity=False)
_unit = st.floats(0.0, 1.0, **_finite)


# ---- strategies ------------------------------------------------------------------------------
@st.composite
def integer_ranges(draw) -> IntegerRange:
    low = draw(st.integers(-1000, 1000))
    return IntegerRange("v", low=low, high=low + draw(st.integers(1, 300)))


@st.composite
def choices(draw) -> Choice:
    kind = draw(st.sampled_from(["int", "float", "str"]))
    if kind == "int":
        elem = st.integers(-(2**40), 2**40)
    elif kind == "float":
        elem = st.floats(-1e12, 1e12, **_finite)
    else:
        elem = st.text(min_size=0, max_size=6)
    values = draw(st.lists(elem, min_size=1, max_size=12, unique=True))
    return Choice("v", values=tuple(values))


@st.composite
def float_ranges(draw) -> FloatRange:
    low = draw(st.floats(-1e6, 1e6, **_finite))
    return FloatRange("v", low=low, high=low + draw(st.floats(1e-3, 1e6, **_finite)))


@st.composite
def log_ranges(draw) -> LogFloatRange:
    low = draw(st.floats(1e-12, 1e9, **_finite))
    return LogFloatRange("v", low=low, high=low * draw(st.floats(1.001, 1e6, **_finite)))


discrete_vars = integer_ranges() | choices()
continuous_vars = float_ranges() | log_ranges()


def _levels(var) -> list:
    return list(range(var.low, var.high + 1)) if isinstance(var, IntegerRange) else list(var.values)


# ---- variables: round trips ------------------------------------------------------------------
@SETTINGS
@given(var=discrete_vars)
def test_discrete_decode_encode_is_identity_on_every_level(var):
    levels = _levels(var)
    u = var.encode(np.array(levels, dtype=object))
    assert u.shape == (len(levels),)
    assert np.all((u > 0.0) & (u < 1.0))
    np.testing.assert_array_equal(np.diff(u) > 0, True, err_msg="bins must follow the level order")
    back = var.decode(u).tolist()
    assert back == levels
    assert [type(b) for b in back] == [type(v) for v in levels]


@SETTINGS
@given(var=discrete_vars, u=st.lists(_unit, min_size=1, max_size=20))
def test_discrete_decode_lands_in_own_bin(var, u):
    u = np.array(u)
    snapped = var.encode(np.asarray(var.decode(u), dtype=object))
    n = var.n_levels
    assert np.all(np.abs(snapped - u) <= 0.5 / n + 1e-12)
    np.testing.assert_array_equal(var.decode(snapped), var.decode(u))


@SETTINGS
@given(var=continuous_vars, u=st.lists(_unit, min_size=1, max_size=20))
def test_continuous_round_trips(var, u):
    u = np.array(u)
    values = var.decode(u)
    assert np.all((values >= var.low) & (values <= var.high))
    # rounding of the affine (or log-affine) map, relative to the range width
    lo, hi = (var.low, var.high) if isinstance(var, FloatRange) else (math.log(var.low), math.log(var.high))
    eps = np.finfo(np.float64).eps
    atol_u = 8 * eps * (1.0 + max(abs(lo), abs(hi), 1.0) / (hi - lo))
    np.testing.assert_allclose(var.encode(values), u, rtol=0, atol=atol_u)
    np.testing.assert_allclose(var.decode(var.encode(values)), values, rtol=1e-12, atol=0)


@pytest.mark.parametrize("var", [FloatRange("x", low=-2.0, high=3.0), LogFloatRange("x", low=1e-3, high=1e4)])
def test_continuous_end_points_are_exact(var):
    assert var.decode(0.0).item() == var.low
    assert var.decode(1.0).item() == var.high
    assert var.encode(var.low).item() == 0.0
    assert var.encode(var.high).item() == 1.0


def test_log_range_midpoint_is_geometric_mean():
    v = LogFloatRange("frequency", low=1e8, high=1e9)
    np.testing.assert_allclose(v.decode(0.5), math.sqrt(1e8 * 1e9), rtol=1e-14)


def test_integer_range_bins_by_hand():
    v = IntegerRange("adc_bits", low=3, high=10)  # 8 bins of width 1/8
    np.testing.assert_array_equal(v.decode([0.0, 0.1249, 0.125, 0.5, 0.999, 1.0]), [3, 3, 4, 7, 10, 10])
    np.testing.assert_array_equal(v.encode([3, 10]), [1 / 16, 15 / 16])
    assert v.encode(4.0).item() == v.encode(4).item()  # an integral float is accepted


def test_mixed_type_choice_keeps_each_levels_type():
    v = Choice("x", values=(1, 2.5))
    assert [type(x) for x in v.decode([0.1, 0.9]).tolist()] == [int, float]


# ---- design spaces ---------------------------------------------------------------------------
@st.composite
def spaces(draw) -> DesignSpace:
    kinds = draw(st.lists(discrete_vars | continuous_vars, min_size=1, max_size=6))
    variables = [dataclasses.replace(v, name=f"v{i}") for i, v in enumerate(kinds)]
    return DesignSpace(variables, config_fn=lambda config, design: config)


@SETTINGS
@given(space=spaces(), data=st.data())
def test_space_designs_round_trip_exactly(space, data):
    n = data.draw(st.integers(0, 8))
    U = np.array(
        data.draw(
            st.lists(st.lists(_unit, min_size=space.n_var, max_size=space.n_var), min_size=n, max_size=n)
        )
    ).reshape(n, space.n_var)
    designs = space.decode(U)
    assert len(designs) == n
    X = space.encode(designs)
    assert X.shape == (n, space.n_var)
    again = space.decode(X)
    for d, e in zip(designs, again, strict=True):
        for var in space.variables:
            if var.is_discrete:
                assert d[var.name] == e[var.name]
            else:
                np.testing.assert_allclose(e[var.name], d[var.name], rtol=1e-12)
    discrete = [j for j, v in enumerate(space.variables) if v.is_discrete]
    np.testing.assert_array_equal(space.snap(U)[:, discrete], X[:, discrete])  # snap == encode(decode)


def test_default_space_round_trip_and_python_types():
    space = default_reram_space()
    designs = space.sample(50, rng=np.random.default_rng(0))
    again = space.decode(space.encode(designs))
    for d, e in zip(designs, again, strict=True):
        assert {k: d[k] for k in ("crossbar_size", "cell_bits", "adc_bits", "weight_bits")} == {
            k: e[k] for k in ("crossbar_size", "cell_bits", "adc_bits", "weight_bits")
        }
        np.testing.assert_allclose(
            [e["frequency"], e["temperature"]], [d["frequency"], d["temperature"]], rtol=1e-12
        )
    json.dumps(designs)  # plain Python numbers
    for d in designs:
        assert isinstance(d["crossbar_size"], int) and isinstance(d["adc_bits"], int)
        assert isinstance(d["frequency"], float) and isinstance(d["temperature"], float)


def test_single_design_encode_decode():
    space = default_reram_space()
    design = {
        "crossbar_size": 256,
        "cell_bits": 8,
        "adc_bits": 10,
        "frequency": 1e9,
        "temperature": 400.0,
        "weight_bits": 8,
    }
    x = space.encode(design)
    assert x.shape == (6,)
    assert space.decode(x) == design


def test_uniform_sampling_covers_every_level_evenly():
    space = default_reram_space()
    n = 4000
    cols = space.decode_columns(space.sample_unit(n, rng=np.random.default_rng(1)))
    for var in space.variables:
        if var.is_discrete:
            levels = _levels(var)
            counts = np.array([np.sum(cols[var.name] == lv) for lv in levels])
            seen = dict(zip(levels, counts.tolist(), strict=True))
            assert counts.min() > 0, f"{var.name}: a level was never drawn: {seen}"
            # chi-square goodness of fit against equal probabilities, fixed seed, threshold 1e-3
            p = stats.chisquare(counts).pvalue
            assert p > 1e-3, f"{var.name}: counts {counts} are not uniform (p = {p:.2g})"
    # continuous: temperature uniform, frequency log-uniform (KS test, threshold 1e-3)
    assert stats.kstest(cols["temperature"], stats.uniform(300.0, 100.0).cdf).pvalue > 1e-3
    assert stats.kstest(np.log10(cols["frequency"]), stats.uniform(8.0, 1.0).cdf).pvalue > 1e-3


def test_sobol_sampling_is_balanced():
    space = default_reram_space()
    cols = space.decode_columns(space.sample_unit(64, rng=np.random.default_rng(2), method="sobol"))
    # the first 2^k points of a scrambled Sobol' sequence put 2^k / b points in each of b = 2^j bins
    np.testing.assert_array_equal(np.unique(cols["crossbar_size"], return_counts=True)[1], [16] * 4)
    np.testing.assert_array_equal(np.unique(cols["adc_bits"], return_counts=True)[1], [8] * 8)
    assert space.sample_unit(5, rng=np.random.default_rng(2), method="sobol").shape == (5, 6)


@pytest.mark.parametrize("method", ["uniform", "sobol"])
def test_sampling_is_deterministic_per_seed(method):
    space = default_reram_space()
    a = space.sample_unit(16, rng=np.random.default_rng(3), method=method)
    b = space.sample_unit(16, rng=np.random.default_rng(3), method=method)
    c = space.sample_unit(16, rng=np.random.default_rng(4), method=method)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    assert space.sample(0, rng=np.random.default_rng(0)) == []


def test_sampled_designs_give_valid_configs():
    space = default_reram_space(base=CrossbarConfig(input_bits=6))
    for d in space.sample(200, rng=np.random.default_rng(5)):
        cfg = space.to_config(d)
        assert isinstance(cfg, CrossbarConfig)
        assert cfg.rows == cfg.cols == d["crossbar_size"]
        got = (cfg.cell_bits, cfg.adc_bits, cfg.weight_bits)
        assert got == (d["cell_bits"], d["adc_bits"], d["weight_bits"])
        assert cfg.frequency == d["frequency"] and cfg.temperature == d["temperature"]
        assert cfg.input_bits == 6  # from the base
        assert CrossbarConfig.from_dict(cfg.to_dict()) == cfg


def test_size():
    assert default_reram_space().size == math.inf
    discrete = DesignSpace(
        tuple(v for v in default_reram_space().variables if v.is_discrete), config_fn=square_crossbar
    )
    assert discrete.size == 4 * 6 * 8 * 3 == 576
    assert discrete.is_discrete and not default_reram_space().is_discrete


def test_string_choice_and_custom_mapping():
    def apply(config, design):
        return config.replace(g_max=config.g_min * design["on_off_ratio"])

    space = DesignSpace(
        (
            Choice("encoding", values=("differential", "offset")),
            LogFloatRange("on_off_ratio", low=10, high=1e3),
        ),
        config_fn=apply,
    )
    cfg = space.to_config({"encoding": "offset", "on_off_ratio": 100.0})
    assert cfg.encoding == "offset"
    np.testing.assert_allclose(cfg.g_max, 100.0 * cfg.g_min, rtol=1e-12)


def test_serialization_round_trip():
    space = default_reram_space()
    text = json.dumps(space.to_dict())
    assert DesignSpace.from_dict(json.loads(text)) == space
    for v in space.variables:
        assert variable_from_dict(v.to_dict()) == v


def test_frozen():
    space = default_reram_space()
    with pytest.raises(dataclasses.FrozenInstanceError):
        space.base = CrossbarConfig()  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        space.variables[0].values = (1,)  # type: ignore[misc]


# ---- errors ----------------------------------------------------------------------------------
_ADC = IntegerRange("adc_bits", low=3, high=5)
_SIZE = IntegerRange("size", low=3, high=5)


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: Choice("cell_bits", values=()), r"Choice\('cell_bits'\)\.values must hold at least one"),
        (lambda: Choice("cell_bits", values=(1, 1)), "must be distinct"),
        (lambda: Choice("cell_bits", values=(1, "a")), "all finite numbers .* or all strings"),
        (lambda: Choice("flag", values=(True, False)), "no bools"),
        (lambda: Choice("cell_bits", values="12"), "sequence of levels"),
        (lambda: IntegerRange("adc_bits", low=5, high=5), r"low < high; got low=5, high=5"),
        (lambda: IntegerRange("adc_bits", low=3.5, high=5), r"\.low must be an integer; got 3.5"),
        (lambda: FloatRange("temperature", low=400.0, high=300.0), "low < high"),
        (lambda: FloatRange("temperature", low=300.0, high=math.inf), "finite number"),
        (lambda: LogFloatRange("frequency", low=0.0, high=1e9), "low must be > 0"),
        (lambda: IntegerRange("adc bits", low=3, high=5), "identifier"),
        (lambda: DesignSpace(()), "at least one variable"),
        (lambda: DesignSpace((_ADC, _ADC)), r"distinct names; \['adc_bits'\]"),
        (lambda: DesignSpace((_SIZE,)), r"\['size'\] are not CrossbarConfig fields"),
        (lambda: DesignSpace(("adc_bits",)), "instances"),
        (lambda: DesignSpace((_ADC,), base={}), "base must be a CrossbarConfig"),
        (lambda: variable_from_dict({"type": "Range", "name": "x"}), "must be one of"),
        (
            lambda: variable_from_dict({"type": "IntegerRange", "name": "x", "low": 1}),
            r"missing keys \['high'\]",
        ),
    ],
)
def test_bad_specs_raise_clear_errors(make, match):
    with pytest.raises(ConfigError, match=match):
        make()


def test_config_error_is_a_value_error():
    with pytest.raises(ValueError):
        Choice("x", values=())


def test_bad_values_and_arrays():
    space = default_reram_space()
    good = space.decode(np.full(6, 0.5))
    with pytest.raises(ConfigError, match=r"'adc_bits'\) accepts integers in \[3, 10\]; got 11\.$"):
        space.encode({**good, "adc_bits": 11})
    with pytest.raises(ConfigError, match=r"'crossbar_size'\) must be one of \[32, 64, 128, 256\]; got 48"):
        space.to_config({**good, "crossbar_size": 48})
    with pytest.raises(ConfigError, match=r"LogFloatRange\('frequency'\) accepts values in .*got 1000.0"):
        space.encode({**good, "frequency": 1e3})
    with pytest.raises(ConfigError, match=r"missing \['weight_bits'\], unknown \['rows'\]"):
        space.encode({**{k: v for k, v in good.items() if k != "weight_bits"}, "rows": 64})
    with pytest.raises(ShapeError, match=r"shape \(n, 6\)"):
        space.decode(np.zeros((2, 5)))
    with pytest.raises(InputError, match="unit cube"):
        space.decode(np.full((1, 6), 1.5))
    with pytest.raises(InputError, match="finite"):
        space.snap(np.full((1, 6), np.nan))
    with pytest.raises(ConfigError, match="method must be 'uniform' or 'sobol'"):
        space.sample(2, rng=np.random.default_rng(0), method="lhs")
    with pytest.raises(ConfigError, match="numpy.random.Generator"):
        space.sample(2, rng=0)
    with pytest.raises(ConfigError, match="n must be an integer >= 0"):
        space.sample(-1, rng=np.random.default_rng(0))


def test_invalid_resulting_config_names_the_design():
    space = DesignSpace((IntegerRange("dac_bits", low=1, high=8),), base=CrossbarConfig(input_bits=4))
    msg = r"design \{'dac_bits': 6\} is not a valid crossbar: .*dac_bits must be <= input_bits"
    with pytest.raises(ConfigError, match=msg):
        space.to_config({"dac_bits": 6})


def test_config_fn_must_return_a_config():
    space = DesignSpace((IntegerRange("size", low=3, high=5),), config_fn=lambda config, design: None)
    with pytest.raises(ConfigError, match="must return a CrossbarConfig; got NoneType for design"):
        space.to_config({"size": 4})


def test_msb_adc_bits_gives_the_top_slice_its_own_adc():
    space = DesignSpace((Choice("crossbar_size", values=(64, 128)), IntegerRange("adc_bits", low=3, high=8),
                         IntegerRange("msb_adc_bits", low=1, high=4)), config_fn=square_crossbar)
    cfg = space.to_config({"crossbar_size": 64, "adc_bits": 5, "msb_adc_bits": 2})
    assert cfg.adc_bits == (5, 5, 5, 2) and cfg.rows == cfg.cols == 64
    wide = DesignSpace(space.variables, base=CrossbarConfig(weight_bits=9, cell_bits=1), config_fn=square_crossbar)
    assert wide.to_config({"crossbar_size": 64, "adc_bits": 5, "msb_adc_bits": 2}).adc_bits == (5,) * 7 + (2,)
    no_bits = DesignSpace((Choice("crossbar_size", values=(64,)), IntegerRange("msb_adc_bits", low=1, high=4)),
                          config_fn=square_crossbar)
    with pytest.raises(ConfigError, match="msb_adc_bits needs one integer adc_bits"):
        no_bits.to_config({"crossbar_size": 64, "msb_adc_bits": 2})

"""ADC attribution and the greedy ADC plan (mapping.nn.adc) against independent evaluations."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from crossbar import CrossbarConfig, NoiseConfig
from crossbar.errors import ConfigError
from mapping.nn import convert, crossbar_layers, reconfigure, set_mode
from mapping.nn.adc import _Adc, _config, adc_attribution, network_cost, plan_adc_bits
from mapping.nn.specs import specs_from_torch
from mapping.nn.train import evaluate
from mapping.plan import place

LOSSY = CrossbarConfig(rows=32, weight_bits=9, cell_bits=2, adc_bits=(3, 3, 3, 1), adc_range=(7.0, 7.0, 7.0, 1.0))
IDEAL = LOSSY.replace(adc_bits=None, adc_range="max")


def _setup(cfg: CrossbarConfig = LOSSY):
    """A random 40-24-10 MLP and labels its ideal-ADC crossbar forward gives (ideal accuracy 1)."""
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(40, 24), nn.ReLU(), nn.Linear(24, 10))
    x = np.random.default_rng(0).random((256, 40)).astype(np.float32)
    ideal = set_mode(convert(net, IDEAL), "hardware")
    with torch.no_grad():
        y = ideal(torch.as_tensor(x)).argmax(-1).numpy()
    return convert(net, cfg), x, y


def _unit_step(bits) -> CrossbarConfig:
    """LOSSY with these per-slice bits at step 1 (full scale 2**B - 1)."""
    return LOSSY.replace(adc_bits=tuple(bits), adc_range=tuple(2.0**b - 1 for b in bits))


def _acc(model, configs, x, y) -> float:
    return evaluate(reconfigure(model, configs), x, y, mode="hardware").mean


def test_a_lossless_slice_adc_equals_the_ideal_adc_bit_for_bit():
    xn, x, _ = _setup()
    lossless = _config(LOSSY, [_Adc(None, None)] * 4)
    assert lossless.adc_bits is None
    mixed = _config(LOSSY, [_Adc(None, None), _Adc(3, 7.0), _Adc(None, None), _Adc(None, None)])
    assert mixed.adc_bits == (7, 3, 7, 7) and mixed.adc_range == (127.0, 7.0, 127.0, 127.0)  # 32 rows x 3 = 96
    only_slice_1 = LOSSY.replace(adc_bits=(24, 3, 24, 24), adc_range=(2.0**24 - 1, 7.0, 2.0**24 - 1, 2.0**24 - 1))
    xt = torch.as_tensor(x)
    with torch.no_grad():
        a = set_mode(reconfigure(xn, mixed), "hardware")(xt)
        b = set_mode(reconfigure(xn, only_slice_1), "hardware")(xt)
        c = set_mode(reconfigure(xn, IDEAL), "hardware")(xt)
        d = set_mode(reconfigure(xn, mixed.replace(adc_bits=(7, 7, 7, 7), adc_range=(127.0,) * 4)), "hardware")(xt)
    assert torch.equal(a, b), "the lossless step-1 ADC must return every integer column sum"
    assert torch.equal(c, d)
    assert not torch.equal(a, c), "slice 1's 3-bit ADC must clip somewhere in this model"


def test_attribution_matches_independent_evaluations():
    xn, x, y = _setup()
    a = adc_attribution(xn, x, y)
    assert a.layers == ("0", "2")
    assert a.ideal_accuracy == 1.0
    assert a.accuracy == _acc(xn, {"0": LOSSY, "2": LOSSY}, x, y) < 0.9
    assert a.layer_accuracy[0] == _acc(xn, {"0": LOSSY, "2": IDEAL}, x, y)
    assert a.layer_accuracy[1] == _acc(xn, {"0": IDEAL, "2": LOSSY}, x, y)
    msb_only = LOSSY.replace(adc_bits=(7, 7, 7, 1), adc_range=(127.0, 127.0, 127.0, 1.0))
    assert a.slice_accuracy[1, 3] == _acc(xn, {"0": IDEAL, "2": msb_only}, x, y)
    assert a.slice_accuracy.shape == (2, 4) and np.all(a.slice_accuracy <= 1.0)
    assert a.slice_accuracy[0, 3] < 1.0, "the 1-bit MSB ADC must cost something here"


def test_attribution_of_a_lossless_model_is_the_ideal_accuracy_everywhere():
    xn, x, y = _setup(LOSSY.replace(adc_bits=7, adc_range=127.0))
    a = adc_attribution(xn, x, y)
    assert a.accuracy == a.ideal_accuracy == 1.0
    assert np.all(a.layer_accuracy == 1.0) and np.all(a.slice_accuracy == 1.0)


def test_plan_steps_are_greedy_and_reproducible():
    xn, x, y = _setup()
    plan = plan_adc_bits(xn, x, y, max_loss=1.0)
    assert plan.met and 100 * (plan.ideal_accuracy - plan.accuracy) <= 1.0
    assert plan.start_accuracy == _acc(xn, {"0": LOSSY, "2": LOSSY}, x, y)
    assert plan.accuracy == _acc(xn, plan.configs, x, y)
    assert plan.extra_bits == len(plan.steps) == int((plan.bits - plan.start_bits).sum()) > 0
    assert plan.start_bits.tolist() == [[3, 3, 3, 1], [3, 3, 3, 1]]
    # replay: every step adds one bit at the same step (here 1: FS = 2**B - 1) and reaches its accuracy
    bits = {name: [3, 3, 3, 1] for name in plan.layers}
    assert len(plan.path) == len(plan.steps) and plan.path[-1] == plan.configs
    for (k, s, b, acc), configs in zip(plan.steps, plan.path, strict=True):
        name = plan.layers[k]
        assert bits[name][s] + 1 == b
        bits[name][s] = b
        assert configs == {n: _unit_step(v) for n, v in bits.items()}, "the path holds each step's configs"
        assert acc == _acc(xn, configs, x, y)
    assert {n: c.adc_bits for n, c in plan.configs.items()} == {n: tuple(v) for n, v in bits.items()}
    # the first step is the best single widening (ties: first in layer, then slice order)
    trials = []
    for name in plan.layers:
        for s in range(4):
            v = [3, 3, 3, 1]
            v[s] += 1
            other = {n: LOSSY for n in plan.layers if n != name}
            trials.append(_acc(xn, {**other, name: _unit_step(v)}, x, y))
    k, s, _, acc = plan.steps[0]
    assert int(np.argmax(trials)) == 4 * k + s and acc == max(trials)
    again = plan_adc_bits(xn, x, y, max_loss=1.0)
    assert again.steps == plan.steps and again.configs == plan.configs


def test_plan_stops_at_max_steps_and_when_nothing_is_left():
    xn, x, y = _setup()
    none = plan_adc_bits(xn, x, y, max_steps=0)
    assert none.steps == () == none.path and not none.met and none.accuracy == none.start_accuracy
    assert np.array_equal(none.bits, none.start_bits)
    two = plan_adc_bits(xn, x, y, max_loss=0.0, max_steps=2)
    assert len(two.steps) == 2
    full = plan_adc_bits(xn, x, y, max_loss=0.0)  # widen until met or every range covers 96 = 32 x 3
    assert full.met or all(c.adc_range[s] >= 96 for c in full.configs.values() for s in range(4))
    maxed = convert(nn.Sequential(nn.Linear(40, 10)), LOSSY.replace(adc_range="max"))
    assert plan_adc_bits(maxed, x, np.zeros(256, dtype=np.int64)).steps == (), \
        "'max' ranges already cover every column sum: nothing to widen"


def test_trim_leaves_a_one_minimal_plan_within_the_target():
    from mapping.nn.adc import _slice_adcs

    xn, x, y = _setup()
    greedy = plan_adc_bits(xn, x, y, max_loss=0.0)
    plan = plan_adc_bits(xn, x, y, max_loss=0.0, trim=True)
    assert plan.steps == greedy.steps and plan.path == greedy.path and len(plan.trims) >= 1  # greedy was redundant
    assert plan.met and plan.accuracy == plan.ideal_accuracy == _acc(xn, plan.configs, x, y)
    assert plan.extra_bits == int((plan.bits - plan.start_bits).sum()) == len(greedy.steps) - len(plan.trims)
    for k, s, bits, _ in plan.trims:  # each trim took one bit off an ADC the greedy pass had widened
        assert plan.start_bits[k, s] <= bits < greedy.bits[k, s]
    # brute force: no widened ADC can lose one more bit (same step) and stay within the target
    names = list(plan.layers)
    for k, name in enumerate(names):
        cfg = plan.configs[name]
        for s, adc in enumerate(_slice_adcs(name, cfg)):
            if adc.bits is None or adc.bits <= plan.start_bits[k, s]:
                continue
            narrower = list(_slice_adcs(name, cfg))
            step = adc.full_scale / cfg.adc_top_code(adc.bits)
            narrower[s] = _Adc(adc.bits - 1, step * cfg.adc_top_code(adc.bits - 1))
            trial = {**plan.configs, name: _config(cfg, narrower)}
            assert _acc(xn, trial, x, y) < plan.ideal_accuracy, (name, s)
    # an unmet plan is not trimmed; bad input
    assert plan_adc_bits(xn, x, y, max_loss=0.0, max_steps=2, trim=True).trims == ()
    with pytest.raises(ConfigError, match="trim must be True or False; got 1"):
        plan_adc_bits(xn, x, y, trim=1)


def test_adc_study_rejects_bad_inputs():
    xn, x, y = _setup()
    with pytest.raises(ConfigError, match="max_loss must be a number of percentage points >= 0; got -1"):
        plan_adc_bits(xn, x, y, max_loss=-1)
    with pytest.raises(ConfigError, match="max_steps must be None or an integer >= 0; got 1.5"):
        plan_adc_bits(xn, x, y, max_steps=1.5)
    with pytest.raises(ConfigError, match="no crossbar layers"):
        adc_attribution(nn.Sequential(nn.Linear(40, 10)), x, y)
    noisy = reconfigure(xn, LOSSY.replace(noise=NoiseConfig(program_sigma=0.1, program_model="level")))
    with pytest.raises(ConfigError, match="layer '0' has device noise"):
        adc_attribution(noisy, x, y)
    with pytest.raises(ConfigError, match="adc_range='calibrated'"):
        plan_adc_bits(reconfigure(xn, LOSSY.replace(adc_bits=3, adc_range="calibrated")), x, y)
    assert [layer.xbar.config for _, layer in crossbar_layers(xn)] == [LOSSY, LOSSY], "the model is not modified"


def test_reconfigure_takes_per_layer_configs():
    xn, _, _ = _setup()
    out = reconfigure(xn, {"2": IDEAL})
    assert [layer.xbar.config for _, layer in crossbar_layers(out)] == [LOSSY, IDEAL]
    with pytest.raises(ConfigError, match="names must be None when config is a dict"):
        reconfigure(xn, {"2": IDEAL}, names=["2"])
    with pytest.raises(ConfigError, match=r"no crossbar layers named \['9'\]"):
        reconfigure(xn, {"9": IDEAL})
    with pytest.raises(ConfigError, match="per-layer configs must be CrossbarConfig"):
        reconfigure(xn, {"2": None})


def _bits(configs) -> int:
    return sum(sum(c.slice_adc_bits()) for c in configs.values())


def test_plan_with_a_bit_count_cost_is_the_plain_plan():
    xn, x, y = _setup()
    plain = plan_adc_bits(xn, x, y, max_loss=1.0)
    counted = plan_adc_bits(xn, x, y, max_loss=1.0, cost=_bits)
    assert counted.steps == plain.steps and counted.configs == plain.configs
    assert plain.cost is None and counted.start_cost == 20 and counted.cost == 20 + counted.extra_bits


def test_cost_aware_plan_takes_the_most_accuracy_per_cost():
    xn, x, y = _setup()

    def cost(configs):  # layer "0"'s ADC bits cost 8x (e.g. it converts 8x as often)
        return 8 * sum(configs["0"].slice_adc_bits()) + sum(configs["2"].slice_adc_bits())

    plan = plan_adc_bits(xn, x, y, max_loss=1.0, max_steps=1, cost=cost)
    start = _acc(xn, {"0": LOSSY, "2": LOSSY}, x, y)
    options = []  # (gain / extra cost, layer, slice) of every first widening, by the documented rule
    for k, name in enumerate(("0", "2")):
        for s in range(4):
            v = [3, 3, 3, 1]
            v[s] += 1
            gain = _acc(xn, {"0": LOSSY, "2": LOSSY, name: _unit_step(v)}, x, y) - start
            options.append(((1, gain / (8 if k == 0 else 1)) if gain > 0 else (0, gain), -k, -s))
    best = max(options)
    assert best[0][0] == 1, "some single widening must gain here"
    k, s, _, _ = plan.steps[0]
    assert (-k, -s) == best[1:]
    assert plan.cost == cost(plan.configs) == plan.start_cost + (8 if k == 0 else 1)
    plain = plan_adc_bits(xn, x, y, max_loss=1.0, max_steps=1)
    assert plain.steps[0][:2] != plan.steps[0][:2], "this cost must change the first choice (else the test is weak)"


def test_plan_rejects_a_bad_cost():
    xn, x, y = _setup()
    with pytest.raises(ConfigError, match="cost must return a finite number; got nan"):
        plan_adc_bits(xn, x, y, cost=lambda c: float("nan"))
    with pytest.raises(ConfigError, match="cost must be None or a callable"):
        plan_adc_bits(xn, x, y, cost=3.0)


def test_network_cost_equals_placing_the_reconfigured_model():
    from crossbar.tech import load_technology

    xn, x, y = _setup()
    report = network_cost(xn, (40,), "isaac_ce_32nm")
    configs = {"0": _unit_step([3, 4, 3, 2]), "2": IDEAL}
    want = place(specs_from_torch(reconfigure(xn, configs), (40,))).cost(load_technology("isaac_ce_32nm"))
    got = report(configs)
    assert got.energy == want.energy and got.area == want.area and got.latency == want.latency
    base = report({"0": LOSSY, "2": LOSSY})
    assert base.breakdown["adc"].energy < got.breakdown["adc"].energy, "wider ADCs must cost more ADC energy"
    plan = plan_adc_bits(xn, x, y, max_loss=1.0, max_steps=2, cost=lambda c: report(c).energy)
    assert plan.start_cost == base.energy and plan.cost == report(plan.configs).energy > plan.start_cost


def test_signed_adc_study_widens_at_the_same_step_and_its_lossless_slice_is_ideal():
    """Under differential_adc="subtract" the top code is 2**(B-1) - 1: a widening keeps the step
    (range 1 -> 3 -> 7 at step 1), and the lossless slice ADC has one bit more than separate."""
    signed = LOSSY.replace(differential_adc="subtract", adc_bits=(3, 3, 3, 2), adc_range=(3.0, 3.0, 3.0, 1.0))
    xn, x, y = _setup(signed)
    mixed = _config(signed, [_Adc(None, None), _Adc(3, 3.0), _Adc(None, None), _Adc(None, None)])
    assert mixed.adc_bits == (8, 3, 8, 8) and mixed.adc_range == (127.0, 3.0, 127.0, 127.0)
    xt = torch.as_tensor(x)
    with torch.no_grad():
        a = set_mode(reconfigure(xn, mixed), "hardware")(xt)
        wide = 2.0**23 - 1  # the top code of a signed 24-bit ADC: step 1
        b = set_mode(reconfigure(xn, signed.replace(adc_bits=(24, 3, 24, 24), adc_range=(wide, 3.0, wide, wide))),
                     "hardware")(xt)
    assert torch.equal(a, b)
    plan = plan_adc_bits(xn, x, y, max_loss=0.0, max_steps=3)
    assert len(plan.steps) == 3 and plan.accuracy == _acc(xn, plan.configs, x, y)
    for c in plan.configs.values():
        assert c.differential_adc == "subtract"
        assert c.adc_range == tuple(2.0 ** (b - 1) - 1 for b in c.adc_bits), "the step must stay 1"
    assert plan.accuracy > plan.start_accuracy

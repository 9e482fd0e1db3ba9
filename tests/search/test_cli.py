"""``xbarsim sweep`` / ``xbarsim report`` on tiny TOML files written here, and config errors."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import numpy as np
import pytest

from crossbar.errors import ConfigError
from search.cli import build_parser, load_sweep_settings, main
from search.store import ResultStore
from search.sweep import load_sweep

REPO = Path(__file__).resolve().parents[2]

DIGITS = """
technology = "isaac_ce_32nm"
output = "{out}"
executor = "serial"

[network]
model = "mlp"

[base]
weight_bits = 8
input_bits = 8

[base.noise]
program_model = "range"
program_sigma = 0.02

[grid]
rows = [64, 128]
adc_bits = [3, 8]

[accuracy]
dataset = "digits"
limit = 200
pretrain_epochs = 2
lr = 0.1
n_repeats = 2
seed = 0
"""

LENET = """
output = "{out}"
executor = "serial"
[network]
model = "lenet5"
input_shape = [1, 8, 8]
[grid]
cell_bits = [1, 2]
frequency = [1e7, 1e8]
"""


def _write(tmp_path: Path, text: str, name: str = "sweep.toml", out: str = "res/results.h5") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text).format(out=(tmp_path / out).as_posix()))
    return path


def test_sweep_and_report_with_accuracy(tmp_path, capsys):
    config = _write(tmp_path, DIGITS)
    assert main(["sweep", str(config), "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "pretrained mlp on digits: 2 epochs" in out
    assert "sweep: 4 designs (0 already stored, 4 evaluated, 0 failed)" in out
    h5 = tmp_path / "res" / "results.h5"
    assert (tmp_path / "res" / "results.pretrained.pt").exists()
    res = load_sweep(h5)
    assert np.all(np.isfinite(res["accuracy_mean"])) and np.all(res["accuracy_mean"] <= 1)
    assert ResultStore.read(h5).meta["user"]["config"]["grid"] == {"rows": [64, 128], "adc_bits": [3, 8]}
    # a re-run reuses the cached weights (same fingerprint) and skips every design
    assert main(["sweep", str(config), "--no-progress"]) == 0
    assert "4 already stored, 0 evaluated" in capsys.readouterr().out

    assert main(["report", str(h5)]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert "4 designs (0 failed)" in lines[0] and "technology isaac_ce_32nm" in lines[0]
    assert lines[1].split()[:3] == ["key", "rows", "cols"] and "accuracy %" in lines[1]
    rows = [ln.split() for ln in lines[3:7]]
    # design order: rows, then ADC bits
    assert [(r[1], r[7]) for r in rows] == [("64", "3"), ("64", "8"), ("128", "3"), ("128", "8")]
    for r in rows:
        i = res["key"].tolist().index(r[0])
        assert r[9] == f"{res['area'][i] * 1e6:.4f}" and r[10] == f"{res['energy'][i] * 1e6:.4f}"
        assert r[13] == f"{100 * res['accuracy_mean'][i]:.2f}+-{100 * res['accuracy_std'][i]:.2f}"
        assert r[-1] == "ok"
    assert lines[7].startswith("best: area")
    for suffix in (".png", ".pdf"):
        plot = tmp_path / "res" / f"results_breakdown{suffix}"
        assert plot.stat().st_size > 5_000 and f"wrote {plot}" in out


def test_cost_only_sweep_out_override_and_sorted_report(tmp_path, capsys):
    config = _write(tmp_path, LENET)
    out_path = tmp_path / "elsewhere.h5"
    assert main(["sweep", str(config), "--out", str(out_path), "--no-progress"]) == 0
    assert "4 designs" in capsys.readouterr().out and not (tmp_path / "res").exists()
    assert main(["report", str(out_path), "--sort", "energy", "--out-dir", str(tmp_path / "plots")]) == 0
    lines = capsys.readouterr().out.splitlines()
    energies = [float(ln.split()[10]) for ln in lines[3:7]]
    assert energies == sorted(energies) and all(ln.split()[13] == "-" for ln in lines[3:7])
    assert (tmp_path / "plots" / "elsewhere_breakdown.png").exists()


SECTIONS = {"top": 'output = "r.h5"\n', "network": '[network]\nmodel = "resnet20"\n',
            "grid": "[grid]\nadc_bits = [4]\n", "extra": ""}


@pytest.mark.parametrize("changes, match", [
    ({"top": 'output = "r.h5"\ncolour = "red"\n'},
     r"unknown key 'colour' in the top level; allowed keys: \['technology', 'output'"),
    ({"network": '[network]\nmodel = "mlp"\nlayers = 3\n'},
     r"unknown key 'layers' in \[network\]; allowed keys: \['model'"),
    ({"extra": '[accuracy]\ndataset = "digits"\nepochs = 3\n'},
     r"unknown key 'epochs' in \[accuracy\]; allowed keys: \['dataset', 'directory', 'limit', "
     r"'pretrain_epochs'"),
    ({"extra": "[base]\nrowz = 64\n"},
     r"\[base\]: CrossbarConfig.from_dict: unknown keys \['rowz'\]; allowed: \["),
    ({"extra": "[base.noise]\nsigma = 0.1\n"}, r"NoiseConfig.from_dict: unknown keys \['sigma'\]"),
    ({"grid": "[grid]\nrowz = [64]\n"}, r"unknown design variable 'rowz'; allowed: \['rows'"),
    ({"grid": "[grid]\nrows = 64\n"}, r"grid.rows must be a non-empty list"),
    ({"grid": "[grid]\ncell_bits = [3]\nadc_bits = [[3, 3, 3, 1]]\n"},
     r"combination .* is not a valid design"),
    ({"network": '[network]\nmodel = "alexnet"\n'},
     r"network.model must be one of \['mlp', 'lenet5', 'resnet20', 'vgg11'\]"),
    ({"network": '[network]\nmodel = "mlp"\n'}, r"network.input_shape \(C, H, W\) is required"),
    ({"network": '[network]\nmodel = "mlp"\ninput_shape = [1, 8, 9]\n'},
     r"input_shape must be \[C, H, W\] with H == W"),
    ({"extra": "[accuracy]\nn_repeats = 0\n"}, r"accuracy.n_repeats must be an integer >= 1"),
    ({"extra": '[accuracy]\ndataset = "imagenet"\n'}, r"accuracy.dataset must be one of \['digits', 'mnist'"),
    ({"top": 'output = "r.h5"\nmax_workers = 0\n'}, r"max_workers must be an integer >= 1"),
    ({"top": "rows = [64\n"}, "invalid TOML"),
    ({"top": ""}, "missing key 'output'"),
    ({"network": ""}, r"missing section \[network\]"),
])
def test_config_errors_name_the_key(tmp_path, changes, match):
    path = tmp_path / "bad.toml"
    path.write_text("".join({**SECTIONS, **changes}.values()))
    with pytest.raises(ConfigError, match=match) as info:
        load_sweep_settings(path)
    assert str(path) in str(info.value)


def test_cli_errors_exit_with_status_2(tmp_path, capsys):
    path = tmp_path / "bad.toml"
    path.write_text('colour = 1\n[network]\nmodel = "resnet20"\n[grid]\nadc_bits = [4]\n')
    assert main(["sweep", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("xbarsim sweep: error:") and "unknown key 'colour'" in err
    garbage = tmp_path / "garbage.h5"
    garbage.write_bytes(b"not hdf5" * 20)
    assert main(["report", str(garbage)]) == 2
    assert "garbage.h5" in capsys.readouterr().err and garbage.read_bytes() == b"not hdf5" * 20
    assert main([]) == 2 and "sweep" in capsys.readouterr().out


def test_report_refuses_other_stores(tmp_path, capsys):
    other = ResultStore.open(tmp_path / "o.h5", columns={"x": "float64"}, fingerprint="f",
                             meta={"kind": "search"})
    other.append({"key": "a", "status": "ok", "x": 1.0})
    assert main(["report", str(other.path)]) == 2
    assert "not a sweep results store" in capsys.readouterr().err


@pytest.mark.parametrize("name", ["sweep_digits.toml", "sweep_resnet20.toml", "sweep_digits_gmin.toml"])
def test_shipped_configs_are_valid(name):
    settings = load_sweep_settings(REPO / "experiments" / "configs" / name)
    designs = settings.designs()
    if name == "sweep_resnet20.toml":
        assert len(designs) == 3 * 3 * 3 * 5 * 3 and settings.accuracy is None
        assert settings.network.input_shape == (3, 32, 32)
    elif name == "sweep_digits_gmin.toml":
        assert len(designs) == 8 and settings.accuracy.n_repeats == 10
        assert {(d.encoding, d.gmin_removal) for d in designs} == {
            (e, g) for e in ("differential", "offset") for g in ("digital", "reference")}
        assert all(d.noise.program_sigma == 0.05 for d in designs)
    else:
        assert len(designs) == 24 and settings.accuracy.dataset == "digits"
        assert {d.differential_adc for d in designs} == {"separate", "subtract"}
        assert settings.network.input_shape == (1, 8, 8)


def test_subcommands_are_registered():
    help_text = build_parser().format_help()
    assert "sweep" in help_text and "report" in help_text


def test_report_marks_signed_adcs(tmp_path, capsys):
    """One signed ADC per differential pair shows as ``±bits``; the config JSON holds the mode."""
    config = _write(tmp_path, LENET.replace("frequency = [1e7, 1e8]",
                                            'adc_bits = [6]\ndifferential_adc = ["separate", "subtract"]'))
    assert main(["sweep", str(config), "--no-progress"]) == 0
    capsys.readouterr()
    assert main(["report", str(tmp_path / "res" / "results.h5")]) == 0
    rows = [ln.split() for ln in capsys.readouterr().out.splitlines()[3:7]]
    assert sorted(r[7] for r in rows) == ["6", "6", "±6", "±6"]
    res = load_sweep(tmp_path / "res" / "results.h5")
    for key, cfg in zip(res.columns["key"], res.columns["config"], strict=True):
        signed = json.loads(cfg).get("differential_adc") == "subtract"
        row = next(r for r in rows if r[0] == key)
        assert row[7] == ("±6" if signed else "6")


def test_report_shows_the_column_layout_variant_only_when_some_design_has_one(tmp_path, capsys):
    """``offset`` encoding and a reference column (``gmin_removal="reference"``) show in a
    ``variant`` column, read from the stored config; a sweep without them has no such column."""
    config = _write(tmp_path, LENET.replace("frequency = [1e7, 1e8]",
                                            'encoding = ["differential", "offset"]\n'
                                            'gmin_removal = ["digital", "reference"]'))
    assert main(["sweep", str(config), "--no-progress"]) == 0
    capsys.readouterr()
    assert main(["report", str(tmp_path / "res" / "results.h5")]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[1].split()[8] == "variant"
    res = load_sweep(tmp_path / "res" / "results.h5")
    texts = {}
    for key, cfg in zip(res.columns["key"], res.columns["config"], strict=True):
        d = json.loads(cfg)
        texts[key] = ",".join((["offset"] if d["encoding"] == "offset" else [])
                              + (["ref"] if d.get("gmin_removal") == "reference" else []))
    assert sorted(texts.values()) == sorted(["", "", "ref", "ref", "offset", "offset", "offset,ref", "offset,ref"])
    for line in lines[3:11]:
        parts = line.split()
        # an empty variant leaves a blank field: the next field is the frequency in MHz
        assert parts[8] == (texts[parts[0]] or "10.0")
    plain = _write(tmp_path, LENET, name="plain.toml", out="plain/results.h5")
    assert main(["sweep", str(plain), "--no-progress"]) == 0
    capsys.readouterr()
    assert main(["report", str(tmp_path / "plain" / "results.h5")]) == 0
    assert "variant" not in capsys.readouterr().out

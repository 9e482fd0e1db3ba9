"""Smoke runs of the sweep-side experiment scripts: they finish and write what they promise."""

from __future__ import annotations

import json

import h5py
import numpy as np

from crossbar.cost import COMPONENTS
from experiments import isaac_breakdown


def test_isaac_breakdown_smoke(tmp_path, capsys):
    assert isaac_breakdown.main(["--smoke", "--out", str(tmp_path)]) == 0
    with h5py.File(tmp_path / "results.h5") as f:
        assert "git_sha" in f.attrs and "config" in f.attrs and "versions" in f.attrs
        assert json.loads(f.attrs["config"])["crossbar"]["adc_bits"] == 8
        t, layers = f["totals"], f["layers"]
        assert json.loads(t.attrs["components"]) == list(COMPONENTS)
        energy, area = t["energy"][()], t["area"][()]
        assert energy.shape == area.shape == (len(COMPONENTS),) and np.all(energy >= 0) and np.all(area >= 0)
        np.testing.assert_allclose(energy.sum(), t["total_energy"][()], rtol=1e-12)
        np.testing.assert_allclose(area.sum(), t["total_area"][()], rtol=1e-12)
        names = json.loads(layers.attrs["names"])
        assert len(names) == 22 and layers["energy"].shape == (22, len(COMPONENTS))
        np.testing.assert_allclose(layers["energy"][()].sum(axis=0), energy, rtol=1e-9)  # layers add up
        np.testing.assert_allclose(layers["area"][()].sum(axis=0), area, rtol=1e-9)
        assert int(t["n_arrays"][()]) == int(layers["n_arrays"][()].sum())
        assert energy[COMPONENTS.index("adc")] > energy[COMPONENTS.index("dac")] > 0
        assert "adc_scan" not in f  # --smoke skips the resolution scan
    for suffix in (".png", ".pdf"):
        assert (tmp_path / f"breakdown{suffix}").stat().st_size > 10_000
    out = capsys.readouterr().out
    assert "ResNet-20 on isaac_ce_32nm at ISAAC settings: 22 layers" in out
    assert all(f"\n{c:<13}" in out for c in COMPONENTS)

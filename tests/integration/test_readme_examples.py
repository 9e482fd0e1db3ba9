"""The README's Python examples run as printed and do what their comments say."""

import re
from pathlib import Path

import numpy as np
import pytest

README = Path(__file__).resolve().parents[2] / "README.md"


def _blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(), re.S)


def _run(code: str) -> dict:
    ns: dict = {"__name__": "readme_example"}
    exec(compile(code, str(README), "exec"), ns)
    return ns


def _block(first_import: str) -> str:
    found = [b for b in _blocks() if first_import in b]
    assert len(found) == 1, f"README: expected one python example importing {first_import!r}; got {len(found)}"
    return found[0]


def test_readme_has_the_engine_and_bridge_examples():
    assert len(_blocks()) == 2


def test_engine_example():
    ns = _run(_block("from crossbar import CrossbarConfig, NoiseConfig, program"))
    y, x, q, m = ns["y"], ns["x"], ns["q"], ns["m"]
    assert y.shape == (32, 256) and y.dtype == np.float64 and np.all(np.isfinite(y))
    # "engine='numpy' = reference twin": the same draws give the same output bit for bit
    a = m.matmul(x, rng=np.random.default_rng(5))
    b = m.matmul(x, rng=np.random.default_rng(5), engine="numpy")
    np.testing.assert_array_equal(a, b)
    # the printed relative errors, calibrated and (the same code with adc_range="max") not
    printed = re.search(r"np.linalg.norm\(y - x @ q\) / np.linalg.norm\(x @ q\) +# ([0-9.]+); ([0-9.]+) with",
                        README.read_text())
    assert printed, "README engine example: the relative-error line is missing"
    err = np.linalg.norm(y - x @ q) / np.linalg.norm(x @ q)
    assert f"{err:.2g}" == printed.group(1)
    code = _block("from crossbar import CrossbarConfig, NoiseConfig, program")
    assert 'adc_range="calibrated"' in code
    ns_max = _run(code.replace('adc_range="calibrated"', 'adc_range="max"'))
    err_max = np.linalg.norm(ns_max["y"] - x @ q) / np.linalg.norm(x @ q)
    assert f"{err_max:.3g}" == printed.group(2)
    counts = m.op_counts(batch=32)
    assert counts.n_macs == 32 * 1024 * 256
    # 8 row tiles x 256 columns x 4 slices x 2 (differential) / 128 columns per array
    assert counts.n_arrays == 8 * 256 * 4 * 2 // 128


def _bridge_code(*, fast: bool) -> str:
    code = _block("from mapping.nn import")
    if fast:  # the same calls with fewer epochs and devices
        for old, new in (("epochs=30", "epochs=2"), ("epochs=5", "epochs=1"), ("n_repeats=5", "n_repeats=2")):
            assert old in code, f"README bridge example no longer contains {old!r}"
            code = code.replace(old, new)
    lines = code.rstrip().splitlines()
    assert lines[-1].startswith("evaluate("), "the example should end with its evaluate(...) call"
    return "\n".join(lines[:-1] + ["result = " + lines[-1]])


def _check_bridge(ns: dict, n_repeats: int) -> None:
    res = ns["result"]
    assert res.mode == "hardware" and len(res.accuracies) == n_repeats
    assert all(0.0 <= a <= 1.0 for a in res.accuracies)
    assert res.mean == pytest.approx(float(np.mean(res.accuracies)), abs=1e-12)
    assert res.std == pytest.approx(float(np.std(res.accuracies, ddof=1)), abs=1e-12)


def test_bridge_example_with_fewer_epochs():
    _check_bridge(_run(_bridge_code(fast=True)), n_repeats=2)


@pytest.mark.slow
def test_bridge_example_as_printed():
    ns = _run(_bridge_code(fast=False))
    _check_bridge(ns, n_repeats=5)
    assert ns["result"].mean > 0.85  # noise-aware fine-tuning keeps LeNet-5 accurate on this crossbar

"""Shared fixtures: deterministic seeds, sweepable with XBAR_TEST_SEEDS=0-9 (or a single int)."""

from __future__ import annotations

import os

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

# Timing-based Hypothesis checks fail spuriously on a loaded 2-core CI machine; correctness
# checks stay on. Profile "xbarsim" is the default; examples per test come from each test.
settings.register_profile("xbarsim", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("xbarsim")


def _seeds_from_env() -> list[int]:
    spec = os.environ.get("XBAR_TEST_SEEDS", "0")
    if "-" in spec:
        lo, hi = (int(v) for v in spec.split("-"))
        return list(range(lo, hi + 1))
    return [int(v) for v in spec.split(",")]


def pytest_generate_tests(metafunc):
    if "seed" in metafunc.fixturenames:
        metafunc.parametrize("seed", _seeds_from_env())


@pytest.fixture
def rng(seed: int) -> np.random.Generator:
    return np.random.default_rng(seed)


@pytest.fixture(autouse=True)
def _numpy_error_state_is_restored(request):
    """Fail the test that leaves NumPy's floating-point error state changed (and restore it)."""
    before = np.geterr()
    yield
    after = np.geterr()
    np.seterr(**before)
    assert after == before, f"{request.node.nodeid} changed np.geterr() from {before} to {after}"

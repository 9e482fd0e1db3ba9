"""Shared fixtures: deterministic seeds, sweepable with XBAR_TEST_SEEDS=0-9 (or a single int)."""

from __future__ import annotations

import os

import numpy as np
import pytest


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

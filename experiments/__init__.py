"""Thin reproducible scripts: benchmarks, the demo and paper experiments (nothing imports them)."""

"""The hardware: crossbar configs, noise, bit slicing, converters and the bit-sliced MVM engine.

numpy + numba only (never torch, mapping or search).
"""

from crossbar.config import CrossbarConfig, NoiseConfig
from crossbar.cost import CostReport, DesignSet, OpCounts, estimate_cost, estimate_costs, matrix_op_counts
from crossbar.engine import ProgrammedMatrix, calibrate_adc, program
from crossbar.errors import (
    ConfigError,
    InputError,
    NotCalibratedError,
    NumericsWarning,
    ShapeError,
    TrainingDivergedError,
    XbarError,
)

__all__ = [
    "ConfigError",
    "CostReport",
    "DesignSet",
    "CrossbarConfig",
    "InputError",
    "NoiseConfig",
    "NotCalibratedError",
    "NumericsWarning",
    "TrainingDivergedError",
    "OpCounts",
    "ProgrammedMatrix",
    "ShapeError",
    "XbarError",
    "calibrate_adc",
    "estimate_cost",
    "estimate_costs",
    "matrix_op_counts",
    "program",
]

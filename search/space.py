"""Typed design variables, their encoding to the unit cube, and decoding to a :class:`CrossbarConfig`.

A design is a ``dict`` mapping variable names to values (``{"cell_bits": 2, "frequency": 1e8}``).
Every search algorithm works on ``X``, points of the unit cube ``[0, 1]^d`` (pymoo's vocabulary),
one column per variable:

* discrete variables (:class:`IntegerRange`, :class:`Choice`) split ``[0, 1]`` into ``n_levels``
  equal bins; level ``i`` encodes to the bin centre ``(i + 0.5) / n_levels`` and a point decodes
  to the level of the bin it falls in (round to nearest), so ``decode(encode(v)) == v`` exactly
  and uniform points of the cube hit every level with equal probability;
* :class:`FloatRange` maps ``[low, high]`` linearly and :class:`LogFloatRange` maps
  ``[log low, log high]`` linearly (log-uniform).

:meth:`DesignSpace.to_config` applies a design to a base :class:`~crossbar.config.CrossbarConfig`:
variables named after a ``CrossbarConfig`` field set that field; other ("custom") variables are
applied by a user function ``config_fn(config, design) -> CrossbarConfig``.
:func:`default_reram_space` is the design space of DESIGN §6 / issue 5.

The variables are defined in :mod:`search.variables` and the container in
:mod:`search.design_space`; both are re-exported here.

References:
    CF-MESMO design space (cell resolution, crossbar size, operating frequency, temperature):
    Belakaria et al., "Multi-Fidelity Multi-Objective Bayesian Optimization: An Output Space
    Entropy Search Approach", and the ICCAD'21 CF-MESMO paper (see
    ``shared/reference/algorithms.md`` §3.1).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from crossbar.config import CrossbarConfig
from crossbar.errors import ConfigError
from search.design_space import DesignSpace  # re-exported: the container is this module's API
from search.variables import (  # re-exported: the variables are part of this module's API
    Choice,
    FloatRange,
    IntegerRange,
    LogFloatRange,
    Variable,
    variable_from_dict,
)
from search.variables import ConfigFn as ConfigFn  # re-exported: the type of DesignSpace.config_fn

__all__ = [
    "Choice",
    "DesignSpace",
    "FloatRange",
    "IntegerRange",
    "LogFloatRange",
    "Variable",
    "default_reram_space",
    "square_crossbar",
    "variable_from_dict",
]


def square_crossbar(config: CrossbarConfig, design: Mapping[str, Any]) -> CrossbarConfig:
    """``config_fn`` of :func:`default_reram_space`: ``crossbar_size`` sets ``rows = cols``; an
    optional ``msb_adc_bits`` variable gives the most significant weight slice its own ADC
    resolution, the other slices keeping ``adc_bits`` (per-slice ADC bits, DESIGN §6: the high
    slices' ADCs are the ones that clip, see :mod:`mapping.nn.adc`).

    Args:
        config: Configuration with the field variables already applied.
        design: The design; must hold ``crossbar_size``; may hold ``msb_adc_bits``.

    Returns:
        ``config`` with ``rows = cols = design["crossbar_size"]`` (and
        ``adc_bits = (adc_bits,) * (n_slices - 1) + (msb_adc_bits,)``: with one slice, e.g. 8-bit
        cells and 8-bit weights, ``msb_adc_bits`` sets the only ADC and ``adc_bits`` has no effect).

    Raises:
        ConfigError: ``msb_adc_bits`` without an integer ``adc_bits`` for the other slices.

    Example:
        >>> square_crossbar(CrossbarConfig(), {"crossbar_size": 64}).cols
        64
        >>> square_crossbar(CrossbarConfig(adc_bits=6), {"crossbar_size": 64, "msb_adc_bits": 3}).adc_bits
        (6, 6, 6, 3)
    """
    size = design["crossbar_size"]
    config = config.replace(rows=size, cols=size)
    if "msb_adc_bits" not in design:
        return config
    if not isinstance(config.adc_bits, int):
        raise ConfigError(f"square_crossbar: msb_adc_bits needs one integer adc_bits for the other slices "
                          f"(a variable or the base config); got adc_bits={config.adc_bits!r}.")
    return config.replace(adc_bits=(config.adc_bits,) * (config.n_slices - 1) + (int(design["msb_adc_bits"]),))


def default_reram_space(*, base: CrossbarConfig | None = None) -> DesignSpace:
    """The default ReRAM design space of DESIGN §6 (issue 5 §1); ``size`` is infinite.

    ====================  =========================================  =====================
    variable              values                                     sets
    ====================  =========================================  =====================
    ``crossbar_size``     {32, 64, 128, 256}                         ``rows`` and ``cols``
    ``cell_bits``         {1, 2, 3, 4, 6, 8}                         ``cell_bits``
    ``adc_bits``          integers 3-10                              ``adc_bits`` (uniform)
    ``frequency``         100 MHz - 1 GHz, log-uniform [Hz]          ``frequency``
    ``temperature``       300 - 400 K, uniform [K]                   ``temperature``
    ``weight_bits``       {4, 6, 8}                                  ``weight_bits``
    ====================  =========================================  =====================

    Args:
        base: Configuration for every other field; default ``CrossbarConfig()``.

    Returns:
        The design space (576 discrete combinations times the two continuous ranges).

    Example:
        >>> space = default_reram_space()
        >>> space.names
        ('crossbar_size', 'cell_bits', 'adc_bits', 'frequency', 'temperature', 'weight_bits')
    """
    return DesignSpace(
        (
            Choice("crossbar_size", values=(32, 64, 128, 256)),
            Choice("cell_bits", values=(1, 2, 3, 4, 6, 8)),
            IntegerRange("adc_bits", low=3, high=10),
            LogFloatRange("frequency", low=1e8, high=1e9),
            FloatRange("temperature", low=300.0, high=400.0),
            Choice("weight_bits", values=(4, 6, 8)),
        ),
        base=CrossbarConfig() if base is None else base,
        config_fn=square_crossbar,
    )

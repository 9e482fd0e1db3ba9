"""Conductance noise and stuck-at faults, in cell-level units, with an explicit ``rng``.

A cell at level ``l`` has conductance ``G = g_min + l * dg`` with
``dg = (g_max - g_min) / (2**c - 1)``; every function here works on levels (``G`` divided by
``dg`` after removing the ``g_min`` floor) so that the ideal column sum is ``sum_i x_i l_i``.

Physical model (PytorX, elliothe/pytorx ``module/layer.py``; used by ReSNA, ICCAD 2021)::

    sigma_G**2 = G f (4 k T + 2 q V) / V**2 + (dg / 3)**2
    dG_RTN     = G (b G + a) / (G - (b G + a))  with probability tau (else 0)

The ``(dg/3)**2`` programming term is drawn once at programming time
(``NoiseConfig.physical_programming``; its ``dg`` is the cell's level spacing, or PytorX's fixed
``(g_max - g_min) / 2**7`` with ``physical_programming_bits=7``); the thermal ``4kT`` and shot ``2qV`` terms and RTN are
drawn afresh for every read (every matmul call). ``V`` is ``CrossbarConfig.read_voltage``.

Draw order is fixed (documented per function) so that a seed gives the same levels on every
machine and thread count.

Reference columns (``CrossbarConfig.gmin_removal="reference"``): the physical layout puts the
``F = n_signs * n_slices`` cells of output ``j`` in adjacent columns ``j F + f`` (field
``f = sign * n_slices + slice``, ISAAC's layout of a weight's slices) and fills arrays of
``data_cols`` weight columns in that order (:func:`column_arrays`), so a matrix uses
``ceil(n_out F / data_cols)`` column arrays, as the event counts say. Each column array has one
reference cell per row (level 0, ``g_min``); the arrays of different row tiles hold different
rows, so the reference levels are one ``(n_col_arrays, n_in)`` matrix. Subtracting the reference
current before the ADC is, in level units, subtracting the reference cell of the same row and
array from every cell (:func:`subtract_reference`): exact, and all engines see the result.
"""

from __future__ import annotations

import numpy as np

from crossbar.config import BOLTZMANN, ELEMENTARY_CHARGE, CrossbarConfig
from crossbar.errors import ConfigError


def program_levels(
    levels: np.ndarray, config: CrossbarConfig, *, rng: np.random.Generator | None
) -> np.ndarray:
    """Apply programming noise and stuck-at faults to ideal cell levels.

    Draw order: programming noise (``program_sigma``), physical ``dg_p/3`` noise, then one uniform
    per cell deciding stuck-on (``u < stuck_on_rate``) or stuck-off (next ``stuck_off_rate``).
    Stuck cells sit exactly at level ``2**c - 1`` (``g_max``) or ``0`` (``g_min``).

    Args:
        levels: Ideal integer levels, any shape (``(n_signs, n_slices, n_in, n_out)`` in use).
        config: Crossbar and noise configuration.
        rng: Source of randomness; required when any programming source is on.

    Returns:
        Programmed levels, same shape, float64 (integer-valued when nothing is drawn).

    Example:
        >>> from crossbar import NoiseConfig
        >>> cfg = CrossbarConfig(noise=NoiseConfig(stuck_on_rate=1.0))
        >>> program_levels(np.zeros((2, 2)), cfg, rng=np.random.default_rng(0)).tolist()
        [[3.0, 3.0], [3.0, 3.0]]
    """
    noise = config.noise
    out = np.array(levels, dtype=np.float64)
    if not noise.has_program_noise:
        return out
    if rng is None:
        raise ConfigError("program_levels: rng is required (a numpy.random.Generator) when "
                          "programming noise or faults are on; got None.")
    n_top = 2**config.cell_bits - 1
    if noise.program_sigma is not None and noise.program_sigma > 0:
        z = rng.standard_normal(out.shape)
        if noise.program_model == "level":
            out += noise.program_sigma * z
        elif noise.program_model == "range":
            out += noise.program_sigma * n_top * z
        else:  # lognormal on the absolute conductance, floor included
            g_floor = config.g_min / config.level_conductance
            out = (g_floor + out) * np.exp(noise.program_sigma * z) - g_floor
    if noise.physical_programming:
        out += rng.standard_normal(out.shape) * config.physical_programming_std
    if noise.stuck_on_rate > 0 or noise.stuck_off_rate > 0:
        u = rng.random(out.shape)
        on = u < noise.stuck_on_rate
        off = (u >= noise.stuck_on_rate) & (u < noise.stuck_on_rate + noise.stuck_off_rate)
        out[on] = n_top
        out[off] = 0.0
    return out


def read_std(levels: np.ndarray, config: CrossbarConfig) -> np.ndarray:
    """Standard deviation of the Gaussian read noise of each cell, in level units.

    Sums the variances of ``read_sigma`` noise and the PytorX thermal (``G f 4kT / V**2``) and
    shot (``2 q G f / V``) terms; ``G`` is evaluated at ``max(g_min + l dg, 0)``.

    Args:
        levels: Programmed levels, any shape.
        config: Crossbar and noise configuration.

    Returns:
        Standard deviations, same shape, float64 (zeros when no Gaussian read source is on).
    """
    noise = config.noise
    dg = config.level_conductance
    var = np.zeros(np.shape(levels), dtype=np.float64)
    if noise.read_sigma is not None and noise.read_sigma > 0:
        scale = 1.0 if noise.read_model == "level" else 2**config.cell_bits - 1
        var += (noise.read_sigma * scale) ** 2
    if noise.thermal or noise.shot:
        g = np.maximum(config.g_min + np.asarray(levels, dtype=np.float64) * dg, 0.0)
        v = config.read_voltage
        per_g = 0.0
        if noise.thermal:
            per_g += config.frequency * 4.0 * BOLTZMANN * config.temperature / v**2
        if noise.shot:
            per_g += config.frequency * 2.0 * ELEMENTARY_CHARGE / v
        var += g * per_g / dg**2
    return np.sqrt(var)


def rtn_offset(levels: np.ndarray, config: CrossbarConfig) -> np.ndarray:
    """RTN conductance offset of each cell when it is in its high state, in level units.

    ``dG = G (b G + a) / (G - (b G + a))`` evaluated at ``G = max(g_min + l dg, g_min)``
    (finite because the config requires ``g_min (1 - b) > a``).
    """
    noise = config.noise
    g = np.maximum(config.g_min + np.asarray(levels, dtype=np.float64) * config.level_conductance,
                   config.g_min)
    k = noise.rtn_b * g + noise.rtn_a
    return g * k / (g - k) / config.level_conductance


def read_levels(
    levels: np.ndarray, config: CrossbarConfig, *, rng: np.random.Generator | None
) -> np.ndarray:
    """Levels seen by one read: programmed levels plus fresh read noise and RTN.

    Draw order: one standard normal per cell (all Gaussian read sources combined, see
    :func:`read_std`), then one uniform per cell for RTN (offset applied when
    ``u < rtn_probability``).

    Args:
        levels: Programmed levels, any shape, float64.
        config: Crossbar and noise configuration.
        rng: Source of randomness; required when any read source is on.

    Returns:
        Read levels, same shape, float64 (``levels`` itself when no read source is on).
    """
    noise = config.noise
    if not noise.has_read_noise:
        return levels
    if rng is None:
        raise ConfigError("read_levels: rng is required (a numpy.random.Generator) when read noise "
                          "is on; got None.")
    out = np.array(levels, dtype=np.float64)
    gaussian = (noise.read_sigma is not None and noise.read_sigma > 0) or noise.thermal or noise.shot
    if gaussian:
        out += read_std(levels, config) * rng.standard_normal(out.shape)
    if noise.rtn and noise.rtn_probability > 0:
        hit = rng.random(out.shape) < noise.rtn_probability
        out += np.where(hit, rtn_offset(levels, config), 0.0)
    return out


def column_arrays(config: CrossbarConfig, n_out: int) -> np.ndarray:
    """Column array holding each (field, output) column: ``(j F + f) // data_cols``.

    Args:
        config: Crossbar design (``data_cols`` and the number of fields ``F``).
        n_out: Matrix columns.

    Returns:
        ``(F, n_out)`` int64 (see the module docstring for the layout).

    Example:
        >>> cfg = CrossbarConfig(cols=4, weight_bits=5, gmin_removal="reference")  # 4 fields, 3 data cols
        >>> column_arrays(cfg, 3).tolist()
        [[0, 1, 2], [0, 1, 3], [0, 2, 3], [1, 2, 3]]
    """
    n_fields = config.n_signs * config.n_slices
    phys = np.arange(n_out, dtype=np.int64)[None, :] * n_fields + np.arange(n_fields, dtype=np.int64)[:, None]
    return phys // config.data_cols


def n_column_arrays(config: CrossbarConfig, n_out: int) -> int:
    """Column arrays of an ``n_out``-column matrix, ``ceil(n_out F / data_cols)``."""
    return -(-n_out * config.n_signs * config.n_slices // config.data_cols)


def subtract_reference(levels: np.ndarray, reference: np.ndarray, config: CrossbarConfig) -> np.ndarray:
    """Cell levels after the reference column's current is subtracted: what the ADC sees.

    Args:
        levels: Cell levels ``(n_signs, n_slices, n_in, n_out)``.
        reference: Reference-cell levels ``(n_col_arrays, n_in)`` (0 when ideal).
        config: Crossbar design (the layout of :func:`column_arrays`).

    Returns:
        ``levels[s, k, i, j] - reference[column_arrays(config, n_out)[s n_slices + k, j], i]``,
        float64, the shape of ``levels``.
    """
    n_signs, n_slices, n_in, n_out = levels.shape
    ref = reference[column_arrays(config, n_out)]  # (F, n_out, n_in)
    return levels - ref.transpose(0, 2, 1).reshape(levels.shape)

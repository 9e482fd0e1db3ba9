"""The hardware seam: ``program`` a matrix, ``matmul`` through it, count its ``op_counts``.

Exact semantics (DESIGN §3). Cell levels seen by a read are held in fixed point with
``2**-frac_bits`` of a level resolution (``frac_bits = 0`` when every level is an integer,
otherwise up to 24, lowered only as far as needed to keep every sum inside int64), so every
column sum is exact integer arithmetic: the Numba and NumPy engines agree bit for bit and the
result does not depend on the thread count. Then, per row tile ``k``, input cycle ``t`` and
field ``f`` (one sign and one weight slice ``s``)::

    p     = sum_i digit_t(x_i) * level_f(i, j)                   (the analog column sum)
    code  = clip(rint(p / delta_s), 0, top_s)                      (rint: round half to even)
    acc_f = sum_k sum_t cycle_weight_t * code                      (exact int64)
    y     = sum_f sign_f * 2**(c s) * delta_s * acc_f - offset * sum_i x_i

With an ideal ADC (``adc_bits=None``) ``code = p``. ``top_s = 2**B_s - 1`` and
``delta_s = FS_s / top_s`` where ``FS_s`` is the slice's full scale; for ``adc_range="max"`` the
step is ``max(1, max_column_sum / top_s)``, so an ADC with at least as many codes as there are
column-sum levels is lossless.

With ``differential_adc="subtract"`` each slice's column pair is converted once, by a signed
ADC: ``code = clip(rint((p+ - p-) / delta_s), -top_s, top_s)`` with ``top_s = 2**(B_s-1) - 1``
(symmetric codes; ``delta_s = FS_s / top_s`` as above), accumulated into the plus field, and
``y = sum_s 2**(c s) * delta_s * acc_s``. :class:`AdcParameters` states this per field
(``partner``, ``min_code``) so every engine reads one description.

With ``gmin_removal="reference"`` the level of a read is the cell's level minus the level of its
array's reference cell in the same row (:func:`crossbar.noise.subtract_reference`), so ``p`` is
the column's current minus the reference column's; every engine starts from these levels.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass, field, replace
from typing import Literal

import numpy as np

from crossbar import _reference
from crossbar._packing import _column_sum_tiles, _column_sums, _exact_product, _frac_bits, _numba_mvm, _prepare
from crossbar._packing import _Layout as _Layout  # re-exported: tests build layouts directly
from crossbar._select import StreamingPercentile
from crossbar.config import CrossbarConfig
from crossbar.counts import OpCounts, matrix_op_counts
from crossbar.errors import ConfigError, InputError, NotCalibratedError, ShapeError
from crossbar.noise import n_column_arrays, program_levels, read_levels, subtract_reference
from crossbar.slicing import encode_weights, input_digits

Engine = Literal["numba", "numpy"]


def _check_rng(rng, where: str, *, needed: bool, why: str) -> None:
    """Raise ConfigError unless ``rng`` is a Generator (or None where nothing is drawn)."""
    if rng is None and needed:
        raise ConfigError(f"{where}: rng is required (a numpy.random.Generator) because {why}; "
                          f"got None. Pass rng=np.random.default_rng(seed).")
    if rng is not None and not isinstance(rng, np.random.Generator):
        raise ConfigError(f"{where}: rng must be a numpy.random.Generator or None; got {rng!r} "
                          f"of type {type(rng).__name__}.")


def _as_int_matrix(a, name: str, *, lo: int, hi: int, what: str) -> np.ndarray:
    """Validate an integer 2-D array in ``[lo, hi]`` and return it as int64."""
    if isinstance(a, np.ndarray):
        arr = a
    else:
        try:
            arr = np.asarray(a)
        except (ValueError, TypeError) as exc:
            raise InputError(f"{name} must be a 2-D integer array; could not convert: {exc}") from exc
    if arr.dtype == np.bool_ or not np.issubdtype(arr.dtype, np.integer):
        bad = ""
        if np.issubdtype(arr.dtype, np.floating):
            n_nan, n_inf = int(np.isnan(arr).sum()), int(np.isinf(arr).sum())
            bad = f" ({n_nan} NaN, {n_inf} inf)" if n_nan or n_inf else ""
        raise InputError(
            f"{name} must have an integer dtype ({what}); got dtype {arr.dtype}{bad}. "
            f"Quantize first (e.g. mapping.quantize) instead of passing floats."
        )
    if arr.ndim != 2:
        raise ShapeError(f"{name} must be 2-D {what}; got shape {arr.shape}.")
    if arr.size:
        a_min, a_max = int(arr.min()), int(arr.max())
        if a_min < lo or a_max > hi:
            raise InputError(
                f"{name} values must lie in [{lo}, {hi}]; got min {a_min}, max {a_max}. "
                f"Nothing is clipped: re-quantize, or change the bit width."
            )
    return arr.astype(np.int64, copy=False)


@dataclass(frozen=True, slots=True, eq=False)
class MatrixRead:
    """Cell levels seen by one read.

    Attributes:
        fixed_levels: ``(n_signs * n_slices, n_in, n_out)`` int64, in ``2**-frac_bits`` level
            units; field ``f = sign * n_slices + slice``.
        frac_bits: Fixed-point fraction bits (0 when every level is an integer).
    """

    fixed_levels: np.ndarray
    frac_bits: int


@dataclass(frozen=True, slots=True, eq=False)
class AdcParameters:
    """Per-field ADC and shift-and-add constants, each ``(n_fields,)``.

    Field ``f`` converts ``p_f - p_partner[f]`` when ``partner[f] >= 0`` (a signed ADC of a
    differential pair), ``p_f`` alone when ``partner[f] == -1``, and nothing when
    ``partner[f] == -2`` (its sum is another field's partner). Its code is
    ``clip(rint(value / delta_scaled), min_code, max_code)``, or the value itself where ``ideal``.

    Attributes:
        delta_scaled: ADC step in fixed-point units.
        max_code: Top code (``2**B - 1``; ``2**(B-1) - 1`` signed), float64.
        ideal: True where the ADC is ideal (the code is the column sum itself).
        factor: Output weight ``sign * 2**(c s) * delta`` of the accumulated codes (0 where
            ``partner == -2``).
        min_code: Lowest code (0; ``-max_code`` signed), float64.
        partner: Field subtracted before the ADC (``>= 0``), -1 (none) or -2 (not converted),
            int64.
    """

    delta_scaled: np.ndarray
    max_code: np.ndarray
    ideal: np.ndarray
    factor: np.ndarray
    min_code: np.ndarray
    partner: np.ndarray


@dataclass(frozen=True, eq=False)
class ProgrammedMatrix:
    """An integer matrix programmed onto crossbar arrays (immutable).

    Create with :func:`program`. Attributes are read-only arrays.

    Attributes:
        config: The crossbar design.
        weights: Target integer weights, shape ``(n_in, n_out)``, int64.
        levels: Programmed cell levels (after programming noise and faults), shape
            ``(n_signs, n_slices, n_in, n_out)``, float64, in cell-level units.
        adc_full_scale: Per-slice ADC full scale set by :func:`calibrate_adc` (cell levels), or
            ``None``.
        reference_levels: Programmed levels of the reference cells, ``(n_col_arrays, n_in)``
            float64 (ideally 0), under ``gmin_removal="reference"``; else ``None``.
    """

    config: CrossbarConfig
    weights: np.ndarray = field(repr=False)
    levels: np.ndarray = field(repr=False)
    adc_full_scale: tuple[float, ...] | None = None
    reference_levels: np.ndarray | None = field(default=None, repr=False)
    _static: tuple | None = field(default=None, repr=False)
    _weights_f64: np.ndarray | None = field(default=None, repr=False)
    _weights_absmax: int = field(default=0, repr=False)

    @property
    def shape(self) -> tuple[int, int]:
        """``(n_in, n_out)``."""
        return self.weights.shape

    @property
    def effective_levels(self) -> np.ndarray:
        """Programmed levels as the ADC sees them, before read noise: :attr:`levels`, minus the
        reference cells' levels under ``gmin_removal="reference"``; ``(n_signs, n_slices, n_in,
        n_out)`` float64."""
        if self.reference_levels is None or not self.reference_levels.any():
            return self.levels
        return subtract_reference(self.levels, self.reference_levels, self.config)

    # ---- reads --------------------------------------------------------------------------
    def _fixed_levels(self, levels: np.ndarray) -> tuple[np.ndarray, int]:
        """Read levels as ``(n_fields, n_in, n_out)`` int64 fixed point, and the fraction bits."""
        n_fields = self.config.n_signs * self.config.n_slices
        flat = levels.reshape((n_fields,) + self.shape)
        rounded = np.rint(flat)
        if np.array_equal(rounded, flat):
            return rounded.astype(np.int64), 0
        if not np.all(np.isfinite(flat)):
            raise InputError("ProgrammedMatrix: read levels are not finite (noise overflow).")
        frac = _frac_bits(self.config, self.shape[0], float(np.max(np.abs(flat))))
        return np.rint(np.ldexp(flat, frac)).astype(np.int64), frac

    def adc_parameters(self, frac_bits: int) -> AdcParameters:
        """Per-field ADC step, top code, ideal flag and output weight (see module docstring).

        Args:
            frac_bits: Fraction bits of the fixed-point levels the ADC will see
                (from :meth:`read`).
        """
        return AdcParameters(*self._adc_params(frac_bits))

    def read(self, *, rng: np.random.Generator | None = None) -> MatrixRead:
        """The fixed-point cell levels one read sees (fresh read noise drawn from ``rng``).

        This is the exact input of every engine: another engine (e.g. the torch one in
        ``mapping.nn``) reproduces :meth:`matmul` bit for bit from it and
        :meth:`adc_parameters`.
        """
        _check_rng(rng, "read", needed=self.config.noise.has_read_noise, why="read noise is on")
        fixed, frac, _, _ = self._static_or_read(rng)
        return MatrixRead(fixed_levels=fixed, frac_bits=frac)

    def _adc_params(self, frac: int):
        """Per-field ``delta_scaled, max_code, ideal, factor, min_code, partner`` (module
        docstring; :class:`AdcParameters`)."""
        cfg = self.config
        bits = cfg.slice_adc_bits()
        if cfg.adc_range == "max":
            full_scale = (float(cfg.max_column_sum),) * cfg.n_slices
        elif cfg.adc_range == "calibrated":
            if self.adc_full_scale is None:
                raise NotCalibratedError(
                    "CrossbarConfig.adc_range is 'calibrated' but this matrix was not calibrated; "
                    "call crossbar.calibrate_adc(matrix, x_sample) first."
                )
            full_scale = self.adc_full_scale
        elif isinstance(cfg.adc_range, tuple):
            full_scale = cfg.adc_range
        else:
            full_scale = (float(cfg.adc_range),) * cfg.n_slices
        n_fields = cfg.n_signs * cfg.n_slices
        subtract = cfg.differential_adc == "subtract"
        delta_scaled = np.ones(n_fields)
        max_code = np.zeros(n_fields)
        min_code = np.zeros(n_fields)
        ideal = np.zeros(n_fields, dtype=np.bool_)
        factor = np.zeros(n_fields)
        partner = np.full(n_fields, -1, dtype=np.int64)
        if subtract:
            partner[: cfg.n_slices] = np.arange(cfg.n_slices) + cfg.n_slices
            partner[cfg.n_slices:] = -2
        for sign in range(cfg.n_converted_signs):
            for s in range(cfg.n_slices):
                f = sign * cfg.n_slices + s
                weight = (1.0 if sign == 0 else -1.0) * 2.0 ** (cfg.cell_bits * s)
                if bits[s] is None:
                    ideal[f] = True
                    factor[f] = weight * 2.0**-frac
                    continue
                n_codes = cfg.adc_top_code(bits[s])
                delta = full_scale[s] / n_codes
                if cfg.adc_range == "max":
                    delta = max(1.0, delta)
                delta_scaled[f] = delta * 2.0**frac
                max_code[f] = n_codes
                min_code[f] = -n_codes if subtract else 0.0
                factor[f] = weight * delta
        return delta_scaled, max_code, ideal, factor, min_code, partner

    def _static_or_read(self, rng: np.random.Generator | None):
        """Fixed-point levels (and packing) of one read; cached when nothing is drawn per read."""
        if self._static is not None and not self.config.noise.has_read_noise:
            return self._static
        read = read_levels(self.levels, self.config, rng=rng)
        if self.reference_levels is not None:  # after the cells' draws
            read = subtract_reference(read, read_levels(self.reference_levels, self.config, rng=rng),
                                      self.config)
        return _prepare(self.config, self.shape[0], *self._fixed_levels(read))

    def matmul(
        self,
        x,
        *,
        rng: np.random.Generator | None = None,
        engine: Engine = "numba",
        fast_path: bool = True,
    ) -> np.ndarray:
        """Multiply integer inputs by the programmed matrix through the simulated crossbar.

        Args:
            x: Integer inputs, shape ``(batch, n_in)``, in ``[config.x_min, config.x_max]``.
            rng: Source of read noise; required when any read-noise source is on.
            engine: ``"numba"`` (fast) or ``"numpy"`` (the literal reference twin).
            fast_path: Take the exact one-GEMM path when no noise is on and every ADC is
                lossless (set False to force the bit-sliced path, e.g. to verify it).

        Returns:
            ``(batch, n_out)`` float64 in integer units (equal to ``x @ weights`` when the
            hardware is ideal).

        Raises:
            InputError, ShapeError: Bad ``x``. NotCalibratedError: see :func:`calibrate_adc`.

        Example:
            >>> cfg = CrossbarConfig(rows=4, adc_bits=6)
            >>> m = program(np.array([[1, -2], [3, 4], [-5, 6]]), cfg)
            >>> m.matmul(np.array([[1, 2, 3]])).tolist()
            [[-8.0, 24.0]]
        """
        cfg = self.config
        if engine not in ("numba", "numpy"):
            raise ConfigError(f"matmul: engine must be 'numba' or 'numpy'; got {engine!r}.")
        x = _as_int_matrix(x, "x", lo=cfg.x_min, hi=cfg.x_max, what="(batch, n_in)")
        if x.shape[1] != self.shape[0]:
            raise ShapeError(
                f"x has {x.shape[1]} columns but the matrix has n_in={self.shape[0]} rows; "
                f"x must be (batch, {self.shape[0]})."
            )
        _check_rng(rng, "matmul", needed=cfg.noise.has_read_noise, why="read noise is on")
        if fast_path and not cfg.noise.is_noisy and cfg.adc_is_lossless:
            return _exact_product(x, self.weights, self._weights_f64, self._weights_absmax)
        fixed, frac, layout, packed = self._static_or_read(rng)
        adc = self.adc_parameters(frac)
        cycle_weights = np.asarray(cfg.cycle_weights, dtype=np.int64)
        if engine == "numpy":
            y = _reference.mvm(input_digits(x, cfg), fixed, rows=cfg.rows,
                               cycle_weights=cycle_weights, adc=adc)
        else:
            y = _numba_mvm(x, cfg, layout, packed, cycle_weights, adc)
        if cfg.offset:
            y -= cfg.offset * x.sum(axis=1, dtype=np.int64).astype(np.float64)[:, None]
        return y

    def _programmed(self) -> tuple:
        """Fixed-point levels (and packing) of a read without read noise: the programmed,
        effective levels."""
        if self._static is not None:
            return self._static
        return _prepare(self.config, self.shape[0], *self._fixed_levels(self.effective_levels))

    def column_sums(self, x, *, rng: np.random.Generator | None = None, read_noise: bool = True) -> np.ndarray:
        """Column sums of a batch: every tile, cycle and field, in cell-level units.

        These are the ADC inputs, except under ``differential_adc="subtract"``, whose ADC sees
        ``sums[0] - sums[1]`` (plus minus minus column) once per slice. With read noise on, one
        read is drawn from ``rng``; ``read_noise=False`` sums the programmed levels instead (a
        noise-free read of these devices; no ``rng`` needed).

        Returns:
            Shape ``(n_signs, n_slices, n_tiles, n_cycles, batch, n_out)``, float64.
        """
        cfg = self.config
        x = _as_int_matrix(x, "x", lo=cfg.x_min, hi=cfg.x_max, what="(batch, n_in)")
        if x.shape[1] != self.shape[0]:
            raise ShapeError(f"x must be (batch, {self.shape[0]}); got shape {x.shape}.")
        if not isinstance(read_noise, bool):
            raise ConfigError(f"column_sums: read_noise must be True or False; got {read_noise!r}.")
        if read_noise:
            _check_rng(rng, "column_sums", needed=cfg.noise.has_read_noise, why="read noise is on")
            fixed, frac, _, _ = self._static_or_read(rng)
        else:
            fixed, frac, _, _ = self._programmed()
        sums = _column_sums(input_digits(x, cfg), fixed, rows=cfg.rows)
        return np.ldexp(sums.astype(np.float64), -frac).reshape(
            (cfg.n_signs, cfg.n_slices) + sums.shape[1:])

    def op_counts(self, batch: int) -> OpCounts:
        """Events of ``batch`` MVMs (see :class:`crossbar.cost.OpCounts` for definitions).

        Example:
            >>> m = program(np.zeros((256, 64), dtype=int), CrossbarConfig())
            >>> c = m.op_counts(1)
            >>> c.n_arrays, c.n_adc_conversions
            (8, 8192)
        """
        if isinstance(batch, bool) or not isinstance(batch, (int, np.integer)) or batch < 0:
            raise ConfigError(f"op_counts: batch must be an integer >= 0; got {batch!r}.")
        return matrix_op_counts(self.shape, self.config, batch=int(batch))


def program(weights, config: CrossbarConfig, *, rng: np.random.Generator | None = None
            ) -> ProgrammedMatrix:
    """Program an integer matrix onto crossbar arrays.

    Encodes the signed weights (differential or offset), slices them into ``cell_bits``-bit
    cells, and draws programming noise and stuck-at faults from ``rng``: the cells first, then
    (``gmin_removal="reference"``) the reference cells, each a level-0 cell of the same noise.

    Args:
        weights: Integer weights, shape ``(n_in, n_out)`` (rows x columns, the physical layout),
            in ``[-q_max, q_max]`` with ``q_max = 2**(weight_bits-1) - 1``.
        config: The crossbar design.
        rng: Source of programming noise and faults; required when any is on.

    Returns:
        The programmed matrix.

    Raises:
        InputError, ShapeError, ConfigError: Bad weights or a missing ``rng``.

    Example:
        >>> m = program(np.array([[3, -1]]), CrossbarConfig(weight_bits=4))
        >>> m.levels.shape  # (n_signs, n_slices, n_in, n_out)
        (2, 2, 1, 2)
    """
    if not isinstance(config, CrossbarConfig):
        raise ConfigError(f"program: config must be a CrossbarConfig; got {type(config).__name__}.")
    q = _as_int_matrix(weights, "weights", lo=-config.q_max, hi=config.q_max,
                       what=f"(n_in, n_out) signed {config.weight_bits}-bit integers")
    if q.shape[0] == 0 or q.shape[1] == 0:
        raise ShapeError(f"weights must have n_in >= 1 and n_out >= 1; got shape {q.shape}.")
    _check_rng(rng, "program", needed=config.noise.has_program_noise,
               why="programming noise or faults are on")
    q = q.copy()
    q.setflags(write=False)
    levels = program_levels(encode_weights(q, config), config, rng=rng)
    levels.setflags(write=False)
    reference = None
    if config.gmin_removal == "reference":
        reference = program_levels(np.zeros((n_column_arrays(config, q.shape[1]), q.shape[0])), config,
                                   rng=rng)
        reference.setflags(write=False)
    matrix = ProgrammedMatrix(config, q, levels, reference_levels=reference)
    if not config.noise.is_noisy and config.adc_is_lossless:
        matrix = replace(matrix, _weights_f64=q.astype(np.float64),
                         _weights_absmax=max(int(q.max()), -int(q.min())))
    if not config.noise.has_read_noise:
        static = _prepare(config, q.shape[0], *matrix._fixed_levels(matrix.effective_levels))
        matrix = replace(matrix, _static=static)
    return matrix


def calibrate_adc(matrix: ProgrammedMatrix, x, *, percentile: float = 99.9) -> ProgrammedMatrix:
    """Set each slice's ADC full scale to a percentile of its column sums on sample inputs.

    The ADC inputs of every row tile, input cycle, sample and column of a slice are pooled
    (:attr:`ProgrammedMatrix.effective_levels`, no read noise): the column sums of both signs, or under
    ``differential_adc="subtract"`` the magnitudes ``|p+ - p-|`` of the signed ADC's inputs. The
    full scale is NumPy's ``"higher"`` percentile of the ``n`` pooled values, the value at position
    ``ceil((n - 1) percentile / 100)`` of their sorted order (computed in memory that does not grow
    with the batch: :data:`CALIBRATION_CHUNK`), and at least one cell level.

    Args:
        matrix: A programmed matrix.
        x: Sample inputs, shape ``(batch, n_in)``.
        percentile: Coverage in percent, in ``(0, 100]``.

    Returns:
        A copy of ``matrix`` with ``adc_full_scale`` set (used when
        ``config.adc_range == "calibrated"``).

    Example:
        >>> cfg = CrossbarConfig(adc_bits=3, adc_range="calibrated", weight_bits=4)
        >>> m = calibrate_adc(program(np.full((8, 2), 7), cfg), np.ones((4, 8), int), percentile=100)
        >>> m.adc_full_scale
        (24.0, 8.0)
    """
    if not isinstance(matrix, ProgrammedMatrix):
        raise ConfigError(f"calibrate_adc: matrix must be a ProgrammedMatrix; got {type(matrix).__name__}.")
    if isinstance(percentile, bool) or not isinstance(percentile, numbers.Real) or not (
            0.0 < float(percentile) <= 100.0):
        raise ConfigError(f"calibrate_adc: percentile must be in (0, 100]; got {percentile!r}.")
    cfg = matrix.config
    x = _as_int_matrix(x, "x", lo=cfg.x_min, hi=cfg.x_max, what="(batch, n_in)")
    if x.shape[0] == 0 or x.shape[1] != matrix.shape[0]:
        raise ShapeError(f"x must be (batch >= 1, {matrix.shape[0]}); got shape {x.shape}.")
    fixed, frac, _, _ = matrix._programmed()
    per_sample = matrix.shape[1] * cfg.n_cycles * (-(-matrix.shape[0] // cfg.rows))  # sums per field and sample
    signs = 1 if cfg.differential_adc == "subtract" else cfg.n_signs
    pooled = [StreamingPercentile(signs * per_sample * x.shape[0], float(percentile)) for _ in range(cfg.n_slices)]
    chunk = max(1, CALIBRATION_CHUNK // (fixed.shape[0] * per_sample))
    for start in range(0, x.shape[0], chunk):
        for _, sums in _column_sum_tiles(input_digits(x[start:start + chunk], cfg), fixed, rows=cfg.rows):
            if cfg.differential_adc == "subtract":  # (cycles x batch, fields, n_out)
                sums = np.abs(sums[:, : cfg.n_slices] - sums[:, cfg.n_slices:])
            for f in range(sums.shape[1]):
                pooled[f % cfg.n_slices].add(sums[:, f])
    scales = tuple(max(1.0, float(np.ldexp(p.value(), -frac))) for p in pooled)
    return replace(matrix, adc_full_scale=scales)


CALIBRATION_CHUNK = 2**22
"""Column sums :func:`calibrate_adc` computes at a time (32 MiB of int64); it keeps only each slice's
values above the running percentile (:class:`crossbar._select.StreamingPercentile`), so its memory
does not grow with the number of samples."""

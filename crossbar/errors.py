"""Exception and warning types of the simulator.

Every exception also subclasses the builtin a user would catch (``ValueError``), in the manner
of scikit-learn's ``NotFittedError(ValueError, AttributeError)``.
"""

from __future__ import annotations


class XbarError(Exception):
    """Base class of every error raised by this package."""


class ConfigError(XbarError, ValueError):
    """A configuration value is out of range or inconsistent."""


class ShapeError(XbarError, ValueError):
    """An array has the wrong number of dimensions or a mismatched shape."""


class InputError(XbarError, ValueError):
    """An array has the wrong dtype or holds values outside the allowed range (NaN, inf, ...)."""


class NotCalibratedError(XbarError, ValueError):
    """An ADC with ``adc_range="calibrated"`` was used before :func:`calibrate_adc`."""


class TrainingDivergedError(XbarError, ArithmeticError):
    """Training produced a non-finite loss (the learning rate or the injected noise is too large)."""


class NumericsWarning(UserWarning):
    """A numerical setting may lose accuracy (for example a saturating ADC)."""

"""Gaussian-process surrogates over (design, fidelity) with posterior function samples.

One GP per expensive objective over the inputs ``[x, z]`` (design in the unit cube, fidelity
``z`` in [0, 1], last column). The kernel is an ARD RBF over all ``d + 1`` inputs, which equals
the product kernel ``k_x(x, x') * k_z(z, z')`` of iMOCA / CF-MESMO (belakaria/iMOCA
``mfmodel.MTGPKernel``). BoTorch's multi-fidelity GP (``SingleTaskMultiFidelityGP``) is not used
because its fidelity kernels have no Fourier-feature prior sampler in BoTorch's pathwise module
(``draw_matheron_paths`` raises ``NotImplementedError``), and the acquisition needs function
samples. Samples are Matheron paths (random Fourier features for the prior plus the exact
pathwise update) drawn with the *fitted* hyper-parameters, unlike the reference code (which
sampled with the prior kernel, see reference §4 bug 2).

BoTorch draws its random features from torch's global generator; every draw here runs inside
``torch.random.fork_rng()`` seeded from an explicit seed, so the caller's global torch RNG state
is left untouched.

Fits run on :data:`FIT_THREADS` torch threads whatever the caller's setting
(:func:`torch_threads`): torch's multi-threaded kernels change the last bits of the marginal
likelihood with the thread count, L-BFGS amplifies them (fitted length-scales differed by up to
0.5 % between 1 and 2 threads on 30 points), and a search's later proposals follow (a seeded
CF-MESMO trade-off run on the DTLZ2 variant diverged at its 69th evaluation between 1 and 2
threads, qLogNEHVI on Branin-Currin at its 30th; with the fits pinned neither diverged in 102 and
60 evaluations). A fixed count makes a seeded search the same on machines with different core
counts (the same torch build and CPU type still assumed).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import torch

from crossbar.errors import ConfigError

DTYPE = torch.float64


@contextmanager
def jitter_is_expected():
    """Silence gpytorch's "added jitter" warning: a candidate at (or next to) an observed design, or
    a hallucinated pending point, makes the covariance singular, and the jitter is the remedy."""
    from gpytorch.utils.warnings import NumericalWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NumericalWarning)
        yield


FUSED_KERNEL_WARNING = "Failed to compile fused qLogEHVI"
"""The start of BoTorch's warning when it cannot compile qLogNEHVI's fused kernel (a regular
expression, as ``warnings`` and ``pytest.warns`` take it: no metacharacters)."""


@contextmanager
def fused_kernel_is_optional():
    """Silence BoTorch's warning that it could not compile qLogNEHVI's fused C++ kernel.

    BoTorch (0.18) compiles the kernel on a process's first qLogNEHVI (about 25 s the first time
    on a machine, then loaded from ``~/.cache/torch_extensions``) and falls back to its pure-Python
    path, with that warning, where there is no C++ compiler. Both paths compute the same
    acquisition (the test's proposals agree to the last bit), so a machine without a compiler gets the same search,
    only slower to propose, and no warning that the tests would turn into an error.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=FUSED_KERNEL_WARNING, category=UserWarning)
        yield


def load_fused_kernel() -> None:
    """Compile (first time on a machine) or load BoTorch's fused qLogNEHVI kernel now, so that a
    search's first proposal is not charged for it; nothing on BoTorch versions without one."""
    import botorch.acquisition.multi_objective.logei as logei

    load = getattr(logei, "_try_load_fused_kernel", None)
    if load is not None:
        with fused_kernel_is_optional():
            load()


@dataclass(frozen=True, eq=False)
class GPSurrogate:
    """A fitted GP of one objective over ``[x, z]``.

    Attributes:
        model: The fitted BoTorch ``SingleTaskGP`` (float64, outcome-standardized).
        n_var: Design dimensions ``d`` (inputs are ``d + 1`` wide, fidelity last).
    """

    model: object
    n_var: int

    def predict(self, xz: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Posterior mean and standard deviation of the latent function.

        Args:
            xz: Inputs, shape ``(n, d + 1)``.

        Returns:
            ``(mean, std)``, each shape ``(n,)``.
        """
        t = torch.as_tensor(np.asarray(xz, dtype=np.float64), dtype=DTYPE)
        with torch.no_grad(), jitter_is_expected():
            post = self.model.posterior(t)
            mean = post.mean.squeeze(-1).numpy()
            std = post.variance.clamp_min(0.0).sqrt().squeeze(-1).numpy()
        return mean, std

    def pair_moments(self, xz: np.ndarray, xz_target: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Posterior variances of the latent function at ``xz`` and ``xz_target`` (row by row,
        each ``(n, d + 1)``) and their correlation: ``(var, var_target, rho)``, each ``(n,)``."""
        a = np.asarray(xz, dtype=np.float64)
        t = torch.as_tensor(np.stack([a, np.asarray(xz_target, dtype=np.float64)], axis=1), dtype=DTYPE)
        with torch.no_grad(), jitter_is_expected():
            cov = self.model.posterior(t).distribution.covariance_matrix.numpy().reshape(len(a), 2, 2)
        var, var_t = np.maximum(cov[:, 0, 0], 0.0), np.maximum(cov[:, 1, 1], 0.0)
        denom = np.sqrt(var * var_t)
        rho = np.divide(cov[:, 0, 1], denom, out=np.zeros(len(a)), where=denom > 0)
        return var, var_t, np.clip(rho, -1.0, 1.0)

    @property
    def noise_variance(self) -> float:
        """The fitted observation-noise variance, in the objective's units."""
        return float(self.model.likelihood.noise.detach().reshape(-1)[0]) * self.output_scale**2

    def sample_paths(self, n_samples: int, *, seed: int) -> Callable[[np.ndarray], np.ndarray]:
        """Posterior function samples as a vectorized callable ``xz (n, d+1) -> (n_samples, n)``."""
        from botorch.sampling.pathwise import draw_matheron_paths

        with torch.random.fork_rng(), jitter_is_expected():
            torch.manual_seed(seed)
            paths = draw_matheron_paths(self.model, sample_shape=torch.Size([n_samples]))

        def evaluate(xz: np.ndarray) -> np.ndarray:
            t = torch.as_tensor(np.asarray(xz, dtype=np.float64), dtype=DTYPE)
            with torch.no_grad(), jitter_is_expected():
                return paths(t).numpy()

        return evaluate

    @property
    def output_scale(self) -> float:
        """Standard deviation of the training targets (the outcome standardization), so that
        ``std / output_scale`` is in standardized units."""
        return float(self.model.outcome_transform.stdvs.detach().reshape(-1)[0])

    @property
    def lengthscales(self) -> np.ndarray:
        """Fitted ARD length-scales, shape ``(d + 1,)`` (fidelity last), in unit-cube units."""
        return self.model.covar_module.lengthscale.detach().numpy().reshape(-1)

    def condition(self, xz: np.ndarray) -> GPSurrogate:
        """The GP conditioned on hallucinated observations at its own posterior mean at ``xz``
        (pending points: their variance collapses, the mean stays; "kriging believer")."""
        if len(xz) == 0:
            return self
        t = torch.as_tensor(np.asarray(xz, dtype=np.float64), dtype=DTYPE)
        with torch.no_grad(), jitter_is_expected():
            y = self.model.posterior(t).mean
            cond = self.model.condition_on_observations(t, y)
        return GPSurrogate(model=cond, n_var=self.n_var)


FIT_THREADS = 2
"""Torch threads of every GP fit: 2, the count every published search of this project ran with
(the default on its 2-core machine), so that those runs reproduce on any machine."""


@contextmanager
def torch_threads(n: int):
    """Run the block on ``n`` torch intra-op threads, then restore the caller's thread count.
    Nothing is set when the caller already has ``n``: ``torch.set_num_threads`` is not free (it made
    each CF-MESMO proposal of ``make demo`` about 1 s slower, 3.8 s instead of 2.9 s)."""
    before = torch.get_num_threads()
    if before == n:
        yield
        return
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def fit_surrogate(xz: np.ndarray, y: np.ndarray) -> GPSurrogate:
    """Fit one GP to observations of one objective.

    Args:
        xz: Inputs ``(n, d + 1)`` in the unit cube (fidelity last), ``n >= 2``.
        y: Observed values ``(n,)`` (any scale; standardized internally).

    Returns:
        The fitted surrogate (hyper-parameters by marginal likelihood, BoTorch's
        ``fit_gpytorch_mll``; deterministic: L-BFGS from fixed initial values, on
        :data:`FIT_THREADS` torch threads whatever the caller's thread count).

    Raises:
        ConfigError: Wrong shapes, too few points, inputs outside [0, 1] or non-finite values.
    """
    from botorch.fit import fit_gpytorch_mll
    from botorch.models import SingleTaskGP
    from botorch.models.transforms.outcome import Standardize
    from gpytorch.mlls import ExactMarginalLogLikelihood

    xz = np.asarray(xz, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64).reshape(-1)
    if xz.ndim != 2 or xz.shape[0] != y.shape[0] or xz.shape[0] < 2:
        raise ConfigError(f"fit_surrogate: need xz (n >= 2, d + 1) and y (n,); got {xz.shape} and {y.shape}.")
    if not (np.all(np.isfinite(xz)) and np.all(np.isfinite(y))):
        raise ConfigError("fit_surrogate: xz and y must be finite (record failed evaluations separately).")
    if xz.min() < -1e-12 or xz.max() > 1 + 1e-12:
        raise ConfigError(f"fit_surrogate: xz must lie in the unit cube; got range [{xz.min()}, {xz.max()}].")
    tx = torch.as_tensor(xz, dtype=DTYPE)
    ty = torch.as_tensor(y[:, None], dtype=DTYPE)
    model = SingleTaskGP(tx, ty, outcome_transform=Standardize(m=1))
    with warnings.catch_warnings(), torch_threads(FIT_THREADS):  # thread-count independent (module docstring)
        warnings.simplefilter("ignore")  # BoTorch's input-scaling and optimizer chatter
        fit_gpytorch_mll(ExactMarginalLogLikelihood(model.likelihood, model))
    model.eval()
    return GPSurrogate(model=model, n_var=xz.shape[1] - 1)

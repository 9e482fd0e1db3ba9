"""Cheap synthetic multi-fidelity multi-objective problems with known Pareto fronts.

All problems *minimize* ``F`` over ``X`` in the unit cube ``[0, 1]^n_var``. The fidelity ``z`` is
in ``[0, 1]``, ``z = 1`` being the target fidelity, where every problem equals its unperturbed
form. ``z`` may be a scalar, one value per point (shape ``(n,)``) or one value per point and
objective (shape ``(n, n_obj)``, iMOCA's "decoupled" evaluation); cheap objectives (those with
``expensive[j] == False``) are exact and ignore it.

Cost of an evaluation (iMOCA ``main.py``): each expensive objective ``j`` has a raw cost
``c_j(z)``; an evaluation costs ``sum_j c_j(z_j) / c_j(1)`` over the expensive objectives, so
evaluating them all at ``z = 1`` costs ``sum(expensive)`` units. Cheap objectives cost 0.

Hypervolume (:func:`hypervolume`): objectives are normalized with the problem's ``ideal`` and
``nadir`` (the extremes of the true front), ``F_n = (F - ideal) / (nadir - ideal)``, so the front
lies in ``[0, 1]^m``, and the reference point is ``1.1`` per normalized objective. Points that do
not dominate it contribute nothing. The indicator is pymoo's :class:`pymoo.indicators.hv.HV`.

Problems:

* :class:`BraninCurrin`: the fidelity-perturbed Branin-Currin pair of iMOCA (both expensive).
* :class:`ZDT1MF`: ZDT1 with an exact cheap ``f1 = x_0`` and a fidelity-perturbed ``f2``.
* :class:`AccuracyCostDTLZ2`: the ReRAM structure; one expensive "error" objective (an upper
  bound at low fidelity, like accuracy after few epochs) and ``n_obj - 1`` cheap exact
  "cost" objectives, with a DTLZ2 (unit sphere) front.

References:
    iMOCA: Belakaria, Deshwal, Doppa, "Multi-Fidelity Multi-Objective Bayesian Optimization: An
    Output Space Entropy Search Approach" (AAAI 2020) and "Information-Theoretic Multi-Objective
    Bayesian Optimization with Continuous Approximations" (arXiv 2009.05700); code
    github.com/belakaria/iMOCA, ``test_functions.py`` (``cmfbranin``, ``cmfCurrin``) and
    ``main.py`` (cost functions, cost normalization), commit af67dbf.
    Branin multi-fidelity shift: Kandasamy et al., "Multi-fidelity Bayesian Optimisation with
    Continuous Approximations" (BOCA, ICML 2017). BoTorch ``BraninCurrin`` (the z = 1 pair) and
    ``MOMFBraninCurrin`` (Irshad et al. 2021, a different perturbation).
    ZDT1: Zitzler, Deb, Thiele, Evolutionary Computation 8(2), 2000. DTLZ2: Deb, Thiele,
    Laumanns, Zitzler, "Scalable multi-objective optimization test problems", CEC 2002.

Layout: :mod:`search.benchmarks._base` (the protocol, input checks, :func:`hypervolume` and
:func:`non_dominated`), :mod:`search.benchmarks.branin_currin`, :mod:`search.benchmarks.zdt1` and
:mod:`search.benchmarks.dtlz2` (one problem each); everything public is re-exported here.
"""

from __future__ import annotations

from search.benchmarks._base import (
    DEFAULT_REF_POINT,  # noqa: F401  (importable here as before; not in __all__)
    MultiFidelityBenchmark,
    hypervolume,
    non_dominated,
)
from search.benchmarks.branin_currin import BraninCurrin
from search.benchmarks.dtlz2 import AccuracyCostDTLZ2
from search.benchmarks.zdt1 import ZDT1MF

__all__ = [
    "BENCHMARKS",
    "AccuracyCostDTLZ2",
    "BraninCurrin",
    "MultiFidelityBenchmark",
    "ZDT1MF",
    "hypervolume",
    "non_dominated",
]

BENCHMARKS: dict[str, type] = {
    "branin_currin": BraninCurrin,
    "zdt1_mf": ZDT1MF,
    "dtlz2_accuracy_cost": AccuracyCostDTLZ2,
}
"""Registry: name -> problem class (construct with the class's keyword fields)."""

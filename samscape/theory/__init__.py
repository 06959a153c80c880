"""Stability, confinement, hallucination and sharpness: the SAM papers' claims, symbolic and numeric.

Closed forms (:func:`gd_threshold`, :func:`usam_threshold`, :func:`usam_factor`, their inverses :func:`gd_lr_edge`
and :func:`usam_rho_edge`, :func:`sam_edge`, :func:`sam_two_cycle`; every optimizer's :func:`edge` and 1-D
:func:`two_cycle`, with momentum through :func:`momentum_lr`), linear
stability of the update maps (:func:`fixed_point_stability`), SAM's 2-cycle around a minimizer on the landscape and
the stability edge of each optimizer (:func:`sam_cycle`, :func:`sam_cycle_edge`, :func:`stability_edge`), stochastic stability at an interpolating minimum
(:func:`mean_square_radius`, :func:`lyapunov_exponent`, :func:`alignment_gamma` and P3's inequalities), P3's valley
confinement (:func:`valley_conditions`), P1's hallucinated minimizers (:func:`find_hallucinated`,
:func:`hallucination_window`), P2's sharpness notions and drift (:func:`sharpness`, :func:`manifold_drift`), where
runs end (:func:`classify_fates`, :func:`stability_fates`; plots draw them), and
the wider literature's edges, expansions, drifts and floors (:func:`sam_cycle_factors`,
:func:`usam_stable_rho_interval`, :func:`dual_norm_ascent`, :func:`modified_loss_gradient`,
:func:`smoothed_gradient_correction`, :func:`random_sam_drift`, :func:`balancedness_factor`,
:func:`stochastic_limit`), and the registry of claims that :func:`check` runs against simulation
(``samscape check``), citing the papers of :data:`PAPERS`.
"""

from .claims import PAPERS, Citation, ClaimResult, Paper, check, claim_names, format_table, run_claim
from .cycles import CycleEdge, StabilityEdge, TwoCycle, polish_minimizer, sam_cycle, sam_cycle_edge, stability_edge
from .fates import FATES, STABILITY_FATES, StabilityGrid, advance, classify_fates, final_optimizer, run_phases, stability_fates
from .hallucination import (
    CriticalPoints,
    HallucinatedPoint,
    HallucinationSearch,
    HallucinationWindow,
    critical_points_1d,
    find_hallucinated,
    hallucination_window,
)
from .sharpness import (
    ManifoldDrift,
    Sharpness,
    hessian_curvature,
    manifold_drift,
    manifold_sharpness_limits,
    predicted_drift_path,
    sharpness,
)
from .stability import (
    LINEAR_MAPS,
    FixedPointStability,
    LinearMap,
    edge,
    fixed_map_optimizers,
    linear_map,
    mean_map,
    sharpness_threshold,
    fixed_point_stability,
    gd_lr_edge,
    gd_threshold,
    sam_edge,
    sam_two_cycle,
    two_cycle,
    update_jacobian,
    usam_factor,
    usam_rho_edge,
    usam_threshold,
)
from .stochastic import (
    LyapunovExponent,
    MeanSquareStability,
    PLConditions,
    StabilityInequality,
    alignment_gamma,
    batch_law,
    lyapunov_exponent,
    mean_square_radius,
    mean_square_radius_grid,
    pl_conditions,
    quadratic_finite_sum,
    sgd_stability_inequality,
    usam_inequality_rho_edge,
    usam_stability_inequality,
)
from .valley import Extremum, ValleyConditions, valley_conditions
from .edges import (
    asam_threshold,
    asam_two_cycle,
    projected_ascent_radius,
    repeated_ascent_rho_edge,
    repeated_ascent_threshold,
    sam_cycle_factors,
    unified_sam_threshold,
    unified_sam_two_cycle,
    usam_stable_rho_interval,
)
from .momentum import augmented_jacobian, momentum_lr, sam_momentum_cycle_velocity, sam_momentum_two_cycle
from .smoothing import dual_norm_ascent, modified_loss_gradient, smoothed_gradient_correction
from .drift import RandomDrift, balancedness_factor, random_sam_drift
from .floors import stochastic_limit

__all__ = [
    "gd_threshold", "usam_threshold", "usam_factor", "gd_lr_edge", "usam_rho_edge", "sam_edge", "sam_two_cycle",
    "fixed_point_stability", "update_jacobian", "FixedPointStability", "LinearMap", "LINEAR_MAPS", "linear_map",
    "mean_map", "sharpness_threshold", "fixed_map_optimizers", "edge", "two_cycle", "momentum_lr",
    "augmented_jacobian", "sam_momentum_two_cycle", "sam_momentum_cycle_velocity", "repeated_ascent_threshold",
    "repeated_ascent_rho_edge", "asam_threshold", "asam_two_cycle", "unified_sam_threshold", "unified_sam_two_cycle",
    "projected_ascent_radius",
    "sam_cycle", "sam_cycle_edge", "stability_edge", "polish_minimizer", "TwoCycle", "CycleEdge", "StabilityEdge",
    "mean_square_radius", "mean_square_radius_grid", "usam_inequality_rho_edge", "lyapunov_exponent", "alignment_gamma", "batch_law",
    "sgd_stability_inequality", "usam_stability_inequality", "pl_conditions", "quadratic_finite_sum",
    "MeanSquareStability", "LyapunovExponent", "StabilityInequality", "PLConditions",
    "valley_conditions", "ValleyConditions", "Extremum",
    "find_hallucinated", "hallucination_window", "critical_points_1d",
    "HallucinationSearch", "HallucinatedPoint", "HallucinationWindow", "CriticalPoints",
    "sharpness", "hessian_curvature", "manifold_drift", "manifold_sharpness_limits", "predicted_drift_path", "Sharpness", "ManifoldDrift",
    "classify_fates", "stability_fates", "advance", "StabilityGrid", "FATES", "STABILITY_FATES", "run_phases",
    "final_optimizer",
    "sam_cycle_factors", "usam_stable_rho_interval", "dual_norm_ascent", "modified_loss_gradient",
    "smoothed_gradient_correction", "random_sam_drift", "balancedness_factor", "RandomDrift", "stochastic_limit",
    "check", "claim_names", "run_claim", "format_table", "ClaimResult", "PAPERS", "Paper", "Citation",
]

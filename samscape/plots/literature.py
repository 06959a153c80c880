"""Figures for the wider SAM literature (docs/theory.md section 8): a measured series against what theory predicts.

Each function draws arrays it is given (simulated series and the theory's predictions, computed by the caller with
:mod:`samscape.theory`) on one Axes and returns it:

- :func:`edge_tracking`: a run's sharpness beside the SAM edge at every step, with GD's ``2/lr`` (Long & Bartlett);
- :func:`drift_comparison`: positions along a ravine against the finite-step prediction and P2's flow (Bartlett,
  Long & Bousquet);
- :func:`rho_factors`: per-direction factors of a map against ``rho``, with the interval where all are below 1
  (Kim et al.: USAM's saddle attractor);
- :func:`running_means`: means over paths against the step, with their predicted limits (Si & Yun: the floor).
"""

from __future__ import annotations

import numpy as np

from .style import CYCLE, OKABE_ITO, add_legend, context, new_axes

_SIMULATED = {"linewidth": 1.2}
_PREDICTED = {"color": "black", "linewidth": 0.9, "linestyle": (0, (3, 1.5))}
_FLOW = {"color": "#777777", "linewidth": 0.9, "linestyle": (0, (1, 1.5))}


def _series(values, name: str, length: int | None = None) -> np.ndarray:
    arr = np.asarray(values, dtype=float)
    if arr.ndim != 1 or arr.size == 0 or (length is not None and arr.size != length):
        size = f" of length {length}" if length is not None else ""
        raise ValueError(f"{name} must be a 1-D array{size}, got shape {arr.shape}")
    return arr


def _columns(values, name: str, length: int) -> np.ndarray:
    """``(length, k)`` from ``(length,)`` or ``(length, k)``."""
    arr = np.asarray(values, dtype=float)
    arr = arr[:, None] if arr.ndim == 1 else arr
    if arr.ndim != 2 or arr.shape[0] != length:
        raise ValueError(f"{name} must have shape ({length},) or ({length}, k), got shape {np.shape(values)}")
    return arr


def edge_tracking(steps, sharpness, edge, gd_edge, *, ax=None, legend=True):
    """A run's sharpness ``lambda_max(hess f(x_t))`` (solid) and the SAM edge ``lambda_S(lr, rho, ||grad f(x_t)||)``
    (dashed, on top) at the same steps, and GD's edge ``2/lr`` (dotted). ``steps``, ``sharpness``, ``edge``:
    ``(n,)``; ``gd_edge``: a number (``theory.gd_threshold(lr)``)."""
    steps = _series(steps, "steps")
    sharpness = _series(sharpness, "sharpness", steps.size)
    edge = _series(edge, "edge", steps.size)
    ax = new_axes(ax)
    with context():
        ax.plot(steps, sharpness, color=OKABE_ITO["vermillion"], label=r"SAM's $\lambda_{\max}(\nabla^2 f(x_t))$",
                **_SIMULATED)
        ax.plot(steps, edge, label=r"SAM edge $\lambda_S(\eta, \rho, \|\nabla f(x_t)\|)$", **_PREDICTED)
        ax.axhline(float(gd_edge), label=r"GD's edge $2/\eta$", **_FLOW)
        ax.set_xlabel("step $t$")
        ax.set_ylabel("curvature")
        ax.set_xlim(steps[0], steps[-1])
        ax.set_ylim(0, 1.08 * float(gd_edge))
        add_legend(ax, legend, loc="lower left", fontsize="small")
    return ax


def drift_comparison(steps, observed, predicted, flow, labels, *, ax=None, legend=True):
    """Positions along a valley against the step: simulated (solid, one colour per column), the finite-step
    prediction (dashed black) and P2's small-step flow (dotted grey). ``steps``: ``(n,)``; ``observed``,
    ``predicted``, ``flow``: ``(n,)`` or ``(n, k)``; ``labels``: ``k`` strings naming the columns."""
    steps = _series(steps, "steps")
    observed = _columns(observed, "observed", steps.size)
    predicted = _columns(predicted, "predicted", steps.size)
    flow = _columns(flow, "flow", steps.size)
    labels = list(labels)
    if not observed.shape[1] == predicted.shape[1] == flow.shape[1] == len(labels):
        raise ValueError(f"labels must name each of the {observed.shape[1]} columns, got {len(labels)} labels")
    ax = new_axes(ax)
    with context():
        for k, label in enumerate(labels):
            ax.plot(steps, observed[:, k], color=CYCLE[k % len(CYCLE)], label=label, **_SIMULATED)
            ax.plot(steps, predicted[:, k], label="finite-step prediction" if k == 0 else None, **_PREDICTED)
            ax.plot(steps, flow[:, k], label="small-step flow (P2)" if k == 0 else None, **_FLOW)
        ax.set_xlabel("step $t$")
        ax.set_ylabel("position along the valley floor")
        ax.set_xlim(steps[0], steps[-1])
        add_legend(ax, legend, loc="best", fontsize="small")
    return ax


def rho_factors(rhos, factors, labels, interval, *, ax=None, legend=True):
    """Per-direction factors ``|1 - lr lam (1 + rho lam)|`` against ``rho`` (one curve per column of ``factors``
    ``(n, k)``, named by ``labels``), the line 1, and the interval ``(lo, hi)`` where every factor is below 1
    shaded (``theory.usam_stable_rho_interval``)."""
    rhos = _series(rhos, "rhos")
    factors = _columns(factors, "factors", rhos.size)
    labels = list(labels)
    if len(labels) != factors.shape[1]:
        raise ValueError(f"labels must name each of the {factors.shape[1]} columns, got {len(labels)} labels")
    lo, hi = (float(v) for v in interval)
    ax = new_axes(ax)
    with context():
        if np.isfinite(lo) and np.isfinite(hi):
            ax.axvspan(lo, hi, color=OKABE_ITO["blue"], alpha=0.12, linewidth=0, label="the fixed point attracts")
        for k, label in enumerate(labels):
            ax.plot(rhos, factors[:, k], color=CYCLE[(k + 2) % len(CYCLE)], label=label, **_SIMULATED)
        ax.axhline(1.0, color="black", linewidth=0.7)
        ax.set_xlabel(r"$\rho$")
        ax.set_ylabel("factor per step")
        ax.set_xlim(rhos[0], rhos[-1])
        ax.set_ylim(0, 2)
        add_legend(ax, legend, loc="upper center", fontsize="small")
    return ax


def running_means(steps, means, errors, limits, labels, *, ax=None, legend=True):
    """Means over independent paths against the step (one colour per column of ``means`` ``(n, k)``, with a band of
    two standard errors ``errors`` ``(n, k)``) and each column's predicted limit (``limits`` ``(k,)``, dashed)."""
    steps = _series(steps, "steps")
    means = _columns(means, "means", steps.size)
    errors = _columns(errors, "errors", steps.size)
    limits = _series(limits, "limits", means.shape[1])
    labels = list(labels)
    if len(labels) != means.shape[1] or errors.shape != means.shape:
        raise ValueError(f"labels and errors must match the {means.shape[1]} columns of means")
    ax = new_axes(ax)
    with context():
        for k, label in enumerate(labels):
            color = CYCLE[k % len(CYCLE)]
            ax.fill_between(steps, means[:, k] - 2 * errors[:, k], means[:, k] + 2 * errors[:, k], color=color,
                            alpha=0.2, linewidth=0)
            ax.plot(steps, means[:, k], color=color, label=label, **_SIMULATED)
            ax.axhline(limits[k], color=color, linewidth=0.9, linestyle=(0, (3, 1.5)))
        ax.plot([], [], label="predicted limit", **_PREDICTED)
        ax.set_xlabel("step $t$")
        ax.set_ylabel("mean of $x_t$ over paths")
        ax.set_xlim(steps[0], steps[-1])
        add_legend(ax, legend, loc="center right", fontsize="small")
    return ax

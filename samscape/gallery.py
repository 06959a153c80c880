"""The demo gallery: simulations, theory numbers and figures for the three SAM papers, on one HTML page.

:func:`build` runs every section, writes each figure (PNG, one GIF) into ``out`` and an ``index.html`` that shows
them with captions and the ``samscape check`` table. Sizes come from :data:`QUICK` or :data:`FULL`; every file is
written atomically, and each section reports its progress and time.

The gallery sits above ``plots`` (which alone imports matplotlib) and beside the CLI.
"""

from __future__ import annotations

import html
import os
import sys
import time
from dataclasses import dataclass, field

import numpy as np

from . import __version__, dynamics, landscapes, plots, theory
from ._atomic import atomic_output
from .plots import literature as literature_plots

QUICK = {
    "switch_steps": 1600, "basin_grid": 30, "basin_steps": 600, "manifold_steps": 1500, "one_sam_starts": 4,
    "stability_grid": 28, "stability_steps": 300, "valley_steps": 60, "gif_frames": 36, "ring_grid": 24,
    "edge_steps": 1500, "floor_paths": 150, "floor_steps": 800, "variants_grid": 16, "variants_steps": 300,
}
FULL = {
    "switch_steps": 2000, "basin_grid": 81, "basin_steps": 1500, "manifold_steps": 3000, "one_sam_starts": 8,
    "stability_grid": 90, "stability_steps": 1000, "valley_steps": 80, "gif_frames": 90, "ring_grid": 60,
    "edge_steps": 3000, "floor_paths": 400, "floor_steps": 1200, "variants_grid": 60, "variants_steps": 800,
}


@dataclass
class Entry:
    """One figure of the page: its file, a title, a plain-language sentence, what to look at, and the claim it
    illustrates."""

    file: str
    title: str
    caption: str
    claim: str
    numbers: dict = field(default_factory=dict)
    plain: str = ""  # one sentence without symbols, read first: what a newcomer should see in the picture
    explore: dict = field(default_factory=dict)  # the explorer's state that tells the same story (query parameters)
    group: str = ""  # a heading of the page the figure opens when it differs from the previous figure's


# `samscape explore`'s address with its default port: the page's links open the same story there
EXPLORER_URL = "http://127.0.0.1:5006/"


def explorer_link(params: dict) -> str:
    """The explorer's URL for ``params``, its query parameters (README: *Live explorer*): a point list
    ``[(x, y), ...]`` becomes ``x,y;x,y``, everything else its ``str``."""
    from urllib.parse import urlencode

    def text(value):
        if isinstance(value, (list, tuple, np.ndarray)):
            return ";".join(",".join(repr(float(c)) for c in np.atleast_1d(p)) for p in value)
        return str(value)

    return EXPLORER_URL + "?" + urlencode({k: text(v) for k, v in params.items()}, safe=",;:*()")


def _say(message: str, stream=None) -> None:
    print(message, file=stream or sys.stdout, flush=True)


def _write_text(path: str, text: str) -> str:
    """Write ``text`` to ``path`` so a reader never sees half a file."""
    with atomic_output(path) as tmp, open(tmp, "w", encoding="utf-8") as handle:
        handle.write(text)
    return path


def _grid(window: np.ndarray, n: int) -> np.ndarray:
    """``n x n`` starts at the centres of the cells of a 2-D window: ``(n*n, 2)``.

    Cell centres, not a linspace over the edges: a symmetric grid would put starts exactly on critical points
    (the origin, the axes), where SAM's perturbation vanishes and a start never moves.
    """
    u = window[0, 0] + (np.arange(n) + 0.5) * (window[0, 1] - window[0, 0]) / n
    v = window[1, 0] + (np.arange(n) + 0.5) * (window[1, 1] - window[1, 0]) / n
    return np.stack(np.meshgrid(u, v), axis=-1).reshape(-1, 2)


# ---------------------------------------------------------------------------------------------- 1. P3 switch
def p3_switch(out: str, cfg: dict, state: dict) -> list[Entry]:
    land = landscapes.get("tanh")
    lr, rho, at, steps = 0.5, 0.2, 300, cfg["switch_steps"]
    opt = dynamics.Switch(dynamics.GD(lr), dynamics.SAM(lr, rho), at=at)
    x0 = np.array([[2.5, 0.8], [-2.2, -0.9]])
    run = dynamics.simulate(land, opt, x0, steps, every=1, seed=0)
    state["switch_run"] = run
    fig, (left, right) = plots.figure(1, 2, size=(plots.FULL, 3.0), width_ratios=[1.25, 1])
    plots.trajectories(run, ax=left, background=True, background_kw={"log": True, "colorbar": True},
                       linewidth=0.6, legend={"loc": "lower center", "fontsize": "small"})
    # P2 Thm 4.8's bounce across the valley, +-eta*rho*lam/(2 - eta*lam) with lam = tanh(u)^2, over the SAM paths
    u = np.linspace(0.02, 3.0, 200)
    amplitude = theory.sam_two_cycle(lr, rho, np.tanh(u) ** 2)
    for sign_u in (1, -1):
        for sign_v in (1, -1):
            left.plot(sign_u * u, sign_v * amplitude, color="black", linewidth=0.6, linestyle=(0, (2, 1.5)),
                      label=r"$\pm\eta\rho\lambda/(2-\eta\lambda)$" if sign_u == sign_v == 1 else None)
    left.legend(loc="lower center", fontsize="small")
    plots.curves(run, "sharpness", ax=right, legend={"loc": "upper center", "bbox_to_anchor": (0.5, -0.2),
                                                     "ncol": 3, "fontsize": "small", "frameon": False})
    plots.panel_labels([left, right], ["paths over $L(u, v)$ (log colour scale)", "sharpness along the paths"])
    plots.save(fig, os.path.join(out, "p3_switch.png"))
    u_switch = np.abs(run.xs[np.searchsorted(run.steps, at), :, 0])
    u_end = np.abs(run.x[:, 0])
    lam_switch = np.tanh(u_switch) ** 2
    return [Entry(
        "p3_switch.png",
        "GD settles at a sharp minimum; after the switch SAM escapes and drifts to flatter ones",
        f"The loss ½ tanh²(v tanh u) (one data point, so SGD is GD). GD (blue, η = {lr}) runs for {at} steps from "
        "the hollow circles and settles on the valley floor v = 0 at |u| ≈ "
        f"{', '.join(f'{x:.2f}' for x in u_switch)}, where the sharpness tanh²u ≈ "
        f"{', '.join(f'{x:.2f}' for x in lam_switch)} is below GD's edge 2/η = {theory.gd_threshold(lr):g}: GD is stable there and "
        f"stays. Then SAM (vermillion, ρ = {rho}) takes over: it leaves the bottom at once (normalized SAM has no "
        "stable minimum with positive curvature; it bounces across the valley), stays in the valley, and drifts "
        f"along v = 0 toward small |u| (final |u| = {', '.join(f'{x:.1e}' for x in u_end)}). Right: λ_max of the "
        "Hessian (solid) and its trace (dashed, equal here since the Hessian on the valley is diag(0, tanh²u)) "
        "collapse after the switch.",
        "P3 §4 (Example 4.1 and the two-phase picture of its Figure 4): SAM late in training escapes the minimum "
        "SGD found, stays in the same valley and converges to a flatter minimum.",
        {"u at switch": u_switch.tolist(), "u at end": u_end.tolist()},
        plain=("Plain gradient descent stops in the first valley bottom it reaches, even a steep one; once SAM "
               "takes over, the points slide along the valley floor to where it is flattest."),
        explore=dict(landscape="tanh", opt="gd", then="sam", at=at, eta=lr, rho=rho, steps=steps, starts=x0),
    )]


# ---------------------------------------------------------------------------------------------- 2. P1 hallucination
def _tilted_wells(c: float):
    """``w(x) + w(y)`` with the tilted double well ``w(z) = (z^2 - 1)^2/4 + c z``: four minima of unequal width,
    one isolated maximum, four saddles; critical points from the catalog's ``double_well``."""
    well = landscapes.get("double_well", c=c)
    mins = well.minimizers[:, 0]
    maxs = well.maximizers[:, 0]
    return landscapes.from_expr(
        _tilted_text(c), ["x", "y"], name=f"tilted wells (c={c:g})",
        window=[[-2.0, 2.0], [-2.0, 2.0]],
        minimizers=[[a, b] for a in mins for b in mins], maximizers=[[a, a] for a in maxs],
        description="sum of two tilted double wells: minima of unequal width and an isolated maximum",
        source="samscape gallery, after P1 Figure 1",
    ), mins, maxs


def _tilted_text(c: float) -> str:
    return f"(x**2 - 1)**2/4 + {c!r}*x + (y**2 - 1)**2/4 + {c!r}*y"


def p1_hallucination(out: str, cfg: dict, state: dict) -> list[Entry]:
    c, lr, rho = 0.25, 0.05, 0.9
    land, mins, maxs = _tilted_wells(c)
    box = np.asarray(land.window)
    found = theory.find_hallucinated(land, rho, box, lr=lr)
    sam = dynamics.SAM(lr, rho)

    fig, axes = plots.figure(1, 3, size=(plots.FULL, 2.75))
    plots.contour(land, ax=axes[0], levels=18, colorbar=False)
    plots.surrogate(land, rho, ax=axes[1], levels=18, colorbar=False, hallucinated=found)
    plots.contour(land, ax=axes[2], levels=18, colorbar=False, lines=False, alpha=0.6)
    plots.vector_field(land, sam, ax=axes[2], hallucinated=found, density=0.55)
    for ax in axes:
        ax.set_aspect("equal")
    plots.figure_legend(fig, axes[2])
    plots.panel_labels(axes, ["$f$", rf"$f^{{\mathrm{{SAM}}}}$, $\rho={rho:g}$", r"SAM field $-\nabla f(x^+)$"])
    plots.save(fig, os.path.join(out, "p1_field.png"))
    x_h, _, attracting, _ = found.arrays()
    n_attr = int(attracting.sum())

    n, steps = cfg["basin_grid"], cfg["basin_steps"]
    starts = _grid(box, n)
    plain = dynamics.simulate(land, sam, starts, steps, every=steps, seed=0)
    warm = dynamics.simulate(land, dynamics.Switch(dynamics.GD(lr), sam, at=steps // 10), starts, steps,
                             every=steps, seed=0)
    fates_plain, fates_warm = theory.classify_fates(plain), theory.classify_fates(warm)
    shown = found.only_attracting()
    fig, axes = plots.figure(1, 2, size=(plots.FULL * 0.8, 3.2))
    plots.basins(plain, ax=axes[0], fates=fates_plain, hallucinated=shown, legend=True)
    plots.basins(warm, ax=axes[1], fates=fates_warm, hallucinated=shown, legend=True)
    plots.panel_labels(axes, [f"SAM from every start ({steps} steps)", f"GD for {steps // 10} steps, then SAM"])
    plots.save(fig, os.path.join(out, "p1_basins.png"))
    share = {k: float(np.mean(f == "hallucinated")) for k, f in (("plain", fates_plain), ("warm", fates_warm))}
    well_text = ", ".join(f"{m:.3f}" for m in mins)
    return [
        Entry(
            "p1_field.png",
            "A landscape with minima and a maximum, SAM's surrogate, and SAM's field with hallucinated minimizers",
            f"f(x, y) = w(x) + w(y) with the tilted double well w(z) = (z² − 1)²/4 + {c}z: minima (white circles) "
            f"where each coordinate is one of {well_text}, an isolated maximum (black triangle) at "
            f"({maxs[0]:.3f}, {maxs[0]:.3f}). (b) f^SAM(x) = f(x + ρ∇f/‖∇f‖) with ρ = {rho}; its minima sit off the "
            "minima of f. (c) Streamlines of SAM's update direction −∇f(x⁺) (η = "
            f"{lr}). Diamonds: the {len(x_h)} hallucinated minimizers theory.find_hallucinated finds in the window "
            f"(∇f ≠ 0 but ∇f(x⁺) = 0, with x̄⁺ a critical point at distance ρ), {n_attr} of them attracting (filled). "
            "Look at the streamlines converging on the filled diamonds, where f has no critical point.",
            "P1 (Figure 1 and its theorems): SAM's fixed points include hallucinated minimizers — points that are "
            "not stationary for f — and some attract SAM's iterates.",
            {"hallucinated": len(x_h), "attracting": n_attr},
            plain=("SAM peeks a little uphill before every step down, and that peek can make it stop at places "
                   "that are not low points of the landscape at all."),
            explore=dict(expr=_tilted_text(c), vars="x,y", opt="sam", eta=lr, rho=rho, steps=steps,
                         starts=_grid(box, 4), halluc=1, field=1),
        ),
        Entry(
            "p1_basins.png",
            "Where SAM ends, with and without a GD warm start",
            f"Each cell is a start on a {n}×{n} grid, coloured by where SAM (η = {lr}, ρ = {rho}) ends after "
            f"{steps} steps: bouncing around a true minimizer (green), at rest on a hallucinated point "
            "(vermillion; classify_fates: the update is at rest but ∇f ≠ 0), still moving (yellow) or diverged. "
            f"Diamonds: the {n_attr} attracting hallucinated minimizers of p1_field.png, drawn as there (vermillion, "
            "black edge), with a thin white rim so they stand out on the vermillion cells too. "
            f"(a) SAM from the start: {100 * share['plain']:.0f} % of the starts end on a hallucinated point. "
            f"(b) The same steps, but plain GD for the first {steps // 10}: {100 * share['warm']:.0f} %. GD first "
            "carries each start into the basin of a true minimum, and there SAM's 2-cycle keeps it.",
            "P1: a poor start can lead SAM into a hallucinated minimizer; a short (S)GD warm start before SAM "
            "mitigates it.",
            share,
            plain=("Each square is a starting point, coloured by where SAM ends: the vermillion ones get stuck "
                   "at a false low point, and a short warm-up with plain gradient descent leaves fewer of them."),
            explore=dict(expr=_tilted_text(c), vars="x,y", opt="gd", then="sam", at=steps // 10, eta=lr, rho=rho,
                         steps=steps, starts=_grid(box, 4), halluc=1),
        ),
    ]


def p1_ring(out: str, cfg: dict, state: dict) -> list[Entry]:
    land = landscapes.get("p1_figure")
    radius = float(land.params["ring_radius"])
    lr, rho = 0.1, 1.5 * radius
    box = np.asarray(land.window)
    found = theory.find_hallucinated(land, rho, box, lr=lr)
    sam = dynamics.SAM(lr, rho)
    n = cfg["ring_grid"]
    grid_run = dynamics.simulate(land, sam, _grid(box, n), 400, every=400, seed=0)
    fates = theory.classify_fates(grid_run)
    angles = np.linspace(0, 2 * np.pi, 7)[:-1] + 0.3
    x0 = np.concatenate([np.stack([r * np.cos(angles + k), r * np.sin(angles + k)], -1)
                         for k, r in ((0.0, 1.85), (0.5, 0.2), (1.0, 1.02))])
    paths = dynamics.simulate(land, sam, x0, 300, every=1, seed=0)
    fig, axes = plots.figure(1, 3, size=(plots.FULL, 2.5))
    plots.surrogate(land, rho, ax=axes[0], levels=18, colorbar=False, lines=False, hallucinated=found)
    plots.contour(land, ax=axes[1], levels=18, colorbar=False, lines=False, alpha=0.6)
    plots.vector_field(land, sam, ax=axes[1], hallucinated=found, density=0.55)
    plots.contour(land, ax=axes[2], levels=18, colorbar=False, lines=False, alpha=0.6)
    plots.trajectories(paths, ax=axes[2], background=False, linewidth=0.6, legend=False)
    theta = np.linspace(0, 2 * np.pi, 200)
    for ax in axes:
        ax.set_aspect("equal")
        ax.plot(radius * np.cos(theta), radius * np.sin(theta), color="white", linewidth=1.0, linestyle="--")
    axes[2].plot((rho - radius) * np.cos(theta), (rho - radius) * np.sin(theta), color="black", linewidth=0.7,
                 linestyle=(0, (1, 1)), label=r"circle $\|x\| = \rho - R$")
    plots.panel_labels(axes, [rf"$f^{{\mathrm{{SAM}}}}$, $\rho={rho:g}$", r"SAM field $-\nabla f(x^+)$",
                              "SAM paths end on the circle"])
    plots.figure_legend(fig, axes[1])
    plots.save(fig, os.path.join(out, "p1_ring.png"))
    share = float(np.mean(fates == "hallucinated"))
    r_found = np.linalg.norm(found.xs, axis=1) if len(found.xs) else np.array([np.nan])
    return [Entry(
        "p1_ring.png",
        "A ring of minimizers around a maximum: SAM hallucinates a whole circle",
        f"The catalog's p1_figure: minimizers on the circle of radius R = {radius:g} (dashed), an isolated maximum "
        f"at the origin. For R < ρ < 2R (here ρ = {rho:g}) the ascent step from inside the ring jumps across "
        f"the maximum, and SAM's fixed points form the circle of radius ρ − R = {rho - radius:g} (theory finds "
        f"points at radius {np.nanmin(r_found):.3f}–{np.nanmax(r_found):.3f}). (c) SAM (η = {lr:g}) from starts "
        "outside the ring, near the maximum and just beside the ring (hollow circles) ends on that circle "
        f"(dotted; filled dots). Of a {n}×{n} grid of starts, {100 * share:.0f} % end there: with ρ > R every "
        "ascent step from near the ring crosses the maximum, so the ring itself repels SAM and no warm start "
        "can help on this function — compare the previous figure, where some minima are wider than ρ.",
        "P1: hallucinated minimizers also come as manifolds inherited from sets of minimizers, for a "
        "nontrivial interval of ρ.",
        {"hallucinated share": share},
        plain=("When the lowest points form a ring around a hill, SAM overshoots the hill again and again and "
               "settles on a smaller circle where nothing is low."),
        explore=dict(landscape="p1_figure", opt="sam", eta=lr, rho=rho, steps=300, starts=x0, halluc=1, field=1),
    )]


# ---------------------------------------------------------------------------------------------- 3. P2 manifold
def p2_manifold(out: str, cfg: dict, state: dict) -> list[Entry]:
    full = landscapes.get("eigen_manifold")
    sums = landscapes.get("eigen_manifold_sum")
    p = full.params
    lr, rho, steps = 0.1, 0.2, cfg["manifold_steps"]
    x0 = np.array([-1.0, 0.2, 0.2])
    k = cfg["one_sam_starts"]
    runs = {
        "GD": dynamics.simulate(full, dynamics.GD(lr), x0, steps, every=5, seed=0),
        "SAM": dynamics.simulate(full, dynamics.SAM(lr, rho), x0, steps, every=5, seed=0),
        "1-SAM": dynamics.simulate(sums, dynamics.SAM(lr, rho, batch_size=1), np.tile(x0, (k, 1)), steps,
                                   every=5, seed=0),
    }
    fig, (left, right) = plots.figure(1, 2, size=(plots.FULL, 2.6), width_ratios=[1.3, 1])
    colors = {"GD": plots.style.optimizer_color("gd"), "SAM": plots.style.optimizer_color("sam"),
              "1-SAM": plots.style.OKABE_ITO["green"]}
    for name, run in runs.items():
        x = run.xs[:, :, 0]
        for i in range(run.n_starts):
            left.plot(run.steps, x[:, i], color=colors[name], linewidth=1.2 if run.n_starts == 1 else 0.7,
                      alpha=1.0 if run.n_starts == 1 else 0.7, label=("1-SAM: " if name == "1-SAM" else "") + run.optimizer.describe() if i == 0 else None)
    # P2's predicted drift (Thms 4.5 and 5.4, with the finite-eta factor) from where gradient flow meets Gamma
    on_start = np.array([runs["GD"].x[0, 0], 0.0, 0.0])
    for name, land, method in (("SAM", full, "sam"), ("1-SAM", sums, "1-sam")):
        path = theory.predicted_drift_path(land, on_start, lr, rho, steps, method=method)
        left.plot(np.arange(steps + 1), path[:, 0], color="black", linewidth=0.8, linestyle=(0, (3, 1.5)),
                  label="predicted drift (P2)" if name == "SAM" else None, zorder=5)
    targets = [("argmin_lambda1", r"argmin $\lambda_1$", (0, (4, 2))), ("argmin_trace", r"argmin Tr", (0, (1, 1.5)))]
    for key, text, style in targets:
        left.axhline(p[key], color="#888888", linestyle=style, linewidth=0.8, label=f"{text} = {p[key]:g}")
    left.set_xlabel("step $t$")
    left.set_ylabel("position along $\\Gamma$: $x_t$")
    left.set_xlim(0, steps)
    left.legend(loc="lower right", fontsize="small")

    xs = np.linspace(*np.asarray(full.window)[0], 300)
    on_gamma = np.stack([xs, np.zeros_like(xs), np.zeros_like(xs)], axis=-1)
    eig = np.linalg.eigvalsh(full.hessian(on_gamma))
    right.plot(xs, eig[:, -1], color="black", linewidth=1.1, label=r"$\lambda_1 = a_1(x)$")
    right.plot(xs, eig[:, -2], color="black", linewidth=0.9, linestyle="--", label=r"$\lambda_2 = a_2(x)$")
    right.plot(xs, eig.sum(axis=1), color="#777777", linewidth=1.1, linestyle=(0, (1, 1.5)), label="trace")
    ends = {name: run.x[:, 0] for name, run in runs.items()}
    for name, xe in ends.items():
        # each method's end point on the curve it minimizes: lambda_1 for GD and SAM, the trace for 1-SAM
        lam = np.linalg.eigvalsh(full.hessian(np.stack([xe, 0 * xe, 0 * xe], -1)))
        y = lam.sum(axis=1) if name == "1-SAM" else lam[:, -1]
        right.plot(xe, y, marker="o", linestyle="none", markersize=5, markerfacecolor=colors[name],
                   markeredgecolor="black", markeredgewidth=0.6, label=f"{name} ends")
    right.set_xlabel("$x$ on $\\Gamma = \\{y = 0\\}$")
    right.set_ylabel("Hessian eigenvalues")
    right.set_xlim(xs[0], xs[-1])
    right.set_ylim(0, 8)
    right.legend(loc="upper center", fontsize="small", ncol=2)
    plots.panel_labels([left, right], ["drift along the manifold of minimizers", "what each method minimizes"])
    plots.save(fig, os.path.join(out, "p2_manifold.png"))
    final = {name: float(np.mean(x)) for name, x in ends.items()}
    return [Entry(
        "p2_manifold.png",
        "On a manifold of minimizers: SAM minimizes λ₁, 1-SAM the trace, GD stands still",
        "L = ½(a₁(x) y₁² + a₂(x) y₂²) has the line Γ = {y = 0} of minimizers, with Hessian eigenvalues "
        f"a₁ = {p['c1']:g} + (x − {p['m1']:g})² > a₂ = {p['c2']:g} + {p['s']:g}(x − {p['m2']:g})² along it. "
        f"From x₀ = {x0[0]:g} (y = {x0[1]:g}, {x0[2]:g}), η = {lr}, ρ = {rho}: GD falls onto Γ and stays at "
        f"x = {final['GD']:.3f}; full-batch SAM drifts to x = {final['SAM']:.3f}, where λ₁ is smallest "
        f"({p['argmin_lambda1']:g}); 1-SAM (one of the two samples per step, {k} independent runs, on the "
        f"finite-sum form of the same loss) drifts to x ≈ {final['1-SAM']:.3f}, near where the trace is smallest "
        f"({p['argmin_trace']:g}). Dashed: the drift P2 predicts (theory.predicted_drift_path: −(ηρ²/2)∇_Γ λ₁ per "
        "step for SAM, the trace for 1-SAM, with the finite-η factor), started where GD met Γ: the simulations "
        "follow it. Grey lines: where λ₁ and the trace are smallest. Right: the eigenvalues along Γ and where each method ended.",
        "P2 Theorems 4.5 and 5.4: full-batch SAM follows −∇_Γ λ₁ and 1-SAM follows −∇_Γ Tr ∇²L along the "
        "manifold; GD with small η does not move along it.",
        final,
        plain=("When a whole line of points is equally low, SAM keeps walking along the line toward where its "
               "walls are gentlest, while plain gradient descent stays where it landed."),
        explore=dict(landscape="eigen_manifold", opt="sam", eta=lr, rho=rho, steps=steps, starts=[x0]),
    )]


# ---------------------------------------------------------------------------------------------- 4. stability
def stability(out: str, cfg: dict, state: dict) -> list[Entry]:
    n, steps = cfg["stability_grid"], cfg["stability_steps"]
    one = landscapes.get("tanh")
    u_star = 2.0
    grid = theory.stability_fates(one, [u_star, 0.0], lrs=np.linspace(0.05, 2.6, n), rhos=np.linspace(0.0, 4.0, n),
                                 optimizer="usam", steps=steps)
    data = (0.5, 1.0, 2.0)
    three = landscapes.get("tanh", xs=data, ys=(0.0,) * len(data))
    u_noisy = 1.5
    noisy = theory.stability_fates(three, [u_noisy, 0.0], lrs=np.linspace(0.05, 4.0, n),
                                  rhos=np.linspace(0.0, 3.0, n), optimizer="usam", batch_size=1, steps=2 * steps)
    fig, axes = plots.figure(1, 2, size=(plots.FULL, 3.5))
    below = {"loc": "upper center", "bbox_to_anchor": (0.5, -0.17), "ncol": 2, "frameon": False, "fontsize": "small"}
    plots.stability_diagram(grid, ax=axes[0], legend=below)
    plots.stability_diagram(noisy, ax=axes[1], legend=below)
    plots.panel_labels(axes, [rf"one sample, full batch: $\theta^*=({u_star:g},0)$, $\lambda={grid.lam:.3f}$",
                              rf"{len(data)} samples, batch 1: $\theta^*=({u_noisy:g},0)$, "
                              rf"$\lambda={noisy.lam:.3f}$"])
    plots.save(fig, os.path.join(out, "stability.png"))
    lam = grid.lam
    eta, rho = np.meshgrid(grid.lrs, grid.rhos)
    predicted = theory.usam_factor(eta, rho, lam) <= 1
    agree = float(np.mean(predicted == (grid.fates == "stable")))
    gamma = noisy.gamma  # computed once on the grid (the diagram's P3 edge used it too)
    ms_stable = noisy.mean_square_radii(noisy.lrs, noisy.rhos) <= 1
    beyond = float(np.mean(noisy.fates[~ms_stable] == "stable")) if (~ms_stable).any() else 0.0
    return [Entry(
        "stability.png",
        "Stability of a minimum in the (η, ρ) plane: simulation against the theory's boundaries",
        f"Unnormalized SAM (USAM) starts {grid.delta:g} from a minimum θ* along its sharpest direction, for each "
        f"of {n}×{n} pairs (η, ρ). Blue cells end within {grid.radius:g} of θ*, orange ones leave it (they "
        "slide to flatter minima along v = 0). (a) The tanh example with its one data point "
        f"({grid.steps} steps): the black curve is the USAM edge ηλ(1 + ρλ) = 2 (theory.usam_threshold), "
        f"dashed GD's edge η = 2/λ; simulation and linear theory agree in {100 * agree:.1f} % of the cells, the "
        "rest lie next to the curve, where escape is slow. P3 Theorem 4.1 needs gradient noise and does not "
        f"apply here. (b) The tanh model with data a = {', '.join(f'{x:g}' for x in data)} and mini-batches of "
        f"one ({noisy.steps} steps): the noise-alignment constant is γ = {gamma:.3f}. Green: the exact "
        "mean-square edge of the linearized method (theory.mean_square_radius); purple: P3 Theorem 4.1's "
        "necessary condition, far outside it, so the theorem holds here but is loose. Single runs stay well past "
        f"the mean-square edge ({100 * beyond:.0f} % of the mean-square-unstable cells stay): a sample path "
        "escapes only when the Lyapunov exponent is positive, and the ragged band is where it is near zero.",
        "P3 §4 (linear stability of SAM): deterministically USAM is stable at a minimum iff "
        "ηλ_max(1 + ρλ_max) ≤ 2; with noise, Theorem 4.1: stability implies "
        "‖H‖_F²(1 + ρ²γ‖H‖_F²/B) ≤ B/(η²γ).",
        {"agreement": agree, "lambda": lam, "gamma": gamma},
        plain=("Each square is one choice of step size and peek distance: blue means the optimizer stays at the "
               "low point it starts at, orange means it is thrown out, and the curves are where theory draws the"
               " line between them."),
        # one orange cell of (a): past USAM's edge the start next to theta* leaves it for flatter minima
        explore=dict(landscape="tanh", opt="usam", eta=1.5, rho=1.0, steps=steps,
                     starts=[(u_star, grid.delta), (u_star, -grid.delta)]),
    )]


# (title, kind, hyperparameters) of the panels of the variants' stability figure
VARIANT_PANELS = (
    ("SAM: edge ηλ = 2", "sam", {}),
    ("USAM: edge ηλ(1 + ρλ) = 2", "usam", {}),
    ("ASAM: edge ηλ(1 + ρ) = 2", "asam", {}),
    ("SAM, momentum μ = 0.5: edge ηλ = 2(1 + μ)", "sam", {"momentum": 0.5}),
)


def variant_stability(out: str, cfg: dict, state: dict) -> list[Entry]:
    n, steps = cfg["variants_grid"], cfg["variants_steps"]
    land = landscapes.get("tanh")
    u_star = 2.0
    x_star = np.array([u_star, 0.0])
    lrs, rhos = np.linspace(0.05, 4.0, n), np.linspace(0.0, 2.0, n)
    # ASAM's small eta_a cycle and SAM's bounce stay within 0.1 of theta*; a start that slides along the valley
    # or leaves it does not
    radius = 0.1
    fig, axes = plots.figure(2, 2, size=(plots.FULL, 5.6))
    axes = axes.ravel()
    grids, edges = [], []
    for ax, (title, kind, hypers) in zip(axes, VARIANT_PANELS):
        grid = theory.stability_fates(land, x_star, lrs=lrs, rhos=rhos, optimizer=kind, hyperparameters=hypers,
                                      steps=steps, radius=radius)
        # rho = 1 is a placeholder: the plane's rho axis is the edge's own
        edge = theory.stability_edge(land, dynamics.optimizer_from_kind(kind, lrs[-1], rho=1.0, **hypers), x_star,
                                     np.linspace(lrs[0], lrs[-1], 200), rho_max=rhos[-1])
        plots.stability_diagram(grid, boundaries=(), edge=edge, ax=ax, legend=False)
        grids.append(grid)
        edges.append(edge)
    for ax in axes[:2]:
        ax.set_xlabel("")
    for ax in axes[1::2]:
        ax.set_ylabel("")
    plots.panel_labels(axes, [title for title, _, _ in VARIANT_PANELS])
    plots.stability_legend(fig, grids, edges)
    plots.save(fig, os.path.join(out, "variant_stability.png"))
    lam = grids[0].lam
    stays = {title: float(np.mean(grid.fates[1:] == "stable")) for (title, _, _), grid in zip(VARIANT_PANELS, grids)}
    agree = {kind: _edge_agreement(grid, kind, hypers)
             for (_, kind, hypers), grid in zip(VARIANT_PANELS, grids) if kind in ("usam", "asam")}
    mu = VARIANT_PANELS[-1][2]["momentum"]
    return [Entry(
        "variant_stability.png",
        "Which SAM variants stay at a sharp minimum: the (η, ρ) plane of SAM, USAM, ASAM and SAM with momentum",
        f"The tanh example (one data point) from θ* = ({u_star:g}, 0), a minimum on the valley floor v = 0 with "
        f"sharpness λ = tanh²{u_star:g} = {lam:.3f}: each of the {n}×{n} cells of each panel starts "
        f"{grids[0].delta:g} from θ* across the valley and runs {steps} steps; blue cells end within {radius:g} of "
        "θ*, orange ones leave it (they slide along the valley toward the flat minima near u = 0, or leave the "
        "valley). Black: each optimizer's theory edge at θ* (theory.stability_edge; dashed where it is the "
        "quadratic approximation's). USAM is stable under ηλ(1 + ρλ) = 2 and ASAM (η_a = 0.01) under its 1-D edge "
        "ηλ(1 + ρ) = 2 (v* = 0, so the rescaling is that of v alone): the cells and the edges agree in "
        f"{100 * agree['usam']:.0f} % and {100 * agree['asam']:.0f} % of the cells, the rest next to the line. "
        "Normalized SAM has no stable minimum: for every ρ > 0 it leaves θ* "
        f"({100 * (1 - stays[VARIANT_PANELS[0][0]]):.0f} % of its ρ > 0 cells), and its "
        "edge ηλ = 2 is where its 2-cycle across the valley exists, which the ρ = 0 row (GD) shows as GD's edge. "
        f"Heavy-ball momentum μ = {mu:g} moves that edge to ηλ = 2(1 + μ) (derived here from the Jacobian of the "
        "map on (x, v): η/(1 + μ) takes η's place), which the ρ = 0 row of the last panel follows.",
        "P3 §4 (SAM leaves a sharp minimum where USAM can stay); the variants' edges and momentum's η/(1 + μ) are "
        "derived here (docs/theory.md sections 2.1 and 2.2).",
        {"lambda": lam, "stays": stays, "agreement": agree, "momentum": mu},
        plain=("Some versions of SAM stay at a steep low point when their steps are small enough, the original "
               "always walks away from it, and momentum moves the limit on the step size further out."),
        explore=dict(landscape="tanh", opt="sam", eta=1.0, rho=0.5, steps=steps,
                     starts=[(u_star, grids[0].delta), (u_star, -grids[0].delta)]),
    )]


def _edge_agreement(grid, kind: str, hypers: dict) -> float:
    """Share of the grid's cells whose simulated fate (stays or not) is the one theory.edge predicts at ``grid.lam``."""
    predicted = np.array([[theory.edge(dynamics.optimizer_from_kind(kind, eta, rho=rho, **hypers)) > grid.lam
                           for eta in grid.lrs] for rho in grid.rhos])
    return float(np.mean(predicted == (grid.fates == "stable")))


# ---------------------------------------------------------------------------------------------- 5. valley
def valley(out: str, cfg: dict, state: dict) -> list[Entry]:
    land = landscapes.get("logcosh_valley")
    a, b = float(land.params["a"]), float(land.params["b"])
    steps = cfg["valley_steps"]
    inside = (1.0, 1.0)  # (eta, rho) within Proposition 4.1's bounds for a = b = 1 (checked below)
    outside = (3.0, 1.0)  # a step size three times too large
    cond_in = theory.valley_conditions(land, a, b, *inside)
    cond_out = theory.valley_conditions(land, a, b, *outside)
    starts = np.array([[1e-3], [0.5 * b], [0.9 * b], [-0.95 * b]])
    run_in = dynamics.simulate(land, dynamics.SAM(*inside), starts, steps, every=1, seed=0)
    run_out = dynamics.simulate(land, dynamics.SAM(*outside), starts, steps, every=1, seed=0)
    fig, axes = plots.figure(1, 3, size=(plots.FULL, 2.55), width_ratios=[1, 1.2, 1.2])
    plots.valley(land, run_in, ax=axes[0], kind="cobweb", starts=[2], steps=steps, legend=False)
    plots.valley(land, run_in, ax=axes[1], kind="series", steps=steps, legend={"loc": "lower right", "ncol": 2,
                                                                              "fontsize": "small"})
    plots.valley(land, run_out, ax=axes[2], kind="series", steps=steps, legend=False)
    plots.figure_legend(fig, axes[0], ncol=4)
    plots.panel_labels(axes, [rf"cobweb, $\eta={inside[0]:g}$, $\rho={inside[1]:g}$",
                              rf"conditions hold: $\eta={inside[0]:g}$, $\rho={inside[1]:g}$",
                              rf"conditions fail: $\eta={outside[0]:g}$, $\rho={outside[1]:g}$"])
    plots.save(fig, os.path.join(out, "valley.png"))
    z_in, z_out = np.abs(run_in.xs[:, :, 0]), np.abs(run_out.xs[:, :, 0])
    tail = z_in[len(z_in) // 2:]
    return [Entry(
        "valley.png",
        "A sub-quadratic valley: the bottom is unstable, the iterates stay in [−2b, 2b]",
        f"L(z) = ab² log cosh(z/b) with a = {a:g}, b = {b:g}: quadratic at the bottom, linear (sub-quadratic) "
        f"beyond. Shaded: the band [−2b, 2b]; dotted: the core (−b, b) where the starts lie. (a) The SAM map "
        f"z ↦ z − ηL′(z + ρ sign L′(z)) and the iterates from z₀ = {starts[2, 0]:g} as a cobweb: they stay in the "
        f"band's square. (b) With η = {inside[0]:g}, ρ = {inside[1]:g} ({_valley_summary(cond_in)}) four starts, "
        f"one {starts[0, 0]:g} from the bottom: none settles at the bottom — the one next to it is thrown out at "
        "once, since normalized SAM has no stable minimum — and all end on a 2-cycle with |z| between "
        f"{tail.min():.3f} and {tail.max():.3f}; the largest |z_t| is {z_in.max():.3f} ≤ 2b = {2 * b:g}. "
        f"(c) With η = {outside[0]:g} ({_valley_summary(cond_out)}) the same starts reach |z| = "
        f"{z_out.max():.3f}: the band holds only under the proposition's conditions.",
        "P3 Proposition 4.1: in a sub-quadratic valley, with η and ρ small enough and θ₀ ∈ (−b, b), SAM stays "
        "in [−2b, 2b] for all t.",
        {"max |z| inside": float(z_in.max()), "max |z| outside": float(z_out.max())},
        plain=("In a valley whose walls flatten out, SAM never comes to rest at the very bottom, yet it never "
               "climbs out either: it keeps hopping inside a fixed band."),
        explore=dict(landscape="logcosh_valley", opt="sam", eta=inside[0], rho=inside[1], steps=steps, starts=starts),
    )]


def _valley_summary(cond) -> str:
    """Which of Proposition 4.1's hypotheses hold, from ``theory.valley_conditions``."""
    parts = [f"η < {cond.lr_bound.value:.3g}: {'yes' if cond.lr_ok else 'no'}",
             f"ρ ≤ {cond.rho_bound:.3g}: {'yes' if cond.rho_ok else 'no'}",
             f"Definition 4.2: {'yes' if cond.definition_holds else 'no'}"]
    return "; ".join(parts)


# ---------------------------------------------------------------------------------------------- 6. animation
def animation(out: str, cfg: dict, state: dict) -> list[Entry]:
    run = state.get("switch_run")
    if run is None:
        p3_switch(out, cfg, state)
        run = state["switch_run"]
    plots.animate(run, os.path.join(out, "p3_switch.gif"), frames=cfg["gif_frames"], fps=12, tail=40,
                  size=(plots.COLUMN * 1.3, 2.5))
    return [Entry(
        "p3_switch.gif",
        "Animation: GD, then SAM, on the tanh landscape",
        "The run of the first figure as it happens. The moving points are the current iterates and their recent "
        "path, blue while GD runs and vermillion once SAM takes over; the faint lines are the whole paths. Watch "
        "the iterates sit still at the sharp minimum under GD, then bounce across the valley and slide toward "
        "u = 0 under SAM.",
        "P3 §4: the same two-phase picture as the first figure, for a classroom.",
        plain=("Watch the points travel: they stop in a steep part of the valley under plain gradient descent, "
               "then SAM makes them bounce and glide toward the flat middle."),
        explore=dict(landscape="tanh", opt="gd", then="sam", at=300, eta=0.5, rho=0.2, steps=int(run.steps[-1]),
                     starts=run.x0),
    )]


# ---------------------------------------------------------------------------------------------- 7. the literature
LITERATURE = "The literature"


def literature_edge(out: str, cfg: dict, state: dict) -> list[Entry]:
    land = landscapes.get("ravine")
    lr, rho = 0.2, 0.05
    run = dynamics.simulate(land, dynamics.SAM(lr, rho), np.array([[2.0, 0.3]]), cfg["edge_steps"], every=1, seed=0)
    path = run.xs[:, 0]
    sharpness = theory.hessian_curvature(land, path)["lambda_max"]
    edge = theory.sam_edge(lr, rho, np.linalg.norm(land.grad(path), axis=-1))
    fig, (left, right) = plots.figure(1, 2, size=(plots.FULL, 2.7), width_ratios=[1, 1.3])
    plots.trajectories(run, ax=left, background=True, background_kw={"log": True}, linewidth=0.5, legend=False)
    literature_plots.edge_tracking(run.steps, sharpness, edge, theory.gd_threshold(lr), ax=right)
    plots.panel_labels([left, right], ["SAM's path along the ravine", "its sharpness and its edge"])
    plots.save(fig, os.path.join(out, "lit_edge.png"))
    settled = slice(200, None)
    ratio = sharpness[settled] / edge[settled]
    return [Entry(
        "lit_edge.png",
        "SAM rides its edge of stability while it drifts (Long & Bartlett)",
        f"The ravine L = ½(1 + y²)z², whose floor z = 0 has sharpness 1 + y². SAM (η = {lr}, ρ = {rho}) starts at "
        f"(2, 0.3), bounces across z and drifts along the floor from y = 2 to y = {path[-1, 0]:.2f}. Right: the "
        "largest Hessian eigenvalue at every step (vermillion) and the SAM edge λ_S(η, ρ, ‖∇L‖), the root of "
        "ηλ(1 + ρλ/‖∇L‖) = 2 (theory.sam_edge, dashed): after the first 200 steps their ratio stays in "
        f"[{ratio.min():.4f}, {ratio.max():.4f}], while GD's edge 2/η (dotted) is far above: SAM's sharpness is "
        "set by its own edge, which falls as the gradient does.",
        "Long & Bartlett 2024 (arXiv:2309.12488): SAM's edge of stability depends on the gradient norm, lies below "
        "2/η, and SAM's sharpness sits on it (claims sam_rides_edge, cycle_on_sam_edge).",
        {"ratio_min": float(ratio.min()), "ratio_max": float(ratio.max())},
        plain=("While SAM slides along the valley, the steepness of the walls it feels stays exactly at the limit "
               "its own step rule can tolerate, which is lower than plain gradient descent's."),
        group=LITERATURE,
        explore=dict(landscape="ravine", opt="sam", eta=lr, rho=rho, steps=cfg["edge_steps"], starts=[(2.0, 0.3)],
                     log=1),
    )]


def literature_drift(out: str, cfg: dict, state: dict) -> list[Entry]:
    land = landscapes.get("ravine", a0=2.0, a1=1.0, a2=0.0)
    lrs, rhos, targets = np.array([0.1, 0.5, 0.8]), np.array([0.02, 0.02, 0.01]), np.array([0.3, 0.9, 1.5])
    first, steps, every = 200, 1200, 10
    starts = np.stack([targets / lrs - 2.0, np.full(3, 0.05)], axis=-1)
    run = dynamics.simulate(land, dynamics.SAM(lrs, rhos), starts, steps, every=every, seed=0)
    keep = run.steps >= first
    saved = run.steps[keep]
    observed = run.xs[keep, :, 0] - run.xs[keep][0, :, 0]
    # Euler steps of the predicted drift (finite lr) and of P2's flow, from where the cycle has formed
    predicted, flow = np.zeros_like(observed), np.zeros_like(observed)
    for i in range(3):
        for out_path, finite in ((predicted, True), (flow, False)):
            y = float(run.xs[keep][0, i, 0])
            for k in range(1, len(saved)):
                velocity = theory.manifold_drift(land, np.array([y, 0.0]), lrs[i], rhos[i], finite_lr=finite).velocity
                y += float(velocity[0]) * (saved[k] - saved[k - 1])
                out_path[k, i] = y - float(run.xs[keep][0, i, 0])
    fig, ax = plots.figure(1, 1, size=(plots.FULL * 0.62, 2.7))
    labels = [f"SAM, ηa = {t:g}" for t in targets]
    literature_plots.drift_comparison(saved, observed, predicted, flow, labels, ax=ax)
    plots.save(fig, os.path.join(out, "lit_drift.png"))
    ratios = observed[-1] / predicted[-1]
    flow_ratios = observed[-1] / flow[-1]
    return [Entry(
        "lit_drift.png",
        "SAM's drift along a ravine at finite step size (Bartlett, Long & Bousquet)",
        "The ravine L = ½(2 + y)z². SAM bounces across z on its 2-cycle and drifts along the floor; the "
        f"displacement from step {first} (solid) against the prediction −(2ηρ²/(2 − ηa)²)·a′(y) per step "
        "(theory.manifold_drift, integrated; dashed) and P2's small-step flow −(ηρ²/2)·a′(y) (dotted), for "
        f"ηa = {', '.join(f'{t:g}' for t in targets)}. Measured over predicted: "
        f"{', '.join(f'{r:.4f}' for r in ratios)}; over P2's flow: {', '.join(f'{r:.2f}' for r in flow_ratios)}: "
        "the finite-step factor (2/(2 − ηa))² is what the flow leaves out.",
        "Bartlett, Long & Bousquet 2023 (arXiv:2210.01513): away from a quadratic, SAM's oscillation amounts to "
        "gradient descent on the Hessian's spectral norm with a smaller step (claim ravine_drift_finite_lr).",
        {"over_prediction": ratios.tolist(), "over_flow": flow_ratios.tolist()},
        plain=("The faster SAM's steps, the faster it slides along the valley, and the simple small-step formula "
               "underestimates that slide by a wide margin."),
        group=LITERATURE,
        # the middle run, eta*a = 0.9, alone (the explorer has one eta)
        explore={"landscape": "ravine", "p.a0": 2.0, "p.a1": 1.0, "p.a2": 0.0, "opt": "sam", "eta": float(lrs[1]),
                 "rho": float(rhos[1]), "steps": steps, "starts": [tuple(starts[1])]},
    )]


def literature_saddle(out: str, cfg: dict, state: dict) -> list[Entry]:
    land = landscapes.get("saddle")
    lr = 0.1
    angles = np.linspace(0, 2 * np.pi, 12, endpoint=False) + 0.1
    starts = 0.8 * np.stack([np.cos(angles), np.sin(angles)], axis=-1)
    runs = {rho: dynamics.simulate(land, dynamics.USAM(lr, rho), starts, 1500, every=5, seed=0) for rho in (0.9, 1.1)}
    lo, hi = theory.usam_stable_rho_interval(lr, [1.0, -1.0])
    rhos = np.linspace(0.0, 24.0, 481)
    factors = np.stack([theory.usam_factor(lr, rhos, 1.0), theory.usam_factor(lr, rhos, -1.0)], axis=-1)
    fig, axes = plots.figure(1, 3, size=(plots.FULL, 2.5), width_ratios=[1, 1, 1.25])
    for ax, (rho, run) in zip(axes[:2], runs.items()):
        plots.trajectories(run, ax=ax, background=True, background_kw={"colorbar": False}, linewidth=0.7,
                           legend=False, window=land.window)
        ax.set_xlim(*land.window[0])
        ax.set_ylim(*land.window[1])
    literature_plots.rho_factors(rhos, factors, ["along x (curvature 1)", "along y (curvature −1)"], (lo, hi),
                                 ax=axes[2])
    plots.panel_labels(axes, [r"USAM, $\rho = 0.9$", r"USAM, $\rho = 1.1$", "factors against $\\rho$"])
    plots.save(fig, os.path.join(out, "lit_saddle.png"))
    at_saddle = {rho: float(np.mean(np.linalg.norm(run.x, axis=-1) < 1e-6)) for rho, run in runs.items()}
    return [Entry(
        "lit_saddle.png",
        "Unnormalized SAM is attracted to a saddle when ρ|λ_min| > 1 (Kim, Park, Choi & Lee)",
        f"The saddle L = ½x² − ½y², η = {lr}, twelve starts on a circle. (a) With ρ = 0.9 USAM leaves along y, as "
        f"GD would; (b) with ρ = 1.1 every path converges to the saddle ({100 * at_saddle[1.1]:.0f} % within 1e-6 "
        "after 1500 steps): its ascent overshoots the saddle along y, and the step brings it back. (c) The factor "
        "per step along each axis, |1 − ηλ(1 + ρλ)| (theory.usam_factor); the saddle attracts where both are "
        f"below 1 (shaded): ρ ∈ ({lo:g}, {hi:g}) (theory.usam_stable_rho_interval). The lower end is the paper's "
        "flow condition ρ|λ_min| > 1; the upper one is the x direction's own discrete-time edge.",
        "Kim, Park, Choi & Lee 2023 (arXiv:2301.06308): saddle points can become attractors of SAM's dynamics "
        "(claim usam_saddle_attractor).",
        {"interval": [lo, hi], "converged_fraction": at_saddle},
        plain=("With a large enough peek distance, the unnormalized variant of SAM stops at a mountain pass instead "
               "of rolling down past it, and the right panel shows for which distances that happens."),
        group=LITERATURE,
        explore=dict(landscape="saddle", opt="usam", eta=lr, rho=1.1, steps=1500, starts=[tuple(p) for p in starts]),
    )]


def literature_floor(out: str, cfg: dict, state: dict) -> list[Entry]:
    land = landscapes.get("shifted_quadratics")
    lr, paths, steps = 0.02, cfg["floor_paths"], cfg["floor_steps"]
    rhos = (0.1, 0.2, 0.4)
    centers = land.params["centers"]
    sam = dynamics.simulate(land, dynamics.SAM(lr, np.repeat(rhos, paths), batch_size=1),
                            np.zeros((len(rhos) * paths, 1)), steps, every=10, seed=0)
    usam = dynamics.simulate(land, dynamics.USAM(lr, 0.2, batch_size=1), np.zeros((paths, 1)), steps, every=10,
                             seed=0)
    xs = np.concatenate([sam.xs[:, :, 0], usam.xs[:, :, 0]], axis=1).reshape(len(sam.steps), len(rhos) + 1, paths)
    means = xs.mean(axis=-1)
    errors = xs.std(axis=-1, ddof=1) / np.sqrt(paths)
    limits = [theory.stochastic_limit(dynamics.SAM(lr, r, batch_size=1), centers) for r in rhos]
    limits.append(theory.stochastic_limit(dynamics.USAM(lr, 0.2, batch_size=1), centers))
    labels = [f"SAM, ρ = {r:g}" for r in rhos] + ["USAM, ρ = 0.2"]
    fig, ax = plots.figure(1, 1, size=(plots.FULL * 0.62, 2.7))
    literature_plots.running_means(sam.steps, means, errors, limits, labels, ax=ax)
    plots.save(fig, os.path.join(out, "lit_floor.png"))
    late = means[len(means) // 2:].mean(axis=0)
    return [Entry(
        "lit_floor.png",
        "Stochastic SAM stalls short of the optimum: the floor ρ²/8 (Si & Yun)",
        f"L = mean of ½(x − aᵢ)² over a = (1, 1, 1, −3), minimized at x* = 0. From x* itself, {paths} paths of SAM "
        f"with batches of one sample (η = {lr}) each; solid: the mean over paths (band: two standard errors), "
        "dashed: the zero of the mean per-sample update (theory.stochastic_limit), ρ/2, where L − L* = ρ²/8. SAM "
        f"moves away from x* and settles at the floor (late means {', '.join(f'{m:.3f}' for m in late[:3])}); "
        f"USAM's per-sample steps average to a gradient step, so it stays at x* ({late[3]:.3f}) — here, where "
        "the samples share a curvature; with unequal curvatures USAM is biased too (claim stochastic_usam_limit).",
        "Si & Yun 2023 (arXiv:2306.09850): stochastic SAM with a constant radius keeps an O(ρ²) term and converges "
        "only to a neighbourhood of the optimum (claim stochastic_sam_floor).",
        {"late_means": late.tolist(), "limits": limits},
        plain=("With noisy mini-batches and a fixed peek distance, SAM wanders off the best point and hovers at a "
               "fixed offset from it, which grows with the peek distance."),
        group=LITERATURE,
        explore=dict(landscape="shifted_quadratics", opt="sam", eta=lr, rho=0.2, batch=1, steps=steps,
                     starts=[(0.0,)] * paths),
    )]


SECTIONS = [
    ("P3: switching GD -> SAM on tanh", p3_switch),
    ("P1: hallucinated minimizers and warm start", p1_hallucination),
    ("P1: a ring of minimizers", p1_ring),
    ("P2: drift along a manifold of minimizers", p2_manifold),
    ("P3: stability diagram in (eta, rho)", stability),
    ("the SAM variants' stability in (eta, rho)", variant_stability),
    ("P3: a sub-quadratic valley", valley),
    ("animation of the switch", animation),
    ("the literature: SAM rides its edge (Long & Bartlett)", literature_edge),
    ("the literature: drift at finite step size (Bartlett, Long & Bousquet)", literature_drift),
    ("the literature: USAM's saddle attractor (Kim et al.)", literature_saddle),
    ("the literature: the stochastic floor (Si & Yun)", literature_floor),
]


# ---------------------------------------------------------------------------------------------- check table
def check_rows(results=None) -> list[dict]:
    """``samscape check``'s results as plain dicts for the page: ``results`` from :func:`samscape.theory.check`
    when the caller already has them, else the claims are run here."""
    if results is None:
        results = theory.check()
    rows = []
    for r in results:
        rows.append({k: getattr(r, k, None) for k in
                     ("name", "paper", "citations", "statement", "hypotheses", "checks", "predicted", "observed",
                      "tolerance", "passed", "verdict")})
    return rows


def _citation_cell(row: dict) -> str:
    """The row's citation as HTML, each paper's arXiv id a link to its abstract page."""
    text = html.escape(_cell(row["paper"]))
    for paper in {theory.PAPERS[c.paper] for c in row.get("citations") or ()}:
        ref = html.escape(f"arXiv:{paper.arxiv}")
        text = text.replace(ref, f'<a href="{html.escape(paper.url)}">{ref}</a>')
    return text


def _papers_html() -> str:
    """The papers the claims cite, one clause each, from :data:`samscape.theory.PAPERS`."""
    return "; ".join(
        f"{html.escape(p.key)} — {html.escape(', '.join(p.authors))}, <i>{html.escape(p.title)}</i>, "
        f"{html.escape(p.venue if str(p.year) in p.venue else f'{p.venue}, {p.year}')} (<a href=\"{html.escape(p.url)}\">arXiv:{html.escape(p.arxiv)}</a>)"
        for p in theory.PAPERS.values())


def _cell(value) -> str:
    if isinstance(value, dict):  # hypotheses or checks: name -> holds
        return "; ".join(f"{k} {'✓' if v else '✗'}" for k, v in value.items())
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, (list, tuple)):
        return "; ".join(_cell(v) for v in value)
    return "" if value is None else str(value)


# ---------------------------------------------------------------------------------------------- page
_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; max-width: 62rem; margin: 2rem auto;
       padding: 0 1rem; color: #1a1a1a; line-height: 1.45; }
h1 { font-size: 1.6rem; margin-bottom: .2rem; } h2 { font-size: 1.2rem; margin-top: 2.4rem; }
figure { margin: 1.2rem 0 2rem; } figure img { max-width: 100%; height: auto; border: 1px solid #ddd; }
figcaption { font-size: .93rem; margin-top: .4rem; } .plain { font-weight: 600; }
.claim { color: #444; font-style: italic; }
table { border-collapse: collapse; font-size: .85rem; width: 100%; }
th, td { border-bottom: 1px solid #ddd; padding: .3rem .4rem; text-align: left; vertical-align: top; }
th { background: #f3f3f3; } .pass { color: #007a55; font-weight: 600; } .fail { color: #b34700; font-weight: 600; }
nav li { margin: .1rem 0; } .meta { color: #555; font-size: .85rem; }
"""


def render_html(entries: list[Entry], rows: list[dict] | None, *, quick: bool, seconds: float,
                check_error: str | None = None) -> str:
    """The gallery page: every figure with its caption and claim, then the check table."""
    esc = html.escape
    parts = [
        "<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        "<title>samscape gallery</title>", f"<style>{_CSS}</style>", "</head>", "<body>",
        "<h1>samscape gallery</h1>",
        f'<p class="meta">samscape {esc(__version__)} · {"quick" if quick else "full"} run · built in '
        f"{seconds:.1f} s · every picture is simulated, no number is typed in.</p>",
        "<p>Pictures of what GD, SAM and its variants do on small analytic landscapes, each next to the claim of a "
        f"paper it illustrates: {_papers_html()}. Colours: GD blue, SGD sky blue, SAM vermillion, USAM orange "
        "(Okabe–Ito, safe for colour blindness). Each figure's “open in the explorer” link shows the same story "
        f"in the live explorer; run <code>samscape explore</code> first (it serves {EXPLORER_URL}).</p>",
        "<nav><ol>",
    ]
    for k, e in enumerate(entries, 1):
        parts.append(f'<li><a href="#fig{k}">{esc(e.title)}</a></li>')
    parts.append('<li><a href="#checks">samscape check: the claims against simulation</a></li></ol></nav>')
    group = ""
    for k, e in enumerate(entries, 1):
        if e.group and e.group != group:
            parts += [f'<h2 class="group" id="{esc(e.group.lower().replace(" ", "-"))}">{esc(e.group)}</h2>',
                      "<p>Figures for claims of the wider SAM literature, one per paper where a picture says it "
                      "better than the table; the maths is in docs/theory.md, section 8.</p>"]
        group = e.group
        parts += [
            f'<h2 id="fig{k}">{k}. {esc(e.title)}</h2>', "<figure>",
            f'<img src="{esc(e.file)}" alt="{esc(e.title)}">',
            f'<figcaption><span class="plain">{esc(e.plain)}</span> {esc(e.caption)}<br>'
            f'<span class="claim">Claim illustrated: {esc(e.claim)}</span>'
            + (f'<br><a class="explore" href="{esc(explorer_link(e.explore))}">open in the explorer</a>: the same '
               "story, live" if e.explore else "")
            + "</figcaption>", "</figure>",
        ]
    parts.append('<h2 id="checks">samscape check: the claims against simulation</h2>')
    if rows is None:
        parts.append(f"<p class=\"fail\">The checks could not run: {esc(check_error or 'unknown error')}</p>")
    else:
        passed = sum(bool(r["passed"]) for r in rows)
        parts.append(f"<p>{passed} of {len(rows)} claims pass. Each row: where the claim comes from, the hypotheses, "
                     "what theory predicts, what the simulation observed, and the named checks (within the "
                     "tolerance) that must all hold.</p>")
        head = ("claim", "citation", "hypotheses", "predicted", "observed", "tolerance", "checks", "result")
        parts.append("<table><thead><tr>" + "".join(f"<th>{h}</th>" for h in head) + "</tr></thead><tbody>")
        for r in rows:
            ok = bool(r["passed"])
            cells = [r["hypotheses"], r["predicted"], r["observed"], r["tolerance"], r["checks"]]
            claim = f"<b>{esc(_cell(r['name']))}</b><br>{esc(_cell(r['statement']))}"
            verdict = "pass" if ok else (r.get("verdict") or "FAIL")
            parts.append(f"<tr><td>{claim}</td><td>{_citation_cell(r)}</td>"
                         + "".join(f"<td>{esc(_cell(c))}</td>" for c in cells)
                         + f'<td class="{"pass" if ok else "fail"}">{esc(verdict)}</td></tr>')
        parts.append("</tbody></table>")
    parts += ["</body>", "</html>", ""]
    return "\n".join(parts)


def build(out="samscape-out", *, quick: bool = False, slides: bool = False, stream=None, claim_results=None) -> str:
    """Run every section, write the figures and ``index.html`` into ``out``; return the page's path.

    ``slides``: draw in the ``"slides"`` style (larger text, lines and markers for a projector). The figures are
    made inside :func:`samscape.plots.detached`: they never enter pyplot, so none is left open after the build.

    ``claim_results``: the list :func:`samscape.theory.check` returned, when the caller has already run the claims
    (the page then shows them instead of running them again).
    """
    if not isinstance(out, (str, os.PathLike)) or not os.fspath(out):
        raise ValueError(f"out must be a directory path, got {out!r}")
    out = os.fspath(out)
    if os.path.exists(out) and not os.path.isdir(out):
        raise ValueError(f"out must be a directory, got the file {out!r}")
    os.makedirs(out, exist_ok=True)
    cfg = QUICK if quick else FULL
    state: dict = {}
    entries: list[Entry] = []
    started = time.perf_counter()
    total = len(SECTIONS) + 1
    for k, (title, section) in enumerate(SECTIONS, 1):
        t0 = time.perf_counter()
        _say(f"[{k}/{total}] {title} ...", stream)
        with plots.detached(), plots.use_style("slides" if slides else "paper"):
            new = section(out, cfg, state)
        entries += new
        _say(f"      wrote {', '.join(e.file for e in new)} ({time.perf_counter() - t0:.1f} s)", stream)
    t0 = time.perf_counter()
    _say(f"[{total}/{total}] samscape check ...", stream)
    rows, error = None, None
    try:
        rows = check_rows(claim_results)
        _say(f"      {sum(bool(r['passed']) for r in rows)} of {len(rows)} claims pass "
             f"({time.perf_counter() - t0:.1f} s)", stream)
    except Exception as err:  # the page still shows the figures, and says the checks failed and why
        error = f"{type(err).__name__}: {err}"
        _say(f"      checks failed to run: {error}", stream)
    page = render_html(entries, rows, quick=quick, seconds=time.perf_counter() - started, check_error=error)
    path = _write_text(os.path.join(out, "index.html"), page)
    _say(f"done in {time.perf_counter() - started:.1f} s: {os.path.abspath(path)}", stream)
    return path

"""Every script in examples/ runs as it is, and what it demonstrates holds against the formula it illustrates.

Each example is run as ``__main__`` in this process (``runpy``); the tests read the objects the script built
(its landscape, hyperparameters and runs) and recompute the prediction from the formula written out here, so
a script that prints a wrong verdict, or sits on a stability edge where rounding decides, fails.
"""

import math
import re
import runpy
from pathlib import Path

import numpy as np
import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def run_example(name: str, capsys) -> tuple[dict, str]:
    """The example's module globals after running it as a script, and what it printed."""
    namespace = runpy.run_path(str(EXAMPLES / name), run_name="__main__")
    return namespace, capsys.readouterr().out


def curvature_at_zero(landscape) -> float:
    """``L(1) + L(-1) - 2 L(0)`` of a 1-D landscape: exactly ``lam`` for ``lam z^2 / 2``, without its Hessian."""
    values = landscape.value(np.array([[1.0], [-1.0], [0.0]]))
    return float(values[0] + values[1] - 2 * values[2])


def test_every_example_is_covered_here():
    """No example escapes this file: each script in examples/ has a test below."""
    covered = {"gd_vs_sam_on_tanh.py", "sam_two_cycle.py", "learning_rate_sweep.py"}
    assert {p.name for p in EXAMPLES.glob("*.py")} <= covered


def test_tanh_example_gd_and_usam_stay_sharp_and_sam_reaches_the_flat_end(capsys):
    """On 1/2 tanh^2(v tanh u) every optimizer ends on the minimizer line v = 0, where the sharpness is tanh(u)^2.
    GD and USAM are stable there (lr*lam*(1 + rho*lam) < 2 with lam = tanh(u)^2 <= 1), so they stay where they
    land, near the start's u = 2.5, at sharpness tanh(2.5)^2; SAM drifts to the flat end, sharpness near 0."""
    namespace, out = run_example("gd_vs_sam_on_tanh.py", capsys)
    land, start, runs = namespace["land"], namespace["start"], namespace["runs"]
    assert len(out.strip().splitlines()) == len(runs) == 3
    for optimizer, run in runs.items():
        kind = type(optimizer).__name__
        (u, v), u0 = run.x[0], start[0, 0]
        assert run.status[0] == "ok" and abs(v) < 1e-9, kind
        sharpness = np.linalg.eigvalsh(land.hessian(run.x))[0, -1]
        assert sharpness == pytest.approx(math.tanh(u) ** 2, abs=1e-9), kind
        printed_u = float(re.search(rf"^{kind}\(.*u = ([+-][\d.]+)", out, re.M).group(1))
        assert printed_u == pytest.approx(u, abs=5e-4), kind
        if kind in ("GD", "USAM"):
            lam, rho = math.tanh(u) ** 2, getattr(optimizer, "rho", 0.0)
            assert optimizer.lr * lam * (1 + rho * lam) < 2, kind
            assert abs(u - u0) < 0.01 and sharpness == pytest.approx(math.tanh(u0) ** 2, abs=0.01), kind
        else:
            assert abs(u) < 1e-3 and sharpness < 1e-6


def test_two_cycle_example_ends_on_the_predicted_cycle(capsys):
    """Normalized SAM on lam z^2/2 ends on the 2-cycle z -> -z of amplitude lr*lam*rho/(2 - lr*lam), from both
    starts, and the script prints that amplitude; lam is measured from the landscape's values."""
    namespace, out = run_example("sam_two_cycle.py", capsys)
    lam, lr, rho, run = curvature_at_zero(namespace["land"]), namespace["lr"], namespace["rho"], namespace["run"]
    amplitude = lr * lam * rho / (2 - lr * lam)
    printed = float(re.search(r"predicted amplitude ([\d.]+)", out).group(1))
    assert printed == pytest.approx(amplitude, abs=1e-6)
    last = run.xs[-3:, :, 0]
    assert np.all(np.diff(run.steps[-3:]) == 1)
    assert np.all(np.abs(np.abs(last) - amplitude) < 1e-9 * amplitude)
    assert np.all(np.sign(last[1:]) == -np.sign(last[:-1]))


def test_sweep_example_stays_off_the_edge_and_matches_the_usam_boundary(capsys):
    """Every (lr, rho) of the sweep is at least 5% away from USAM's edge lr*lam*(1 + rho*lam) = 2, each rho has
    lrs on both sides of it, a start is 'ok' exactly where the product is < 2, and a stable start ends at
    z0 * (1 - lr*lam*(1 + rho*lam))^steps, USAM's exact iterate on lam z^2/2."""
    namespace, out = run_example("learning_rate_sweep.py", capsys)
    lrs, rhos, run = namespace["lrs"], namespace["rhos"], namespace["run"]
    lam = curvature_at_zero(namespace["land"])
    product = lrs * lam * (1 + rhos * lam)
    assert np.all(np.abs(product - 2) > 0.1)
    stable = product < 2
    for rho in np.unique(rhos):
        assert stable[rhos == rho].any() and not stable[rhos == rho].all(), rho
    np.testing.assert_array_equal(run.status, np.where(stable, "ok", "diverged"))
    z0, steps = run.xs[0, :, 0], run.steps[-1]
    np.testing.assert_allclose(run.x[stable, 0], z0[stable] * (1 - product[stable]) ** steps, rtol=1e-9, atol=1e-300)
    rows = re.findall(r"theory: (\w+)\s+simulation: (\w+)", out)
    assert rows == [("stable" if s else "unstable", status) for s, status in zip(stable, run.status)]
    assert "agreement: 100%" in out

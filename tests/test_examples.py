"""Every script in examples/ runs as it is and prints what its docstring promises."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def run_example(name: str) -> str:
    done = subprocess.run([sys.executable, str(EXAMPLES / name)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_every_example_is_covered_here():
    """No example escapes this file: each script in examples/ has a test below."""
    covered = {"gd_vs_sam_on_tanh.py", "sam_two_cycle.py", "learning_rate_sweep.py"}
    assert {p.name for p in EXAMPLES.glob("*.py")} <= covered


def test_tanh_example_sam_reaches_the_flat_end_and_gd_does_not():
    """On 1/2 tanh^2(v tanh u), GD keeps u near its start (sharp) while SAM ends at small |u| (flat)."""
    out = run_example("gd_vs_sam_on_tanh.py")
    rows = {line.split("(")[0]: line for line in out.splitlines()}
    u = {name: float(re.search(r"u = ([+-][\d.]+)", row).group(1)) for name, row in rows.items()}
    assert abs(u["GD"]) > 2.0 and abs(u["SAM"]) < 0.5


def test_two_cycle_example_matches_its_prediction():
    """The printed last iterates equal +- the printed amplitude lr*lam*rho/(2 - lr*lam)."""
    out = run_example("sam_two_cycle.py")
    amplitude = float(re.search(r"predicted amplitude ([\d.]+)", out).group(1))
    assert amplitude == pytest.approx(0.3 * 4.0 * 0.1 / (2 - 0.3 * 4.0))
    values = [float(v) for v in re.findall(r"-?\d+\.\d+", out.split("start:")[1])]
    assert values and all(abs(abs(v) - amplitude) < 1e-6 for v in values)


def test_sweep_example_agrees_with_the_usam_boundary():
    """The (lr, rho) sweep reports full agreement between simulation and lr*lam*(1+rho*lam) <= 2."""
    assert "agreement: 100%" in run_example("learning_rate_sweep.py")

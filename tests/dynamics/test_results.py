"""Results that say why: Run's repr, summary, messages, period-2 detection, HTML table and xarray view; the
notebook progress bar; the warnings for batches that cannot be stochastic."""

import html
import io
import sys
import warnings

import numpy as np
import pytest
from scipy.optimize import brentq

from samscape import dynamics as dy
from samscape import landscapes
from samscape.dynamics import Progress, Run

LOGCOSH = "2*log(cosh(z))"
LR, RHO = 1.5, 0.1


def _two_cycle_amplitude() -> float:
    """SAM on 2 log cosh z maps z > 0 to z - 2 lr tanh(z + rho); the cycle z -> -z solves z = lr tanh(z + rho)."""
    return brentq(lambda z: z - LR * np.tanh(z + RHO), 0.1, 10.0)


@pytest.fixture(scope="module")
def bouncing():
    land = landscapes.from_expr(LOGCOSH, "z")
    return land, dy.SAM(LR, RHO), np.array([[0.3], [1.0], [-2.0]])


def test_repr_is_one_line_with_optimizer_landscape_counts_and_loss_range():
    """repr(run) is one short line naming optimizer, landscape, steps, starts, status counts and the final loss range
    (GD on z^2 with lr 0.25 halves z each step, so the loss of a start z0 ends at (z0 / 2**steps)**2)."""
    land = landscapes.from_expr("z**2", "z")
    run = dy.simulate(land, dy.GD(0.25), [[1.0], [2.0]], 10, seed=0, backend="numpy")
    text = repr(run)
    assert "\n" not in text and len(text) < 200
    assert "GD(lr=0.25)" in text and "'z**2'" in text and "10 steps" in text and "2 starts (2 ok)" in text
    low, high = (1.0 / 2**10) ** 2, (2.0 / 2**10) ** 2
    assert f"{low:.3g}..{high:.3g}" in text


def test_message_names_each_failed_status_with_its_remedy_and_summary_prints_it():
    """A start that leaves the bound is 'diverged' and its message says how many, from which step, and to lower lr
    or raise bound=; an all-ok run has no message. GD on z^2 with lr 1.5 multiplies z by -2 each step, so from
    z0 = 1 it first exceeds bound 100 at step 7 (2**7 = 128)."""
    land = landscapes.from_expr("z**2", "z")
    run = dy.simulate(land, dy.GD(1.5), [[1.0], [0.0]], 20, seed=0, bound=100.0, backend="numpy")
    assert list(run.message) == ["diverged"]
    text = run.message["diverged"]
    assert "1 of 2 starts diverged" in text and "step 7" in text and "lower lr" in text and "bound=" in text
    assert run.message.get(run.status[1], "ok") == "ok"
    assert "diverged: 1 of 2 starts" in run.summary()
    calm = dy.simulate(land, dy.GD(0.1), [[1.0]], 5, seed=0, backend="numpy")
    assert calm.message == {}


def test_summary_is_what_the_command_line_prints():
    """summary() holds the landscape line, the seed/backend/dtype line and the table with the final loss and status
    counts (GD on z^2, lr 0.25, 10 steps from z = 1: final loss (0.5**10)**2)."""
    land = landscapes.from_expr("z**2", "z")
    run = dy.simulate(land, dy.GD(0.25), [[1.0]], 10, seed=7, backend="numpy")
    text = run.summary()
    assert text.startswith("landscape: z**2")
    assert "seed: 7" in text and "backend: numpy" in text and "dtype: float64" in text
    assert f"{(0.5 ** 10) ** 2:.3e}" in text and "final loss (median)" in text and "nonfinite" in text


def test_a_period_two_cycle_is_seen_with_an_odd_stride_and_hidden_by_an_even_one(bouncing):
    """SAM with lr 1.5, rho 0.1 on 2 log cosh z ends on the 2-cycle +-z* with z* = lr tanh(z* + rho): with an odd
    stride the saved iterates alternate in sign and alternating() flags every start; with stride 10 every saved
    iterate sits on one side and the run looks parked (the aliasing the CLI's odd default avoids)."""
    land, opt, x0 = bouncing
    amplitude = _two_cycle_amplitude()
    odd = dy.simulate(land, opt, x0, 1000, every=11, seed=0, backend="numpy")
    np.testing.assert_allclose(np.abs(odd.xs[-6:, :, 0]), amplitude, rtol=1e-9)
    parity = (-1.0) ** odd.steps[-6:, None]  # the sign flips each step, so sign(x_t) * (-1)**t is constant
    assert np.all(np.sign(odd.xs[-6:, :, 0]) * parity == np.sign(odd.xs[-1, :, 0]) * parity[-1])
    assert odd.alternating().all()
    assert "period-2 cycle" in odd.summary() and "period-2" in odd._repr_html_()
    even = dy.simulate(land, opt, x0, 1000, every=10, seed=0, backend="numpy")
    assert np.all(even.xs[-1, :, 0] == even.xs[-2, :, 0])
    assert not even.alternating().any()
    assert "period-2" not in even.summary()


def test_a_converged_run_does_not_count_as_alternating():
    """GD on z^2 with lr 0.25 converges monotonically: no start is flagged as a 2-cycle."""
    land = landscapes.from_expr("z**2", "z")
    run = dy.simulate(land, dy.GD(0.25), [[1.0], [-3.0]], 200, every=1, seed=0, backend="numpy")
    assert not run.alternating().any()


def test_html_tables_escape_user_text():
    """A landscape named like markup appears escaped in the Run's and the Landscape's HTML, never as a tag."""
    name = "<script>alert('x')</script>"
    land = landscapes.from_expr("z**2", "z", name=name)
    run = dy.simulate(land, dy.GD(0.25), [[1.0]], 3, seed=0, backend="numpy")
    for markup in (run._repr_html_(), land._repr_html_()):
        assert "<script>" not in markup and html.escape(name) in markup
    assert markup.startswith("<table>")


def test_landscape_html_shows_the_per_sample_template_with_its_data():
    """The tanh model's HTML shows the per-sample loss in the data symbols a, y (as LaTeX), the mean over the two
    samples, the data columns and the window; not the expression with the data substituted."""
    import sympy as sp

    land = landscapes.get("tanh", xs=(0.5, 2.0), ys=(0.0, 0.0))
    markup = land._repr_html_()
    assert html.escape(sp.latex(land.expr)) in markup
    assert r"\frac{1}{2} \sum_{i=1}^{2}" in markup and "{a}_{i}" in markup
    assert "[0.5, 2]" in markup and "u in [-3, 3]" in markup


def test_to_xarray_labels_steps_starts_and_variables_and_keeps_the_recipe():
    """to_xarray gives x (step, start, dim) equal to run.xs, coordinates the saved steps, start ids and variable
    names, per-start lr along start, and the recipe in attrs."""
    xr = pytest.importorskip("xarray")
    land = landscapes.get("tanh")
    run = dy.simulate(land, dy.SAM(np.array([0.1, 0.2]), 0.05), [[1.0, 0.5], [2.0, -0.5]], 30, every=7, seed=3,
                      start_ids=np.array([4, 9]), backend="numpy")
    ds = run.to_xarray()
    assert isinstance(ds, xr.Dataset)
    assert ds["x"].dims == ("step", "start", "dim")
    np.testing.assert_array_equal(ds["x"].values, run.xs)
    np.testing.assert_array_equal(ds["step"].values, [0, 7, 14, 21, 28, 30])
    assert ds["start"].values.tolist() == [4, 9] and ds["dim"].values.tolist() == ["u", "v"]
    np.testing.assert_array_equal(ds["lr"].values, [0.1, 0.2])
    np.testing.assert_array_equal(ds["loss"].sel(start=9).values, run.loss[:, 1])
    assert ds.attrs["seed"] == 3 and ds.attrs["every"] == 7 and '"name": "tanh"' in ds.attrs["landscape_spec"]


def test_to_xarray_without_xarray_says_how_to_install_it(monkeypatch):
    """Without xarray, to_xarray raises an ImportError whose sentence names `pip install xarray` and the extra."""
    land = landscapes.from_expr("z**2", "z")
    run = dy.simulate(land, dy.GD(0.25), [[1.0]], 3, seed=0, backend="numpy")
    monkeypatch.setitem(sys.modules, "xarray", None)  # makes `import xarray` fail
    with pytest.raises(ImportError, match=r"pip install xarray.*samscape\[sweep\]"):
        run.to_xarray()


def test_progress_draws_an_html_bar_in_a_notebook_kernel(monkeypatch):
    """In an IPython kernel (stderr not a terminal) the bar is on by default and draws HTML into one display,
    escaping the label; the last drawing is the full bar."""
    drawn = []
    monkeypatch.setattr(Progress, "in_notebook", staticmethod(lambda: True))
    monkeypatch.setattr(Progress, "notebook_display", staticmethod(lambda: drawn.append))
    bar = Progress(10, "SAM on <x>")
    assert bar.enabled
    for done in range(1, 11):
        bar.update(done)
    assert drawn and "&lt;x&gt;" in drawn[-1] and "value='10' max='10'" in drawn[-1]
    count = len(drawn)
    bar.update(10)
    assert len(drawn) == count  # finished once


def test_progress_outside_a_notebook_and_terminal_stays_quiet(monkeypatch):
    """With no kernel and a stream that is not a terminal, the default bar draws nothing."""
    monkeypatch.setattr(Progress, "in_notebook", staticmethod(lambda: False))
    stream = io.StringIO()
    bar = Progress(10, "run", stream=stream)
    bar.update(10)
    assert not bar.enabled and stream.getvalue() == ""


def test_in_notebook_is_false_in_a_plain_process():
    """pytest is no IPython kernel, whether or not IPython is importable."""
    assert Progress.in_notebook() is False


def test_batches_on_one_sample_warn_once_naming_the_batch_size():
    """SGD on a one-sample landscape warns once that every batch is that sample (a Switch of two such SGDs too)."""
    land = landscapes.from_expr("z**2", "z")
    with pytest.warns(UserWarning, match="batch_size=1 on landscape 'z\\*\\*2', which has one sample") as record:
        dy.simulate(land, dy.Switch(dy.SGD(0.1, 1), dy.SGD(0.2, 1), at=2), [[1.0]], 4, seed=0, backend="numpy")
    assert len(record) == 1


def test_a_batch_larger_than_the_data_warns_that_it_is_not_the_full_batch():
    """batch_size 5 on 2 samples warns that batches are drawn with replacement, so they are not the full batch."""
    land = landscapes.get("tanh", xs=(1.0, 2.0), ys=(0.0, 0.0))
    with pytest.warns(UserWarning, match="batch_size=5 exceeds the 2 samples.*not the full batch"):
        dy.simulate(land, dy.SGD(0.1, 5), [[1.0, 0.5]], 3, seed=0, backend="numpy")


def test_batches_that_fit_the_data_do_not_warn():
    """SGD with batch_size 2 on 2 samples and full-batch SAM on one sample are ordinary: no warning."""
    two = landscapes.get("tanh", xs=(1.0, 2.0), ys=(0.0, 0.0))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        dy.simulate(two, dy.SGD(0.1, 2), [[1.0, 0.5]], 3, seed=0, backend="numpy")
        dy.simulate(landscapes.from_expr("z**2", "z"), dy.SAM(0.1, 0.05), [[1.0]], 3, seed=0, backend="numpy")


def test_a_run_loaded_from_disk_has_the_same_report(tmp_path):
    """The report is computed from the run's fields, so a saved and reloaded run prints the same summary."""
    land = landscapes.get("tanh")
    run = dy.simulate(land, dy.SAM(0.5, 0.1), [[2.0, 0.3], [-1.0, 0.2]], 50, every=5, seed=1, backend="numpy")
    again = dy.load_run(run.save(tmp_path / "run.npz"))
    assert isinstance(again, Run) and again.summary() == run.summary() and repr(again) == repr(run)

"""The claim registry, the full check() run and the `samscape check` command."""

import json

import pytest

from samscape import cli, theory
from samscape.theory import claims


@pytest.fixture(scope="module")
def full_run():
    # how long check() takes is measured by `time samscape check` (README), never asserted in a unit test
    return theory.check()


def test_every_claim_of_the_issue_is_registered():
    """The ten claims of issue 3 are covered (some split into parts): GD, USAM, P2 Thm 4.8, P3 Example 4.1,
    Thm 4.1/4.2, Prop 4.1, Thm 4.3, P1 hallucinations, P2 drift, P2 sharpness limits."""
    expected = {"gd_quadratic", "usam_quadratic", "sam_quadratic_cycle", "tanh_usam_escape", "tanh_sam_drift",
                "tanh_switching", "linear_stability_inequality", "valley_confinement", "pl_convergence",
                "hallucination_window", "hallucination_attraction", "warm_start", "manifold_drift",
                "sharpness_limits"}
    assert expected <= set(theory.claim_names())
    for entry in claims.CLAIMS.values():
        assert entry.statement and any(tag in entry.paper for tag in ("P1", "P2", "P3", "THEORY"))


def test_full_check_passes_and_reports_every_field(full_run):
    """Every registered claim holds in simulation on this code: hypotheses hold, prediction and observation agree;
    each result carries name, paper, hypotheses, predicted, observed, tolerance, passed and JSON-ready details."""
    results = full_run
    assert [r.name for r in results] == theory.claim_names()
    failed = {r.name: (r.predicted, r.observed, r.details.get("error")) for r in results if not r.passed}
    assert not failed, failed
    for r in results:
        assert r.hypotheses and all(isinstance(v, bool) for v in r.hypotheses.values())
        assert r.predicted and r.observed and r.tolerance and ("SymPy" in r.method or "NumPy" in r.method)
        json.dumps(r.as_dict())


def test_check_selects_by_name_and_rejects_unknown_names():
    """check(names) runs only those claims, in the given order; an unknown name is a ValueError listing the names."""
    results = theory.check(["usam_quadratic", "gd_quadratic"])
    assert [r.name for r in results] == ["usam_quadratic", "gd_quadratic"]
    with pytest.raises(ValueError, match="names must be claim names"):
        theory.check(["gd_quadratic", "no_such_claim"])


@pytest.fixture
def temporary_claims():
    added = []

    def register(name, outcome=None, error=None):
        def run():
            """A deliberately constructed claim for testing the registry."""
            if error is not None:
                raise error
            return outcome

        claims.claim(name, "P0 test")(run)
        added.append(name)
        return name

    yield register
    for name in added:
        claims.CLAIMS.pop(name, None)


def _outcome(agrees, hypotheses):
    return claims._Outcome(hypotheses=hypotheses, predicted="p", observed="o", tolerance="t", agrees=agrees,
                           method="NumPy", details={})


def test_a_claim_fails_when_observation_disagrees_or_a_hypothesis_fails_or_it_crashes(temporary_claims):
    """passed requires agreement AND every hypothesis; an exception inside a claim becomes a failed result."""
    disagree = temporary_claims("t_disagree", _outcome(False, {"h": True}))
    bad_hyp = temporary_claims("t_bad_hypothesis", _outcome(True, {"h": False}))
    crash = temporary_claims("t_crash", error=RuntimeError("boom"))
    good = temporary_claims("t_good", _outcome(True, {"h": True}))
    results = {r.name: r for r in theory.check([disagree, bad_hyp, crash, good])}
    assert not results[disagree].passed and not results[bad_hyp].passed and not results[crash].passed
    assert "boom" in results[crash].observed
    assert results[good].passed
    table = theory.format_table(list(results.values()))
    assert "3 failed" in table and "not h" in table


def test_cli_check_prints_a_table_and_exit_code_reflects_failures(temporary_claims, capsys):
    """`samscape check --only NAME` prints the table and exits 0 when all pass, 1 when one fails; --json is JSON."""
    assert cli.main(["check", "--only", "usam_quadratic"]) == 0
    out = capsys.readouterr().out
    assert "usam_quadratic" in out and "PASS" in out and "verdict" in out
    failing = temporary_claims("t_cli_fail", _outcome(False, {"h": True}))
    assert cli.main(["check", "--only", "usam_quadratic", "--only", failing]) == 1
    assert "FAIL" in capsys.readouterr().out
    assert cli.main(["check", "--only", "gd_quadratic", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data[0]["name"] == "gd_quadratic" and data[0]["passed"] is True


def test_cli_check_unknown_name_is_a_usage_error(capsys):
    """An unknown claim name is bad input: one line on stderr, exit 2."""
    assert cli.main(["check", "--only", "nope"]) == 2
    assert "names must be claim names" in capsys.readouterr().err


@pytest.mark.parametrize("wrap", [0, -5, 2.5])
def test_format_table_refuses_a_wrap_width_below_one(wrap):
    """wrap is a column width: anything but an integer >= 1 is a ValueError naming wrap and the value."""
    with pytest.raises(ValueError, match=rf"wrap must be a positive integer, got {wrap!r}"):
        theory.format_table([], wrap=wrap)

"""The claim registry, the full check() run and the `samscape check` command."""

import json

import pytest

from samscape import cli, theory
from samscape.theory import claims


def test_every_claim_of_the_issue_is_registered():
    """The ten claims of issue 3 are covered (some split into parts): GD, USAM, P2 Thm 4.8, P3 Example 4.1,
    Thm 4.1/4.2, Prop 4.1, Thm 4.3, P1 hallucinations, P2 drift, P2 sharpness limits."""
    expected = {"gd_quadratic", "usam_quadratic", "sam_quadratic_cycle", "tanh_usam_escape", "tanh_sam_drift",
                "tanh_switching", "linear_stability_inequality", "valley_confinement", "pl_convergence",
                "hallucination_window", "hallucination_attraction", "warm_start", "manifold_drift",
                "sharpness_limits"}
    assert expected <= set(theory.claim_names())
    for entry in claims.CLAIMS.values():
        assert entry.statement and entry.citations


def test_the_paper_table_names_the_three_papers():
    """theory.PAPERS holds P1 (Park et al. 2025), P2 (Wen, Ma, Li, ICLR 2023) and P3 (Zhou et al., ICLR 2025),
    each with its authors, title and arXiv id; a citation text says first author, year and arXiv id."""
    seeds = {k: (p.authors[0], p.year, p.arxiv, p.slug) for k, p in theory.PAPERS.items() if k in ("P1", "P2", "P3")}
    assert seeds == {"P1": ("Park", 2025, "2509.21818", "park2025"), "P2": ("Wen", 2023, "2211.05729", "wen2023"),
                     "P3": ("Zhou", 2025, "2410.10373", "zhou2025")}
    assert theory.PAPERS["P2"].authors == ("Wen", "Ma", "Li") and theory.PAPERS["P2"].venue == "ICLR 2023"
    assert "Hallucinate" in theory.PAPERS["P1"].title and len(theory.PAPERS["P3"].authors) == 5
    assert claims.cite("P2", "Thm 4.8").text == "Wen et al. 2023, arXiv:2211.05729, Thm 4.8"
    assert claims.derived("P3", "Thm 4.1").text.startswith("derived here (docs/theory.md), extending Zhou et al.")


def test_every_claim_cites_one_of_the_three_papers_by_arxiv_id():
    """Each registered claim cites at least one paper of theory.PAPERS, by arXiv id, in its citation line."""
    arxiv_ids = {p.arxiv for p in theory.PAPERS.values()}
    for entry in claims.CLAIMS.values():
        assert entry.citations, entry.name
        for citation in entry.citations:
            assert theory.PAPERS[citation.paper].arxiv in arxiv_ids and citation.theorem
        line = claims.registry.citations_text(entry.citations)
        assert any(f"arXiv:{a}" in line for a in arxiv_ids), (entry.name, line)


def test_a_citation_or_claim_without_a_known_paper_is_refused():
    """A citation of a paper not in PAPERS, or a claim registered without any citation, is a ValueError."""
    with pytest.raises(ValueError, match="paper must be one of P1, P2, P3, .*got 'P9'"):
        claims.cite("P9", "Thm 1")
    with pytest.raises(ValueError, match="citations must be one or more Citation"):
        claims.claim("t_uncited")
    assert "t_uncited" not in claims.CLAIMS


def test_full_check_passes_and_reports_every_field(claim_results):
    """Every registered claim holds in simulation on this code: hypotheses hold, every named check holds (each
    claim has at least one); each result carries name, citation, hypotheses, checks, predicted, observed,
    tolerance, passed and JSON-ready details, with its citations structured in the JSON."""
    results = claim_results
    assert [r.name for r in results] == theory.claim_names()
    failed = {r.name: (r.verdict, r.observed, r.details.get("error")) for r in results if not r.passed}
    assert not failed, failed
    arxiv_ids = {p.arxiv for p in theory.PAPERS.values()}
    for r in results:
        assert r.hypotheses and all(isinstance(v, bool) for v in r.hypotheses.values())
        assert r.checks and all(isinstance(v, bool) and v for v in r.checks.values())
        assert r.predicted and r.observed and r.tolerance and ("SymPy" in r.method or "NumPy" in r.method)
        data = json.loads(json.dumps(r.as_dict()))
        assert data["checks"] == r.checks and data["verdict"] == "PASS" and data["passed"] is True
        assert data["citations"] and all(c["arxiv"] in arxiv_ids and c["paper"] in theory.PAPERS and c["authors"]
                                         and c["year"] and c["theorem"] for c in data["citations"])
        assert "arXiv:" in data["paper"]


def test_check_selects_by_name_and_rejects_unknown_names():
    """check(names) runs only those claims, in the given order; an unknown name is a ValueError listing the names."""
    results = theory.check(["usam_quadratic", "gd_quadratic"])
    assert [r.name for r in results] == ["usam_quadratic", "gd_quadratic"]
    with pytest.raises(ValueError, match="names must be claim names"):
        theory.check(["gd_quadratic", "no_such_claim"])


@pytest.fixture
def temporary_claims():
    added = []

    def register(name, outcome=None, error=None, make=None):
        def run():
            """A deliberately constructed claim for testing the registry."""
            if error is not None:
                raise error
            return make() if make is not None else outcome

        claims.claim(name, claims.cite("P1", "a test"))(run)
        added.append(name)
        return name

    yield register
    for name in added:
        claims.CLAIMS.pop(name, None)


def _outcome(checks, hypotheses):
    return claims.Outcome(hypotheses=hypotheses, checks=checks, predicted="p", observed="o", tolerance="t",
                          method="NumPy", details={})


def test_a_claim_fails_when_observation_disagrees_or_a_hypothesis_fails_or_it_crashes(temporary_claims):
    """passed requires every named check AND every hypothesis; an exception inside a claim becomes a failed
    result that says so; the table's verdict names what failed."""
    disagree = temporary_claims("t_disagree", _outcome({"c1": True, "c2": False}, {"h": True}))
    bad_hyp = temporary_claims("t_bad_hypothesis", _outcome({"c": True}, {"h": False}))
    crash = temporary_claims("t_crash", error=RuntimeError("boom"))
    good = temporary_claims("t_good", _outcome({"c": True}, {"h": True}))
    results = {r.name: r for r in theory.check([disagree, bad_hyp, crash, good])}
    assert not results[disagree].passed and not results[bad_hyp].passed and not results[crash].passed
    assert "boom" in results[crash].observed
    assert results[crash].failed_checks == [claims.registry.RAN_TO_THE_END]
    assert results[good].passed
    table = theory.format_table(list(results.values()))
    assert "3 failed" in table and "not h" in table
    assert "FAIL: not c2" in table and "FAIL: hypothesis not met: h" in table


def test_a_claim_without_a_named_check_cannot_pass(temporary_claims):
    """An outcome with no named check is refused (it could never fail), so the claim reports a failure."""
    empty = temporary_claims("t_no_checks", make=lambda: _outcome({}, {"h": True}))
    (result,) = theory.check([empty])
    assert not result.passed and "checks must be a non-empty dict" in result.observed


def test_a_failing_check_is_named_in_the_table_and_in_json(temporary_claims, capsys):
    """When one named check of a claim fails, `samscape check` names that check in the table's verdict and
    --json lists every check with whether it holds, the verdict, and the claim's structured citation."""
    checks = {"rate within 1e-9": True, "lands flatter": False, "converges": True}
    failing = temporary_claims("t_named_fail", _outcome(checks, {"h": True}))
    assert cli.main(["check", "--only", failing]) == 1
    out = capsys.readouterr().out
    assert "FAIL: not lands flatter" in out and "Park et al. 2025, arXiv:2509.21818" in out
    assert cli.main(["check", "--only", failing, "--json"]) == 1
    (data,) = json.loads(capsys.readouterr().out)
    assert data["checks"] == checks and data["passed"] is False
    assert data["verdict"] == "FAIL: not lands flatter"
    assert data["citations"] == [{"paper": "P1", "authors": ["Park", "Jang", "Ryu", "Yang"], "year": 2025,
                                  "title": theory.PAPERS["P1"].title, "venue": "arXiv preprint", "arxiv": "2509.21818",
                                  "theorem": "a test",
                                  "derived": False}]


def test_cli_check_help_lists_every_claim_name(capsys):
    """`samscape check --help` names every registered claim as a value for --only."""
    with pytest.raises(SystemExit) as stop:
        cli.main(["check", "--help"])
    assert stop.value.code == 0
    help_text = " ".join(capsys.readouterr().out.split())
    for name in theory.claim_names():
        assert name in help_text, name


def test_cli_check_prints_a_table_and_exit_code_reflects_failures(temporary_claims, capsys):
    """`samscape check --only NAME` prints the table and exits 0 when all pass, 1 when one fails; --json is JSON."""
    assert cli.main(["check", "--only", "usam_quadratic"]) == 0
    out = capsys.readouterr().out
    assert "usam_quadratic" in out and "PASS" in out and "verdict" in out
    failing = temporary_claims("t_cli_fail", _outcome({"c": False}, {"h": True}))
    assert cli.main(["check", "--only", "usam_quadratic", "--only", failing]) == 1
    assert "FAIL" in capsys.readouterr().out
    assert cli.main(["check", "--only", "gd_quadratic", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data[0]["name"] == "gd_quadratic" and data[0]["passed"] is True


def test_cli_check_unknown_name_is_a_usage_error(capsys):
    """An unknown claim name is bad input: one line on stderr, exit 2."""
    assert cli.main(["check", "--only", "nope"]) == 2
    assert "names must be claim names" in capsys.readouterr().err


@pytest.mark.parametrize("width", [0, 59, 2.5])
def test_format_table_refuses_a_width_below_sixty(width):
    """width is the report's width in columns: anything but an integer >= 60 is a ValueError naming it."""
    with pytest.raises(ValueError, match=rf"width must be an integer >= 60, got {width!r}"):
        theory.format_table([], width=width)

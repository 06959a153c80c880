"""Selecting claims by paper (`samscape check --paper SLUG`) and listing them (`samscape check --list`)."""

import pytest

from samscape import cli, theory
from samscape.theory import claims


def test_every_paper_has_a_unique_slug_and_is_cited_by_a_claim():
    """Each paper of theory.PAPERS has a slug of its own (first author and year), and at least one claim cites it,
    so `--paper SLUG` never selects nothing."""
    slugs = [p.slug for p in theory.PAPERS.values()]
    assert len(set(slugs)) == len(slugs)
    for paper in theory.PAPERS.values():
        assert str(paper.year) in paper.slug
        assert claims.paper_claims(paper.slug), paper.slug


def test_paper_claims_are_those_citing_the_paper_by_key_or_slug():
    """A paper's claims are the registered claims with a citation of it (in any position), in registry order; its
    key and its slug name the same paper."""
    expected = [name for name, entry in claims.CLAIMS.items() if any(c.paper == "P2" for c in entry.citations)]
    assert claims.paper_claims("wen2023") == claims.paper_claims("P2") == expected
    assert "tanh_sam_drift" in expected  # cites P3 first and P2 second
    with pytest.raises(ValueError, match="paper must be one of park2025, wen2023, .*got 'nobody2020'"):
        claims.paper_claims("nobody2020")


def test_select_keeps_named_claims_first_then_adds_each_papers_claims_once():
    """--only names come first in the order given, then the claims of each --paper not already named; nothing given
    means every claim (None)."""
    assert claims.select() is None
    wen = claims.paper_claims("wen2023")
    assert claims.select(only=["gd_quadratic"], papers=["wen2023"]) == ["gd_quadratic"] + wen
    assert claims.select(only=[wen[-1]], papers=["wen2023"]) == [wen[-1]] + wen[:-1]
    with pytest.raises(ValueError, match="names must be claim names"):
        claims.select(only=["no_such_claim"])


def test_cli_check_paper_runs_only_that_papers_claims(capsys, monkeypatch):
    """`samscape check --paper SLUG` hands theory.check exactly the claims citing that paper."""
    seen = []
    monkeypatch.setattr(theory, "check", lambda names=None: seen.append(names) or [])
    assert cli.main(["check", "--paper", "wen2023"]) == 0
    assert seen == [claims.paper_claims("wen2023")]
    assert cli.main(["check", "--paper", "nobody2020"]) == 2
    assert "paper must be one of" in capsys.readouterr().err


def test_cli_check_list_names_every_paper_and_claim_without_running_them(capsys, monkeypatch):
    """`samscape check --list` prints every paper (slug, authors, arXiv id) and every claim name, runs no claim and
    exits 0."""
    monkeypatch.setattr(theory, "check", lambda names=None: pytest.fail("--list must not run claims"))
    assert cli.main(["check", "--list"]) == 0
    out = capsys.readouterr().out
    for paper in theory.PAPERS.values():
        assert f"{paper.slug}" in out and f"arXiv:{paper.arxiv}" in out and ", ".join(paper.authors) in out
    for name in theory.claim_names():
        assert f"  {name}  [" in out
    assert f"{len(theory.claim_names())} claims from {len(theory.PAPERS)} papers" in out

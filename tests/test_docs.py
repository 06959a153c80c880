"""docs/theory.md covers every claim and theory function, the catalog cites papers by arXiv id, and nothing
points users at files outside the repository."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest

from samscape import landscapes, theory

ROOT = Path(__file__).resolve().parent.parent
THEORY_DOC = ROOT / "docs" / "theory.md"


@pytest.fixture(scope="module")
def doc() -> str:
    return THEORY_DOC.read_text(encoding="utf-8")


def _headings(doc: str) -> list[str]:
    return [line for line in doc.splitlines() if line.startswith("#")]


@pytest.mark.parametrize("name", theory.claim_names())
def test_every_claim_has_its_own_anchored_subsection(doc, name):
    """Each claim of `samscape check` has an anchor equal to its name, directly followed by a heading that names
    it, so docs/theory.md#NAME lands on the claim's maths."""
    match = re.search(rf'<a id="{re.escape(name)}"></a>\n(#+ .*)', doc)
    assert match, f"no anchor {name!r} followed by a heading"
    assert f"`{name}`" in match.group(1)


def test_every_public_theory_function_is_named_in_the_theory_doc(doc):
    """Every public function of samscape.theory appears, in backticks, in the section with its maths."""
    functions = [n for n in theory.__all__ if inspect.isfunction(getattr(theory, n))]
    assert len(functions) > 20
    missing = [n for n in functions if not re.search(rf"`{n}(\(|`)", doc)]
    assert missing == []


def test_each_paper_is_cited_with_authors_year_and_arxiv_id(doc):
    """The doc's table of papers names each paper of theory.PAPERS with all its authors, its year and arXiv id."""
    for paper in theory.PAPERS.values():
        row = next(line for line in doc.splitlines() if f"arXiv:{paper.arxiv}" in line and line.startswith("|"))
        assert ", ".join(paper.authors) in row and str(paper.year) in row


def test_the_three_labels_are_used(doc):
    """Stated results, derivations of this project and working definitions are all marked as such."""
    for label in ("Stated", "derived here", "Working definition"):
        assert label in doc


@pytest.mark.parametrize("name", landscapes.names())
def test_a_catalog_source_naming_a_paper_carries_its_arxiv_id(name):
    """A catalog entry whose source names a paper (by its first two authors, as "Long, Bartlett") gives that paper's
    authors, year and arXiv id as theory.PAPERS has them; one that says "derived here" points to a section of
    docs/theory.md that exists."""
    source = landscapes.describe(name)["source"]
    assert "THEORY.md" not in source
    for paper in theory.PAPERS.values():
        if ", ".join(paper.authors[:2]) in source:
            assert f"arXiv:{paper.arxiv}" in source
            assert ", ".join(paper.authors) in source and str(paper.year) in source
    if "derived here" in source:
        section = re.search(r"docs/theory\.md section (\d+(?:\.\d+)?)", source)
        assert section, source
        headings = _headings(THEORY_DOC.read_text(encoding="utf-8"))
        assert any(re.match(rf"#+ {re.escape(section.group(1))}\.? ", h) for h in headings), section.group(1)


def test_nothing_points_users_outside_the_repository():
    """README, docs, examples and the package never refer to THEORY.md or the ../shared folder beside a clone."""
    paths = [ROOT / "README.md", *ROOT.glob("docs/**/*"), *ROOT.glob("examples/**/*"), *ROOT.glob("samscape/**/*.py")]
    offenders = [str(p.relative_to(ROOT)) for p in paths if p.is_file()
                 and re.search(r"THEORY\.md|\.\./shared|shared/", p.read_text(encoding="utf-8", errors="ignore"))]
    assert offenders == []


def test_readme_links_the_theory_doc_and_the_notebooks():
    """The README links docs/theory.md and each notebook of examples/notebooks, and the links resolve."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    links = set(re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", readme))
    assert "docs/theory.md" in links
    for notebook in (ROOT / "examples" / "notebooks").glob("*.ipynb"):
        assert f"examples/notebooks/{notebook.name}" in links
    for link in links:
        if not link.startswith("http"):
            assert (ROOT / link).exists(), link

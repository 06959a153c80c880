"""The claim registry: the papers it cites, what a claim returns, running claims and the report table.

A claim is a function registered with :func:`claim` under a name and one or more :class:`Citation`\\ s. It returns
an :class:`Outcome`: the setup hypotheses it relies on and the named checks that compare simulation with theory,
each with whether it holds. :func:`run_claim` turns that into a :class:`ClaimResult`, which passes only when every
hypothesis and every check holds, and says which one failed when one does.
"""

from __future__ import annotations

import math
import textwrap
import time
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from ..._tables import html_table
from ..._checks import int_at_least


@dataclass(frozen=True)
class Paper:
    """A paper whose claims are checked: authors (surnames, in order), year, title, venue and arXiv id.

    ``key`` is how a :class:`Citation` names it; ``slug`` (first author and year, e.g. ``long2024``) names the module
    of its claims and is what ``samscape check --paper`` takes (the key works too).
    """

    key: str
    authors: tuple[str, ...]
    year: int
    title: str
    venue: str
    arxiv: str
    slug: str = ""

    def __post_init__(self):
        if not self.slug:
            object.__setattr__(self, "slug", self.key)

    @property
    def short(self) -> str:
        """How the project cites it in a line: first author, "et al." when there are more, and the year."""
        first = self.authors[0] + (" et al." if len(self.authors) > 1 else "")
        return f"{first} {self.year}"

    @property
    def url(self) -> str:
        return f"https://arxiv.org/abs/{self.arxiv}"

    def as_dict(self) -> dict:
        return {"key": self.key, "slug": self.slug, "authors": list(self.authors), "year": self.year,
                "title": self.title, "venue": self.venue, "arxiv": self.arxiv}


# The seed papers keep their short keys P1-P3; the others are keyed by their slug. Venues and years are those of the
# published version where we know it, the arXiv id always; what each claim takes from a paper is said in the claim
# and in docs/theory.md (stated, or derived here and consistent with the paper).
PAPERS: dict[str, Paper] = {
    paper.key: paper for paper in (
        Paper("P1", ("Park", "Jang", "Ryu", "Yang"), 2025, "Sharpness-Aware Minimization Can Hallucinate Minimizers",
              "arXiv preprint", "2509.21818", "park2025"),
        Paper("P2", ("Wen", "Ma", "Li"), 2023, "How Does Sharpness-Aware Minimization Minimize Sharpness?",
              "ICLR 2023", "2211.05729", "wen2023"),
        Paper("P3", ("Zhou", "Wang", "Mao", "Li", "Yan"), 2025,
              "Sharpness-Aware Minimization Efficiently Selects Flatter Minima Late in Training", "ICLR 2025",
              "2410.10373", "zhou2025"),
        Paper("foret2021", ("Foret", "Kleiner", "Mobahi", "Neyshabur"), 2021,
              "Sharpness-Aware Minimization for Efficiently Improving Generalization", "ICLR 2021", "2010.01412"),
        Paper("andriushchenko2022", ("Andriushchenko", "Flammarion"), 2022,
              "Towards Understanding Sharpness-Aware Minimization", "ICML 2022", "2206.06232"),
        Paper("bartlett2023", ("Bartlett", "Long", "Bousquet"), 2023,
              "The Dynamics of Sharpness-Aware Minimization: Bouncing Across Ravines and Drifting Towards Wide Minima",
              "JMLR 24, 2023", "2210.01513"),
        Paper("long2024", ("Long", "Bartlett"), 2024, "Sharpness-Aware Minimization and the Edge of Stability",
              "JMLR 25, 2024", "2309.12488"),
        Paper("agarwala2023", ("Agarwala", "Dauphin"), 2023,
              "SAM operates far from home: eigenvalue regularization as a dynamical phenomenon", "ICML 2023",
              "2302.08692"),
        Paper("si2023", ("Si", "Yun"), 2023,
              "Practical Sharpness-Aware Minimization Cannot Converge All the Way to Optima", "NeurIPS 2023",
              "2306.09850"),
        Paper("dai2023", ("Dai", "Ahn", "Sra"), 2023, "The Crucial Role of Normalization in Sharpness-Aware Minimization",
              "NeurIPS 2023", "2305.15287"),
        Paper("kim2023", ("Kim", "Park", "Choi", "Lee"), 2023, "Stability Analysis of Sharpness-Aware Minimization",
              "arXiv preprint", "2301.06308"),
        Paper("compagnoni2023", ("Monzio Compagnoni", "Biggio", "Orvieto", "Proske", "Kersting", "Lucchi"), 2023,
              "An SDE for Modeling SAM: Theory and Insights", "ICML 2023", "2301.08203"),
        Paper("ahn2024", ("Ahn", "Jadbabaie", "Sra"), 2024, "How to Escape Sharp Minima with Random Perturbations",
              "ICML 2024", "2305.15659"),
        Paper("li2024", ("Li", "Zhang", "He"), 2024,
              "Implicit Regularization of Sharpness-Aware Minimization for Scale-Invariant Problems", "NeurIPS 2024",
              "2410.14802"),
        Paper("shin2025", ("Shin", "Lee", "Andriushchenko", "Lee"), 2025,
              "Critical Influence of Overparameterization on Sharpness-aware Minimization", "UAI 2025", "2311.17539"),
    )
}


def paper_key(name: str) -> str:
    """The key of the paper named by its key (``P2``) or its slug (``wen2023``); ``ValueError`` otherwise."""
    for paper in PAPERS.values():
        if name in (paper.key, paper.slug):
            return paper.key
    raise ValueError(f"paper must be one of {', '.join(p.slug for p in PAPERS.values())} (or P1, P2, P3), got {name!r}")


@dataclass(frozen=True)
class Citation:
    """Where a claim comes from: a paper of :data:`PAPERS` and the theorem, section or statement in it.

    ``derived`` marks a claim worked out in this project (docs/theory.md) that extends the cited result, e.g. a
    deterministic special case or a finite-step correction, rather than one the paper states.
    """

    paper: str
    theorem: str
    derived: bool = False

    def __post_init__(self):
        if self.paper not in PAPERS:
            raise ValueError(f"paper must be one of {', '.join(PAPERS)}, got {self.paper!r}")
        if not isinstance(self.theorem, str) or not self.theorem.strip():
            raise ValueError(f"theorem must be a non-empty string naming where in the paper, got {self.theorem!r}")

    @property
    def text(self) -> str:
        """E.g. "Wen et al. 2023, arXiv:2211.05729, Thm 4.8"."""
        paper = PAPERS[self.paper]
        source = f"{paper.short}, arXiv:{paper.arxiv}, {self.theorem}"
        return f"derived here (docs/theory.md), extending {source}" if self.derived else source

    def as_dict(self) -> dict:
        paper = PAPERS[self.paper]
        return {"paper": self.paper, "authors": list(paper.authors), "year": paper.year, "title": paper.title,
                "venue": paper.venue, "arxiv": paper.arxiv, "theorem": self.theorem, "derived": self.derived}


def citations_text(citations) -> str:
    """Citations as one line; a paper already named is not named again (its later results follow by name)."""
    parts, named = [], set()
    for c in citations:
        if c.paper in named:
            parts.append(f"{c.theorem} derived here (docs/theory.md)" if c.derived else c.theorem)
        else:
            parts.append(c.text)
            named.add(c.paper)
    return "; ".join(parts)


def cite(paper: str, theorem: str) -> Citation:
    """A result the paper states."""
    return Citation(paper, theorem)


def derived(paper: str, theorem: str) -> Citation:
    """A result derived in this project from the paper's ``theorem`` (see docs/theory.md)."""
    return Citation(paper, theorem, derived=True)


@dataclass
class Outcome:
    """What a claim function returns: the hypotheses it relies on and the named checks of prediction against
    observation (each name says the condition in words), short summaries and the numbers behind them."""

    hypotheses: dict
    checks: dict
    predicted: str
    observed: str
    tolerance: str
    method: str
    details: dict

    def __post_init__(self):
        # a claim with nothing to compare could never fail, so it is refused rather than passed
        if not isinstance(self.checks, dict) or not self.checks:
            raise ValueError(f"checks must be a non-empty dict of named conditions, got {self.checks!r}")


# the one check of a claim that raised before it could report its own
RAN_TO_THE_END = "the claim ran to the end without an exception"


@dataclass
class ClaimResult:
    """The outcome of one claim.

    Attributes
    ----------
    name, statement : str
        Registry name and the claim in words.
    citations : tuple[Citation, ...]
        Where the claim comes from; :attr:`paper` is the same as one line of text.
    hypotheses : dict[str, bool]
        Setup conditions the check relies on, each with whether it holds here.
    checks : dict[str, bool]
        The conditions under which observation agrees with prediction, each named in words, with whether it holds.
    predicted, observed, tolerance : str
        Short human summaries (the numbers are in ``details``).
    method : str
        Which numbers are SymPy (exact/symbolic) and which NumPy/SciPy (numeric).
    details : dict
        The numbers behind the summaries (JSON-friendly).
    seconds : float
        Wall time of the check.
    """

    name: str
    citations: tuple
    statement: str
    hypotheses: dict
    checks: dict
    predicted: str
    observed: str
    tolerance: str
    method: str
    details: dict = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def paper(self) -> str:
        return citations_text(self.citations)

    @property
    def hypotheses_hold(self) -> bool:
        return all(self.hypotheses.values())

    @property
    def failed_checks(self) -> list[str]:
        return [name for name, holds in self.checks.items() if not holds]

    @property
    def passed(self) -> bool:
        """Every hypothesis and every (at least one) check holds."""
        return bool(self.checks) and self.hypotheses_hold and not self.failed_checks

    @property
    def verdict(self) -> str:
        """"PASS", or "FAIL: " and the first condition that does not hold (a check, else a hypothesis)."""
        if self.passed:
            return "PASS"
        failed = self.failed_checks
        if failed:
            more = f" (and {len(failed) - 1} more)" if len(failed) > 1 else ""
            return f"FAIL: not {failed[0]}{more}"
        unmet = [name for name, holds in self.hypotheses.items() if not holds]
        return f"FAIL: hypothesis not met: {unmet[0]}" if unmet else "FAIL: no check was made"

    def as_dict(self) -> dict:
        """A JSON-friendly dict of every field, with the citations structured and the verdict in words."""
        return {
            "name": self.name, "paper": self.paper, "citations": [c.as_dict() for c in self.citations],
            "statement": self.statement,
            "hypotheses": {k: bool(v) for k, v in self.hypotheses.items()},
            "checks": {k: bool(v) for k, v in self.checks.items()},
            "predicted": self.predicted, "observed": self.observed, "tolerance": self.tolerance,
            "passed": self.passed, "verdict": self.verdict, "method": self.method,
            "details": _jsonable(self.details), "seconds": round(self.seconds, 3),
        }


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return _jsonable(value.tolist())
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        value = float(value)
        return value if math.isfinite(value) else str(value)
    return value


@dataclass(frozen=True)
class _Registered:
    name: str
    citations: tuple
    run: Callable[[], Outcome]

    @property
    def statement(self) -> str:
        doc = (self.run.__doc__ or "").strip()
        return " ".join(doc.split("\n\n")[0].split())


CLAIMS: dict[str, _Registered] = {}


def claim(name: str, *citations: Citation):
    """Register a claim function (returning an :class:`Outcome`) under ``name``, citing where it comes from; its
    docstring's first paragraph is the claim in words."""
    if not isinstance(name, str) or not name:
        raise ValueError(f"name must be a non-empty string, got {name!r}")
    if name in CLAIMS:
        raise ValueError(f"name must not be registered already, got {name!r}")
    if not citations or not all(isinstance(c, Citation) for c in citations):
        raise ValueError(f"citations must be one or more Citation (see cite, derived), got {citations!r}")

    def decorate(fn):
        CLAIMS[name] = _Registered(name, tuple(citations), fn)
        return fn

    return decorate


def claim_names() -> list[str]:
    """The registered claims, in the order they run."""
    return list(CLAIMS)


def run_claim(name: str) -> ClaimResult:
    """Run one registered claim; an unexpected exception becomes a failed result that carries the error."""
    if name not in CLAIMS:
        raise ValueError(f"claim name must be one of {', '.join(CLAIMS)}, got {name!r}")
    entry = CLAIMS[name]
    started = time.perf_counter()
    try:
        with np.errstate(all="ignore"):
            out = entry.run()
        if not isinstance(out, Outcome):
            raise TypeError(f"a claim must return an Outcome, got {type(out).__name__}")
    except Exception as err:  # a broken check must show up as a failure, not stop the others
        return ClaimResult(entry.name, entry.citations, entry.statement, {}, {RAN_TO_THE_END: False}, "-",
                           f"error: {err!r}", "-", "-", {"error": repr(err)}, time.perf_counter() - started)
    return ClaimResult(entry.name, entry.citations, entry.statement,
                       {k: bool(v) for k, v in out.hypotheses.items()}, {k: bool(v) for k, v in out.checks.items()},
                       out.predicted, out.observed, out.tolerance, out.method, out.details,
                       time.perf_counter() - started)


class ClaimResults(list):
    """The list of :class:`ClaimResult` that :func:`check` returns; in a notebook it shows as the report table."""

    def _repr_html_(self) -> str:
        rows = [_report_cells(r) for r in self]
        return html_table(rows, header=REPORT_HEADERS, caption=_report_footer(self))


def check(names=None) -> ClaimResults:
    """Run the registered claims (all, or those in ``names``) and return one :class:`ClaimResult` each, as a
    list (a :class:`ClaimResults`, which a notebook shows as a table)."""
    if names is None:
        selected = claim_names()
    else:
        selected = [names] if isinstance(names, str) else list(names)
        unknown = [n for n in selected if n not in CLAIMS]
        if unknown:
            raise ValueError(f"names must be claim names among {', '.join(CLAIMS)}, got {unknown[0]!r}")
    return ClaimResults(run_claim(n) for n in selected)


def paper_claims(paper: str) -> list[str]:
    """The claims that cite ``paper`` (its key or slug) in any of their citations, in the order they run."""
    key = paper_key(paper)
    return [name for name, entry in CLAIMS.items() if any(c.paper == key for c in entry.citations)]


def select(only=(), papers=()) -> list[str] | None:
    """The claim names ``samscape check --only NAME --paper SLUG`` runs: the named claims in the order given, then
    every claim citing one of ``papers`` not named already, in registry order; ``None`` (all) when both are empty.
    Unknown names or papers are a ``ValueError``."""
    only, papers = list(only or ()), list(papers or ())
    if not only and not papers:
        return None
    unknown = [n for n in only if n not in CLAIMS]
    if unknown:
        raise ValueError(f"names must be claim names among {', '.join(CLAIMS)}, got {unknown[0]!r}")
    selected = list(dict.fromkeys(only))
    for paper in papers:
        selected += [n for n in paper_claims(paper) if n not in selected]
    return selected


def listing() -> str:
    """Every paper with its claims, one line each, for ``samscape check --list`` (nothing is run): the paper's slug,
    authors, year, venue and arXiv id, then the claims whose first citation is that paper, with what they cite."""
    lines = []
    for paper in PAPERS.values():
        names = [name for name, entry in CLAIMS.items() if entry.citations[0].paper == paper.key]
        venue = paper.venue if str(paper.year) in paper.venue else f"{paper.venue}, {paper.year}"
        lines.append(f"{paper.slug} ({paper.key})" if paper.slug != paper.key else paper.slug)
        lines[-1] += f": {', '.join(paper.authors)}, {venue}, arXiv:{paper.arxiv}"
        for name in names:
            cited = "; ".join(("derived: " if c.derived else "") + c.theorem for c in CLAIMS[name].citations)
            lines.append(f"  {name}  [{cited}]")
        also = [n for n in paper_claims(paper.key) if n not in names]
        if also:
            lines.append(f"  also cited by: {', '.join(also)}")
        if not names and not also:
            lines.append("  (no claim cites it)")
    lines.append(f"{len(CLAIMS)} claims from {len(PAPERS)} papers; run one paper's with samscape check --paper SLUG")
    return "\n".join(lines)


REPORT_HEADERS = ("claim", "citation", "hypotheses", "predicted", "observed", "verdict")


def _report_cells(r: ClaimResult) -> tuple[str, ...]:
    """One result's cells under :data:`REPORT_HEADERS` (the text table and the notebook table alike)."""
    held = sum(bool(v) for v in r.hypotheses.values())
    hyp = f"{held}/{len(r.hypotheses)} hold"
    if held < len(r.hypotheses):
        hyp += ": not " + next(k for k, v in r.hypotheses.items() if not v)
    return (r.name, r.paper, hyp, r.predicted, r.observed, r.verdict)


def _report_footer(results) -> str:
    failed = [r.name for r in results if not r.passed]
    total = sum(r.seconds for r in results)
    return (f"{len(results)} claims: {len(results) - len(failed)} passed, {len(failed)} failed"
            + (f" ({', '.join(failed)})" if failed else "") + f"; {total:.1f} s")


REPORT_KEY = (
    "Each claim of the papers, checked by simulation. Per claim: its name and verdict (PASS, or FAIL and the first "
    "condition that does not hold); from: the paper and theorem it comes from; hypotheses: how many of the setup's "
    "hypotheses hold; predicted: what the theory says will happen; observed: what the simulation showed. "
    "docs/theory.md#NAME has the maths of claim NAME."
)
REPORT_LABELS = ("from", "hypotheses", "predicted", "observed")


def format_table(results, *, width: int = 100) -> str:
    """The report of claim results as plain text at most ``width`` columns wide (at least 60).

    A key says what each field means; then one block per claim: its name and verdict on the first line, then
    where it comes from, its hypotheses, the prediction and the observation, each on labelled lines wrapped under
    their label. A failed verdict names the condition that does not hold; a footer counts passes and failures.
    """
    width = int_at_least(width, "width", 60)
    indent = 2 + max(len(label) for label in REPORT_LABELS) + 2
    fill = lambda text, first, rest: textwrap.fill(text, width, initial_indent=first, subsequent_indent=rest,  # noqa: E731
                                                   break_on_hyphens=False, break_long_words=True)
    out = [fill(REPORT_KEY, "", ""), ""]
    for r in results:
        name, paper, hypotheses, predicted, observed, verdict = _report_cells(r)
        out.append(fill(f"{name}: {verdict}", "", "    "))
        for label, text in zip(REPORT_LABELS, (paper, hypotheses, predicted, observed)):
            out.append(fill(str(text) or "-", f"  {label}".ljust(indent), " " * indent))
        out.append("")
    out.append(_report_footer(results))
    return "\n".join(out)

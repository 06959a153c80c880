"""The papers' claims, each checked against a real simulation: :func:`check` runs them.

A claim is a function registered with :func:`claim` under a name and the :class:`Citation`\\ s it comes from. It
sets up a landscape and optimizers, checks that the setup satisfies the hypotheses it is meant to (symbolically
where SymPy can, numerically otherwise), computes the prediction from the theory, runs
:func:`samscape.dynamics.simulate`, and compares, each comparison a named check. It returns an :class:`Outcome`;
the :class:`ClaimResult` passes only when every hypothesis and every check holds, so every claim can fail, and a
failure names the condition that does not hold.

One module per paper of :data:`PAPERS`, named by the paper's slug (``park2025``: P1, ``wen2023``: P2, ``zhou2025``:
P3, then the wider literature: ``long2024``, ``bartlett2023``, ...), and one for the closed-form checks derived here
(``closed_form``); the registry, results and report live in ``registry``.
"""

from .registry import (
    CLAIMS,
    PAPERS,
    Citation,
    ClaimResult,
    Outcome,
    Paper,
    check,
    cite,
    claim,
    claim_names,
    derived,
    format_table,
    listing,
    paper_claims,
    paper_key,
    run_claim,
    select,
)

# importing a paper's module registers its claims; this order is the order they run and are reported in
from . import closed_form, park2025, wen2023, zhou2025  # noqa: E402,F401  isort: skip
# the wider literature, one module per paper, in the order of docs/theory.md section 8
from . import (  # noqa: E402,F401  isort: skip
    foret2021,
    andriushchenko2022,
    bartlett2023,
    long2024,
    agarwala2023,
    si2023,
    dai2023,
    kim2023,
    compagnoni2023,
    ahn2024,
    li2024,
    shin2025,
)

__all__ = ["CLAIMS", "PAPERS", "Citation", "ClaimResult", "Outcome", "Paper", "check", "cite", "claim",
           "claim_names", "derived", "format_table", "listing", "paper_claims", "paper_key", "run_claim", "select"]

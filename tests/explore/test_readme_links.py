"""Each explorer link in the README shows what its sentence says: its state is run as the page runs it
(``ExplorerState.compute``) and the fates and places the sentence names are checked."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import numpy as np
import pytest

from samscape.explore.state import ExplorerState

README = Path(__file__).resolve().parents[2] / "README.md"
LINK = re.compile(r"\[([^\]]+)\]\((http://127\.0\.0\.1:5006/\?[^)\s]+)\)")


def _links() -> dict[str, str]:
    return dict(LINK.findall(README.read_text(encoding="utf-8")))


def _tanh_sam(outcome, landscape):
    assert set(outcome.fates) == {"minimizer"} and np.all(np.abs(outcome.run.x[:, 0]) < 0.01)


def _tanh_gd(outcome, landscape):
    assert set(outcome.fates) == {"minimizer"} and np.all(np.abs(outcome.run.x[:, 0]) > 1.9)
    assert np.all(np.abs(outcome.run.x[:, 1]) < 1e-6)  # on the valley floor v = 0


def _ring(outcome, landscape):
    assert set(outcome.fates) == {"hallucinated"}
    rho, radius = outcome.run.optimizer.rho, landscape.params["ring_radius"]
    np.testing.assert_allclose(np.linalg.norm(outcome.run.x, axis=1), rho - radius, atol=1e-6)


def _ring_small_rho(outcome, landscape):
    assert outcome.run.optimizer.rho < landscape.params["ring_radius"] and "hallucinated" not in outcome.fates


CHECKS = {
    "SAM drifts to the flat end": _tanh_sam,
    "GD stays where it lands": _tanh_gd,
    "P1's ring: SAM hallucinates a circle": _ring,
    "The same ring with a small rho": _ring_small_rho,
}


def test_every_readme_explorer_link_is_checked():
    """The finding: the README's link stopped SAM half way (final u = 2.21) and its P1 link (rho = 0.5) showed no
    hallucination. Every explorer link of the README has a check here, so none goes unchecked."""
    assert set(_links()) == set(CHECKS)


@pytest.mark.parametrize("text", sorted(CHECKS))
def test_a_readme_link_shows_what_its_sentence_says(text):
    """The link's state is accepted without a complaint and its run shows the fates its sentence names."""
    url = _links()[text]
    state, problems = ExplorerState.from_query({k: v[-1] for k, v in parse_qs(urlsplit(url).query).items()})
    assert problems == []
    landscape = state.build_landscape()
    CHECKS[text](state.compute(landscape), landscape)

"""Fixtures shared across test modules."""

import pytest


@pytest.fixture(scope="session")
def claim_results():
    """One full ``theory.check()`` run, shared by the claims tests and the gallery (it takes seconds; how long is
    measured by `time samscape check`, never asserted in a unit test)."""
    from samscape import theory

    return theory.check()

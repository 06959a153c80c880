"""Explorers built in this test process do not compile kernels in the background.

An explorer warms its landscape's kernels (every optimizer kind, one start and many) on a background thread, as
`samscape explore` should. In the test process that thread kept compiling for minutes after the test that built the
explorer had ended, slowing every later test, and a test waiting on the warmer's queue waited for all of it.
Warming itself is tested by calling ``state.warm_kernels`` directly; here the app's calls are recorded instead.
"""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def warm_requests(monkeypatch):
    """The (landscape, state) pairs the app asked to warm, in order, instead of warming them."""
    app = pytest.importorskip("samscape.explore.app", reason="the explorer needs Panel: pip install 'samscape[explore]'")
    requests = []
    monkeypatch.setattr(app, "warm_kernels", lambda landscape, state: requests.append((landscape, state)))
    return requests

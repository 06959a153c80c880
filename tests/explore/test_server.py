"""The served explorer over HTTP, without a browser: where it listens and what it answers to a very long link."""

from __future__ import annotations

import ipaddress

import pytest

pytest.importorskip("panel", reason="the explorer needs Panel: pip install 'samscape[explore]'")


@pytest.fixture(scope="module")
def served():
    """A server as `samscape explore` starts it by default (any free port), and its URL."""
    from samscape import explore

    server, url = explore.serve(port=0, threaded=True)
    try:
        yield server, url
    finally:
        server.stop()


def test_the_explorer_listens_on_loopback_only(served, listening_addresses):
    """With no --host the server listens on loopback addresses only."""
    import time

    _, url = served
    port = int(url.rstrip("/").rsplit(":", 1)[1])
    deadline = time.monotonic() + 30  # the server binds on its own thread
    ours = set()
    while not ours and time.monotonic() < deadline:
        ours = {(address, p) for address, p in listening_addresses() if p == port}
        time.sleep(0.05)
    assert ours and all(ipaddress.ip_address(address).is_loopback for address, _ in ours), ours

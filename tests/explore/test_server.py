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


def _long_link(url: str, n_starts: int) -> str:
    starts = ";".join(f"{0.1 + i * 1e-4:.4f},0.5" for i in range(n_starts))
    return f"{url}?landscape=tanh&eta=0.3&steps=50&starts={starts}"


def test_a_link_longer_than_the_usual_header_limit_gets_the_page(served):
    """A link of 10,000 starts (110 kB) is answered with the page, which says it draws at most 2,500 starts (see the
    browser test); past the web server's default 64 KiB limit it got an empty response."""
    import urllib.request

    _, url = served
    link = _long_link(url, 10_000)
    assert len(link) > 64 * 1024
    with urllib.request.urlopen(link, timeout=120) as response:
        assert response.status == 200 and b"<html" in response.read().lower()

"""A sweep's own cluster listens on this machine only."""

from __future__ import annotations

import io
import ipaddress
import re

import pytest

pytest.importorskip("distributed")

from samscape.sweep import engine  # noqa: E402


def test_the_default_cluster_listens_on_loopback_only(listening_addresses):
    """client=None starts a LocalCluster whose scheduler, worker processes (and their nannies) and dashboard listen
    on loopback addresses only (the dashboard bound every interface while its printed link said 127.0.0.1), and
    the printed link is one of those addresses."""
    before = listening_addresses()
    said = io.StringIO()
    session = engine._Session(None, 2, said)
    try:
        opened = listening_addresses() - before
    finally:
        session.close()
    assert len(opened) >= 4  # scheduler, dashboard, and per worker its own and its nanny's
    assert all(ipaddress.ip_address(address).is_loopback for address, _ in opened), opened
    link = re.search(r"dashboard at http://([0-9.]+):(\d+)/", said.getvalue())
    assert link and (link.group(1), int(link.group(2))) in opened

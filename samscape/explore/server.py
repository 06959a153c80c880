"""Serving the explorer: one :class:`~samscape.explore.app.Explorer` per browser session, nothing fetched from
off the machine (BokehJS and Panel's scripts come from this server's own ``/static``)."""

from __future__ import annotations

import socket

from .state import DEFAULT_MAX_WORK, ExplorerState

MAX_LINK_BYTES = 2**21  # the longest request head served: 2 MiB, the longest URL Chromium sends


def free_port(host: str = "127.0.0.1") -> int:
    """A port nobody listens on right now (the server binds it a moment later)."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


def check_options(host: str, port: int, max_work: float) -> None:
    if not isinstance(port, int) or not 0 <= port <= 65535:
        raise ValueError(f"port must be an integer from 0 to 65535 (0: any free port), got {port!r}")
    if not host or any(c.isspace() for c in host):
        raise ValueError(f"host must be an address such as 127.0.0.1, got {host!r}")
    if not max_work >= 1:
        raise ValueError(f"max_work must be >= 1 sample gradient, got {max_work!r}")


def serve(*, landscape: str | None = None, port: int = 0, host: str = "127.0.0.1", threaded: bool = False,
          max_work: float = DEFAULT_MAX_WORK):
    """Make the server; returns ``(server, url)``. ``threaded=True``: already serving on a thread (stop it with
    ``server.stop()``); otherwise call ``server.start(); server.io_loop.start()`` to serve until interrupted.

    A ``landscape`` given here is each new session's default; a link's query string overrides it.
    """
    import panel as pn

    from .app import app

    check_options(host, port, max_work)
    base = ExplorerState()
    if landscape is not None:
        base, _ = ExplorerState.from_query({"landscape": landscape})
        base.build_landscape()  # an unknown name fails here, before the server starts
    port = port or free_port(host)
    shown = f"[{host}]" if ":" in host else host
    url = f"http://{shown}:{port}/"
    origins = [f"{shown}:{port}", f"localhost:{port}", f"127.0.0.1:{port}"]

    def session():
        return app(state=base, max_work=max_work)

    # a link holds the whole state, its starts too: one of more starts than the page draws must reach the page,
    # which says so, rather than hit the web server's default 64 KiB header limit and get no answer at all
    server = pn.serve({"/": session}, port=port, address=host, websocket_origin=origins, show=False,
                      threaded=threaded, start=threaded, title="samscape explore", verbose=False,
                      http_server_kwargs={"max_header_size": MAX_LINK_BYTES})
    return server, url

"""``samscape explore``: the command's options and what it does (registered by :func:`add_parser`)."""

from __future__ import annotations

import sys

from .state import DEFAULT_MAX_WORK


def add_parser(subparsers) -> None:
    """Add the ``explore`` subcommand to the ``samscape`` command's subparsers."""
    p = subparsers.add_parser("explore", help="a live explorer in the browser: landscapes, optimizers, paths, fates")
    p.add_argument("--landscape", metavar="NAME", default=None,
                   help="catalog landscape shown first (default: tanh; a link's query string overrides it)")
    p.add_argument("--port", type=int, default=5006, help="port to serve on (0: any free port)")
    p.add_argument("--host", default="127.0.0.1",
                   help="address to bind; only this machine can connect unless you give another (default 127.0.0.1)")
    p.add_argument("--no-browser", action="store_true", help="print the URL without opening a browser")
    p.add_argument("--max-work", type=float, default=DEFAULT_MAX_WORK, metavar="N",
                   help="most sample gradients one update may evaluate (starts x steps x gradients per step x samples "
                        "per gradient); more is refused with a message in the page")
    p.set_defaults(func=run)


def run(args) -> int:
    """Serve until Ctrl-C; print the URL first (and open it unless --no-browser)."""
    try:
        from .server import serve
    except ImportError:
        raise ValueError("samscape explore needs Panel and Bokeh: pip install 'samscape[explore]'") from None
    try:
        server, url = serve(landscape=args.landscape, port=args.port, host=args.host, max_work=args.max_work)
    except ImportError:
        raise ValueError("samscape explore needs Panel and Bokeh: pip install 'samscape[explore]'") from None
    server.start()
    print(f"samscape explore: serving {url} (Ctrl-C stops)", flush=True)
    if not args.no_browser:
        import webbrowser

        webbrowser.open(url)
    try:
        server.io_loop.start()
    finally:
        server.stop()
    print("samscape explore: stopped", file=sys.stderr)
    return 0

"""``samscape explore``: a live explorer of the dynamics, in the browser or inline in Jupyter.

>>> from samscape import explore            # doctest: +SKIP
>>> explore.app("double_well", opt="sam", rho=0.9, starts="0.3")   # doctest: +SKIP

Panel and Bokeh (the ``explore`` extra) load on the first call of :func:`app` or :func:`serve`; the state and its
query string (:class:`ExplorerState`) need neither.
"""

from .state import DEFAULT_MAX_WORK, ExplorerState, Outcome, WorkCapExceeded

__all__ = ["app", "serve", "ExplorerState", "Outcome", "WorkCapExceeded", "DEFAULT_MAX_WORK"]


def _panel():
    try:
        import panel as pn
    except ImportError:
        raise ImportError("the explorer needs Panel and Bokeh: pip install 'samscape[explore]'") from None
    return pn


def app(landscape=None, **kwargs):
    """The explorer as a Panel object (a notebook shows it inline); see :func:`samscape.explore.app.app`."""
    pn = _panel()
    from .app import app as build

    pn.extension(inline=True)  # in a notebook: load Panel's JavaScript from the package, not a CDN
    return build(landscape, **kwargs)


def serve(*, landscape=None, port: int = 0, host: str = "127.0.0.1", threaded: bool = False,
          max_work: float = DEFAULT_MAX_WORK):
    """Serve the explorer on ``host:port`` (0: a free port), one app per browser session: ``(server, url)``; see
    :func:`samscape.explore.server.serve`."""
    _panel()
    from .server import serve as run

    return run(landscape=landscape, port=port, host=host, threaded=threaded, max_work=max_work)

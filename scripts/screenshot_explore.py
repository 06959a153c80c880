"""Take the README's screenshot of the explorer from the running app: docs/img/explore.png.

    python scripts/screenshot_explore.py [--out docs/img/explore.png] [--query 'landscape=...']

Starts the server on a thread, opens the link in headless Chromium (Debian's, via Playwright), waits for the
readout and saves the page. The default state: SAM on P1's two-dimensional construction with its field and
hallucinated points shown, from a grid of starts.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

from samscape._browser import HEADLESS_ARGS, INSTALL_HINT, chromium_path  # noqa: E402

# rho between R = 1 and 2R: the range where SAM hallucinates the circle of radius rho - R (at rho = 0.5 it has none)
DEFAULT_QUERY = "landscape=p1_figure&opt=sam&eta=0.1&rho=1.5&steps=400&seed=0&field=1&halluc=1"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=os.path.join(os.path.dirname(HERE), "docs", "img", "explore.png"))
    parser.add_argument("--query", default=DEFAULT_QUERY)
    parser.add_argument("--grid", type=int, default=4, help="add an N x N grid of starts (0: only the query's)")
    args = parser.parse_args(argv)
    chromium = chromium_path()
    if chromium is None:
        print(f"needs Debian's chromium: {INSTALL_HINT}", file=sys.stderr)
        return 2
    os.environ.setdefault("SAMSCAPE_CACHE", tempfile.mkdtemp(prefix="samscape-shot-"))
    from playwright.sync_api import sync_playwright

    from samscape import explore
    from samscape._atomic import atomic_output
    from samscape.explore.state import ExplorerState, format_points, grid_points

    query = args.query
    if args.grid:
        state, problems = ExplorerState.from_query(dict(p.split("=", 1) for p in query.split("&")))
        if problems:
            raise SystemExit("; ".join(problems))
        query += "&starts=" + format_points(grid_points(state.build_landscape(), args.grid))
    server, url = explore.serve(threaded=True)
    try:
        with sync_playwright() as playwright, tempfile.TemporaryDirectory() as profile:
            browser = playwright.chromium.launch_persistent_context(
                profile, executable_path=chromium, args=list(HEADLESS_ARGS), headless=True,
                viewport={"width": 1240, "height": 860})
            page = browser.new_page()
            page.set_default_timeout(120_000)
            page.goto(url + "?" + query)
            page.wait_for_selector(".readout-head")
            page.wait_for_timeout(1500)  # let Bokeh finish painting the canvases
            with atomic_output(args.out) as tmp:
                page.screenshot(path=tmp, full_page=False, type="png")
            browser.close()
    finally:
        server.stop()
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""How fast the explorer redraws after a change, measured in a real browser (Playwright + Debian's Chromium).

    python benchmarks/bench_explore.py              # 100 starts x 2000 steps on tanh, 10 changes of each kind
    python benchmarks/bench_explore.py --rounds 20 --landscape himmelblau

A server runs on a thread of this process; Chromium opens a link holding the state (a 10 x 10 grid of starts).
After the page has loaded and the background warming has compiled the kernels, each round changes one control
as a user does (an arrow key on the eta or rho slider, another optimizer in the menu) and times from the key
press to the moment the readout shows the new run (the readout is drawn after the paths and curves, in the same
update). Also printed: the first page load, and the server-side share (the run, fates and sharpness) timed apart.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

from samscape._browser import HEADLESS_ARGS, INSTALL_HINT, chromium_path  # noqa: E402

READOUT_HEAD = """() => {
  const find = (root) => {
    const hit = root.querySelector('.readout-head');
    if (hit) return hit;
    for (const e of root.querySelectorAll('*')) if (e.shadowRoot) { const f = find(e.shadowRoot); if (f) return f; }
    return null;
  };
  const head = find(document);
  return head ? head.textContent : '';
}"""


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--landscape", default="tanh")
    parser.add_argument("--grid", type=int, default=10, help="starts: an N x N grid (default 10: 100 starts)")
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=10, help="changes of each kind")
    args = parser.parse_args(argv)

    chromium = chromium_path()
    if chromium is None:
        print(f"needs Debian's chromium: {INSTALL_HINT}", file=sys.stderr)
        return 2
    os.environ.setdefault("SAMSCAPE_CACHE", tempfile.mkdtemp(prefix="samscape-bench-"))
    from playwright.sync_api import sync_playwright

    from samscape import explore
    from samscape.explore.state import ExplorerState, format_points, grid_points, warm_kernels

    state = ExplorerState(landscape=args.landscape, opt="sam", eta=0.1, rho=0.05, steps=args.steps)
    landscape = state.build_landscape()
    state.starts = grid_points(landscape, args.grid)
    query = f"landscape={args.landscape}&opt=sam&eta=0.1&rho=0.05&steps={args.steps}&starts={format_points(state.starts)}"

    server, url = explore.serve(threaded=True)
    results: dict[str, list[float]] = {"eta": [], "rho": [], "optimizer": []}
    try:
        with sync_playwright() as playwright, tempfile.TemporaryDirectory() as profile:
            browser = playwright.chromium.launch_persistent_context(profile, executable_path=chromium,
                                                                    args=list(HEADLESS_ARGS), headless=True)
            page = browser.new_page()
            page.set_default_timeout(120_000)
            started = time.perf_counter()
            page.goto(url + "?" + query)
            page.wait_for_function(f"() => ({READOUT_HEAD})().length > 0")
            first_load = time.perf_counter() - started
            warm_kernels(landscape, state).result()  # one worker: this returns once the session's warming is done

            def timed(change) -> float:
                before = page.evaluate(READOUT_HEAD)
                t0 = time.perf_counter()
                change()
                page.wait_for_function(f"(old) => ({READOUT_HEAD})() !== old", arg=before, polling=5)
                return time.perf_counter() - t0

            # keys go straight to the focused handle and the menu gets a change event, so what is timed is the
            # page and the server, not Playwright's actionability checks (which wait for animation frames)
            eta = page.locator(".eta .noUi-handle").first
            rho = page.locator(".rho .noUi-handle").first
            menu = page.locator("select").nth(1).element_handle()
            labels = menu.evaluate("m => Object.fromEntries([...m.options].map(o => [o.text, o.value]))")

            def key(handle, name):
                handle.focus()
                return lambda: page.keyboard.press(name)

            def choose(label):
                return lambda: menu.evaluate(
                    "(m, v) => { m.value = v; m.dispatchEvent(new Event('change', {bubbles: true})); }", labels[label])

            kinds = ["USAM", "RandomSAM", "SAM"]  # each uses rho, so a rho change always changes the run
            timed(key(eta, "ArrowRight"))  # the first change of a session is not what a class waits on
            for i in range(args.rounds):
                direction = "ArrowRight" if i % 2 else "ArrowLeft"
                results["eta"].append(timed(key(eta, direction)))
                results["rho"].append(timed(key(rho, direction)))
                results["optimizer"].append(timed(choose(kinds[i % len(kinds)])))
            backend = page.evaluate(READOUT_HEAD).rsplit("backend", 1)[-1].strip()
            browser.close()
    finally:
        server.stop()

    state.opt = "sam"
    server_side = []
    for _ in range(args.rounds):
        t0 = time.perf_counter()
        state.compute(landscape)
        server_side.append(time.perf_counter() - t0)

    n = len(state.starts)
    print(f"explorer redraw, {args.landscape}, {n} starts x {args.steps} steps, backend {backend}, "
          f"{os.cpu_count()} cores")
    print(f"first page load (server start excluded): {first_load:.2f} s")
    print(f"{'change':<12}{'median ms':>10}{'max ms':>10}")
    for name, values in results.items():
        print(f"{name:<12}{1000 * statistics.median(values):>10.0f}{1000 * max(values):>10.0f}")
    print(f"{'(server: run + fates + sharpness)':<34}{1000 * statistics.median(server_side):>6.0f} ms median")
    return 0


if __name__ == "__main__":
    sys.exit(main())

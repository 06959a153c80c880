"""The explorer in a real browser: Playwright drives Debian's Chromium against a server started here.

Skipped, with the reason, when Panel or Playwright is missing (``pip install 'samscape[explore]'``) or when
there is no ``chromium`` binary (``apt-get install chromium``; ``.ci/run`` installs it).
"""

from __future__ import annotations

import time
from urllib.parse import parse_qs, urlsplit

import numpy as np
import pytest

from samscape import dynamics, landscapes
from samscape._browser import HEADLESS_ARGS, INSTALL_HINT, chromium_path

pytest.importorskip("panel", reason="the explorer needs Panel: pip install 'samscape[explore]'")
sync_api = pytest.importorskip("playwright.sync_api",
                               reason="browser tests need Playwright: pip install 'samscape[explore]'")

CHROMIUM = chromium_path()
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason=f"no `chromium` binary on PATH: {INSTALL_HINT}")
TIMEOUT_MS = 30_000
MAX_WORK = 1e7
TANH_QUERY = "landscape=tanh&opt=sam&eta=0.5&rho=0.1&steps=1000&seed=0&starts=2.5,0.3;-2,-0.5"


@pytest.fixture(scope="module")
def server():
    from samscape import explore

    thread, url = explore.serve(port=0, host="127.0.0.1", threaded=True, max_work=MAX_WORK)
    try:
        yield url
    finally:
        thread.stop()


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    profile = tmp_path_factory.mktemp("chromium-profile")  # a fresh user-data-dir
    with sync_api.sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(profile), executable_path=CHROMIUM, args=list(HEADLESS_ARGS), headless=True)
        try:
            yield context
        finally:
            context.close()


@pytest.fixture
def page(browser):
    page = browser.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    page.requests = []
    page.on("request", lambda request: page.requests.append(request.url))
    yield page
    page.close()


def open_state(page, server: str, query: str):
    page.goto(server + "?" + query)
    page.wait_for_selector(".readout-head, .cap, .refused")
    return page


def final_points(page) -> np.ndarray:
    """The readout's final points, read from each row's exact ``data-x``."""
    rows = page.locator(".start-row")
    return np.array([[float(c) for c in rows.nth(i).get_attribute("data-x").split(",")] for i in range(rows.count())])


def query_of(page) -> dict[str, str]:
    return {k: v[-1] for k, v in parse_qs(urlsplit(page.url).query).items()}


def wait_for_final_point(page, point, timeout: float = TIMEOUT_MS) -> None:
    """Until the readout's first final point is ``point`` to 1e-9 (read through Playwright's locators, which see
    into the shadow roots Panel renders in)."""
    deadline = time.monotonic() + timeout / 1000
    while True:
        shown = final_points(page)
        if len(shown) and np.all(np.abs(shown[0] - np.asarray(point)) < 1e-9):
            return
        if time.monotonic() > deadline:
            raise sync_api.TimeoutError(f"the readout shows {shown[:1].tolist()}, not {list(point)}")
        page.wait_for_timeout(100)


def nudge_eta_and_check(page, start_eta: float, expected_at) -> float:
    """Press the right arrow on the eta slider's handle, then wait until the readout's first final point is
    ``expected_at(eta)`` for the eta the URL settles at; returns that eta."""
    handle = page.locator(".eta .noUi-handle").first
    handle.focus()
    for _ in range(10):
        handle.press("ArrowRight")
    page.wait_for_function(f"() => parseFloat(new URLSearchParams(location.search).get('eta')) > {start_eta}")
    for _ in range(10):  # key presses still arriving move eta on: check against the eta the URL settles at
        eta = float(query_of(page)["eta"])
        try:
            wait_for_final_point(page, expected_at(eta), timeout=3000)
        except sync_api.TimeoutError:
            continue
        # settled: the URL and the readout still agree a moment later (a loaded machine delivers presses late)
        page.wait_for_timeout(1000)
        shown = final_points(page)
        if float(query_of(page)["eta"]) == eta and np.all(np.abs(shown[0] - np.asarray(expected_at(eta))) < 1e-9):
            return eta
    raise AssertionError(f"the readout never showed the final point for eta={eta}")


def test_a_link_reproduces_dynamics_simulate_and_nothing_is_fetched_off_the_machine(page, server):
    """Opening a URL holding the state (tanh, SAM, eta 0.5, rho 0.1, two starts, 1000 steps) shows a readout whose
    final points are dynamics.simulate's with the same arguments (and the backend the page names) to 1e-9; every
    request the page made went to this server."""
    open_state(page, server, TANH_QUERY)
    backend = page.locator(".backend").inner_text().strip()
    expected = dynamics.simulate(landscapes.get("tanh"), dynamics.SAM(lr=0.5, rho=0.1), [[2.5, 0.3], [-2.0, -0.5]],
                                 1000, seed=0, backend=backend).x
    shown = final_points(page)
    assert shown.shape == (2, 2)
    np.testing.assert_allclose(shown, expected, rtol=0, atol=1e-9)
    origin = server.rstrip("/")
    elsewhere = [u for u in page.requests if not u.startswith((origin, "ws://127.0.0.1", "blob:" + origin, "data:"))]
    assert elsewhere == []


def test_moving_the_eta_slider_changes_the_readout_and_the_url(page, server):
    """Arrow keys on the eta slider's handle move eta: the URL's eta grows and the readout's final point becomes
    GD's at the new eta (on a quadratic, 20 GD steps end at a point that depends on eta)."""
    open_state(page, server, "landscape=quadratic&opt=gd&eta=0.02&steps=20&starts=1.5,1")
    before = final_points(page)
    quadratic = landscapes.get("quadratic")
    eta = nudge_eta_and_check(
        page, 0.02, lambda eta: dynamics.simulate(quadratic, dynamics.GD(eta), [[1.5, 1.0]], 20, seed=0).x[0])
    assert eta > 0.02
    expected = dynamics.simulate(quadratic, dynamics.GD(eta), [[1.5, 1.0]], 20, seed=0).x
    after = final_points(page)
    assert not np.allclose(after, before)
    np.testing.assert_allclose(after, expected, rtol=0, atol=1e-9)


def test_a_variants_control_changes_the_run_and_the_link(page, server):
    """ASAM's eta_a, a control read off its class under eta and rho: typing 0.5 into it reruns with that value (the
    readout's final point becomes dynamics.simulate's with ASAM(eta_a=0.5), not the default's) and the URL gets
    eta_a=0.5."""
    quadratic = landscapes.get("quadratic")

    def run(eta_a):
        return dynamics.simulate(quadratic, dynamics.ASAM(0.1, 0.3, eta_a=eta_a), [[1.5, 1.0]], 20, seed=0).x[0]

    open_state(page, server, "landscape=quadratic&opt=asam&eta=0.1&rho=0.3&steps=20&starts=1.5,1")
    wait_for_final_point(page, run(0.01))
    assert not np.allclose(run(0.01), run(0.5))
    box = page.locator(".hyper-eta_a input").first
    box.fill("0.5")
    box.press("Enter")
    page.wait_for_function("() => new URLSearchParams(location.search).get('eta_a') === '0.5'")
    wait_for_final_point(page, run(0.5))


def test_clicking_the_landscape_adds_a_start(page, server):
    """A click on the contour adds one start: the readout grows from two rows to three and the URL holds it."""
    open_state(page, server, TANH_QUERY)
    assert page.locator(".start-row").count() == 2
    box = page.locator(".bk-Canvas").first.bounding_box()
    page.mouse.click(box["x"] + box["width"] * 0.3, box["y"] + box["height"] * 0.25)
    page.wait_for_function("() => (new URLSearchParams(location.search).get('starts') || '').split(';').length === 3")
    page.locator(".start-row").nth(2).wait_for()
    assert page.locator(".start-row").count() == 3


def test_a_hostile_expression_shows_the_parsers_message_and_the_app_still_simulates(page, server):
    """Typing __import__('os') as the custom expression shows the whitelist parser's one-line message beside the
    box, not a traceback; the last good landscape stays, and changing eta afterwards still simulates."""
    open_state(page, server, TANH_QUERY)
    page.locator("select").first.select_option("custom expression")
    box = page.locator(".expr-input input").first
    box.fill("__import__('os')")
    box.press("Enter")
    message = page.locator(".expr-message .refused")
    message.wait_for()
    text = message.inner_text()
    assert "'__import__'" in text and "not allowed" in text and "Traceback" not in text
    custom = landscapes.from_expr("0.5*tanh(v*tanh(u))**2", "u,v")
    nudge_eta_and_check(page, 0.5, lambda eta: dynamics.simulate(custom, dynamics.SAM(lr=eta, rho=0.1),
                                                                 [[2.5, 0.3], [-2.0, -0.5]], 1000, seed=0).x[0])
    assert query_of(page)["expr"] == "0.5*tanh(v*tanh(u))**2"  # the last good landscape, not the refused text


def test_a_request_over_the_cap_shows_the_cap_message(page, server):
    """20 starts x 1,000,000 steps (2e7 point-steps) is over the 1e7 cap: the page says so and names --max-work."""
    starts = ";".join(f"{0.1 * i},0.5" for i in range(20))
    open_state(page, server, f"landscape=tanh&opt=gd&eta=0.1&steps=1000000&starts={starts}")
    text = page.locator(".cap").inner_text()
    assert "20 starts x 1,000,000 steps = 20,000,000 point-steps" in text
    assert "cap of 10,000,000" in text and "--max-work" in text


def test_a_link_of_ten_thousand_starts_says_the_page_draws_at_most_2500(page, server):
    """A link of 10,000 starts (110 kB, past the web server's default header limit, where it got an empty page) shows
    the page's own refusal, and the rest of the link (eta) is kept."""
    starts = ";".join(f"{0.1 + i * 1e-4:.4f},0.5" for i in range(10_000))
    open_state(page, server, f"landscape=tanh&eta=0.3&steps=50&starts={starts}")
    assert "at most 2,500 starts, got 10,000" in page.locator(".refused").first.inner_text()
    page.wait_for_function("() => new URLSearchParams(location.search).get('eta') === '0.3'")


SMALLEST_TEXT = """() => {
  const sizes = [];
  const walk = (root) => {
    for (const el of root.querySelectorAll('*')) {
      if (el.shadowRoot) walk(el.shadowRoot);
      const text = [...el.childNodes].some(n => n.nodeType === 3 && n.textContent.trim());
      const box = el.getBoundingClientRect();
      if (text && box.width > 0 && box.height > 0) sizes.push(parseFloat(getComputedStyle(el).fontSize));
    }
  };
  walk(document);
  return Math.min(...sizes);
}"""
PAGE_WIDTH = "() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]"


@pytest.mark.parametrize("style, smallest", [("paper", 13.0), ("slides", 16.0)])
def test_the_page_fits_1024_px_without_scrolling_sideways_and_its_text_is_readable(page, server, style, smallest):
    """The finding: the page was about 1,210 px wide, did not reflow and had 10-12 px labels. At 1,024 x 768 and at
    683 px (1,024 at 150 % zoom) it scrolls only down, and its smallest text is at least 13 px (paper) or 16 px
    (?style=slides, the gallery's projector sizes)."""
    page.set_viewport_size({"width": 1024, "height": 768})
    open_state(page, server, TANH_QUERY + ("&style=slides" if style == "slides" else ""))
    scroll, client = page.evaluate(PAGE_WIDTH)
    assert scroll <= client == 1024
    assert page.evaluate(SMALLEST_TEXT) >= smallest
    page.set_viewport_size({"width": 683, "height": 768})
    page.wait_for_timeout(500)
    scroll, client = page.evaluate(PAGE_WIDTH)
    assert scroll <= client == 683


def test_the_slides_toggle_enlarges_the_text_and_goes_into_the_link(page, server):
    """Ticking "slides" makes the smallest text at least 16 px and puts style=slides in the URL."""
    page.set_viewport_size({"width": 1024, "height": 768})
    open_state(page, server, TANH_QUERY)
    assert page.evaluate(SMALLEST_TEXT) < 16
    page.locator(".slides-toggle input").first.check()
    page.wait_for_function("() => new URLSearchParams(location.search).get('style') === 'slides'")
    page.wait_for_function(f"() => ({SMALLEST_TEXT})() >= 16")


PLAYER_INPUT = """() => {
  const find = (root) => { for (const el of root.querySelectorAll('*')) {
    if (el.tagName === 'INPUT' && el.type === 'range') return el;
    if (el.shadowRoot) { const hit = find(el.shadowRoot); if (hit) return hit; } } return null; };
  const input = find(document);
  return [Number(input.value), Number(input.max)];
}"""


def test_the_players_handle_is_at_the_end_of_its_track_on_the_last_step(page, server):
    """The finding: the handle stopped at 50-60 % of the track while the label read "step 1000 of 1000". On
    opening, the range input's value is its maximum and the label names the last step."""
    open_state(page, server, TANH_QUERY)
    value, top = page.evaluate(PLAYER_INPUT)
    assert value == top > 0
    assert page.get_by_text("step 1000 of 1000").count() >= 1


def test_the_loss_panel_draws_a_run_whose_loss_reaches_zero(page, server):
    """The finding: for GD on tanh (the README's starts) the loss panel was blank: its loss reaches exactly 0. The
    panel now shows the curves: at least 200 pixels of the panel have GD's blue."""
    from PIL import Image

    from samscape.plots.style import optimizer_color

    from samscape.explore.app import SIDE_HEIGHT_PX, SIDE_PX

    open_state(page, server, "landscape=tanh&opt=gd&eta=0.5&rho=0.1&steps=1000&starts=2.5,0.3;-2,-0.5")
    page.wait_for_timeout(500)
    # the loss figure: the upper of the two canvases of the side panels' size (the sharpness one is below it)
    box = page.evaluate(f"""() => {{ const found = [];
      const walk = (root) => {{ for (const el of root.querySelectorAll('*')) {{
        if (el.shadowRoot) walk(el.shadowRoot);
        const r = el.getBoundingClientRect();
        if (String(el.className).includes('bk-Canvas') && r.width === {SIDE_PX} && r.height === {SIDE_HEIGHT_PX})
          found.push({{x: r.x + window.scrollX, y: r.y + window.scrollY, width: r.width, height: r.height}}); }} }};
      walk(document); found.sort((a, b) => a.y - b.y); return found[0]; }}""")
    shot = Image.open(__import__("io").BytesIO(page.screenshot(clip=box, full_page=True))).convert("RGB")
    blue = np.array([int(optimizer_color("gd")[i:i + 2], 16) for i in (1, 3, 5)])
    pixels = np.asarray(shot, dtype=int).reshape(-1, 3)
    assert np.sum(np.abs(pixels - blue).max(axis=1) < 40) >= 200

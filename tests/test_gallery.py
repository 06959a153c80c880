"""The demo gallery: `samscape demo --quick` writes every figure and an index.html that shows them all.

One quick build is shared by the tests here (it takes seconds); it shows the claims' results of the session's one
`theory.check()` run instead of running the claims again. The browser test renders the page in headless Chromium
when the `chromium` binary is installed and is skipped, with the reason, when it is not.
"""

from __future__ import annotations

import html
import io
import os
import re
import subprocess
from html.parser import HTMLParser

import numpy as np
import pytest
from matplotlib.collections import QuadMesh
from matplotlib.colors import to_rgb

from samscape import cli, gallery, plots, theory
from samscape import dynamics as dy
from samscape._browser import HEADLESS_ARGS, INSTALL_HINT, chromium_path

EXPECTED = ["p3_switch.png", "p1_field.png", "p1_basins.png", "p1_ring.png", "p2_manifold.png", "stability.png",
            "variant_stability.png",
            "valley.png", "p3_switch.gif", "lit_edge.png", "lit_drift.png", "lit_saddle.png", "lit_floor.png"]
LITERATURE = ["lit_edge.png", "lit_drift.png", "lit_saddle.png", "lit_floor.png"]


@pytest.fixture(scope="module")
def built(tmp_path_factory, claim_results):
    import matplotlib.pyplot as plt

    out = tmp_path_factory.mktemp("gallery") / "site"
    printed = io.StringIO()
    open_before = plt.get_fignums()
    path = gallery.build(str(out), quick=True, stream=printed, claim_results=claim_results)
    assert path == os.path.join(str(out), "index.html")
    # the build leaves no figure behind in pyplot (none enters it): nothing to show, close or keep in memory
    assert plt.get_fignums() == open_before
    return out, printed.getvalue()


def test_demo_command_builds_the_quick_gallery_into_out(tmp_path, monkeypatch):
    """`samscape demo --out DIR --quick` hands DIR and quick=True to gallery.build and exits 0 (the build itself is
    the shared fixture above); --slides hands slides=True."""
    calls = []
    monkeypatch.setattr(gallery, "build", lambda out, **kwargs: calls.append((out, kwargs)) or "index.html")
    assert cli.main(["demo", "--out", str(tmp_path / "site"), "--quick"]) == 0
    assert calls == [(str(tmp_path / "site"), {"quick": True, "slides": False})]
    calls.clear()
    assert cli.main(["demo", "--out", str(tmp_path / "site"), "--slides"]) == 0
    assert calls == [(str(tmp_path / "site"), {"quick": False, "slides": True})]


class _Page(HTMLParser):
    def __init__(self):
        super().__init__()
        self.images, self.captions, self.rows, self._in_caption, self._in_body = [], [], 0, False, False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "img":
            self.images.append(attrs)
        elif tag == "figcaption":
            self._in_caption = True
            self.captions.append("")
        elif tag == "tbody":
            self._in_body = True
        elif tag == "tr" and self._in_body:
            self.rows += 1

    def handle_endtag(self, tag):
        if tag == "figcaption":
            self._in_caption = False
        elif tag == "tbody":
            self._in_body = False

    def handle_data(self, data):
        if self._in_caption:
            self.captions[-1] += data


def test_quick_demo_writes_every_figure_and_nothing_half_written(built):
    """Every figure of the gallery exists as a real PNG/GIF; no temporary file is left behind."""
    out, _ = built
    for name in EXPECTED:
        data = (out / name).read_bytes()
        magic = b"GIF8" if name.endswith(".gif") else b"\x89PNG"
        assert data.startswith(magic), name
        assert len(data) > 10_000, name
    assert not [p.name for p in out.iterdir() if p.name.startswith(".tmp-")]
    assert sorted(p.name for p in out.iterdir()) == sorted(EXPECTED + ["index.html"])


def test_index_shows_every_figure_with_a_caption_and_the_check_table(built):
    """index.html has one <img> per figure (each file present), a caption naming the claim for each, and one
    table row per registered claim of `samscape check`."""
    out, _ = built
    page = _Page()
    page.feed((out / "index.html").read_text(encoding="utf-8"))
    sources = [img["src"] for img in page.images]
    assert sources == EXPECTED
    assert all(img.get("alt") for img in page.images)
    assert len(page.captions) == len(EXPECTED)
    assert all("Claim illustrated:" in c and len(c) > 200 for c in page.captions)
    assert page.rows == len(theory.claim_names())


def test_each_caption_opens_with_one_plain_sentence(built):
    """Every caption starts with one sentence for a newcomer: no formula symbols, no paper labels or function
    names, under 45 words, and it ends before the researcher's text begins."""
    out, _ = built
    page = _Page()
    page.feed((out / "index.html").read_text(encoding="utf-8"))
    text = (out / "index.html").read_text(encoding="utf-8")
    plain = [html.unescape(m) for m in re.findall(r'<span class="plain">(.*?)</span>', text)]
    assert len(plain) == len(EXPECTED)
    for sentence, caption in zip(plain, page.captions):
        assert caption.startswith(sentence), sentence
        assert sentence.endswith(".") and sentence.count(". ") == 0, sentence
        assert len(sentence.split()) < 45, sentence
        assert not re.search(r"[ηρλγ∇²‖≤≥=_()]|\bP[123]\b|theory\.", sentence), sentence


def test_index_cites_each_paper_and_each_claim_with_arxiv_links(built, claim_results):
    """The page names the three papers (authors, title, arXiv link) and every claim's row carries its citation
    line with the arXiv id linked, and lists its named checks."""
    out, _ = built
    text = (out / "index.html").read_text(encoding="utf-8")
    for paper in theory.PAPERS.values():
        assert html.escape(paper.title) in text and ", ".join(paper.authors) in text
        assert f'<a href="https://arxiv.org/abs/{paper.arxiv}">arXiv:{paper.arxiv}</a>' in text
        assert f"{paper.year}, {paper.year}" not in text  # the venue already names the year
    shown = html.unescape(re.sub(r"<[^>]+>", "", text))
    for r in claim_results:
        assert r.paper in shown and all(name in shown for name in r.checks)


def test_a_failed_claim_row_names_the_failing_check():
    """A claim whose named check fails shows FAIL and that check's name in the page's result cell."""
    from samscape.theory import claims

    failed = theory.ClaimResult("t_fail", (claims.cite("P3", "Thm 4.3"),), "s", {"h": True},
                                {"rate within 1e-9": True, "lands flatter": False}, "p", "o", "t", "NumPy")
    page = gallery.render_html([], gallery.check_rows([failed]), quick=True, seconds=0.0)
    assert '<td class="fail">FAIL: not lands flatter</td>' in page
    assert '<a href="https://arxiv.org/abs/2410.10373">arXiv:2410.10373</a>' in page


def test_demo_reports_progress_for_every_section(built):
    _, printed = built
    total = len(gallery.SECTIONS) + 1
    for k in range(1, total + 1):
        assert f"[{k}/{total}]" in printed
    assert re.search(r"done in [0-9.]+ s: .*index\.html", printed)


def test_demo_refuses_a_file_as_output_directory(tmp_path, capsys):
    target = tmp_path / "file"
    target.write_text("x")
    assert cli.main(["demo", "--out", str(target), "--quick"]) == 2
    assert "out must be a directory" in capsys.readouterr().err


def test_p1_basins_attracting_diamonds_match_the_p1_field_legend_and_stand_out_on_both_cells(tmp_path, monkeypatch,
                                                                                          marker_strokes):
    """In p1_basins.png every attracting hallucinated diamond is drawn like the 'hallucinated (attracting)' entry
    of p1_field.png's legend (marker, vermillion fill, black edge), never white-edged like the old markers that read
    as the legend's white 'repelling' diamonds on vermillion cells, and carries a white rim behind its black edge;
    across the two panels the diamonds sit on both vermillion (hallucinated) and green (minimizer) cells."""
    figures = {}
    save = plots.save

    def keep_and_save(fig, path, **kwargs):
        figures[os.path.basename(path)] = fig
        return save(fig, path, **kwargs)

    monkeypatch.setattr(plots, "save", keep_and_save)
    gallery.p1_hallucination(str(tmp_path), gallery.QUICK, {})
    field_legend = figures["p1_field.png"].legends[0]
    (key,) = [h for h, t in zip(field_legend.legend_handles, field_legend.get_texts())
              if t.get_text() == "hallucinated (attracting)"]
    under = set()
    for ax in figures["p1_basins.png"].axes[:2]:
        (diamonds,) = [line for line in ax.lines if line.get_label() == "hallucinated (attracting)"]
        assert diamonds.get_marker() == key.get_marker() == "D"
        assert to_rgb(diamonds.get_markerfacecolor()) == to_rgb(key.get_markerfacecolor())
        assert to_rgb(diamonds.get_markeredgecolor()) == to_rgb(key.get_markeredgecolor()) == (0.0, 0.0, 0.0)
        # a white stroke first, under the black edge drawn on top of it
        (rim_color, _), (edge_color, _) = marker_strokes(diamonds)
        assert to_rgb(rim_color) == (1.0, 1.0, 1.0) and to_rgb(edge_color) == (0.0, 0.0, 0.0)
        # the fate of the cell under each diamond: both basin colours must occur across the two panels
        (mesh,) = [c for c in ax.collections if isinstance(c, QuadMesh)]
        corners = mesh.get_coordinates()
        edges_u, edges_v = corners[0, :, 0], corners[:, 0, 1]
        codes = np.asarray(mesh.get_array()).reshape(len(edges_v) - 1, len(edges_u) - 1)
        under |= {theory.FATES[int(codes[np.searchsorted(edges_v, y) - 1, np.searchsorted(edges_u, x) - 1])]
                  for x, y in zip(*diamonds.get_data())}
    assert {"hallucinated", "minimizer"} <= under


def test_each_variant_panel_draws_the_theory_edge_of_its_optimizer(tmp_path, monkeypatch):
    """In variant_stability.png every panel's edge line (gid = the map's kind) lies where theory.edge of that
    panel's optimizer, built at the line's (eta, rho), equals the sharpness lambda of theta*: SAM's and SAM with
    momentum's vertical lines at 2/lambda and 2(1 + mu)/lambda, USAM's and ASAM's curves."""
    figures = {}
    monkeypatch.setattr(plots, "save", lambda fig, path, **kwargs: figures.setdefault(os.path.basename(path), fig))
    (entry,) = gallery.variant_stability(str(tmp_path), {"variants_grid": 8, "variants_steps": 200}, {})
    lam = entry.numbers["lambda"]
    assert lam == pytest.approx(np.tanh(2.0) ** 2, rel=1e-12)
    axes = figures["variant_stability.png"].axes
    assert len(axes) == len(gallery.VARIANT_PANELS) == 4
    for ax, (_, kind, hypers) in zip(axes, gallery.VARIANT_PANELS):
        (line,) = [line for line in ax.lines if line.get_gid() is not None]
        eta, rho = (np.asarray(a, dtype=float) for a in line.get_data())
        keep = np.isfinite(eta) & np.isfinite(rho) & (rho > 0)
        picks = np.flatnonzero(keep)[np.linspace(0, keep.sum() - 1, 4).astype(int)]
        for e, r in zip(eta[picks], rho[picks]):
            opt = dy.optimizer_from_kind(kind, e, rho=r, **hypers)
            assert theory.edge(opt) == pytest.approx(lam, rel=1e-9), (kind, e, r)
    mu = gallery.VARIANT_PANELS[-1][2]["momentum"]
    assert np.allclose(axes[-1].lines[0].get_xdata(), 2 * (1 + mu) / lam)
    assert np.allclose(axes[0].lines[0].get_xdata(), 2 / lam)


@pytest.mark.skipif(chromium_path() is None, reason=f"no `chromium` binary on PATH ({INSTALL_HINT}); "
                                                      "the page is not rendered in a browser here")
def test_index_renders_in_headless_chromium_and_every_image_loads(built, tmp_path):
    """Chromium loads index.html from disk; a script added to a copy of the page reports, for every <img>,
    whether it decoded (naturalWidth > 0), and --dump-dom hands that report back."""
    out, _ = built
    probe = """<script>
window.addEventListener("load", () => {
  const rows = [...document.images].map(i => i.getAttribute("src") + "=" + (i.complete && i.naturalWidth > 0));
  const pre = document.createElement("pre");
  pre.id = "image-report";
  pre.textContent = "REPORT[" + rows.join(",") + "]";
  document.body.appendChild(pre);
});
</script>"""
    html = (out / "index.html").read_text(encoding="utf-8").replace("</body>", probe + "</body>")
    page = out / "_probe.html"
    page.write_text(html, encoding="utf-8")
    try:
        result = subprocess.run(
            [chromium_path(), *HEADLESS_ARGS, f"--user-data-dir={tmp_path}", "--allow-file-access-from-files", "--virtual-time-budget=10000", "--dump-dom", page.as_uri()],
            capture_output=True, text=True, timeout=120,
        )
    finally:
        page.unlink()
    match = re.search(r'<pre id="image-report">REPORT\[(.*?)\]</pre>', result.stdout)
    assert match, f"no report in Chromium's DOM dump; stderr: {result.stderr[-2000:]}"
    report = dict(item.split("=") for item in match.group(1).split(","))
    assert sorted(report) == sorted(EXPECTED)
    assert all(v == "true" for v in report.values()), report


def _link_states(text: str) -> dict:
    """``{figure file: (ExplorerState, problems)}`` from each figure's "open in the explorer" link in index.html."""
    from urllib.parse import parse_qs, urlsplit

    from samscape.explore.state import ExplorerState

    out = {}
    for figure in re.findall(r"<figure>.*?</figure>", text, flags=re.S):
        image = re.search(r'<img src="([^"]+)"', figure).group(1)
        link = re.search(r'<a class="explore" href="([^"]+)">open in the explorer</a>', figure)
        assert link, f"{image} has no explorer link"
        url = html.unescape(link.group(1))
        assert url.startswith(gallery.EXPLORER_URL + "?")
        query = {k: v[-1] for k, v in parse_qs(urlsplit(url).query).items()}
        out[image] = ExplorerState.from_query(query)
    return out


def _runs(state):
    landscape = state.build_landscape()
    return landscape, state.compute(landscape, max_work=1e8)


def test_every_figure_links_to_the_explorer_with_a_state_that_tells_the_same_story(built):
    """Every figure has an "open in the explorer" link whose state the explorer accepts without a complaint and
    whose run shows the figure's story: GD settles, then SAM drifts to smaller |u|; SAM stalls on hallucinated
    points and a GD warm start leaves fewer; SAM ends on the circle of radius rho - R; SAM drifts along Gamma toward
    argmin lambda_1 and GD stays; USAM past its edge leaves theta*; SAM stays in [-2b, 2b]; SAM rides its edge
    along the ravine; SAM drifts down the ravine; USAM converges to the saddle; stochastic SAM hovers at rho/2."""
    out, _ = built
    links = _link_states((out / "index.html").read_text(encoding="utf-8"))
    assert sorted(links) == sorted(EXPECTED)
    assert all(problems == [] for _, problems in links.values()), links
    for name in ("p3_switch.png", "p3_switch.gif"):
        state = links[name][0]
        _, outcome = _runs(state)
        run = outcome.run
        at_switch = np.abs(run.xs[np.searchsorted(run.steps, state.at), :, 0])
        assert state.opt == "gd" and state.then == "sam"
        assert np.all(np.abs(run.x[:, 0]) < 0.5 * at_switch) and set(outcome.fates) == {"minimizer"}, name
    plain_state = links["p1_field.png"][0]
    _, plain = _runs(plain_state)
    _, warm = _runs(links["p1_basins.png"][0])
    assert links["p1_basins.png"][0].then == "sam"
    assert np.mean(plain.fates == "hallucinated") > np.mean(warm.fates == "hallucinated") > 0
    ring_state = links["p1_ring.png"][0]
    _, ring = _runs(ring_state)
    assert set(ring.fates) == {"hallucinated"}
    np.testing.assert_allclose(np.linalg.norm(ring.run.x, axis=1), ring_state.rho - 1.0, atol=1e-6)
    manifold_state = links["p2_manifold.png"][0]
    land, sam = _runs(manifold_state)
    target = land.params["argmin_lambda1"]
    start = manifold_state.starts[0][0]
    assert abs(sam.run.x[0, 0] - target) < 0.5 * abs(start - target)
    stability_state = links["stability.png"][0]
    _, usam = _runs(stability_state)
    assert stability_state.opt == "usam" and np.all(np.abs(usam.run.x[:, 0]) < 1.9)
    variant_state = links["variant_stability.png"][0]
    _, sam_off = _runs(variant_state)
    assert variant_state.opt == "sam" and np.all(np.abs(sam_off.run.x[:, 0]) < 1.9)  # SAM leaves theta* = (2, 0)
    valley_state = links["valley.png"][0]
    land, valley = _runs(valley_state)
    assert np.abs(valley.run.xs).max() <= 2 * land.params["b"] and np.all(np.abs(valley.run.x) > 0.05)
    # the literature: SAM drifts along the ravine's floor riding its edge; the finite-step drift; USAM stops at
    # the saddle; stochastic SAM hovers at rho/2 off the optimum
    land, edge = _runs(links["lit_edge.png"][0])
    path = edge.run.xs[len(edge.run.steps) // 2:, 0]
    ratio = theory.hessian_curvature(land, path)["lambda_max"] / theory.sam_edge(
        links["lit_edge.png"][0].eta, links["lit_edge.png"][0].rho, np.linalg.norm(land.grad(path), axis=-1))
    assert edge.run.x[0, 0] < 1.5 and np.all(np.abs(ratio - 1) < 0.01)
    drift_state = links["lit_drift.png"][0]
    _, drift = _runs(drift_state)
    assert drift_state.params == {"a0": 2.0, "a1": 1.0, "a2": 0.0} and drift.run.x[0, 0] < drift_state.starts[0][0]
    _, saddle = _runs(links["lit_saddle.png"][0])
    assert links["lit_saddle.png"][0].opt == "usam" and np.all(np.linalg.norm(saddle.run.x, axis=1) < 1e-6)
    floor_state = links["lit_floor.png"][0]
    _, floor = _runs(floor_state)
    final = floor.run.x[:, 0]
    assert abs(final.mean() - floor_state.rho / 2) < 4 * final.std(ddof=1) / np.sqrt(len(final)) + 0.01


def test_the_literature_section_opens_with_its_heading_and_cites_each_figures_paper_and_claim(built):
    """The page has one "The literature" heading, directly before the first literature figure; each literature
    figure's caption names the arXiv id of its paper and a claim of `samscape check` that checks what it shows."""
    out, _ = built
    text = (out / "index.html").read_text(encoding="utf-8")
    assert text.count('<h2 class="group" id="the-literature">The literature</h2>') == 1
    heading = text.index('id="the-literature"')
    assert text.index(f'src="{LITERATURE[0]}"') > heading > text.index('src="p3_switch.gif"')
    page = _Page()
    page.feed(text)
    captions = dict(zip([img["src"] for img in page.images], page.captions))
    for name in LITERATURE:
        cited = [p for p in theory.PAPERS.values() if f"arXiv:{p.arxiv}" in captions[name]]
        assert cited, name
        assert any(f"claim {claim}" in captions[name] or f"claims {claim}" in captions[name]
                   for claim in theory.claim_names()), name


@pytest.mark.parametrize("draw, args, words", [
    ("edge_tracking", ([0, 1, 2], [1, 2], [1, 2, 3], 10.0), ["sharpness", "length 3"]),
    ("drift_comparison", ([0, 1], [[0, 1], [0, 1]], [[0, 1], [0, 1]], [[0, 1], [0, 1]], ["one"]), ["labels", "2"]),
    ("rho_factors", ([0, 1], [[1, 1]], ["x"], (0, 1)), ["factors", "(2,)"]),
    ("running_means", ([0, 1], [0, 1], [0, 1], [0, 1], ["a"]), ["limits", "length 1"]),
])
def test_literature_plots_refuse_mismatched_arrays_in_one_sentence(draw, args, words):
    """Arrays whose shapes do not fit are a ValueError naming the argument and the shape allowed."""
    from samscape.plots import literature

    with plots.detached(), pytest.raises(ValueError) as err:
        getattr(literature, draw)(*args)
    message = str(err.value)
    assert "\n" not in message and all(w in message for w in words), message

"""The Panel app: widgets that edit an :class:`ExplorerState`, Bokeh figures that draw what it computes.

One :class:`Explorer` per browser session (or notebook cell); nothing is shared between sessions but the
landscape cache and the compiled kernels, which are read-only once built.
"""

from __future__ import annotations

import html
import math
import traceback

import numpy as np
import panel as pn
from bokeh.events import Tap
from bokeh.models import ColumnDataSource, LinearColorMapper, LogColorMapper, Range1d
from bokeh.plotting import figure

from .. import dynamics, landscapes
from . import views
from .state import (DEFAULT_MAX_WORK, READOUT_ROWS, ExplorerState, WorkCapExceeded, grid_points,
                    nearest_minimizer, random_points, round_point, stability_at, warm_kernels)

CUSTOM = "custom expression"
STYLES = ("paper", "slides")  # the gallery's two looks: ?style=slides (or the toggle) is the projector's
# Sizes in the paper style, in CSS pixels; the slides style multiplies them by plots.style.pixel_scale("slides"),
# the factors by which the gallery's --slides enlarges text, lines and markers against the same picture.
TEXT_PX = 14  # widgets, readout and messages (Bokeh's own default is 12 px)
AXIS_PX, TICK_PX = 14, 13  # figure titles and axis labels, tick labels
CONTROLS_PX = 285  # the controls' column; the figures wrap below or beside it as the window allows
MAIN_PX, MAIN_HEIGHT_PX = 500, 430  # the landscape (or 1-D curve) figure
SIDE_PX, SIDE_HEIGHT_PX = 380, 220  # loss and sharpness against step
# Panel's Player sets its range input's value before its max on the first render, so a value above the input's
# default max of 100 is clamped to 100 and the handle stops half way; at most 100 frames avoids that.
PLAYER_FRAMES = 100


def _palette():
    """The gallery's background colour map as 256 hex colours, so the page and the exported PNG match."""
    from ..plots import background_palette

    return background_palette(256)


def _colors():
    from ..plots import CYCLE, FATE_COLORS, OKABE_ITO

    return CYCLE, FATE_COLORS, OKABE_ITO


def _optimizer_look():
    """The gallery's colour and name of each optimizer kind (one table for figures and page alike)."""
    from ..plots import optimizer_color, optimizer_label

    return optimizer_color, optimizer_label


def _scale(style: str) -> dict[str, float]:
    from ..plots import pixel_scale

    return pixel_scale(style)


def _fmt(value: float, digits: int = 4) -> str:
    return f"{value:.{digits}g}" if math.isfinite(value) else ("inf" if value > 0 else "nan")


def _point(p, digits: int = 12) -> str:
    return "(" + ", ".join(f"{c:.{digits}g}" for c in p) + ")"


class Explorer:
    """The explorer of one session: ``Explorer(state).layout`` is the Panel object to show or serve."""

    def __init__(self, state: ExplorerState | None = None, *, max_work: float = DEFAULT_MAX_WORK,
                 problems: list[str] | None = None, style: str = "paper"):
        self.state = state or ExplorerState()
        self.style = style if style in STYLES else "paper"
        self.max_work = max_work
        self.landscape = None
        self.outcome = None
        self.search = None
        self._search_key = None
        self._background_key = None
        self._base_sizes: dict[int, tuple] = {}
        self._updating = False
        self.cycle, self.fate_colors, self.okabe = _colors()
        self.color_of, self.label_of = _optimizer_look()
        self._build_widgets()
        self._build_figures()
        self.layout = self._build_layout()
        self._apply_style()
        self._problems = list(problems or [])
        self._set_landscape(first=True)
        self.refresh()

    # ------------------------------------------------------------------ widgets
    def _build_widgets(self):
        s = self.state
        self.w_landscape = pn.widgets.Select(label="landscape", options=[*landscapes.names(), CUSTOM],
                                             value=CUSTOM if s.expr is not None else s.landscape, width=260)
        self.params_box = pn.Column(width=270)
        self.w_expr = pn.widgets.TextInput(label="expression", value=s.expr or "0.5*tanh(v*tanh(u))**2", width=260,
                                        css_classes=["expr-input"])
        self.w_vars = pn.widgets.TextInput(label="variables", value=s.variables, width=260)
        self.expr_message = pn.pane.HTML("", css_classes=["expr-message"], width=260,
                                         styles={"color": "#b00020"})
        self.custom_box = pn.Column(self.w_expr, self.w_vars, self.expr_message, visible=s.expr is not None)
        opt_options = {self.label_of(k): k for k in dynamics.plain_kinds()}
        self.w_opt = pn.widgets.Select(label="optimizer", options=opt_options, value=s.opt, width=125)
        self.w_then = pn.widgets.Select(label="then switch to", options={"(no switch)": None, **opt_options},
                                        value=s.then, width=125)
        self.w_at = pn.widgets.IntInput(label="at step", value=s.at, start=0, width=125)
        # an arrow key moves eta or rho by 0.01 (50 presses from 0.5 to 1); the box beside takes any value
        self.w_eta = pn.widgets.EditableFloatSlider(label="eta (step size)", start=0.01, end=2.0, step=0.01,
                                                    value=s.eta, width=260, css_classes=["eta"])
        self.w_rho = pn.widgets.EditableFloatSlider(label="rho (radius)", start=0.0, end=2.0, step=0.01,
                                                    value=s.rho, width=260, css_classes=["rho"])
        self.w_batch = pn.widgets.IntInput(label="batch (finite sums)", value=s.batch or 0, start=0, width=125)
        self.hyper_box = pn.Column(width=270, css_classes=["hyperparameters"])  # the chosen optimizers' own
        self.w_hyper: dict = {}
        self._hyper_widgets()
        self.w_steps = pn.widgets.IntInput(label="steps", value=s.steps, start=1, width=125)
        self.w_seed = pn.widgets.IntInput(label="seed", value=s.seed, start=0, width=125)
        self.w_grid_n = pn.widgets.IntInput(label="n", value=5, start=1, end=50, width=60)
        self.b_grid = pn.widgets.Button(label="grid n x n", width=90, align="end")
        self.b_random = pn.widgets.Button(label="random n", width=90, align="end")
        self.b_clear = pn.widgets.Button(label="clear starts", width=120)
        self.w_log = pn.widgets.Checkbox(label="log colour", value=s.log)
        self.w_field = pn.widgets.Checkbox(label="SAM field -grad f(x+)", value=s.field)
        self.w_surrogate = pn.widgets.Checkbox(label="surrogate f^SAM", value=s.surrogate)
        self.w_halluc = pn.widgets.Checkbox(label="hallucinated points", value=s.halluc)
        self.b_copy = pn.widgets.Button(label="copy link", width=95)
        self.b_copy.js_on_click(code="navigator.clipboard && navigator.clipboard.writeText(window.location.href)")
        self.d_png = pn.widgets.FileDownload(callback=self._png, filename="samscape-explore.png", label="export PNG",
                                             width=120, embed=False)
        self.d_npz = pn.widgets.FileDownload(callback=self._npz, filename="samscape-explore.npz", label="export run",
                                             width=120, embed=False)
        self.player = pn.widgets.Player(label="step", start=0, end=1, value=1, interval=60,
                                        sizing_mode="stretch_width", max_width=MAIN_PX, loop_policy="once",
                                        show_loop_controls=False, css_classes=["player"])
        self.w_slides = pn.widgets.Checkbox(label="slides: projector sizes", value=self.style == "slides",
                                            css_classes=["slides-toggle"])
        self.message = pn.pane.HTML("", css_classes=["message"], sizing_mode="stretch_width")
        self.readout = pn.pane.HTML("", css_classes=["readout"], sizing_mode="stretch_width")
        self.stability = pn.pane.HTML("<i>click near a known minimizer (white circle) for its stability</i>",
                                      css_classes=["stability"], sizing_mode="stretch_width", max_width=MAIN_PX)

        self.w_landscape.param.watch(lambda e: self._set_landscape(), "value")
        for w in (self.w_expr, self.w_vars):
            w.param.watch(lambda e: self._set_landscape(), "value")
        for w in (self.w_opt, self.w_then, self.w_at, self.w_eta, self.w_rho, self.w_batch, self.w_steps,
                  self.w_seed, self.w_log, self.w_field, self.w_surrogate, self.w_halluc):
            w.param.watch(lambda e: self._from_widgets(), "value")
        self.b_grid.on_click(lambda e: self._add_starts(grid_points(self.landscape, int(self.w_grid_n.value or 1))))
        self.b_random.on_click(lambda e: self._add_starts(
            random_points(self.landscape, int(self.w_grid_n.value or 1) ** 2, self.state.seed + len(self.state.starts))))
        self.b_clear.on_click(lambda e: self._clear_starts())
        self.player.param.watch(lambda e: self._draw_heads(), "value")
        self.w_slides.param.watch(lambda e: self._set_style("slides" if e.new else "paper"), "value")

    def _params_widgets(self):
        """One text box per catalog parameter, filled with the state's value (or the default)."""
        from .state import format_value

        info = landscapes.describe(self.state.landscape)
        boxes = []
        for key, default in info["params"].items():
            value = self.state.params.get(key, default)
            box = pn.widgets.TextInput(label=f"{key}", value=format_value(value), width=125)
            box.param.watch(lambda e, k=key: self._set_param(k, e.new), "value")
            boxes.append(box)
        note = pn.pane.HTML(f"<span class='description'>{html.escape(info['description'])}</span>", width=260)
        self.params_box[:] = [note, pn.Row(*boxes[:2]), pn.Row(*boxes[2:4]), pn.Row(*boxes[4:])] if boxes else [note]

    def _hyper_widgets(self):
        """One control per hyperparameter of the chosen optimizers beyond eta, rho and batch, read off their classes
        (:meth:`ExplorerState.own_hyperparameters`): a tick for a switch (nesterov), a box for a count or a number,
        showing the state's value or the class's default (empty where the default follows another field, as
        MultiStepSAM's alpha follows rho), with the class's sentence as a box's tooltip."""
        s = self.state
        self.w_hyper = {}
        for name, hyper in s.own_hyperparameters().items():
            value = s.hyper.get(name, hyper.default)
            common = dict(label=name, css_classes=["hyper", f"hyper-{name}"])
            if hyper.type is bool:  # a tick box has no tooltip: its name says it
                widget = pn.widgets.Checkbox(value=bool(value), **common)
            elif hyper.type is int:
                widget = pn.widgets.IntInput(value=value, width=125, description=hyper.help, **common)
            else:
                widget = pn.widgets.FloatInput(value=value, step=0.01, width=125, description=hyper.help,
                                               placeholder="" if value is not None else "default", **common)
            widget.param.watch(lambda e, n=name: self._set_hyper(n, e.new), "value")
            self.w_hyper[name] = widget
        boxes = list(self.w_hyper.values())
        self.hyper_box[:] = [pn.Row(*boxes[i:i + 2]) for i in range(0, len(boxes), 2)]

    def _set_hyper(self, name, value):
        """A control of a hyperparameter changed: a value its class refuses is shown as refused and not taken."""
        if self._updating:
            return
        try:
            self.state.set_hyper(name, value)
        except ValueError as err:
            self.message.object = f"<span class='refused'>{html.escape(str(err).splitlines()[0])}</span>"
            return
        self.refresh()

    # ------------------------------------------------------------------ figures
    def _build_figures(self):
        tools = "pan,wheel_zoom,box_zoom,reset,save"
        self.fig = figure(width=MAIN_PX, height=MAIN_HEIGHT_PX, tools=tools, match_aspect=False, title="")
        self.fig.x_range, self.fig.y_range = Range1d(0, 1), Range1d(0, 1)
        self.mapper = LinearColorMapper(palette=_palette(), low=0, high=1)
        self.log_mapper = LogColorMapper(palette=_palette(), low=1e-8, high=1)
        self.src_image = ColumnDataSource(dict(image=[np.zeros((2, 2))], x=[0], y=[0], dw=[1], dh=[1]))
        self.image_linear = self.fig.image("image", x="x", y="y", dw="dw", dh="dh", source=self.src_image,
                                           color_mapper=self.mapper)
        self.image_log = self.fig.image("image", x="x", y="y", dw="dw", dh="dh", source=self.src_image,
                                        color_mapper=self.log_mapper, visible=False)
        self.src_field = ColumnDataSource(dict(x0=[], y0=[], x1=[], y1=[]))
        self.fig.segment("x0", "y0", "x1", "y1", source=self.src_field, color="#333333", line_width=1, alpha=0.7)
        self.fig.scatter("x1", "y1", source=self.src_field, size=2.5, color="#333333", alpha=0.7)
        self.src_sets = ColumnDataSource(dict(xs=[], ys=[]))  # curves of minimizers (a ring, a valley floor)
        self.sets_glyph = self.fig.multi_line("xs", "ys", source=self.src_sets, color="white", line_width=1.5,
                                              line_dash="dashed")
        self.src_paths = ColumnDataSource(dict(xs=[], ys=[], color=[]))
        self.fig.multi_line("xs", "ys", source=self.src_paths, color="color", line_width=1.3, alpha=0.85)
        self.src_ends = ColumnDataSource(dict(x0=[], y0=[], x=[], y=[], color=[], marker=[], start_color=[]))
        self.fig.scatter("x0", "y0", source=self.src_ends, size=7, fill_color=None, line_color="start_color",
                         line_width=1.5)
        self.fig.scatter("x", "y", source=self.src_ends, size=7, color="color", marker="marker",
                         line_color="white", line_width=0.8)
        self.src_heads = ColumnDataSource(dict(x=[], y=[], color=[]))
        self.fig.scatter("x", "y", source=self.src_heads, size=10, color="color", line_color="black",
                         marker="diamond", line_width=1)
        self.src_min = ColumnDataSource(dict(x=[], y=[]))
        self.fig.scatter("x", "y", source=self.src_min, size=9, fill_color="white", line_color="black")
        self.src_max = ColumnDataSource(dict(x=[], y=[]))
        self.fig.scatter("x", "y", source=self.src_max, size=9, marker="triangle", color="black")
        vermillion = self.okabe["vermillion"]
        self.src_hall = ColumnDataSource(dict(x=[], y=[], fill=[]))
        self.fig.scatter("x", "y", source=self.src_hall, size=11, marker="square", fill_color="fill",
                         line_color=vermillion, line_width=2)
        self.fig.on_event(Tap, self._on_tap)

        # 1-D: f and f^SAM with the iterates on the curve
        self.fig1 = figure(width=MAIN_PX, height=MAIN_HEIGHT_PX, tools=tools, title="", visible=False)
        self.src_f = ColumnDataSource(dict(z=[], f=[], fs=[]))
        self.fig1.line("z", "f", source=self.src_f, color="black", line_width=1.5, legend_label="f")
        self.line_fsam = self.fig1.line("z", "fs", source=self.src_f, color=self.okabe["orange"], line_width=1.5,
                                        line_dash="dashed", legend_label="f^SAM")
        self.src_paths1 = ColumnDataSource(dict(x=[], y=[], color=[]))
        self.fig1.scatter("x", "y", source=self.src_paths1, color="color", size=3, alpha=0.35)
        self.src_ends1 = ColumnDataSource(dict(x0=[], y0=[], x=[], y=[], color=[], marker=[], start_color=[]))
        self.fig1.scatter("x0", "y0", source=self.src_ends1, size=8, fill_color=None, line_color="start_color",
                          line_width=1.5)
        self.fig1.scatter("x", "y", source=self.src_ends1, size=8, color="color", marker="marker")
        self.src_heads1 = ColumnDataSource(dict(x=[], y=[], color=[]))
        self.fig1.scatter("x", "y", source=self.src_heads1, size=11, color="color", marker="diamond",
                          line_color="black")
        self.src_hall1 = ColumnDataSource(dict(x=[], y=[], fill=[]))
        self.fig1.scatter("x", "y", source=self.src_hall1, size=11, marker="square", fill_color="fill",
                          line_color=vermillion, line_width=2, legend_label="hallucinated")
        self.fig1.legend.location = "top_center"
        self.fig1.on_event(Tap, self._on_tap)

        self.fig_loss = figure(width=SIDE_PX, height=SIDE_HEIGHT_PX, y_axis_type="log", title="loss L(x_t)",
                               tools=tools, y_range=Range1d(1e-16, 1.0))
        self.src_loss = ColumnDataSource(dict(xs=[], ys=[], color=[]))
        self.fig_loss.multi_line("xs", "ys", source=self.src_loss, color="color", line_width=1.2, alpha=0.8)
        self.fig_sharp = figure(width=SIDE_PX, height=SIDE_HEIGHT_PX, title="sharpness lambda_max(hessian)",
                                tools=tools, x_range=self.fig_loss.x_range)
        self.src_sharp = ColumnDataSource(dict(xs=[], ys=[], color=[]))
        self.fig_sharp.multi_line("xs", "ys", source=self.src_sharp, color="color", line_width=1.2, alpha=0.8)
        self.src_edge = ColumnDataSource(dict(xs=[], ys=[], color=[], text=[]))
        self.fig_sharp.multi_line("xs", "ys", source=self.src_edge, color="color", line_dash="dashed", line_width=1.2,
                                  legend_field="text")
        self.fig_sharp.legend.location = "top_right"
        self.fig_sharp.legend.background_fill_alpha = 0.8
        self.fig_sharp.legend.padding = 2
        for fig in (self.fig, self.fig1, self.fig_loss, self.fig_sharp):
            fig.toolbar.logo = None

    def _build_layout(self):
        """Controls, then the figures, each a fixed width, in boxes that wrap: at 1,024 px (or at 150 % zoom) the
        curves go under the landscape and the figures under the controls, never off the side of the page."""
        starts = pn.Column(pn.Row(self.w_grid_n, self.b_grid, self.b_random), self.b_clear)
        self.controls = pn.Column(
            pn.pane.HTML("<b>samscape explore</b>"), self.w_slides, self.w_landscape, self.params_box,
            self.custom_box, pn.Row(self.w_opt, self.w_then), pn.Row(self.w_at, self.w_batch), self.w_eta,
            self.w_rho, self.hyper_box, pn.Row(self.w_steps, self.w_seed),
            pn.pane.HTML("starts: click the landscape to add one", width=260), starts, self.w_log, self.w_field,
            self.w_surrogate, self.w_halluc, self.b_copy, pn.Row(self.d_png, self.d_npz), width=CONTROLS_PX,
        )
        self.key = pn.pane.HTML(
            "hollow circle: start; filled: end (x: stopped); diamond: the step shown; colour: the optimizer in "
            "force (GD blue, SAM vermillion, ...); white circle or dashes: known minimizers; black triangle: known "
            "maximizer; square: hallucinated point (filled: attracts)", sizing_mode="stretch_width",
            max_width=MAIN_PX, css_classes=["key"])
        main = pn.Column(pn.pane.Bokeh(self.fig), pn.pane.Bokeh(self.fig1),
                         self.player, self.key, max_width=MAIN_PX + 20)
        curves = pn.Column(pn.pane.Bokeh(self.fig_loss),
                           pn.pane.Bokeh(self.fig_sharp), self.stability)
        figures = pn.FlexBox(main, curves, flex_wrap="wrap", align_items="flex-start")
        # beside the controls while at least the landscape fits there, below them otherwise
        right = pn.Column(self.message, figures, self.readout, sizing_mode="stretch_width",
                          styles={"flex": f"1 1 {MAIN_PX + 20}px", "min-width": "0"})
        return pn.FlexBox(self.controls, right, flex_wrap="wrap", align_items="flex-start",
                          sizing_mode="stretch_width", css_classes=["explorer"])

    # ------------------------------------------------------------------ style
    def _set_style(self, style: str):
        if style == self.style:
            return
        self.style = style
        self._apply_style()
        self._sync_location()

    def _apply_style(self):
        """Text, line and marker sizes of the current style: the gallery's paper sizes, or its --slides sizes."""
        scale = _scale(self.style)
        text = scale["text"]
        px = lambda size: f"{size * text:.1f}px"  # noqa: E731
        # Bokeh's widgets read their text size from this variable, which every part of the page inherits
        self.layout.styles = {"--bokeh-font-size": px(TEXT_PX), "font-size": px(TEXT_PX)}
        self.controls.width = round(CONTROLS_PX * min(text, 1.15))
        for fig in (self.fig, self.fig1, self.fig_loss, self.fig_sharp):
            fig.title.text_font_size = px(AXIS_PX)
            for axis in (*fig.xaxis, *fig.yaxis):
                axis.axis_label_text_font_size = px(AXIS_PX)
                axis.major_label_text_font_size = px(TICK_PX)
            for renderer in fig.renderers:
                glyph = renderer.glyph
                base = self._base_sizes.setdefault(id(glyph), (getattr(glyph, "line_width", None),
                                                               getattr(glyph, "size", None)))
                if base[0] is not None and isinstance(base[0], (int, float)):
                    glyph.line_width = base[0] * scale["line"]
                if base[1] is not None and isinstance(base[1], (int, float)):
                    glyph.size = base[1] * scale["marker"]
        for legend in (*self.fig1.legend, *self.fig_sharp.legend):
            legend.label_text_font_size = px(TICK_PX)

    # ------------------------------------------------------------------ state changes
    def _set_landscape(self, first: bool = False):
        """Switch to the landscape the widgets name; a refused one keeps the last good landscape and says why."""
        if self._updating:
            return
        s = self.state
        custom = self.w_landscape.value == CUSTOM
        self.custom_box.visible = custom
        candidate = s.__class__(**{**s.__dict__})
        if custom:
            candidate.expr, candidate.variables = self.w_expr.value, self.w_vars.value
        else:
            candidate.expr = None
            if candidate.landscape != self.w_landscape.value:
                candidate.landscape, candidate.params = self.w_landscape.value, {}
        try:
            landscape = candidate.build_landscape()
        except Exception as err:  # noqa: BLE001 -- a refused loss is shown, never raised into the server
            text = str(err).splitlines()[0] if str(err) else type(err).__name__
            target = self.expr_message if custom else self.message
            target.object = f"<span class='refused'>{html.escape(text)}</span>"
            if first and self.landscape is None:  # a bad link: keep what of it can be shown, and say what was not
                self._problems.append(text if custom else f"landscape {s.landscape} with these parameters: {text}")
                self.landscape = self._fallback_landscape(custom)
                self._reset_starts_for(self.landscape)
                self._params_widgets()
                warm_kernels(self.landscape, s)
            return
        self.expr_message.object = ""
        changed = landscape is not self.landscape
        s.expr, s.variables, s.landscape, s.params = (candidate.expr, candidate.variables, candidate.landscape,
                                                      candidate.params)
        if changed:
            old = self.landscape
            self.landscape = landscape
            if not custom:
                self._params_widgets()
            else:
                self.params_box[:] = []
            if old is not None and old.dim != landscape.dim:
                s.starts = []
            self._reset_starts_for(landscape)
            warm_kernels(landscape, s)
        if not first:
            self.refresh()

    def _fallback_landscape(self, custom: bool):
        """The landscape a link's refused one falls back to: its catalog entry with the entry's own parameters,
        else the default landscape."""
        s = self.state
        s.params = {}
        if not custom:
            try:
                return s.build_landscape()
            except Exception:  # noqa: BLE001 -- then the default below
                pass
        s.expr, s.landscape = None, ExplorerState().landscape
        return s.build_landscape()

    def _reset_starts_for(self, landscape):
        """Starts of another dimension (a link for another landscape) cannot run here: drop them."""
        if any(len(p) != landscape.dim for p in self.state.starts):
            self.state.starts = []
            self._problems.append(f"starts were dropped: this landscape has {landscape.dim} coordinates")

    def _set_param(self, key, text):
        from .state import parse_value

        try:
            value = parse_value(text)
            landscapes.get(self.state.landscape, **{**self.state.params, key: value})
        except ValueError as err:
            self.message.object = f"<span class='refused'>{html.escape(str(err).splitlines()[0])}</span>"
            return
        self.state.params[key] = value
        self.landscape = None
        self._set_landscape()

    def _from_widgets(self):
        if self._updating:
            return
        s = self.state
        if (self.w_opt.value, self.w_then.value) != (s.opt, s.then):
            s.choose(self.w_opt.value, self.w_then.value)
            self._hyper_widgets()
        s.at = int(self.w_at.value or 0)
        s.eta, s.rho = float(self.w_eta.value), float(self.w_rho.value)
        s.batch = int(self.w_batch.value) if self.w_batch.value else None
        s.steps, s.seed = max(1, int(self.w_steps.value or 1)), max(0, int(self.w_seed.value or 0))
        s.log, s.field, s.surrogate, s.halluc = (self.w_log.value, self.w_field.value, self.w_surrogate.value,
                                                 self.w_halluc.value)
        self.refresh()

    def _add_starts(self, points):
        self.state.starts = [*self.state.starts, *points]
        self.refresh()

    def _clear_starts(self):
        self.state.starts = []
        self.refresh()

    def _on_tap(self, event):
        if self.landscape is None or event.x is None:
            return
        point = np.zeros(self.landscape.dim)
        point[0] = event.x
        if self.landscape.dim >= 2:
            point[1] = event.y
        near = nearest_minimizer(self.landscape, point)
        if near is not None:
            self._show_stability(near)
            return
        self._add_starts([tuple(round_point(point, self.landscape))])

    # ------------------------------------------------------------------ drawing
    def refresh(self):
        """Recompute and redraw everything that depends on the state; never raises (the message says why)."""
        try:
            self._refresh()
        except Exception as err:  # noqa: BLE001 -- one visitor's bad input must not break the page or the server
            first = str(err).splitlines()[0] if str(err) else type(err).__name__
            self.message.object = f"<span class='refused'>{html.escape(first)}</span>"
            traceback.print_exc()

    def _refresh(self):
        s, L = self.state, self.landscape
        # what a link or a widget asked for and could not have: shown above whatever the update says
        refused = [f"<span class='refused'>{html.escape(n)}</span>" for n in self._problems]
        self._problems = []
        self._sync_location()
        self.w_batch.disabled = L.n_samples <= 1
        self.fig.visible, self.fig1.visible = L.dim >= 2, L.dim == 1
        self._draw_landscape()
        try:
            with dynamics.quiet_builds():  # the warming thread has said once that kernels are being built
                self.outcome = s.compute(L, self.max_work)
        except WorkCapExceeded as err:
            self.message.object = "<br>".join([*refused, f"<span class='cap'>{html.escape(str(err))}</span>"])
            return
        except ValueError as err:
            first = html.escape(str(err).splitlines()[0])
            self.message.object = "<br>".join([*refused, f"<span class='refused'>{first}</span>"])
            return
        notes = list(self.outcome.notes)
        run = self.outcome.run
        if run is not None:
            notes += list(run.message.values())
        self.message.object = "<br>".join([*refused, *(html.escape(n) for n in notes)])
        self._draw_paths()
        self._draw_readout()

    def _sync_location(self):
        location = pn.state.location
        if location is not None:
            style = "" if self.style == "paper" else f"&style={self.style}"
            location.search = "?" + self.state.query_string() + style

    def _draw_landscape(self):
        s, L = self.state, self.landscape
        surrogate = s.surrogate and s.rho > 0
        key = (id(L), s.log, surrogate, s.rho if surrogate else None)
        if L.dim >= 2:
            if key != self._background_key:
                z, window, low, high = views.background(L, rho=s.rho, surrogate=surrogate, log=s.log)
                (x0, x1), (y0, y1) = window
                self.src_image.data = dict(image=[z], x=[x0], y=[y0], dw=[x1 - x0], dh=[y1 - y0])
                mapper = self.log_mapper if s.log else self.mapper
                mapper.low, mapper.high = low, high
                self.image_log.visible, self.image_linear.visible = s.log, not s.log
                self.fig.x_range.start, self.fig.x_range.end = float(x0), float(x1)
                self.fig.y_range.start, self.fig.y_range.end = float(y0), float(y1)
                self.fig.xaxis.axis_label, self.fig.yaxis.axis_label = L.variables[0], L.variables[1]
                self.fig.title.text = ("surrogate f^SAM" if surrogate else "loss") + f": {L.name}"
                mins = np.asarray(L.minimizers, dtype=float).reshape(-1, L.dim)
                maxs = np.asarray(L.maximizers, dtype=float).reshape(-1, L.dim)
                self.src_min.data = dict(x=mins[:, 0], y=mins[:, 1])
                self.src_max.data = dict(x=maxs[:, 0], y=maxs[:, 1])
                curves = views.minimizer_curves(L)
                self.src_sets.data = dict(xs=[c[:, 0] for c in curves], ys=[c[:, 1] for c in curves])
                self._background_key = key
            if s.field:
                x0, y0, x1, y1 = views.sam_field(L, views.field_optimizer(s))
                self.src_field.data = dict(x0=x0, y0=y0, x1=x1, y1=y1)
            elif len(self.src_field.data["x0"]):
                self.src_field.data = dict(x0=[], y0=[], x1=[], y1=[])
        else:
            z, f, f_sam = views.profile(L, rho=s.rho)
            self.src_f.data = dict(z=z, f=f, fs=f_sam if f_sam is not None else np.full_like(f, np.nan))
            self.line_fsam.visible = s.surrogate
            self.fig1.title.text = f"{L.name}: f" + (" and f^SAM" if s.surrogate else "")
            self.fig1.xaxis.axis_label = L.variables[0]
        self._draw_hallucinated()

    def _draw_hallucinated(self):
        s, L = self.state, self.landscape
        empty = dict(x=[], y=[], fill=[])
        if not s.halluc or s.rho <= 0:
            for src in (self.src_hall, self.src_hall1):
                if len(src.data["x"]):  # an unchanged source is not sent again
                    src.data = empty
            self.search = None
            return
        key = (id(L), s.rho, s.eta)
        if key != self._search_key:
            self.search = views.hallucination_search(L, s.rho, s.eta)
            self._search_key = key
        x, _, attracting, _ = self.search.arrays()
        fill = np.where(attracting, self.okabe["vermillion"], "white").tolist()
        if L.dim >= 2:
            self.src_hall.data = dict(x=x[:, 0], y=x[:, 1], fill=fill)
        else:
            with np.errstate(all="ignore"):
                self.src_hall1.data = dict(x=x[:, 0], y=L.value(x), fill=fill)

    def _phases(self, run):
        """``[(kind, first saved index, last saved index)]``: which optimizer is in force over which saved steps
        (a Switch's two parts; one entry otherwise). Consecutive pieces share their boundary point."""
        from .. import theory

        pieces = []
        for optimizer, lo, hi in theory.run_phases(run):
            first = max(int(np.searchsorted(run.steps, lo, side="right")) - 1, 0)
            last = int(np.searchsorted(run.steps, hi, side="right"))
            pieces.append((optimizer.kind, first, max(last, first + 1)))
        return pieces

    def _kind_at(self, run, index: int) -> str:
        """The optimizer in force at saved step ``index``."""
        kinds = [kind for kind, first, last in self._phases(run) if first <= index < last]
        return kinds[-1] if kinds else self._phases(run)[-1][0]

    def _pieces(self, run, values: np.ndarray, shown: int):
        """Lines of ``values (n_saved, n_starts, ...)`` split where the optimizer changes, with its colour:
        ``(xs, ys_or_points, colors)`` for the first ``shown`` starts."""
        steps = run.steps.astype(float)
        xs, ys, colors = [], [], []
        for kind, first, last in self._phases(run):
            color = self.color_of(kind)
            for i in range(shown):
                xs.append(steps[first:last])
                ys.append(values[first:last, i])
                colors.append(color)
        return xs, ys, colors

    def _draw_paths(self):
        run, L = self.outcome.run, self.landscape
        if run is None:
            for src in (self.src_paths, self.src_ends, self.src_heads, self.src_paths1, self.src_ends1,
                        self.src_heads1, self.src_loss, self.src_sharp, self.src_edge):
                src.data = {k: [] for k in src.data}
            self.player.end, self.player.value = 1, 1
            return
        n = run.n_starts
        phases = self._phases(run)
        first_color, last_color = self.color_of(phases[0][0]), self.color_of(phases[-1][0])
        xs = run.xs.astype(float)
        marker = ["x" if st != "ok" else "circle" for st in run.status]
        if L.dim >= 2:
            paths_x, paths_y, colors = [], [], []
            for kind, first, last in phases:  # each piece of a path in the colour of the optimizer that drew it
                for i in range(n):
                    paths_x.append(xs[first:last, i, 0])
                    paths_y.append(xs[first:last, i, 1])
                    colors.append(self.color_of(kind))
            self.src_paths.data = dict(xs=paths_x, ys=paths_y, color=colors)
            self.src_ends.data = dict(x0=xs[0, :, 0], y0=xs[0, :, 1], x=xs[-1, :, 0], y=xs[-1, :, 1],
                                      color=[last_color] * n, marker=marker, start_color=[first_color] * n)
        else:
            with np.errstate(all="ignore"):
                f = L.value(xs)
            kinds = [self._kind_at(run, k) for k in range(len(xs))]
            self.src_paths1.data = dict(x=xs[..., 0].ravel(), y=f.ravel(),
                                        color=[self.color_of(kind) for kind in kinds for _ in range(n)])
            self.src_ends1.data = dict(x0=xs[0, :, 0], y0=f[0], x=xs[-1, :, 0], y=f[-1], color=[last_color] * n,
                                       marker=marker, start_color=[first_color] * n)
        shown = min(n, 100)  # more lines than this is noise in a curve plot
        loss, low, high = views.loss_for_display(run.loss)
        self.fig_loss.y_range.start, self.fig_loss.y_range.end = low, high
        self.src_loss.data = dict(zip(("xs", "ys", "color"), self._pieces(run, loss, shown)))
        self.src_sharp.data = dict(zip(("xs", "ys", "color"), self._pieces(run, self.outcome.lam, shown)))
        self.src_edge.data = self._edges(run)
        frames = min(len(run.steps) - 1, PLAYER_FRAMES)
        self._updating = True
        try:
            self.player.param.update(end=frames, value=frames)
        finally:
            self._updating = False
        self._draw_heads()

    def _edges(self, run):
        """The sharpness threshold of each phase's optimizer (``theory.sharpness_threshold``: GD's edge 2/eta, USAM's),
        as dashed lines over the phases that have one, in the optimizer's colour and named in the panel's legend."""
        from .. import theory

        edges = {"xs": [], "ys": [], "color": [], "text": []}
        for optimizer, lo, hi in theory.run_phases(run):
            found = theory.sharpness_threshold(optimizer)
            if found is None:
                continue
            _, text, level = found
            edges["xs"].append([float(lo), float(hi)])
            edges["ys"].append([level, level])
            edges["color"].append(self.color_of(optimizer.kind))
            edges["text"].append(f"{text} = {_fmt(level, 3)}")
        return edges

    def _frame_index(self, run) -> int:
        """The saved step the player's frame shows (frames spread evenly over the saved steps)."""
        frames = max(int(self.player.end), 1)
        frame = int(min(max(self.player.value, 0), frames))
        return int(round(frame * (len(run.steps) - 1) / frames))

    def _draw_heads(self):
        if self._updating or self.outcome is None or self.outcome.run is None:
            return
        run, L = self.outcome.run, self.landscape
        k = self._frame_index(run)
        heads = run.xs[k].astype(float)
        colors = [self.color_of(self._kind_at(run, k))] * run.n_starts
        self.player.label = f"step {int(run.steps[k])} of {int(run.steps[-1])}"
        if L.dim >= 2:
            self.src_heads.data = dict(x=heads[:, 0], y=heads[:, 1], color=colors)
        else:
            with np.errstate(all="ignore"):
                self.src_heads1.data = dict(x=heads[:, 0], y=L.value(heads), color=colors)

    def _draw_readout(self):
        outcome = self.outcome
        rows = outcome.rows()
        if not rows:
            self.readout.object = "<p class='readout-empty'>no starts: click the landscape, or add a grid</p>"
            return
        run = outcome.run
        head = (f"<p class='readout-head'>{html.escape(run.optimizer.describe())} on {html.escape(self.landscape.name)}"
                f", {int(run.steps[-1])} steps, seed {run.seed}, backend <span class='backend'>{run.backend}</span>"
                "</p>")
        body = []
        for row in rows[:READOUT_ROWS]:
            x = ",".join(repr(float(c)) for c in row["x"])
            body.append(
                f"<tr class='start-row' data-x='{x}'><td>{row['start']}</td><td>{_point(row['x0'], 6)}</td>"
                f"<td class='final'>{_point(row['x'])}</td><td>{_fmt(row['loss'], 6)}</td>"
                f"<td class='status'>{row['status']}</td><td class='fate'>{row['fate']}</td></tr>")
        more = (f"<p>... and {len(rows) - READOUT_ROWS} more starts (the export holds them all)</p>"
                if len(rows) > READOUT_ROWS else "")
        counts = {}
        for row in rows:
            counts[row["fate"]] = counts.get(row["fate"], 0) + 1
        summary = ", ".join(f"{v} {k}" for k, v in sorted(counts.items()))
        self.readout.object = (
            head + f"<p class='fates'>fates: {summary}</p>"
            "<table class='readout-table' style='font-family: monospace; font-size: 0.95em'>"
            "<tr><th>#</th><th>start</th><th>final point</th><th>loss</th><th>status</th><th>fate</th></tr>"
            + "".join(body) + "</table>" + more)

    def _show_stability(self, x):
        s = self.state
        try:
            numbers = stability_at(self.landscape, x, s.eta, s.rho)
        except ValueError as err:
            self.stability.object = html.escape(str(err))
            return
        lam = numbers["lambda_max"]
        verdict = lambda r: "stable" if r < 1 else "unstable"  # noqa: E731
        self.stability.object = (
            f"<div class='stability-numbers'><b>minimizer {_point(x, 5)}</b>, lambda_max = {_fmt(lam)}<br>"
            f"GD edge 2/lambda = {_fmt(numbers['gd_lr_edge'])} (eta = {_fmt(s.eta)}: "
            f"{'stable' if s.eta < numbers['gd_lr_edge'] else 'unstable'})<br>"
            f"USAM edge: stable for rho &lt;= {_fmt(numbers['usam_rho_edge'])} at this eta<br>"
            f"spectral radius of the update's Jacobian at eta = {_fmt(s.eta)}, rho = {_fmt(s.rho)}: "
            f"GD {_fmt(numbers['gd_radius'])} ({verdict(numbers['gd_radius'])}), "
            f"USAM {_fmt(numbers['usam_radius'])} ({verdict(numbers['usam_radius'])})<br>"
            f"<span class='sam-cycle'>{self._cycle_text(numbers['sam_cycle'])}</span></div>")

    def _cycle_text(self, cycle) -> str:
        """SAM at a minimizer, in words: it cannot rest there with rho > 0; the 2-cycle it bounces on instead."""
        s = self.state
        if cycle is None:
            return "SAM with rho = 0 is GD: it rests at the minimizer when GD does."
        intro = ("SAM cannot rest at a minimizer when rho &gt; 0: however close it gets, its ascent step is rho "
                 "long, so it is thrown across the valley and bounces on a 2-cycle around the minimizer instead. ")
        if isinstance(cycle, str):
            return intro + f"There is no isolated 2-cycle to compute here ({html.escape(cycle)})."
        if not bool(cycle.exists):
            return intro + (f"At eta = {_fmt(s.eta)}, rho = {_fmt(s.rho)} that cycle does not exist (eta too large "
                            "for this curvature, or rho past the cycle's fold): SAM leaves the minimizer.")
        a, b = cycle.points
        radius = float(cycle.spectral_radius)
        return intro + (f"The cycle at eta = {_fmt(s.eta)}, rho = {_fmt(s.rho)}: {_point(a, 4)} and {_point(b, 4)}; "
                        f"the spectral radius of its two-step Jacobian is {_fmt(radius)}: "
                        f"{'the cycle attracts' if radius < 1 else 'the cycle repels, SAM moves away'}.")

    # ------------------------------------------------------------------ exports
    def _png(self):
        import io

        return io.BytesIO(views.export_png(self.state, self.landscape, self.outcome, surrogate_search=self.search))

    def _npz(self):
        import io

        return io.BytesIO(views.export_npz(self.outcome))


def _session_state(base: ExplorerState) -> tuple[ExplorerState, list[str]]:
    """The state of a new session: ``base`` overridden by the page's query string, if any."""
    args = getattr(pn.state, "session_args", None) or {}
    return ExplorerState.from_query(args, base)  # a copy even without arguments: sessions share nothing


def app(landscape: str | None = None, *, max_work: float = DEFAULT_MAX_WORK, state: ExplorerState | None = None,
        **query):
    """The explorer as a Panel object: shown inline by a notebook, served per session by ``samscape explore``.

    ``landscape`` picks a catalog entry; other keywords are query parameters (``eta=0.5``, ``starts="2.5,0.3"``).
    """
    base = state or ExplorerState()
    problems: list[str] = []
    style = str(query.pop("style", "paper"))
    if landscape is not None or query:
        from .state import format_points

        if "starts" in query and not isinstance(query["starts"], str):
            query["starts"] = format_points(query["starts"])
        text = {k.replace("p_", "p.", 1) if k.startswith("p_") else k: str(v) for k, v in query.items()}
        if landscape is not None:
            text["landscape"] = landscape
        base, problems = ExplorerState.from_query(text, base)
    session, more = _session_state(base)
    args = getattr(pn.state, "session_args", None) or {}
    if "style" in args:  # the look is the page's, not the run's: it stays out of ExplorerState
        value = args["style"][-1]
        style = value.decode() if isinstance(value, bytes) else str(value)
    if style not in STYLES:
        more = [*more, f"style: must be one of {', '.join(STYLES)}, got {style[:40]!r}"]
        style = "paper"
    return Explorer(session, max_work=max_work, problems=problems + more, style=style).layout

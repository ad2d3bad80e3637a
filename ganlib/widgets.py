"""A live training dashboard: buttons, sliders and pictures attached to a Trainer.

Training runs as an asyncio task on the kernel's own event loop, in short chunks that yield
between them, so button clicks and slider moves are handled while it trains. Everything runs
on the kernel's main thread, so a control change can never land in the middle of a step.
"""
from __future__ import annotations

import asyncio
import base64
import io
import math
import time
import weakref
from collections.abc import Iterator
from typing import Callable, ClassVar

import ipywidgets as widgets
import matplotlib.axes
import numpy as np
import torch
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from . import validate
from .audio import SpectrogramCodec, wav_player
from .models import generate
from .plotting import EQUILIBRIUM_LOSSES, image_grid, smooth
from .training import SETTINGS, Control, Trainer

SampleDrawer = Callable[[matplotlib.axes.Axes, Trainer], None]


def draw_digit_grid(ax: matplotlib.axes.Axes, trainer: Trainer) -> None:
    """Draw the trainer's fixed-noise samples (28x28 in [-1, 1]) as a grid, eight per row."""
    samples = trainer.sample_fixed()
    ax.imshow(image_grid(samples[:64], ncols=8), cmap="gray_r", vmin=0, vmax=1, interpolation="nearest")
    ax.axis("off")


def draw_spectrogram_grid(ax: matplotlib.axes.Axes, trainer: Trainer, n: int = 10) -> None:
    """Draw the first `n` fixed-noise spectrograms, low frequencies at the bottom (digits 0-9 for a conditional GAN)."""
    samples = trainer.sample_fixed()[:n].flip(-2)
    ax.imshow(image_grid(samples, ncols=5, background=0.0), cmap="magma", vmin=0, vmax=1, aspect="auto",
              interpolation="nearest")
    ax.axis("off")
    if trainer.n_classes:
        ax.set_title(f"Digits 0-{n - 1} from fixed noise, step {trainer.step_count:,}")


def _png(fig: Figure) -> bytes:
    """Render a matplotlib figure to PNG bytes without pyplot (no global state, no display)."""
    buffer = io.BytesIO()
    FigureCanvasAgg(fig).print_png(buffer)
    return buffer.getvalue()


def widget_bundle(widget: widgets.Widget, name: str, picture: bytes | None = None, **kwargs) -> dict:
    """A widget's display data, with a text hint for where widgets cannot show (a saved, not yet run notebook) and,
    given a PNG `picture` of its state, that picture: GitHub, nbviewer and HTML exports show it instead."""
    bundle = widget._repr_mimebundle_(**kwargs)
    bundle["text/plain"] = f"[{name}: run this notebook's cells in JupyterLab (Run > Run All Cells) to use it]"
    if picture is not None:
        bundle["image/png"] = base64.b64encode(picture).decode("ascii")
    return bundle


CURVES = ("losses", "probabilities")


def show_picture(png: bytes) -> None:
    """Show a PNG as a cell output in a notebook (nothing elsewhere)."""
    try:
        from IPython import get_ipython
        from IPython.display import Image, display
    except ImportError:
        return
    if get_ipython() is not None:
        display(Image(data=png))


def _format_duration(seconds: float) -> str:
    """Seconds as m:ss."""
    minutes, secs = divmod(int(round(seconds)), 60)
    return f"{minutes}:{secs:02d}"


# Each control's key (a pair such as Adam's betas has one control per element: beta1, beta2) and its setting.
CONTROL_KEYS: dict[str, tuple[str, ...]] = {
    name: (name,) if len(setting.controls) == 1 else tuple(f"{name[:-1]}{i + 1}" for i in range(len(setting.controls)))
    for name, setting in SETTINGS.items() if setting.controls}
CONTROL_SETTING = {key: SETTINGS[name] for name, keys in CONTROL_KEYS.items() for key in keys}


def control_widget(control: Control, value: object, options: tuple[str, ...] = (), high: float | None = None,
                   integer: bool = False) -> widgets.Widget:
    """The widget a setting's Control asks for, showing `value` (`high` bounds a control without a maximum)."""
    common = dict(description=control.label, tooltip=control.tooltip)
    slider = dict(continuous_update=False, **common)
    high = control.high if control.high is not None else high
    if control.widget == "dropdown":
        return widgets.Dropdown(value=value, options=list(options), **common)
    if control.widget == "log_slider":
        exponents = dict(min=math.log10(control.low), max=math.log10(high), step=control.step)
        return widgets.FloatLogSlider(value=value, base=10, readout_format=".1e", **exponents, **slider)
    if control.widget == "int_slider":
        return widgets.IntSlider(value=value, min=control.low, max=high, **slider)
    if control.widget == "slider":
        decimals = max(0, -math.floor(math.log10(control.step)))
        return widgets.FloatSlider(value=value, min=control.low, max=high, step=control.step,
                                   readout_format=f".{decimals}f", **slider)
    if integer:
        return widgets.BoundedIntText(value=value, min=control.low, max=high, **common)
    return widgets.BoundedFloatText(value=value, min=control.low, max=high, step=control.step, **common)


def settings_controls(trainer: Trainer) -> dict[str, widgets.Widget]:
    """One widget per shown live setting of the trainer (see SETTINGS), keyed as in CONTROL_KEYS."""
    controls = {}
    for name, keys in CONTROL_KEYS.items():
        setting, value = SETTINGS[name], getattr(trainer, name)
        values = value if setting.kind == "pair" else (value,)
        for key, control, element in zip(keys, setting.controls, values):
            controls[key] = control_widget(control, element, setting.choices, high=len(trainer.data),
                                           integer=setting.kind == "int")
    return controls


class TrainingDashboard:
    """Start, Pause, Step and Stop a Trainer, steer its hyperparameters, and watch it learn.

    `steps` is the length of a run that Start begins; `run(steps)` trains the same way without a
    browser. `curves` picks the left plot: the losses, or D's mean outputs D(x) and D(G(z)) ("probabilities"),
    each with its equilibrium value drawn for the standard GAN's losses; a toggle above the plots (or `show_curves`)
    switches it at any time. The step counter and status update every `counter_seconds`. While training runs, the pictures
    are redrawn only while drawing them stays within `redraw_share` of the time since Start (or `run`), at
    most every `min_redraw_seconds`, and at least every `max_redraw_seconds` whatever drawing costs.
    """

    # Dashboards that exist, so that starting one pauses the others: two runs would fight for the CPU.
    _instances: ClassVar[weakref.WeakSet] = weakref.WeakSet()

    def __init__(self, trainer: Trainer, steps: int = 2000, *, metric: str | None = "IS",
                 draw_samples: SampleDrawer = draw_digit_grid, chunk_seconds: float = 0.05,
                 min_redraw_seconds: float = 0.5, max_redraw_seconds: float = 10.0, redraw_share: float = 0.05,
                 counter_seconds: float = 0.25, samples_figsize: tuple[float, float] = (4.0, 4.2),
                 curves: str = "losses"):
        if not isinstance(trainer, Trainer):
            raise TypeError(f"TrainingDashboard: `trainer` must be a ganlib.Trainer, got {type(trainer).__name__}")
        self._check_steps("steps", steps)
        for name, value in (("chunk_seconds", chunk_seconds), ("min_redraw_seconds", min_redraw_seconds),
                            ("max_redraw_seconds", max_redraw_seconds), ("counter_seconds", counter_seconds)):
            if not isinstance(value, (int, float)) or value <= 0:
                raise ValueError(f"TrainingDashboard: `{name}` must be a positive number, got {value!r}")
        if not 0 < redraw_share < 1:
            raise ValueError(f"TrainingDashboard: `redraw_share` must be in (0, 1), got {redraw_share!r}")
        if curves not in CURVES:
            raise ValueError(f"TrainingDashboard: `curves` must be one of {list(CURVES)}, got {curves!r}")
        if max_redraw_seconds < min_redraw_seconds:
            raise ValueError(f"TrainingDashboard: `max_redraw_seconds` ({max_redraw_seconds!r}) must be at least "
                             f"`min_redraw_seconds` ({min_redraw_seconds!r})")
        self.trainer, self.steps, self.metric, self.draw_samples = trainer, steps, metric, draw_samples
        self.chunk_seconds, self.min_redraw_seconds, self.redraw_share = chunk_seconds, min_redraw_seconds, redraw_share
        self.max_redraw_seconds, self.curves_shown = max_redraw_seconds, curves
        self.displayed = False  # shown in a notebook: then a headless `run` ends with a picture of its final state
        self.counter_seconds, self.samples_figsize = counter_seconds, samples_figsize
        self.state = "ready"  # ready -> running <-> paused -> stopped
        self.error: BaseException | None = None
        self.timing = {"train": 0.0, "redraw": 0.0, "counters": 0.0}  # seconds spent in each, over the dashboard's life
        # The same since training last started or resumed: the redraw budget. Over the dashboard's life instead,
        # redraws made while idle (at creation, at each Pause) would starve the pictures of the next run.
        self._since_start = {"train": 0.0, "redraw": 0.0}
        self.redraws = 0
        self.redraw_costs: list[float] = []  # seconds per picture redraw, for measuring the dashboard
        self._task: asyncio.Task | None = None
        self._run_start_step = trainer.step_count
        self._goal = trainer.step_count
        self._run_seconds = 0.0  # wall seconds of the current run while it was training or redrawing
        self._last_redraw_end = self._last_counters_end = -float("inf")
        self._last_redraw_cost = 0.0
        self._build_widgets()
        self.redraw()
        TrainingDashboard._instances.add(self)

    def _pause_others(self) -> None:
        """Pause any other dashboard that is training (for example one from a cell run earlier)."""
        for other in list(TrainingDashboard._instances):
            if other is not self and other.state == "running":
                other.pause()

    # --- widgets -------------------------------------------------------------------------
    def _build_widgets(self) -> None:
        """Create the buttons, controls and displays, and wire them to the trainer."""
        t = self.trainer
        self.buttons = {name: widgets.Button(description=name, icon=icon, layout=widgets.Layout(width="90px"))
                        for name, icon in (("Start", "play"), ("Pause", "pause"), ("Step", "step-forward"),
                                           ("Stop", "stop"))}
        for name, action in (("Start", self.start), ("Pause", self.pause), ("Step", self.step),
                             ("Stop", self.stop)):
            self.buttons[name].on_click(lambda _button, action=action: action())
        self.controls = settings_controls(t)
        self.controls["noise_seed"] = widgets.BoundedIntText(value=0, min=0, max=2**31 - 1, description="noise seed")
        for name, control in self.controls.items():
            control.style.description_width = "70px"
            control.observe(lambda change, name=name: self._on_control(name, change["new"]), "value")
        if t.optimizer != "adam":
            for name in CONTROL_KEYS["betas"]:
                self.controls[name].disabled = True
        self.step_label = widgets.Label(layout=widgets.Layout(width="110px")).add_class("ganlib-step")
        self.progress = widgets.IntProgress(min=0, max=self.steps, layout=widgets.Layout(width="260px"))
        self.status = widgets.HTML().add_class("ganlib-status")
        self.curves = widgets.Image(format="png", layout=widgets.Layout(width="560px")).add_class("ganlib-curves")
        self.curves_choice = widgets.ToggleButtons(options=[("losses", "losses"), ("D(x) and D(G(z))", "probabilities")],
                                                   value=self.curves_shown, description="left plot",
                                                   style={"button_width": "130px"})
        self.curves_choice.observe(lambda change: self.show_curves(change["new"]), "value")
        self.samples = widgets.Image(format="png", layout=widgets.Layout(width=f"{round(self.samples_figsize[0] * 72)}px"))
        self.samples.add_class("ganlib-samples")
        self.widget = widgets.VBox([
            widgets.HBox(list(self.buttons.values()) + [self.step_label, self.progress]),
            self.status,
            widgets.HBox([widgets.VBox(list(self.controls.values())[start:start + 4]) for start in (0, 4, 8)]),
            self.curves_choice,
            widgets.HBox([self.curves, self.samples]),
        ]).add_class("ganlib-dashboard")
        self._update_buttons()

    def _repr_mimebundle_(self, **kwargs) -> dict:
        """Show the live widget; where widgets cannot show, a picture of its state and a hint say what it is."""
        self.displayed = True
        return widget_bundle(self.widget, "Training dashboard", picture=self.picture(), **kwargs)

    def picture(self) -> bytes:
        """A PNG of the dashboard's pictures as they are now: curves, sample quality and samples."""
        return _png(self.figure())

    def figure(self) -> Figure:
        """The dashboard's pictures as one static figure (curves, sample quality, samples), for reading anywhere."""
        width, height = self.samples_figsize
        fig = Figure(figsize=(7.5 + width, max(2.8, height * 0.8)), dpi=72)
        curves_ax, metric_ax, samples_ax = fig.subplots(1, 3, width_ratios=(1, 1, width / 3.5))
        self._draw_curves(curves_ax)
        self._draw_metric(metric_ax)
        self._draw_samples(samples_ax)
        fig.subplots_adjust(left=0.06, right=0.99, bottom=0.15, top=0.88, wspace=0.3)
        return fig

    def _update_buttons(self) -> None:
        """Enable only the buttons that make sense in the current state."""
        running = self.state == "running"
        self.buttons["Start"].disabled = running
        self.buttons["Pause"].disabled = not running
        self.buttons["Stop"].disabled = self.state in ("ready", "stopped")

    # --- controls ----------------------------------------------------------------------
    def set(self, **values: float | int | str) -> None:
        """Set controls by name (see `controls`: lr_g, lr_d, beta1, ..., gradient_penalty, clip_weights); bad values raise."""
        for name, value in values.items():
            if name not in self.controls:
                raise ValueError(f"TrainingDashboard.set: unknown control `{name}`; choose from {list(self.controls)}")
            control = self.controls[name]
            if isinstance(control, widgets.Dropdown):
                if value not in control.options:
                    raise ValueError(f"TrainingDashboard: `{name}` must be one of {list(control.options)}, got {value!r}")
            else:
                low, high = self._bounds(control)
                if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
                    raise ValueError(f"TrainingDashboard: `{name}` must be a number in [{low:g}, {high:g}], got {value!r}")
            self._apply(name, value)  # raises the trainer's own error for anything it refuses
            control.value = value

    @staticmethod
    def _bounds(control: widgets.Widget) -> tuple[float, float]:
        """The range a slider or bounded text box allows."""
        if isinstance(control, widgets.FloatLogSlider):
            return control.base ** control.min, control.base ** control.max
        return control.min, control.max

    def _apply(self, name: str, value: float | int | str) -> None:
        """Pass one control's value to the trainer (a pair's control, such as beta2, sets its element)."""
        t = self.trainer
        if name == "noise_seed":
            t.set_fixed_noise_seed(int(value))
            return
        setting = CONTROL_SETTING[name]
        if setting.kind == "pair":
            pair = list(getattr(t, setting.name))
            pair[CONTROL_KEYS[setting.name].index(name)] = float(value)
            value = tuple(pair)
        t.set_hyperparameters(**{setting.name: value})

    def _on_control(self, name: str, value: float | int | str) -> None:
        """A control moved in the browser: apply it now; the next step uses it."""
        try:
            self._apply(name, value)
        except (ValueError, TypeError) as error:
            self._show_message(str(error), error=True)
            return
        if name == "noise_seed" and self.state != "running":
            self.redraw()

    # --- running -------------------------------------------------------------------------
    @staticmethod
    def _check_steps(name: str, steps: int) -> None:
        """Step counts are positive ints."""
        if not isinstance(steps, int) or isinstance(steps, bool) or steps <= 0:
            raise ValueError(f"TrainingDashboard: `{name}` must be a positive int, got {steps!r}")

    def _begin_run(self, steps: int, resume: bool = True) -> None:
        """Set the goal of a new run, unless `resume` and a paused run is waiting to be resumed."""
        if resume and self.state == "paused" and self.trainer.step_count < self._goal:
            return
        self._run_start_step, self._goal, self._run_seconds = self.trainer.step_count, self.trainer.step_count + steps, 0.0
        self.progress.max = steps
        self.error = None
        self.trainer.record_extras()  # metrics and a snapshot at the start, as Trainer.train does

    def _set_running(self) -> None:
        """Training starts or resumes: the redraw budget starts afresh."""
        self.state = "running"
        self._since_start = {"train": 0.0, "redraw": 0.0}
        self._update_buttons()

    def _train_chunk(self) -> None:
        """Train until the chunk's time is used up or the goal is reached."""
        tick = time.perf_counter()
        while self.trainer.step_count < self._goal and time.perf_counter() - tick < self.chunk_seconds:
            self.trainer.advance()
        elapsed = time.perf_counter() - tick
        self.timing["train"] += elapsed
        self._since_start["train"] += elapsed
        self._run_seconds += elapsed

    def _maybe_redraw(self) -> None:
        """Redraw the pictures when allowed (see the class docstring); otherwise maybe just the counters."""
        now = time.perf_counter()
        expected = self._last_redraw_cost  # the next redraw will cost about what the last one did
        spent = self._since_start["redraw"] + expected
        within_budget = spent <= self.redraw_share * (self._since_start["train"] + spent)
        since_redraw = now - self._last_redraw_end
        if since_redraw >= self.max_redraw_seconds or (since_redraw >= self.min_redraw_seconds and within_budget):
            self.redraw()
        elif now - self._last_counters_end >= self.counter_seconds:
            self._update_counters()
            self._count_drawing_time(self._last_counters_end - now, "counters")

    def _end_run(self) -> None:
        """The goal is reached or Stop was pressed: flush logs, take final metrics, redraw."""
        self.trainer.finish()
        self.state = "stopped"
        self.redraw()

    def run(self, steps: int | None = None, *, until_step: int | None = None) -> Trainer:
        """Train right here, blocking, as pressing Start does but without a browser: with no argument, resume a
        paused (or interrupted) run or start one of the dashboard's `steps`; with `steps`, a new run of that many.

        With `until_step`, train only until the trainer reaches that step, and not at all if it is there already:
        a notebook cell that does this can be re-run without training on. A dashboard shown in a notebook ends
        with a picture of its state, so that the saved notebook shows the result where widgets cannot show.
        """
        resume = steps is None and until_step is None
        if until_step is not None:
            if steps is not None:
                raise ValueError("TrainingDashboard.run: give `steps` or `until_step`, not both")
            validate.integer(until_step, "until_step", "TrainingDashboard.run", low=0)
            if self.trainer.step_count >= until_step:
                return self._show_final_picture()
            steps = until_step - self.trainer.step_count
        steps = self.steps if steps is None else steps
        self._check_steps("steps", steps)
        if self.state == "running":
            raise RuntimeError("TrainingDashboard.run: training is already running; press Pause or Stop first")
        self._pause_others()
        try:  # from the first change of state on: an interrupt anywhere leaves a paused dashboard
            self._begin_run(steps, resume)
            self._set_running()
            for _ in self._chunks():
                pass
        except KeyboardInterrupt:
            self._interrupted()
            raise
        except BaseException as error:
            self._fail(error)
            raise
        return self._show_final_picture()

    def _show_final_picture(self) -> Trainer:
        """After a headless run of a dashboard shown in a notebook: a picture of where it ended, for any reader."""
        if self.displayed:
            show_picture(self.picture())
        return self.trainer

    def _chunks(self) -> Iterator[None]:
        """The one run loop, shared by `run` and Start's background task: a chunk of training, a redraw when due,
        then a pause point (yield) between chunks; the end of the run when the goal is reached."""
        while self.trainer.step_count < self._goal:
            self._train_chunk()
            self._maybe_redraw()
            yield
        self._end_run()

    def start(self) -> asyncio.Task:
        """Train in the background on the running event loop (Jupyter's); resumes a paused run."""
        if self.state == "running":
            return self._task
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            raise RuntimeError("TrainingDashboard.start needs a running event loop, as in Jupyter; "
                               "in a script call dashboard.run(steps) instead") from None
        self._pause_others()
        self._begin_run(self.steps)
        self._set_running()
        self._task = loop.create_task(self._train_in_background())
        return self._task

    async def _train_in_background(self) -> None:
        """Chunks of training with a yield to the event loop after each, so the kernel stays responsive."""
        try:
            for _ in self._chunks():
                await asyncio.sleep(0)
        except asyncio.CancelledError:  # Pause or Stop: the trainer is between steps, so nothing is half done
            raise
        except KeyboardInterrupt:  # "Interrupt kernel" while the task trained: pause, as the Pause button does
            self._interrupted()
        except Exception as error:  # shown on the dashboard; a background task has nobody else to tell
            self._fail(error)
        finally:
            if self._task is asyncio.current_task():
                self._task = None

    def pause(self) -> None:
        """Stop training after the current step; Start resumes the same run."""
        if self.state != "running":
            return
        if self._task is not None:
            self._task.cancel()
            self._task = None
        self.state = "paused"
        self.redraw()

    def step(self) -> None:
        """Exactly one training iteration (pausing first if training runs)."""
        self.pause()
        if self.state != "paused" or self.trainer.step_count >= self._goal:
            self._run_start_step, self._goal, self._run_seconds = self.trainer.step_count, self.trainer.step_count + 1, 0.0
            self.progress.max = 1
        tick = time.perf_counter()
        self.trainer.advance()
        self._run_seconds += time.perf_counter() - tick
        self.state = "paused"
        self.redraw()

    def stop(self) -> None:
        """End the run cleanly: no task is left, logs are flushed and final metrics taken."""
        self.pause()
        if self.state == "paused":
            self._end_run()

    def _interrupted(self) -> None:
        """An interrupt (Ctrl-C, "Interrupt kernel") stopped training: pause, so that Start or `run` goes on."""
        self.state, self._task = "paused", None
        self._show_message(f"interrupted at step {self.trainer.step_count:,}: press Start (or call run) to go on")
        self._update_buttons()

    def _fail(self, error: BaseException) -> None:
        """Show why training stopped."""
        self.error, self.state, self._task = error, "stopped", None
        self._show_message(f"training stopped: {type(error).__name__}: {error}", error=True)
        self._update_buttons()

    # --- drawing -----------------------------------------------------------------------
    def _show_message(self, text: str, error: bool = False) -> None:
        """One line of status under the buttons."""
        color = "#b00020" if error else "#333"
        self.status.value = f"<span style='color:{color}'>{text}</span>"

    def _status_text(self) -> str:
        """Steps per second, ETA and the latest losses."""
        done = self.trainer.step_count - self._run_start_step
        rate = done / self._run_seconds if self._run_seconds > 0 else 0.0
        left = max(0, self._goal - self.trainer.step_count)
        eta = _format_duration(left / rate) if rate > 0 and left else "–"
        history = self.trainer.history
        losses = (f" · loss D {history['loss_d'][-1]:.3f}, loss G {history['loss_g'][-1]:.3f}"
                  if history["loss_d"] else "")
        return f"{self.state} · {rate:.0f} steps/s · ETA {eta}{losses}"

    def redraw(self) -> None:
        """Update the counter and status, and draw the curves and samples anew (costly: at a bounded rate)."""
        tick = time.perf_counter()
        self._update_counters()
        self.curves.value = _png(self._curves_figure())
        self.samples.value = _png(self._samples_figure())
        self.redraws += 1
        self._last_redraw_end = time.perf_counter()
        self._last_redraw_cost = self._last_redraw_end - tick
        self.redraw_costs.append(self._last_redraw_cost)
        self._count_drawing_time(self._last_redraw_cost, "redraw")

    def show_curves(self, curves: str) -> None:
        """Draw the losses ("losses") or D's mean outputs D(x) and D(G(z)) ("probabilities") in the left plot."""
        if curves not in CURVES:
            raise ValueError(f"TrainingDashboard.show_curves: `curves` must be one of {list(CURVES)}, got {curves!r}")
        self.curves_shown = self.curves_choice.value = curves
        self.curves.value = _png(self._curves_figure())

    def _update_counters(self) -> None:
        """The cheap part of a redraw: step counter, progress bar, status line and buttons."""
        self.trainer.flush()  # the loss curves and status should reach the current step
        self.step_label.value = f"step {self.trainer.step_count:,}"
        self.progress.value = min(self.progress.max, self.trainer.step_count - self._run_start_step)
        if self.error is None:
            self._show_message(self._status_text())
        self._update_buttons()
        self._last_counters_end = time.perf_counter()

    def _count_drawing_time(self, seconds: float, kind: str) -> None:
        """Book time spent updating the display (`kind` "redraw" or "counters"), so that steps/s stay honest."""
        self.timing[kind] += seconds
        if self.state == "running":
            self._run_seconds += seconds
            if kind == "redraw":
                self._since_start["redraw"] += seconds

    def _curves_figure(self) -> Figure:
        """Loss curves (smoothed) and the quality metric over training."""
        fig = Figure(figsize=(7.5, 2.8), dpi=72)
        loss_ax, metric_ax = fig.subplots(1, 2)
        self._draw_curves(loss_ax)
        self._draw_metric(metric_ax)
        fig.subplots_adjust(left=0.09, right=0.98, bottom=0.17, top=0.9, wspace=0.3)  # tight_layout costs a redraw
        return fig

    def _draw_curves(self, ax: matplotlib.axes.Axes) -> None:
        """The losses, or D(x) and D(G(z)), smoothed, with their equilibrium values for the standard losses."""
        history = self.trainer.history
        window = max(1, len(history["loss_d"]) // 50)
        if self.curves_shown == "losses":
            keys, title, ylabel = (("loss_d", "discriminator"), ("loss_g", "generator")), "Losses", "loss"
            equilibrium = EQUILIBRIUM_LOSSES.get(self.trainer.g_loss, {})
        else:
            keys, title, ylabel = (("d_real", "D(x), real"), ("d_fake", "D(G(z)), fake")), "D's outputs", "D"
            equilibrium = {}
            if self.trainer.g_loss in EQUILIBRIUM_LOSSES:  # both settle at 1/2: one line for the two
                ax.axhline(0.5, color="grey", ls=":", lw=1, label="equilibrium 1/2")
        for key, label in keys:
            curve = smooth(history[key], window) if history[key] else np.array([])
            line, = ax.plot(np.arange(len(curve)) + window // 2, curve, label=label)
            if key in equilibrium:
                ax.axhline(equilibrium[key], color=line.get_color(), ls=":", lw=1,
                           label=f"equilibrium {equilibrium[key]:.3g}")
        ax.set(title=title, xlabel="training step", ylabel=f"{ylabel} (mean of {window})")
        ax.legend(loc="upper right", fontsize=7)

    def _draw_metric(self, metric_ax: matplotlib.axes.Axes) -> None:
        """The quality metric over training."""
        metrics = self.trainer.metrics
        if self.metric and metrics.get(self.metric):
            metric_ax.plot(metrics["step"], metrics[self.metric], "o-", color="tab:green", label=self.metric)
            metric_ax.legend(loc="lower right", fontsize=8)
        else:
            metric_ax.text(0.5, 0.5, "no metric yet", ha="center", va="center", transform=metric_ax.transAxes)
        metric_ax.ticklabel_format(axis="y", useOffset=False)
        metric_ax.set(title=f"Sample quality ({self.metric or 'none'})", xlabel="training step", ylabel=self.metric or "")

    def _draw_samples(self, ax: matplotlib.axes.Axes) -> None:
        """The generator's output on the fixed noise (or whatever `draw_samples` draws), with a title."""
        self.draw_samples(ax, self.trainer)
        if not ax.get_title():
            ax.set_title(f"Samples from fixed noise, step {self.trainer.step_count:,}")

    def _samples_figure(self) -> Figure:
        """The generator's output on the fixed noise (or whatever `draw_samples` draws)."""
        fig = Figure(figsize=self.samples_figsize, dpi=72)
        ax = fig.subplots()
        self._draw_samples(ax)
        if ax.axison:  # a plot with axes (2-D points) needs room for its labels; an image grid does not
            fig.subplots_adjust(left=0.13, right=0.97, bottom=0.1, top=0.93)
        else:
            fig.subplots_adjust(left=0.02, right=0.98, bottom=0.02, top=0.92)
        return fig

    @property
    def redraw_fraction(self) -> float:
        """Share of the dashboard's working time spent redrawing the pictures."""
        total = sum(self.timing.values())
        return self.timing["redraw"] / total if total else 0.0


class DigitPicker:
    """Ask a conditional spectrogram generator for a digit and a voice (noise seed); see and hear the result."""

    def __init__(self, generator: torch.nn.Module, codec: SpectrogramCodec):
        if not getattr(generator, "n_classes", None):
            raise ValueError("DigitPicker: `generator` must be conditional (have `n_classes`)")
        self.generator, self.codec = generator, codec
        self.digit = widgets.ToggleButtons(options=list(range(generator.n_classes)), description="digit",
                                           style={"button_width": "32px"})
        self.voice = widgets.IntSlider(value=0, min=0, max=99, description="noise seed")
        self.picture = widgets.Image(format="png")
        self.sound = widgets.Audio(format="wav", autoplay=False, loop=False)
        self.digit.observe(lambda _: self.show(), names="value")
        self.voice.observe(lambda _: self.show(), names="value")
        self.widget = widgets.VBox([self.digit, self.voice, self.picture, self.sound])
        self.show()

    def generate(self, digit: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
        """The spectrogram image [1, 1, H, W] and waveform [1, samples] for a digit and noise seed."""
        if not 0 <= digit < self.generator.n_classes:
            raise ValueError(f"DigitPicker: `digit` must be in 0..{self.generator.n_classes - 1}, got {digit!r}")
        z = torch.randn(1, self.generator.latent_dim, generator=torch.Generator().manual_seed(seed))
        image = generate(self.generator, z, torch.tensor([digit]))
        return image, self.codec.decode(self.codec.from_image(image))

    def show(self) -> None:
        """Redraw for the selected digit and seed."""
        image, wave = self.generate(self.digit.value, self.voice.value)
        fig = Figure(figsize=(3.2, 2.6), dpi=72)
        ax = fig.subplots()
        ax.imshow(image[0, 0].numpy(), origin="lower", aspect="auto", cmap="magma", vmin=-1, vmax=1)
        ax.set(title=f"generated '{self.digit.value}', seed {self.voice.value}", xlabel="frame", ylabel="frequency bin")
        fig.tight_layout()
        self.picture.value = _png(fig)
        self.sound.value = wav_player(wave[0]).data

    def _repr_mimebundle_(self, **kwargs) -> dict:
        """The live picker; where widgets cannot show, the picture of the current digit and a hint."""
        return widget_bundle(self.widget, "DigitPicker", picture=self.picture.value, **kwargs)

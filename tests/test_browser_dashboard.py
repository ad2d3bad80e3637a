"""The training dashboard in a real browser: JupyterLab runs notebook 02, then we click Start and Pause.

What a student does, step by step: open the notebook in JupyterLab, Run → Run All Cells, scroll to
the dashboard, press Start and watch the step counter and the samples move, press Pause and see
them stop. The test starts its own JupyterLab server (local only, random port and token, on a
temporary copy of the notebook, so autosave never touches the repo) and drives headless Chromium
with Playwright. It needs Debian's Chromium at /usr/bin/chromium (never `playwright install`).

It leaves in artifacts/ (not in git): dashboard_mid_training.png, a screenshot of the dashboard
after Start; notebook_at_end.png, the browser's last view (also when the test fails); and
jupyter_server.log.
"""
from __future__ import annotations

import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Callable, Iterator

import pytest

REPO = Path(__file__).resolve().parents[1]
NOTEBOOK = REPO / "notebooks" / "02_mnist_mlp_gan.ipynb"
ARTIFACTS = REPO / "artifacts"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]
RUN_ALL_TIMEOUT_S = 900  # the whole notebook in quick mode: 1-2 minutes on a 2-core CPU, more on a busy one
TRAINING_TIMEOUT_S = 60  # for the dashboard to show progress after Start
WIDGET_ERROR = "Error displaying widget"

if not CHROMIUM.exists():
    pytest.skip(f"{CHROMIUM} not found; install it with `apt-get install chromium chromium-driver`",
                allow_module_level=True)
sync_api = pytest.importorskip(
    "playwright.sync_api", reason="the Python package playwright is missing; `pip install -r requirements.txt` "
                                  "(and `apt-get install chromium chromium-driver`; never `playwright install`)")
pytest.importorskip("jupyterlab", reason="jupyterlab is missing; `pip install -r requirements.txt`")
psutil = pytest.importorskip("psutil", reason="psutil (installed with ipykernel) is missing")


# --- the JupyterLab server -------------------------------------------------------------------
def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def server_answers(url: str) -> bool:
    """Whether the Jupyter server at `url` (with its token) answers an API request."""
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def write_lab_settings(settings_dir: Path) -> None:
    """JupyterLab user settings: every cell in the DOM, and no news or update checks (no network)."""
    settings = {"notebook-extension/tracker": '{"windowingMode": "none"}',
                "apputils-extension/notification": '{"fetchNews": "false", "checkForUpdates": false}'}
    for name, text in settings.items():
        path = settings_dir / "@jupyterlab" / f"{name}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def stop_server(process: subprocess.Popen, base_url: str, token: str) -> None:
    """Shut the server down cleanly (kernels included), then kill whatever it left behind."""
    leftovers = psutil.Process(process.pid).children(recursive=True) if process.poll() is None else []
    try:
        request = urllib.request.Request(f"{base_url}/api/shutdown", method="POST",
                                         headers={"Authorization": f"token {token}"})
        urllib.request.urlopen(request, timeout=10).close()
        process.wait(timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        process.kill()
        process.wait(timeout=10)
    for child in leftovers:  # kernels run in their own sessions, so they need their own check
        try:
            child.wait(timeout=10)
        except psutil.TimeoutExpired:
            child.kill()
        except psutil.NoSuchProcess:
            pass


@pytest.fixture
def lab_url(tmp_path: Path) -> Iterator[str]:
    """A private JupyterLab on a copy of notebook 02; yields the notebook's URL (with the token)."""
    root = tmp_path / "notebooks"
    root.mkdir()
    shutil.copy(NOTEBOOK, root / NOTEBOOK.name)
    write_lab_settings(tmp_path / "lab-settings")
    port, token = free_port(), secrets.token_hex(24)
    base_url = f"http://127.0.0.1:{port}"
    env = dict(os.environ, GANLIB_QUICK="1",  # GANLIB_DATA passes through to the kernel unchanged
               JUPYTER_CONFIG_DIR=str(tmp_path / "config"), JUPYTER_DATA_DIR=str(tmp_path / "data"),
               JUPYTER_RUNTIME_DIR=str(tmp_path / "runtime"),
               JUPYTERLAB_SETTINGS_DIR=str(tmp_path / "lab-settings"),
               JUPYTERLAB_WORKSPACES_DIR=str(tmp_path / "lab-workspaces"))
    command = [sys.executable, "-m", "jupyterlab", "--no-browser", "--allow-root",
               "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
               f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
               "--LabApp.news_url=None", "--LabApp.extension_manager=readonly",
               "--LabApp.check_for_updates_class=jupyterlab.handlers.announcements.NeverCheckForUpdate"]
    log_path = tmp_path / "jupyter.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 120
        while not server_answers(f"{base_url}/api/status?token={token}"):
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"JupyterLab did not start; its log:\n{log_path.read_text()[-3000:]}")
            time.sleep(0.5)
        yield f"{base_url}/lab/tree/{NOTEBOOK.name}?token={token}"
    finally:
        stop_server(process, base_url, token)
        ARTIFACTS.mkdir(exist_ok=True)
        shutil.copy(log_path, ARTIFACTS / "jupyter_server.log")


def save_screenshot(page: sync_api.Page, path: Path) -> None:
    """Save what the browser shows, if it still can."""
    path.parent.mkdir(exist_ok=True)
    try:
        page.screenshot(path=path)
    except sync_api.Error as error:
        print(f"no screenshot {path.name}: {error}")


@pytest.fixture
def page(lab_url: str) -> Iterator[sync_api.Page]:
    """A headless Chromium page; Playwright gives the browser a fresh temporary profile."""
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_FLAGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.set_default_timeout(30_000)
            yield page
            save_screenshot(page, ARTIFACTS / "notebook_at_end.png")  # also when the test failed
        finally:
            browser.close()


# --- what the student sees --------------------------------------------------------------------
def wait_until(condition: Callable[[], bool], timeout_s: float, message: Callable[[], str],
               poll_s: float = 0.25) -> None:
    """Poll `condition` until it is true; fail with `message()` after `timeout_s` seconds."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(message())
        time.sleep(poll_s)


def kernel_status(page: sync_api.Page) -> str:
    """The notebook toolbar's kernel status: 'no kernel' (yet), then initializing, idle, busy, ..."""
    name, indicator = page.locator(".jp-KernelName"), page.locator(".jp-Notebook-ExecutionIndicator")
    if not name.count() or not indicator.count() or name.first.inner_text().strip() in ("", "No Kernel"):
        return "no kernel"
    return indicator.first.get_attribute("data-status") or "unknown"


def cell_prompts(page: sync_api.Page) -> list[str]:
    """The prompt of every code cell: '[12]:' once run, '[*]:' while queued or running, '[ ]:' before."""
    return page.locator(".jp-CodeCell .jp-InputArea-prompt").evaluate_all(
        "nodes => nodes.map(node => node.textContent.trim())")


def error_outputs(page: sync_api.Page) -> str:
    """The text of every output that looks like a Python traceback (for failure messages)."""
    texts = page.locator(".jp-OutputArea-output").evaluate_all("nodes => nodes.map(node => node.textContent)")
    return "\n---\n".join(text[-1500:] for text in texts if "Traceback" in text or "Error" in text)


def assert_no_widget_errors(page: sync_api.Page, when: str) -> None:
    """No widget on the page failed to render (ipywidgets then shows 'Error displaying widget')."""
    text = page.evaluate("document.body.textContent")
    assert WIDGET_ERROR not in text, f"'{WIDGET_ERROR}' on the page {when}"


def run_all_cells(page: sync_api.Page) -> None:
    """Run → Run All Cells, from JupyterLab's menu bar."""
    page.locator("#jp-MainMenu .lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).click()
    page.locator(".lm-Menu-item:visible", has_text=re.compile(r"^Run All Cells")).first.click()


def wait_for_run_all(page: sync_api.Page, timeout_s: float) -> None:
    """Wait until every code cell has run and the kernel is idle; fail early if a cell raised."""
    # A notebook saved with outputs shows '[12]:' prompts before it runs, so first see the run begin.
    wait_until(lambda: "[*]:" in cell_prompts(page), 30, lambda: f"Run All did not start: {cell_prompts(page)}")
    stalled_since: float | None = None

    def finished() -> bool:
        nonlocal stalled_since
        prompts, status = cell_prompts(page), kernel_status(page)
        if status in ("dead", "restarting", "autorestarting", "terminating"):
            pytest.fail(f"the kernel died during Run All (status {status!r}); prompts {prompts}")
        if prompts and all(re.fullmatch(r"\[\d+\]:", p) for p in prompts) and status == "idle":
            return True
        if status == "idle" and "[*]:" not in prompts:  # nothing queued, yet some cells never ran
            stalled_since = stalled_since or time.monotonic()
            if time.monotonic() - stalled_since > 10:
                pytest.fail(f"Run All stopped early; prompts {prompts}\nerrors:\n{error_outputs(page)}")
        else:
            stalled_since = None
        return False

    wait_until(finished, timeout_s, poll_s=1.0, message=lambda: (
        f"Run All did not finish in {timeout_s} s; kernel {kernel_status(page)}, prompts {cell_prompts(page)}"))


def step_count(page: sync_api.Page) -> int:
    """The dashboard's step counter ('step 1,234') as an int."""
    text = page.locator(".ganlib-step").inner_text()
    match = re.search(r"step ([\d,]+)", text)
    assert match, f"unexpected step counter text {text!r}"
    return int(match.group(1).replace(",", ""))


def samples_src(page: sync_api.Page) -> str:
    """The src of the fixed-noise samples picture; it changes whenever the picture is redrawn."""
    return page.locator("img.ganlib-samples").get_attribute("src") or ""


def status_text(page: sync_api.Page) -> str:
    """The dashboard's status line (state, steps/s, ETA, losses)."""
    return page.locator(".ganlib-status").inner_text()


def click_button(page: sync_api.Page, name: str) -> None:
    """Click one of the dashboard's buttons (Start, Pause, Step, Stop)."""
    button = page.locator(".ganlib-dashboard button", has_text=re.compile(rf"^\s*{name}\s*$"))
    button.click()


# --- the test ------------------------------------------------------------------------------
def test_dashboard_trains_after_start_and_stops_after_pause(page: sync_api.Page, lab_url: str) -> None:
    page.goto(lab_url)
    wait_until(lambda: kernel_status(page) == "idle", 120,
               lambda: f"the notebook's kernel did not become idle; status {kernel_status(page)!r}")
    assert_no_widget_errors(page, "after opening the notebook")

    run_all_cells(page)
    wait_for_run_all(page, RUN_ALL_TIMEOUT_S)
    assert_no_widget_errors(page, "after Run All")

    dashboard = page.locator(".ganlib-dashboard")
    dashboard.scroll_into_view_if_needed()
    steps_before, src_before = step_count(page), samples_src(page)
    assert src_before, "the samples picture has no src after Run All"
    click_button(page, "Start")

    def progress() -> str:
        return f"counter {step_count(page)} (was {steps_before}), status {status_text(page)!r}"

    wait_until(lambda: step_count(page) > steps_before, TRAINING_TIMEOUT_S,
               lambda: f"the step counter did not grow after Start: {progress()}")
    steps_seen = step_count(page)
    wait_until(lambda: step_count(page) > steps_seen, TRAINING_TIMEOUT_S,
               lambda: f"the step counter grew once after Start, then stopped: {progress()}")
    wait_until(lambda: samples_src(page) != src_before, TRAINING_TIMEOUT_S,
               lambda: f"the samples picture did not change after Start: {progress()}")
    assert status_text(page).startswith("running"), f"status after Start: {status_text(page)!r}"
    ARTIFACTS.mkdir(exist_ok=True)
    dashboard.screenshot(path=ARTIFACTS / "dashboard_mid_training.png")  # while it trains

    click_button(page, "Pause")
    wait_until(lambda: status_text(page).startswith("paused"), 10,
               lambda: f"the status does not say paused after Pause: {progress()}")
    time.sleep(1.0)  # let any message still on its way from the kernel arrive
    paused_at = step_count(page)
    time.sleep(2.0)
    assert step_count(page) == paused_at, f"training went on after Pause (read {paused_at} first): {progress()}"
    assert paused_at > steps_before, f"no training between Start and Pause: {progress()}"
    assert_no_widget_errors(page, "at the end")

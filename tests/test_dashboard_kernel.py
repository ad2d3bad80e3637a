"""The dashboard in a real Jupyter kernel: it trains in the background and the kernel stays responsive.

The test talks to the kernel as JupyterLab does: it executes cells and sends the same widget
messages that moving a slider or clicking a button sends.
"""
import time

import pytest
from jupyter_client.manager import start_new_kernel

SETUP = """
import torch, ganlib
from ganlib.models import MLPDiscriminator, MLPGenerator
from ganlib.widgets import TrainingDashboard
data = torch.randn(512, 8, generator=torch.Generator().manual_seed(0))
trainer = ganlib.Trainer(MLPGenerator(4, (16,), 8, tanh_output=False), MLPDiscriminator(8, (16,)), data,
                         batch_size=32, device="cpu")
dash = TrainingDashboard(trainer, steps=10**7, metric=None, draw_samples=lambda ax, t: ax.plot(*t.sample_fixed()[:, :2].T, "."))
dash.start()
"""


@pytest.fixture
def kernel():
    """A fresh python3 kernel from this environment, shut down afterwards."""
    manager, client = start_new_kernel(kernel_name="python3")
    yield client
    client.stop_channels()
    manager.shutdown_kernel(now=True)


def evaluate(client, expression: str) -> tuple[str, float]:
    """Evaluate an expression in the kernel; return its repr and how long the reply took."""
    outputs: list[str] = []
    tick = time.perf_counter()
    reply = client.execute_interactive(
        expression, timeout=30,
        output_hook=lambda msg: outputs.append(msg["content"]["data"]["text/plain"])
        if msg["msg_type"] == "execute_result" else None)
    assert reply["content"]["status"] == "ok", reply["content"]
    return (outputs[-1] if outputs else ""), time.perf_counter() - tick


def send_widget_message(client, model_id: str, data: dict) -> None:
    """What the browser sends when a slider moves or a button is clicked."""
    client.shell_channel.send(client.session.msg("comm_msg", {"comm_id": model_id, "data": data}))


def test_kernel_answers_while_the_dashboard_trains_and_obeys_widget_messages(kernel):
    evaluate(kernel, SETUP)
    counts, latencies = [], []
    for _ in range(3):
        time.sleep(0.5)
        value, seconds = evaluate(kernel, "trainer.step_count")
        counts.append(int(value))
        latencies.append(seconds)
    assert counts[0] < counts[1] < counts[2], f"training did not progress in the background: {counts}"
    assert max(latencies) < 1.0, f"the kernel answered slowly while training: {latencies}"

    slider = evaluate(kernel, "dash.controls['lr_g'].model_id")[0].strip("'")
    send_widget_message(kernel, slider, {"method": "update", "state": {"value": 0.005}, "buffer_paths": []})
    time.sleep(0.5)
    assert float(evaluate(kernel, "trainer.opt_g.param_groups[0]['lr']")[0]) == pytest.approx(0.005)

    pause = evaluate(kernel, "dash.buttons['Pause'].model_id")[0].strip("'")
    send_widget_message(kernel, pause, {"method": "custom", "content": {"event": "click"}})
    time.sleep(1.0)  # Pause must take effect within a second
    paused_at = evaluate(kernel, "trainer.step_count")[0]
    time.sleep(0.5)
    assert evaluate(kernel, "trainer.step_count")[0] == paused_at
    assert evaluate(kernel, "dash.state")[0] == "'paused'"

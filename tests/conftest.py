"""Shared fixtures: tests use the data root CI points at (a copy of ../shared/data)."""
import pytest

from ganlib.data import DataNotFoundError, load_mnist


@pytest.fixture(scope="session")
def mnist():
    """MNIST train images and labels; the data root must hold them (CI copies ../shared/data)."""
    try:
        return load_mnist(train=True)
    except DataNotFoundError as err:
        pytest.fail(f"MNIST must be available for the tests: {err}")


@pytest.fixture
def python_handles_ctrl_c():
    """Ctrl-C raises KeyboardInterrupt in the test, as in a fresh kernel, whatever an earlier test left installed
    (in CI, something earlier in the suite leaves SIGINT's handler so that interrupts are lost; the warning names it)."""
    import signal
    import warnings
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    if previous is not signal.default_int_handler:
        warnings.warn(f"an earlier test left SIGINT's handler as {previous!r}", UserWarning)
    yield
    signal.signal(signal.SIGINT, previous)

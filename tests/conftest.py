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
    """Ctrl-C raises KeyboardInterrupt in the test, as in a fresh kernel, whatever handler the process has: a shell
    that starts a job in the background without job control (`bash .ci/run &`) starts it with SIGINT ignored, and
    Python then installs no KeyboardInterrupt handler at all, so interrupts would be lost (the warning names it)."""
    import signal
    import warnings
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    if previous is not signal.default_int_handler:
        warnings.warn(f"SIGINT's handler was {previous!r} (inherited from the launching shell, or left by an earlier "
                      "test); Python's own is installed for this test", UserWarning)
    yield
    signal.signal(signal.SIGINT, previous)

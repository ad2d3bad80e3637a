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

"""Fixtures of the unit tests (no root, no containers)."""
import pytest

from .fake_kernel import FakeKernel


@pytest.fixture
def fake_kernel(monkeypatch):
    """oci_runtime.kernel replaced by a recording fake (see fake_kernel.py); undone at teardown."""
    return FakeKernel(monkeypatch)

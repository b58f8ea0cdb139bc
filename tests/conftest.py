"""Fixtures shared by several test directories (the repository's conftest.py has the rest)."""
from tests.rootless.fixtures import rootless_user, shared_install  # noqa: F401 - fixtures

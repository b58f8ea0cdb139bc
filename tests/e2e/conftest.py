"""Fixtures of the end-to-end tests: the Kubernetes node (tests/e2e/cri_node.py), made once per
session for the crictl scenarios and critest, and the rule for a stage that cannot run."""
import os

import pytest

from tests.e2e import cri_node


def cannot_run(reason):
    """Skip, except under CI (CI=true, as .ci/run sets it): there a stage the test command needs
    must run, and its absence is a failure (scripts/setup-e2e installs what it needs)."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} (CI=true: this end-to-end stage may not be skipped)")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def node(cgroup_tree_remover):
    """A started Kubernetes node (containerd + CRI + registry + CNI in namespaces of its own);
    stopped, and everything it made removed, at the end of the session."""
    if os.geteuid() != 0:
        pytest.skip("a containerd node needs root")
    missing = cri_node.missing_prerequisites()
    if missing:
        cannot_run(f"the CRI node needs {', '.join(missing)} (scripts/setup-e2e)")
    started = cri_node.Node()
    started.start()
    try:
        yield started
    finally:
        started.stop(remove_cgroup_tree=cgroup_tree_remover)

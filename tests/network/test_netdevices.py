"""linux.netDevices beyond the spec's clauses (those are in conformance/): input errors, and the
cost rule: a create without networking never imports pyroute2."""
import os
import subprocess
import sys
import tempfile

from netlib import link_exists

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _moving(devices, also=None):
    def edit(config):
        config["linux"]["netDevices"] = devices
        if also:
            also(config)
    return edit


def test_invalid_names_and_a_missing_network_namespace_are_errors(oci, make_bundle, veth_pair):
    _, other_end = veth_pair()
    bundle, cid = make_bundle(["true"], _moving({other_end: {"name": "a/b"}}))
    result = oci("create", "--bundle", str(bundle), cid)
    assert result.returncode != 0 and f"/linux/netDevices/{other_end}/name" in result.stderr

    def host_network(config):
        config["linux"]["namespaces"] = [n for n in config["linux"]["namespaces"]
                                         if n["type"] != "network"]
    bundle, cid = make_bundle(["true"], _moving({other_end: {}}, host_network))
    result = oci("create", "--bundle", str(bundle), cid)
    assert result.returncode != 0 and "/linux/netDevices" in result.stderr
    assert link_exists(other_end)
    assert oci("list", "-q").stdout == ""


def _imported_modules(oci, bundle, cid):
    """create run with -X importtime: the names of the modules it imported."""
    command = [sys.executable, "-X", "importtime", "-m", "oci_runtime", "--root", oci.root,
               "create", "--bundle", str(bundle), cid]
    # To a file: the created init inherits stderr, so a pipe would stay open.
    with tempfile.TemporaryFile("w+") as err:
        result = subprocess.run(command, stdout=subprocess.DEVNULL, stderr=err, cwd=REPO,
                                timeout=60, stdin=subprocess.DEVNULL)
        err.seek(0)
        output = err.read()
    assert result.returncode == 0, output[-2000:]
    return [line.rsplit("|", 1)[-1].strip() for line in output.splitlines()
            if line.startswith("import time:")]


def test_a_create_without_networking_imports_no_pyroute2(oci, make_bundle, veth_pair):
    bundle, cid = make_bundle(["true"])
    assert not [m for m in _imported_modules(oci, bundle, cid) if m.startswith("pyroute2")]
    # ... and the same measurement sees it when a device is moved.
    _, other_end = veth_pair()
    bundle, cid = make_bundle(["true"], _moving({other_end: {}}))
    assert "pyroute2" in _imported_modules(oci, bundle, cid)


def test_pyroute2_is_a_dependency_of_the_package():
    """Any `pip install` brings it (it was an extra: a plain install failed netDevices)."""
    import tomllib

    with open(os.path.join(REPO, "pyproject.toml"), "rb") as pyproject:
        project = tomllib.load(pyproject)["project"]
    assert any(requirement.startswith("pyroute2") for requirement in project["dependencies"])
    assert not any(requirement.startswith("pyroute2") for extra in
                   project.get("optional-dependencies", {}).values() for requirement in extra)

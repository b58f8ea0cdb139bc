"""oci_runtime.network.cni without a container: configuration lookup, the order plugins run
in, what they are given, and how their failures read (fake plugins: small shell scripts)."""
import json

import pytest

from oci_runtime.errors import OCIError
from oci_runtime.network import cni, requested_networks, state_annotations


def _write(path, document):
    path.write_text(json.dumps(document))


def test_a_single_plugin_conf_becomes_a_list_and_the_first_file_wins(tmp_path):
    _write(tmp_path / "20-b.conf", {"cniVersion": "0.4.0", "name": "net", "type": "second"})
    _write(tmp_path / "10-a.conf", {"cniVersion": "0.4.0", "name": "net", "type": "first"})
    _write(tmp_path / "05-other.conflist", {"cniVersion": "1.0.0", "name": "other", "plugins": [{"type": "x"}]})
    conf = cni.load_network("net", str(tmp_path))
    assert conf == {"cniVersion": "0.4.0", "name": "net",
                    "plugins": [{"cniVersion": "0.4.0", "name": "net", "type": "first"}]}
    with pytest.raises(OCIError, match="no configuration with that name"):
        cni.load_network("missing", str(tmp_path))


def test_a_list_without_plugins_is_an_error_naming_the_file(tmp_path):
    _write(tmp_path / "a.conflist", {"cniVersion": "1.0.0", "name": "net", "plugins": []})
    with pytest.raises(OCIError, match=r"a.conflist: /plugins"):
        cni.load_network("net", str(tmp_path))


@pytest.fixture
def plugins(tmp_path):
    """Two fake plugins that log their command, CNI_IFNAME and prevResult, and answer a result."""
    log = tmp_path / "log"
    for name in ("first", "second"):
        script = tmp_path / name
        script.write_text(
            "#!/bin/sh\n"
            f"input=$(cat); echo \"{name} $CNI_COMMAND $CNI_IFNAME $CNI_NETNS "
            f"$(echo \"$input\" | grep -c prevResult)\" >> {log}\n"
            f"echo '{{\"cniVersion\": \"1.0.0\", \"ips\": [{{\"address\": \"10.213.0.{len(name)}/24\"}}]}}'\n")
        script.chmod(0o755)
    conf = {"cniVersion": "1.0.0", "name": "net", "plugins": [{"type": "first"}, {"type": "second"}]}
    attachment = {"container_id": "c1", "netns": "/run/x", "ifname": "eth0", "bin_dir": f"/nonexistent:{tmp_path}"}
    return conf, attachment, log


def test_add_chains_results_del_runs_in_reverse_with_the_add_result(plugins):
    conf, attachment, log = plugins
    result = cni.add(conf, attachment)
    assert cni.addresses(result) == ["10.213.0.6/24"]  # the last plugin's result
    cni.check(conf, attachment, result)
    cni.delete(conf, attachment, result)
    assert log.read_text().splitlines() == [
        "first ADD eth0 /run/x 0", "second ADD eth0 /run/x 1",
        "first CHECK eth0 /run/x 1", "second CHECK eth0 /run/x 1",
        "second DEL eth0 /run/x 1", "first DEL eth0 /run/x 1"]


def test_a_plugin_error_object_becomes_one_line(tmp_path):
    script = tmp_path / "failing"
    script.write_text("#!/bin/sh\ncat >/dev/null\n"
                      "echo '{\"cniVersion\": \"1.0.0\", \"code\": 7, \"msg\": \"no luck\", \"details\": \"why\"}'\n"
                      "exit 1\n")
    script.chmod(0o755)
    conf = {"cniVersion": "1.0.0", "name": "net", "plugins": [{"type": "failing"}]}
    attachment = {"container_id": "c1", "netns": "/run/x", "ifname": "eth0", "bin_dir": str(tmp_path)}
    with pytest.raises(OCIError) as caught:
        cni.add(conf, attachment)
    assert str(caught.value) == "CNI network 'net': failing ADD: no luck: why (CNI error code 7)"
    with pytest.raises(OCIError, match="not a name"):
        cni.add(dict(conf, plugins=[{"type": "../failing"}]), attachment)


def test_requested_networks_flags_first_then_the_annotation():
    names, conf_dir, bin_dir = requested_networks(
        {"org.oci-runtime.network": "b, a", "org.oci-runtime.cni.conf-dir": "/from/annotation"},
        ["a"], cni_bin_dir="/bin/flag")
    assert (names, conf_dir, bin_dir) == (["a", "b"], "/from/annotation", "/bin/flag")
    assert requested_networks({}, None) == ([], cni.DEFAULT_CONF_DIR, cni.DEFAULT_BIN_DIR)


def test_state_annotations_add_the_interface_and_addresses():
    record = {"networks": [{"name": "n", "attachment": {"ifname": "eth0"},
                            "result": {"ips": [{"address": "10.213.0.2/24"}, {"address": "fd13::2/64"}]}}]}
    assert state_annotations({"a": "b"}, record) == {
        "a": "b", "org.oci-runtime.network.n.interface": "eth0",
        "org.oci-runtime.network.n.ips": "10.213.0.2/24,fd13::2/64"}
    assert state_annotations({"a": "b"}, None) == {"a": "b"}


def test_a_failing_del_keeps_the_record_unless_told_to_warn(tmp_path):
    from oci_runtime.network import RECORD_FILE, detach

    script = tmp_path / "failing"
    script.write_text("#!/bin/sh\ncat >/dev/null\necho '{\"code\": 11, \"msg\": \"try later\"}'\nexit 1\n")
    script.chmod(0o755)
    conf = {"cniVersion": "1.0.0", "name": "net", "plugins": [{"type": "failing"}]}
    attachment = {"container_id": "c1", "netns": "", "ifname": "eth0", "bin_dir": str(tmp_path)}
    record = {"netDevices": [], "netns": None,
              "networks": [{"name": "net", "conf": conf, "attachment": attachment, "result": None}]}
    (tmp_path / RECORD_FILE).write_text(json.dumps(record))
    with pytest.raises(OCIError, match="try later"):
        detach(str(tmp_path))
    assert (tmp_path / RECORD_FILE).exists()
    warnings = []
    detach(str(tmp_path), warn=warnings.append)
    assert len(warnings) == 1 and "try later" in warnings[0]
    assert not (tmp_path / RECORD_FILE).exists()
    detach(str(tmp_path))  # nothing recorded: nothing to do


def test_interface_names_skip_those_of_moved_devices():
    from itertools import islice

    from oci_runtime.network import _interface_names

    assert list(islice(_interface_names([{"host": "v", "name": "eth0"}]), 3)) == ["eth1", "eth2", "eth3"]
    assert list(islice(_interface_names([]), 2)) == ["eth0", "eth1"]

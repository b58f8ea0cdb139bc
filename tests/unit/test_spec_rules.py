"""Spec rules checked in the parent (issue 11): features tells the host's truth, the schema's
optional fields, capabilities outside the bounding set, sysctl namespaces, the string walk."""
import copy

import pytest

from oci_runtime.process import capabilities as process
from oci_runtime.process import attributes as process_attributes
from oci_runtime.config import validate
from oci_runtime.config.model import Config, check_strings
from oci_runtime.config.default_spec import default_config
from oci_runtime.errors import OCIError


def test_features_reports_apparmor_and_selinux_as_the_host_has_them(tmp_path, monkeypatch):
    from oci_runtime.cli.cmd_features import features_document

    enabled = tmp_path / "apparmor-enabled"
    enabled.write_text("Y\n")
    (tmp_path / "selinux").mkdir()
    (tmp_path / "selinux" / "enforce").write_text("1")
    monkeypatch.setattr(process_attributes, "_APPARMOR_ENABLED", str(enabled))
    monkeypatch.setattr(process_attributes, "_SELINUX_FS", str(tmp_path / "selinux"))
    linux = features_document()["linux"]
    assert linux["apparmor"] == {"enabled": True} and linux["selinux"] == {"enabled": True}
    enabled.write_text("N\n")
    monkeypatch.setattr(process_attributes, "_SELINUX_FS", str(tmp_path / "none"))
    linux = features_document()["linux"]
    assert linux["apparmor"] == {"enabled": False} and linux["selinux"] == {"enabled": False}


def test_io_priority_needs_only_its_class():
    config = copy.deepcopy(default_config())
    config["process"]["ioPriority"] = {"class": "IOPRIO_CLASS_BE"}
    validate.validate_config(config)
    config["process"]["ioPriority"] = {"priority": 3}
    with pytest.raises(OCIError, match="/process/ioPriority"):
        validate.validate_config(config)


def test_capabilities_outside_the_bounding_set_are_left_out_with_a_warning():
    warnings = []
    bounding = ~(1 << process.CAPABILITY_NUMBERS["CAP_SYS_RESOURCE"])
    mask = process.capability_mask(["CAP_KILL", "CAP_SYS_RESOURCE", "CAP_NOPE", "CAP_BPF"],
                                   "/p", warnings, bounding, last=37)
    assert mask == 1 << process.CAPABILITY_NUMBERS["CAP_KILL"]
    assert warnings == [
        "/p/1: ignoring capability 'CAP_SYS_RESOURCE': not in the runtime's own bounding set, "
        "so it cannot be granted",
        "/p/2: ignoring capability 'CAP_NOPE': unknown to this kernel",
        "/p/3: ignoring capability 'CAP_BPF': unknown to this kernel"]  # 39 > the kernel's last


def test_the_runtime_bounding_set_is_read_from_proc():
    with open("/proc/self/status") as status:
        line = next(line for line in status if line.startswith("CapBnd:"))
    assert process.runtime_bounding_set() == int(line.split()[1], 16)


def config_with(sysctl, drop=()):
    config = copy.deepcopy(default_config())
    config["linux"]["sysctl"] = sysctl
    config["linux"]["namespaces"] = [n for n in config["linux"]["namespaces"]
                                     if n["type"] not in drop]
    return config


@pytest.mark.parametrize("key, drop, accepted", [
    ("net.ipv4.ip_forward", (), True),
    ("net.ipv4.ip_forward", ("network",), False),
    ("net/ipv4/ip_forward", ("network",), False),
    ("fs.mqueue.msg_max", (), True),
    ("fs.mqueue.msg_max", ("ipc",), False),
    ("kernel.msgmax", ("ipc",), False),
    ("kernel.sem", ("ipc",), False),
    ("kernel.shm_rmid_forced", ("ipc",), False),
    ("kernel.domainname", (), True),
    ("kernel.domainname", ("uts",), False),
    ("kernel.hostname", (), False),
    ("vm.swappiness", (), False),
    ("kernel.pid_max", (), False),
])
def test_sysctl_rules(key, drop, accepted):
    config = config_with({key: "1"}, drop)
    if drop == ("uts",):
        config.pop("hostname")
    if accepted:
        Config(config)
    else:
        with pytest.raises(OCIError, match=f"^config.json: /linux/sysctl/{key.replace('/', '~1')}: "):
            Config(config)


def test_sysctl_in_a_namespace_joined_by_the_runtimes_own_path_is_refused():
    config = config_with({"net.ipv4.ip_forward": "1"}, ("network",))
    config["linux"]["namespaces"].append({"type": "network", "path": "/proc/self/ns/net"})
    with pytest.raises(OCIError, match="in the network namespace"):
        Config(config)


def test_the_string_walk_reads_deep_documents_and_escapes_pointers():
    deep = current = []
    for _ in range(5000):
        current.append([])
        current = current[0]
    current.append("a\0b")
    with pytest.raises(OCIError, match=r"^x: /k~1e~0y(/0){5001}: the value contains a NUL byte$"):
        check_strings({"k/e~y": deep}, "x")
    check_strings({"fine": ["yes", 1, None, {"a": "b"}]})

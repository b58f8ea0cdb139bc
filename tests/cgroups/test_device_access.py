"""The device allow-list of real containers (the devices cgroup on v1, the eBPF program on v2):
what a program in the container may open.

A node that linux.devices creates is not thereby allowed: only linux.resources.devices and the
devices every container may use (/dev/null, /dev/zero, ..., ptys) are, as with runc and crun.
`update` with devices replaces linux.resources.devices and keeps that set.
"""
import json
import os

import pytest

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="real containers need root")

KMSG = {"path": "/dev/kmsg", "type": "c", "major": 1, "minor": 11, "fileMode": 0o644}
ALLOW_KMSG_READ = {"allow": True, "type": "c", "major": 1, "minor": 11, "access": "r"}
# One record of the kernel log (a read shorter than the record fails with EINVAL), then whether
# /dev/null (a default device) still opens.
PROBE = ("dd if=/dev/kmsg of=/dev/null bs=8192 count=1 2>/tmp/err && echo kmsg=ok "
         "|| { echo kmsg=failed; cat /tmp/err; }; echo x >/dev/null && echo null=ok")


def with_kmsg(device_rules):
    """A config that creates /dev/kmsg (with CAP_SYSLOG, so only the cgroup can refuse reading
    it) and has ``device_rules`` as linux.resources.devices."""
    def edit(config):
        config["linux"]["devices"] = [KMSG]
        config["linux"]["resources"]["devices"] = device_rules
        for kind in ("bounding", "effective", "permitted"):
            config["process"]["capabilities"][kind].append("CAP_SYSLOG")
    return edit


def test_a_node_in_linux_devices_is_not_allowed_by_that_alone(oci, make_bundle):
    bundle, cid = make_bundle(["sh", "-c", PROBE], with_kmsg([{"allow": False, "access": "rwm"}]))
    result = oci("run", "--bundle", str(bundle), cid)
    assert "kmsg=failed" in result.stdout and "Operation not permitted" in result.stdout, result
    assert "null=ok" in result.stdout, result


def test_a_node_allowed_by_linux_resources_devices_opens(oci, make_bundle):
    bundle, cid = make_bundle(["sh", "-c", PROBE],
                              with_kmsg([{"allow": False, "access": "rwm"}, ALLOW_KMSG_READ]))
    result = oci("run", "--bundle", str(bundle), cid)
    assert "kmsg=ok" in result.stdout and "null=ok" in result.stdout, result


def test_the_default_devices_cannot_be_denied(oci, make_bundle):
    deny_null = [{"allow": False, "access": "rwm"},
                 {"allow": False, "type": "c", "major": 1, "minor": 3, "access": "rwm"}]
    bundle, cid = make_bundle(["sh", "-c", "echo x >/dev/null && echo null=ok"],
                              lambda config: config["linux"]["resources"].update(devices=deny_null))
    assert "null=ok" in oci("run", "--bundle", str(bundle), cid).stdout


def test_update_replaces_the_device_rules_and_keeps_the_default_devices(oci, make_bundle,
                                                                          tmp_path):
    bundle, cid = make_bundle(["sleep", "300"], with_kmsg([{"allow": False, "access": "rwm"}]))
    oci("run", "--detach", "--bundle", str(bundle), cid, check=True)

    def probe():
        return oci("exec", cid, "sh", "-c", PROBE, check=True).stdout

    def update(*args):
        oci("update", *args, cid, check=True)

    assert "kmsg=failed" in probe()
    allow = tmp_path / "allow.json"
    allow.write_text(json.dumps({"devices": [ALLOW_KMSG_READ]}))
    update("--resources", str(allow))
    output = probe()
    assert "kmsg=ok" in output and "null=ok" in output, output
    # An update without devices leaves the device rules alone.
    update("--pids-limit", "100")
    assert "kmsg=ok" in probe()
    # A bare allow-list update never means "allow everything else" (on v2 a program built
    # from the update's rules alone would start from allow-all).
    deny_kmsg = tmp_path / "deny.json"
    deny_kmsg.write_text(json.dumps({"devices": [{"allow": False, "type": "c", "major": 1,
                                                  "minor": 11, "access": "rwm"}]}))
    update("--resources", str(deny_kmsg))
    output = probe()
    assert "kmsg=failed" in output and "null=ok" in output, output
    others = oci("exec", cid, "sh", "-c", "head -c 1 /dev/urandom >/dev/null && "
                 "head -c 1 /dev/zero >/dev/null && echo others=ok", check=True).stdout
    assert "others=ok" in others

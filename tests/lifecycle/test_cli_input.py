"""What a runc user hits first (issue 11): runc's flags, values from flags named by their flag,
and bad input refused at create as one line naming the file or JSON pointer, nothing left."""
import json
import os
import pwd

import pytest

from oci_runtime.cgroups import detect_mode
from test_cgroup_operations import cgroup_file

v1_files = pytest.mark.skipif(detect_mode() == "v2", reason="reads cgroup v1 files")


def one_line_error(result):
    # runc's statuses: 255 for an exec that failed before its process ran, else 1
    assert result.returncode == (255 if "exec" in result.args else 1), result.stdout
    assert "Traceback" not in result.stderr and result.stderr.count("\n") == 1, result.stderr
    return result.stderr.strip()


# -- update: runc's flag names --------------------------------------------------------------------

@v1_files
def test_update_takes_runcs_cpu_share(oci, make_bundle):
    bundle, cid = make_bundle(["sleep", "30"])
    oci("run", "--detach", "--bundle", str(bundle), cid, check=True)
    oci("update", "--cpu-share", "512", cid, check=True)
    with open(cgroup_file(bundle / "config.json", "cpu", "cpu.shares")) as shares:
        assert shares.read().strip() == "512"
    oci("update", "--cpu-shares", "256", cid, check=True)
    with open(cgroup_file(bundle / "config.json", "cpu", "cpu.shares")) as shares:
        assert shares.read().strip() == "256"


@v1_files
def test_update_cpu_idle(oci, make_bundle):
    """runc's `update --cpu-idle`: linux.resources.cpu.idle, the cgroup's cpu.idle."""
    bundle, cid = make_bundle(["sleep", "30"])
    oci("run", "--detach", "--bundle", str(bundle), cid, check=True)
    idle = cgroup_file(bundle / "config.json", "cpu", "cpu.idle")
    if not os.path.exists(idle):
        pytest.skip("this kernel's cpu cgroup has no cpu.idle (Linux 5.15)")
    for value in ("1", "0"):
        oci("update", "--cpu-idle", value, cid, check=True)
        with open(idle) as current:
            assert current.read().strip() == value
    assert "/linux/resources/cpu/idle" in one_line_error(oci("update", "--cpu-idle", "5", cid))


@pytest.mark.parametrize("flag", ["--l3-cache-schema", "--mem-bw-schema"])
def test_update_refuses_intel_rdt_flags(oci, make_bundle, flag):
    bundle, cid = make_bundle(["sleep", "30"])
    oci("run", "--detach", "--bundle", str(bundle), cid, check=True)
    message = one_line_error(oci("update", flag, "L3:0=f", cid))
    assert message == f"oci-runtime: {flag}: Intel RDT (resctrl) is not supported by this runtime"


def test_every_runc_update_flag_is_known():
    """The flags `runc update --help` lists (runc 1.1.5, and 1.5.1's --cpu-idle) are all accepted
    by the parser."""
    from oci_runtime.cli.cmd_update import OPTIONS

    runc_flags = {"--resources", "--blkio-weight", "--cpu-period", "--cpu-quota", "--cpu-share",
                  "--cpu-rt-period", "--cpu-rt-runtime", "--cpuset-cpus", "--cpuset-mems",
                  "--memory", "--memory-reservation", "--memory-swap", "--pids-limit",
                  "--l3-cache-schema", "--mem-bw-schema", "--cpu-idle"}
    assert runc_flags <= set(OPTIONS)


def test_update_resources_with_a_syntax_error(oci, make_bundle, tmp_path):
    bundle, cid = make_bundle(["sleep", "30"])
    oci("run", "--detach", "--bundle", str(bundle), cid, check=True)
    resources = tmp_path / "resources.json"
    resources.write_text('{\n  "pids": {"limit": 40,}\n}')
    assert one_line_error(oci("update", "--resources", str(resources), cid)) == (
        f"oci-runtime: update --resources {resources}: invalid JSON at line 2 column 24: "
        "Expecting property name enclosed in double quotes")


# -- exec: flags named, runc's refusals -----------------------------------------------------------

@pytest.fixture
def running(oci, make_bundle):
    bundle, cid = make_bundle(["sleep", "60"])
    oci("run", "--detach", "--bundle", str(bundle), cid, check=True)
    return cid


def test_exec_env_without_equals_is_an_error(oci, running):
    assert one_line_error(oci("exec", "-e", "NOEQUALS", running, "true")) == (
        "oci-runtime: exec --env 'NOEQUALS': expected NAME=VALUE")


def test_exec_cwd_error_names_the_flag(oci, running):
    assert one_line_error(oci("exec", "--cwd", "relative", running, "true")) == (
        "oci-runtime: exec --cwd 'relative': must be an absolute path")


def test_exec_unknown_cap_warns_and_runs(oci, running):
    result = oci("exec", "--cap", "CAP_BOGUS", running, "true")
    assert result.returncode == 0, result.stderr
    assert "warning: exec --cap CAP_BOGUS: ignoring capability: unknown to this kernel" \
        in result.stderr


def test_exec_console_socket_without_tty_is_refused(oci, running, tmp_path):
    message = one_line_error(oci("exec", "--console-socket", str(tmp_path / "s"), running,
                                 "true"))
    assert "exec --console-socket: cannot use console socket" in message


def test_create_console_socket_without_terminal_is_refused(oci, make_bundle, tmp_path):
    bundle, cid = make_bundle(["true"])
    message = one_line_error(oci("create", "--console-socket", str(tmp_path / "s"),
                                 "--bundle", str(bundle), cid))
    assert "--console-socket: cannot use console socket" in message
    assert oci("state", cid).returncode == 1


@pytest.mark.parametrize("text, where", [
    ('{"args": ["true"], "cwd": "/",}', "line 1 column 31: Expecting property name"),
    ('{"args": ["true"],\n "cwd": "/"', "line 2 column 12: Expecting ',' delimiter"),
    ('{"args": ["tr\0ue"], "cwd": "/"}', "line 1 column 14: Invalid control character"),
])
def test_exec_process_file_syntax_errors(oci, running, tmp_path, text, where):
    process = tmp_path / "process.json"
    process.write_text(text)
    assert one_line_error(oci("exec", "--process", str(process), running)).startswith(
        f"oci-runtime: exec --process {process}: invalid JSON at {where}")


def test_exec_process_file_field_errors_name_the_file(oci, running, tmp_path):
    process = tmp_path / "process.json"
    process.write_text(json.dumps({"args": ["true"], "cwd": "relative"}))
    assert one_line_error(oci("exec", "--process", str(process), running)) == (
        f"oci-runtime: exec --process {process}: /cwd: must be an absolute path (got 'relative')")
    process.write_text(json.dumps({"args": ["true"], "cwd": "/tm\0p"}))
    assert one_line_error(oci("exec", "--process", str(process), running)) == (
        f"oci-runtime: exec --process {process}: /cwd: the value contains a NUL byte")


def test_exec_process_file_attribute_errors_name_the_file(oci, running, tmp_path):
    process = tmp_path / "process.json"
    process.write_text(json.dumps({"args": ["true"], "cwd": "/",
                                   "ioPriority": {"class": "IOPRIO_CLASS_BOGUS"}}))
    assert one_line_error(oci("exec", "--process", str(process), running)) == (
        f"oci-runtime: exec --process {process}: /ioPriority/class: unknown class "
        "'IOPRIO_CLASS_BOGUS'")


@pytest.mark.skipif(os.path.exists("/sys/module/apparmor/parameters/enabled"),
                    reason="this host may have AppArmor")
def test_exec_apparmor_without_apparmor_names_the_flag(oci, running):
    assert one_line_error(oci("exec", "--apparmor", "docker-default", running, "true")) == (
        "oci-runtime: exec --apparmor docker-default: AppArmor is not enabled on this host")


def test_a_pid_file_that_cannot_be_written_is_refused_before_anything_runs(oci, make_bundle,
                                                                            running, tmp_path):
    missing = tmp_path / "no-dir" / "pid"
    result = oci("exec", "--detach", "--pid-file", str(missing), running, "sleep", "30")
    assert one_line_error(result) == (
        f"oci-runtime: --pid-file {missing}: no such directory {missing.parent}")
    assert len(json.loads(oci("ps", "--format", "json", running, check=True).stdout)) == 1
    bundle, cid = make_bundle(["true"])
    assert one_line_error(oci("create", "--pid-file", str(missing), "--bundle", str(bundle),
                              cid)) == (
        f"oci-runtime: --pid-file {missing}: no such directory {missing.parent}")
    assert oci("state", cid).returncode == 1


def test_a_log_that_fails_to_write_is_one_line_not_a_traceback(oci):
    result = oci("--log", "/proc/version", "state", "no-such-container")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.splitlines() == [
        "oci-runtime: writing to --log /proc/version: Input/output error",
        "oci-runtime: container 'no-such-container' does not exist"]


# -- list and spec ----------------------------------------------------------------------------

def test_list_fills_owner(oci, running):
    owner = pwd.getpwuid(os.geteuid()).pw_name
    table = oci("list", check=True).stdout.splitlines()
    assert table[0].split()[-1] == "OWNER"
    row = next(line for line in table if line.startswith(running))
    assert row.split()[-1] == owner
    [entry] = json.loads(oci("list", "--format", "json", check=True).stdout)
    assert entry["owner"] == owner


def test_spec_rootless_maps_root_to_the_callers_ids():
    """As another user (a forked child: that user cannot read this checkout to run the CLI)."""
    from oci_runtime.config.default_spec import default_config

    read_end, write_end = os.pipe()
    child = os.fork()
    if child == 0:
        try:
            os.setgid(4321)
            os.setuid(1234)
            os.write(write_end, json.dumps(default_config(rootless=True)["linux"]).encode())
        finally:
            os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        linux = json.loads(pipe.read())
    os.waitpid(child, 0)
    assert linux["uidMappings"] == [{"containerID": 0, "hostID": 1234, "size": 1}]
    assert linux["gidMappings"] == [{"containerID": 0, "hostID": 4321, "size": 1}]


def test_spec_has_a_cgroup_namespace_on_a_v2_host_only_as_runc(oci, tmp_path, make_bundle):
    """runc spec adds the cgroup namespace on a pure cgroup v2 host only; scripts that append
    one on v1 or hybrid (as runc's users do) must get a config create accepts."""
    oci("spec", "--bundle", str(tmp_path), check=True)
    config = json.loads((tmp_path / "config.json").read_text())
    types = [namespace["type"] for namespace in config["linux"]["namespaces"]]
    assert types == ["pid", "network", "ipc", "uts", "mount"] + (
        ["cgroup"] if detect_mode() == "v2" else [])
    if "cgroup" not in types:
        def edit(bundle_config):
            bundle_config["linux"]["namespaces"] = config["linux"]["namespaces"] + [
                {"type": "cgroup"}]
        bundle, cid = make_bundle(["true"], edit)
        oci("run", "--bundle", str(bundle), cid, check=True)


# -- config.json: refused at create, one line, nothing left ---------------------------------------

def create_refused(oci, make_bundle, edit=None, text=None):
    bundle, cid = make_bundle(["true"], edit)
    if text is not None:
        (bundle / "config.json").write_text(text)
    message = one_line_error(oci("create", "--bundle", str(bundle), cid))
    assert oci("state", cid).returncode == 1  # nothing half-made is left
    assert oci("list", "-q", check=True).stdout == ""
    return message.removeprefix("oci-runtime: ")


@pytest.mark.parametrize("text, where", [
    ('{"ociVersion": "1.0.0",}', "line 1 column 24: Expecting property name enclosed in double "
                                 "quotes"),
    ('{"ociVersion": "1.0.0",\n "process": {', "line 2 column 14: Expecting property name"),
    ('{"ociVersion": "1.0\0"}', "line 1 column 20: Invalid control character"),
])
def test_config_syntax_errors_name_line_and_column(oci, make_bundle, text, where):
    message = create_refused(oci, make_bundle, text=text)
    assert message.startswith("config.json: invalid JSON at " + where), message


def test_deep_nesting_as_go_reads_it(oci, make_bundle):
    """runc (Go's encoding/json) reads documents nested 10000 levels deep; so does create."""
    def nested(depth):
        return "[" * depth + "]" * depth

    bundle, cid = make_bundle(["true"])
    text = (bundle / "config.json").read_text().rstrip()
    (bundle / "config.json").write_text(f'{text[:-1]}, "org.example.deep": {nested(1000)}}}')
    result = oci("run", "--bundle", str(bundle), cid)
    assert result.returncode == 0, result.stderr
    deeper = f'{text[:-1]}, "org.example.deeper": {nested(12000)}}}'
    message = create_refused(oci, make_bundle, text=deeper)
    assert message == ("config.json: invalid JSON: arrays and objects nested more than about "
                       "10000 levels deep")


@pytest.mark.parametrize("edit, expected", [
    (lambda c: c["process"].update(cwd="/tm\0p"),
     "config.json: /process/cwd: the value contains a NUL byte"),
    (lambda c: c.update(hostname="a\0b"), "config.json: /hostname: the value contains a NUL byte"),
    (lambda c: c["linux"].update(sysctl={"net.ipv4.ip_\0forward": "1"}),
     "config.json: /linux/sysctl/net.ipv4.ip_\\0forward: the key contains a NUL byte"),
    (lambda c: c["linux"].update(cgroupsPath=c["linux"]["cgroupsPath"] + "\0x"),
     "config.json: /linux/cgroupsPath: the value contains a NUL byte"),
    (lambda c: c["mounts"].append({"destination": "/x\0", "type": "tmpfs", "source": "tmpfs"}),
     "config.json: /mounts/7/destination: the value contains a NUL byte"),
    (lambda c: c["root"].update(path="root\0fs"), "config.json: /root/path: the value contains a "
                                                  "NUL byte"),
    (lambda c: c.update(hostname="h" * 65),
     "config.json: /hostname: 65 bytes long: the kernel allows at most 64"),
    (lambda c: c.update(hostname="h\udc80"),
     "config.json: /hostname: the value is not valid Unicode (a lone surrogate)"),
    (lambda c: c["linux"].update(devices=[{"path": "/dev/x", "type": "c", "major": -1,
                                           "minor": 1}]),
     "config.json: /linux/devices/0/major: must be between 0 and 4294967295 (got -1)"),
    (lambda c: c["process"]["user"].update(uid=4294967295),
     "config.json: /process/user/uid: 4294967295 is (uid_t)-1, not an id"),
    (lambda c: c["process"]["user"].update(additionalGids=list(range(70000))),
     "config.json: /process/user/additionalGids: 70000 groups: the kernel allows at most 65536"),
    (lambda c: (c["linux"]["namespaces"].append({"type": "user"}),
                c["linux"].update(uidMappings=[{"containerID": 0, "hostID": 100000, "size": 10}],
                                  gidMappings=[{"containerID": 0, "hostID": 100000, "size": 10}]),
                c["process"]["user"].update(uid=4294967294)),
     "config.json: /process/user/uid: 4294967294 is not mapped by /linux/uidMappings, so the "
     "process cannot have it"),
])
def test_bad_values_are_refused_at_create(oci, make_bundle, edit, expected):
    # json.dumps writes "\u0000" and "\udc80" escapes: valid JSON, impossible values.
    assert create_refused(oci, make_bundle, edit) == expected


def test_the_highest_uid_runs(oci, make_bundle):
    """4294967294 is a valid uid on Linux (only (uid_t)-1 is not); runc runs it too."""
    bundle, cid = make_bundle(["sh", "-c", "id -u"], lambda c: c["process"]["user"].update(
        uid=4294967294, gid=4294967294))
    result = oci("run", "--bundle", str(bundle), cid)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "4294967294"

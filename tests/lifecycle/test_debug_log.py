"""--debug and --log: create reports its config, namespaces, cgroup, seccomp cache use and the
time of each stage; to the --log file when there is one (text or JSON), else stderr, as runc.
Without --debug nothing is written and the logging module is not even imported."""
import json
import re
import subprocess
import sys

import pytest

SECCOMP = {"defaultAction": "SCMP_ACT_ALLOW",
           "syscalls": [{"names": ["sethostname"], "action": "SCMP_ACT_ERRNO"}]}
STAGES = ("config", "cgroup", "seccomp", "plan", "state directory", "init", "state")


def with_seccomp(config):
    config["linux"]["seccomp"] = SECCOMP


def debug_messages(lines):
    return [entry["msg"] for entry in map(json.loads, lines) if entry["level"] == "debug"]


def test_debug_create_logs_config_namespaces_cgroup_seccomp_and_stage_times(oci, make_bundle,
                                                                           tmp_path):
    log = tmp_path / "debug.json"
    messages, ids = [], []
    for _ in range(2):  # the second container's seccomp filter comes from the cache
        bundle, cid = make_bundle(["sleep", "100"], with_seccomp)
        ids.append(cid)
        result = oci("--debug", "--log", str(log), "--log-format", "json", "create",
                     "--bundle", str(bundle), cid)
        assert result.returncode == 0, result.stderr
        assert "debug" not in result.stderr  # with --log, debug goes to the file only
        messages.append(debug_messages(log.read_text().splitlines()))
        log.unlink()
    first, second = messages
    text = "\n".join(first)
    assert first[0] == f"create {ids[0]}: bundle {tmp_path}/bundle-{ids[0]}"
    assert re.search(r"stage config: \d+\.\d\d ms \(read and checked .*/config\.json\)", text)
    assert "namespaces: new cgroup, ipc, mount, network, pid, uts; joined none" in text
    assert re.search(r"stage cgroup: \d+\.\d\d ms \(opened: cgroupfs driver, "
                     r"cgroup (v1|v2|hybrid), .*/oci-runtime-test-\d+/t\w+\)", text)
    assert re.search(r"stage seccomp: \d+\.\d\d ms \(filter compiled \(cache miss\), \d+ "
                     r"instructions\)", text)
    assert re.search(r"stage seccomp: .*filter served from the cache", "\n".join(second))
    stage_names = [m.split(":")[0][len("stage "):] for m in first if m.startswith("stage ")]
    assert stage_names == list(STAGES)
    stage_ms = [float(re.search(r": (\d+\.\d\d) ms", m).group(1))
                for m in first if m.startswith("stage ")]
    total = float(re.search(r"(\d+\.\d\d) ms in total", first[-1]).group(1))
    # The stages are back to back from `begin`, so they cannot add up to more than the total
    # (0.005 ms of rounding each); what is left is the writing of the last stage's line.  How
    # much that is, a wall clock on a loaded host cannot say (a preemption there stretches it
    # past any bound): that the stages account for all but it is tests/unit/test_logging.py's,
    # with a clock of its own.
    assert sum(stage_ms) <= total + 0.005 * len(stage_ms), (stage_ms, total)


def test_debug_without_log_goes_to_stderr_in_text_format(oci, make_bundle):
    bundle, cid = make_bundle(["sleep", "100"])
    result = oci("--debug", "create", "--bundle", str(bundle), cid)
    assert result.returncode == 0, result.stderr
    debug_lines = [line for line in result.stderr.splitlines() if " level=debug " in line]
    assert debug_lines, result.stderr
    assert all(re.match(r'time="[0-9T:.-]+Z" level=debug msg=".*"$', line)
               for line in debug_lines)
    assert any(f'msg="create {cid}: {"bundle"}' in line for line in debug_lines)
    assert any("in total" in line for line in debug_lines)


def test_exec_debug_reports_its_warnings_to_the_log(oci, make_bundle, tmp_path):
    # Capabilities unknown to the kernel are warnings (config.md), logged with or without --debug.
    bundle, cid = make_bundle(["sleep", "100"])
    oci("run", "--detach", "--bundle", str(bundle), cid, check=True)
    log = tmp_path / "exec.log"
    result = oci("--debug", "--log", str(log), "exec", "--cap", "CAP_NOT_A_THING", cid, "true")
    assert result.returncode == 0, result.stderr
    logged = log.read_text()
    assert ('level=warning msg="exec --cap CAP_NOT_A_THING: ignoring capability: unknown to this '
            'kernel"') in logged
    # ...and what it joins: the init's namespaces and the container's cgroup.
    init_pid = oci.state(cid)["pid"]
    assert f"exec in {cid} (running, init {init_pid}): args ['true'], joining namespaces " in logged
    assert re.search(r"exec cgroup: .*/oci-runtime-test-\d+/" + cid, logged)
    assert re.search(r"exec: process \d+ is running", logged)


def test_without_debug_nothing_is_logged(oci, make_bundle, tmp_path):
    bundle, cid = make_bundle(["sleep", "100"])
    log = tmp_path / "quiet.log"
    result = oci("--log", str(log), "create", "--bundle", str(bundle), cid)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert not log.exists() or "level=debug" not in log.read_text()


@pytest.mark.parametrize("command", ["state", "create"])
def test_without_debug_the_logging_module_is_not_imported(oci, make_bundle, tmp_path, command):
    bundle, cid = make_bundle(["sleep", "100"])
    if command == "state":
        oci("create", "--bundle", str(bundle), cid, check=True)
        argv = ["--root", oci.root, "--log", str(tmp_path / "log"), "state", cid]
    else:
        argv = ["--root", oci.root, "--log", str(tmp_path / "log"), "create", "--bundle",
                str(bundle), cid]
    report = tmp_path / "modules"
    probe = ("import sys\n"
             "from oci_runtime.cli import main\n"
             "status = main(sys.argv[2:])\n"
             "open(sys.argv[1], 'w').write(f'{status} {\"oci_runtime.cli.logging\" in sys.modules}')\n")
    # Output to files: a created container's init inherits stdio, so pipes would stay open.
    with open(tmp_path / "out", "wb") as out:
        subprocess.run([sys.executable, "-c", probe, str(report), *argv], stdout=out,
                       stderr=out, stdin=subprocess.DEVNULL, timeout=60, check=True)
    assert report.read_text() == "0 False"

"""`oci-runtime check`: the bundle (schema with jsonschema and ours, then create's own rules, every
problem at once) and the host."""
import json
import os
import subprocess
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _check(oci, *args):
    return oci("check", *args)


def _write(bundle, edit):
    path = bundle / "config.json"
    config = json.loads(path.read_text())
    edit(config)
    path.write_text(json.dumps(config))


def test_a_good_bundle_passes(oci, make_bundle):
    bundle, _ = make_bundle(["true"])
    result = _check(oci, "--bundle", str(bundle))
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("ok")


def test_every_problem_is_named_at_once(oci, make_bundle):
    def break_it(config):
        del config["process"]["args"]
        config["linux"]["namespaces"].append({"type": "bogus"})

    bundle, _ = make_bundle(["true"])
    _write(bundle, break_it)
    bogus_index = len(json.loads((bundle / "config.json").read_text())["linux"]["namespaces"]) - 1
    result = _check(oci, "--bundle", str(bundle))
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert any(line.startswith("error   /process/args: ") for line in lines), result.stdout
    assert any(line.startswith(f"error   /linux/namespaces/{bogus_index}/type: ")
               for line in lines), result.stdout
    assert "Traceback" not in result.stderr


def test_semantic_rules_of_create_are_all_collected(oci, make_bundle):
    def break_it(config):
        config["hostname"] = "h"
        config["linux"]["namespaces"] = [n for n in config["linux"]["namespaces"]
                                         if n["type"] != "uts"] + [{"type": "pid"}]
        config["process"]["rlimits"] = [{"type": "RLIMIT_NOFILE", "soft": 10, "hard": 10},
                                        {"type": "RLIMIT_NOFILE", "soft": 10, "hard": 10}]
        config["process"]["scheduler"] = {"policy": "SCHED_BOGUS"}

    bundle, _ = make_bundle(["true"])
    _write(bundle, break_it)
    result = _check(oci, "--bundle", str(bundle), "--format", "json")
    assert result.returncode == 1
    report = json.loads(result.stdout)
    assert report["ok"] is False
    subjects = {f["subject"] for f in report["findings"] if f["severity"] == "error"}
    assert {"/hostname", "/process/rlimits/1/type", "/process/scheduler/policy"} <= subjects
    assert any(s.startswith("/linux/namespaces/") for s in subjects)


def test_the_same_rules_stop_create_at_the_first(oci, make_bundle):
    def break_it(config):
        config["hostname"] = "h"
        config["linux"]["namespaces"] = [n for n in config["linux"]["namespaces"]
                                         if n["type"] != "uts"]

    bundle, container_id = make_bundle(["true"], edit=break_it)
    result = oci("create", "--bundle", str(bundle), container_id)
    assert result.returncode == 1
    assert result.stderr.strip() == ("oci-runtime: config.json: /hostname: setting a hostname "
                                     "needs a uts namespace (new or joined by path)")


def test_the_plan_compilers_rules_are_checked_and_stop_create(oci, make_bundle):
    def idmapped(config):
        config["mounts"].append({"destination": "/m", "type": "bind", "source": "/tmp",
                                 "options": ["rbind", "idmap"]})

    bundle, container_id = make_bundle(["true"], edit=idmapped)
    index = len(json.loads((bundle / "config.json").read_text())["mounts"]) - 1
    result = _check(oci, "--bundle", str(bundle))
    assert result.returncode == 1
    # idmap without mappings (none on the mount, no user namespace): refused by the compiler.
    assert f"error   /mounts/{index}: idmap needs uidMappings and gidMappings" in result.stdout
    result = oci("create", "--bundle", str(bundle), container_id)
    assert result.returncode == 1
    assert f"config.json: /mounts/{index}: idmap needs uidMappings and gidMappings" in result.stderr
    assert oci("list", "-q").stdout == ""


def test_a_missing_executable_is_found_by_check_as_create_would(oci, make_bundle, tmp_path):
    bundle, container_id = make_bundle(["no-such-program"])
    result = _check(oci, "--bundle", str(bundle))
    assert result.returncode == 1
    assert ("error   /process/args/0: exec: 'no-such-program': executable file not found in "
            f"$PATH (in {bundle}/rootfs)") in result.stdout
    created = oci("create", "--bundle", str(bundle), container_id)
    assert created.returncode == 1 and "executable file not found" in created.stderr

    (bundle / "rootfs" / "bin" / "plain").write_text("not executable\n")
    _write(bundle, lambda config: config["process"].update(args=["/bin/plain"]))
    assert "error   /process/args/0: exec: '/bin/plain': permission denied" in _check(
        oci, "--bundle", str(bundle)).stdout

    # Found the way the executor looks: the process's own PATH, symlinks resolved in the rootfs
    # (an absolute one stays inside it), or under a mount, which only the running container shows.
    (bundle / "rootfs" / "opt" / "tools").mkdir(parents=True)
    os.symlink("/bin/busybox", bundle / "rootfs" / "opt" / "tools" / "sh2")
    tools = tmp_path / "tools"
    tools.mkdir()
    for edit in (lambda config: config["process"].update(args=["sh2"],
                                                           env=["PATH=/nowhere:/opt/tools"]),
                 lambda config: (config["process"].update(args=["/mnt/tool"]),
                                 config["mounts"].append({"destination": "/mnt", "type": "bind",
                                                          "source": str(tools),
                                                          "options": ["rbind"]}))):
        _write(bundle, edit)
        result = _check(oci, "--bundle", str(bundle))
        assert result.returncode == 0, result.stdout
        assert result.stdout == "ok      config.json: no problem found\n"


def test_a_missing_bind_source_is_an_error_unless_an_earlier_mount_provides_it(oci, make_bundle,
                                                                                tmp_path):
    """create looks at a bind source when it mounts it (runc's order): check says whether it
    will be there then."""
    bundle, _ = make_bundle(["true"])
    missing = tmp_path / "nowhere"
    _write(bundle, lambda config: config["mounts"].append(
        {"destination": "/x", "type": "bind", "source": str(missing), "options": ["bind"]}))
    result = _check(oci, "--bundle", str(bundle))
    index = len(json.loads((bundle / "config.json").read_text())["mounts"]) - 1
    assert result.returncode == 1
    assert f"error   /mounts/{index}: mount source {missing}: No such file or directory" \
        in result.stdout, result.stdout
    volume = tmp_path / "volume"
    volume.mkdir()
    _write(bundle, lambda config: config["mounts"].__setitem__(slice(index, None), [
        {"destination": "/data", "type": "bind", "source": str(volume), "options": ["rbind"]},
        {"destination": "/again", "type": "bind", "source": f"{bundle}/rootfs/data/sub",
         "options": ["rbind"]}]))
    result = _check(oci, "--bundle", str(bundle))
    assert result.returncode == 0, result.stdout


def test_unknown_capabilities_are_warnings_and_the_verdict_stays_with_host(oci, make_bundle):
    bundle, _ = make_bundle(["true"], edit=lambda config: config["process"]["capabilities"][
        "bounding"].append("CAP_FOO"))
    index = len(json.loads((bundle / "config.json").read_text())["process"]["capabilities"][
        "bounding"]) - 1
    result = _check(oci, "--bundle", str(bundle), "--host")
    lines = result.stdout.splitlines()
    assert lines[0] == (f"warning /process/capabilities/bounding/{index}: ignoring capability "
                        "'CAP_FOO': unknown to this kernel")
    assert lines[1] == "ok      config.json: create accepts it (1 warning above)"
    assert any(line.split()[1] == "cgroup:" for line in lines[2:])  # the host's findings follow
    good, _ = make_bundle(["true"])
    lines = _check(oci, "--bundle", str(good), "--host", "--format", "json").stdout
    findings = json.loads(lines)["findings"]
    assert findings[0] == {"severity": "ok", "subject": "config.json",
                           "message": "no problem found", "advice": ""}
    assert len(findings) > 1


def test_rlimits_this_host_cannot_raise(oci, make_bundle):
    import resource

    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    if hard == resource.RLIM_INFINITY:
        pytest.skip("NOFILE has no hard limit here")

    from oci_runtime.kernel import syscalls as kernel

    if kernel.capget()[0] >> 24 & 1:
        pytest.skip("this process has CAP_SYS_RESOURCE: any limit can be raised")

    def too_high(config):
        config["process"]["rlimits"] = [{"type": "RLIMIT_NOFILE", "soft": 64,
                                         "hard": hard + 1}]

    bundle, _ = make_bundle(["true"], edit=too_high)
    result = _check(oci, "--bundle", str(bundle))
    assert result.returncode == 1
    assert f"error   /process/rlimits/0: RLIMIT_NOFILE hard={hard + 1}" in result.stdout
    assert f"at most {hard}" in result.stdout


def test_invalid_json_and_missing_bundle(oci, tmp_path):
    result = _check(oci, "--bundle", str(tmp_path))
    assert result.returncode == 1 and "no such file" in result.stdout
    (tmp_path / "config.json").write_text('{"ociVersion": ')
    result = _check(oci, "--bundle", str(tmp_path))
    assert result.returncode == 1 and "invalid JSON at line 1" in result.stdout


def test_host_report(oci):
    result = _check(oci, "--host", "--format", "json")
    report = json.loads(result.stdout)
    subjects = {finding["subject"] for finding in report["findings"]}
    assert {"cgroup", "systemd", "seccomp", "user namespaces", "subordinate ids",
            "idmapped mounts", "rlimits", "overlayfs", "criu", "podman",
            "containerd"} <= subjects
    assert result.returncode == (0 if report["ok"] else 1)
    text = _check(oci, "--host").stdout.splitlines()
    assert len(text) == len(report["findings"])
    assert all(line.split()[0] in ("ok", "warning", "error") for line in text)


def test_podman_configured_to_use_this_runtime_is_seen(tmp_path, monkeypatch):

    from oci_runtime.check import host as check

    runtime = tmp_path / "oci-runtime"
    runtime.write_text("")
    home = tmp_path / "home"
    (home / ".config" / "containers").mkdir(parents=True)
    (home / ".config" / "containers" / "containers.conf").write_text(
        f'[engine]\nruntime = "ours"\n[engine.runtimes]\nours = ["{runtime}"]\n')
    monkeypatch.setenv("HOME", str(home))
    findings = {f.subject: f for f in check._engine_findings(str(runtime))}
    assert "runtime 'ours' (the default)" in findings["podman"].message


def test_create_path_never_imports_jsonschema():
    code = ("import sys, oci_runtime.container.create, oci_runtime.container.api, oci_runtime.cli.cmd_create; "
            "print('jsonschema' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "False"


def test_collect_problems_and_first_problem_share_rules():
    from oci_runtime.config.model import Config, collect_problems
    from oci_runtime.errors import ConfigError

    document = {"ociVersion": "1.0.0", "process": {"cwd": "rel", "args": []},
                "hostname": "h", "linux": {"namespaces": [{"type": "nope"}]}}
    problems = collect_problems(lambda: Config(document))
    assert [p.pointer for p in problems] == ["/process/args", "/process/cwd",
                                            "/linux/namespaces/0/type", "/hostname"]
    with pytest.raises(ConfigError) as first:
        Config(document)
    assert first.value.pointer == "/process/args"


def test_check_without_jsonschema_says_so_in_one_line(tmp_path, monkeypatch):
    """An interpreter without the package's jsonschema dependency: one line, no traceback."""

    from oci_runtime.check.bundle import check_bundle
    from oci_runtime.container.store import StateStore
    from oci_runtime.errors import OCIError

    (tmp_path / "config.json").write_text('{"ociVersion": "1.3.0"}')
    monkeypatch.setitem(sys.modules, "jsonschema", None)  # import raises ImportError
    with pytest.raises(OCIError, match="^check: the jsonschema package is needed"):
        check_bundle(str(tmp_path), StateStore(str(tmp_path / "state")))


@pytest.mark.skipif(__import__("oci_runtime.cgroups", fromlist=["detect_mode"]).detect_mode()
                    == "v2", reason="needs a v1 or hybrid host (unified memory works on v2)")
def test_check_and_create_refuse_resources_the_hierarchies_cannot_take(oci, make_bundle,
                                                                       cgroup_dirs):
    """unified memory.high where no cgroup2 hierarchy has the memory controller: `check` said
    "no problem found" while create refused it; both now refuse it, naming the field, and
    create before it makes any cgroup directory."""
    bundle, cid = make_bundle(["true"])
    _write(bundle, lambda c: c["linux"]["resources"].update(unified={"memory.high": "50000000"}))
    checked = _check(oci, "--bundle", str(bundle))
    assert checked.returncode == 1, checked.stdout
    assert "error   /linux/resources/unified/memory.high: controller 'memory'" in checked.stdout
    created = oci("create", "--bundle", str(bundle), cid)
    assert created.returncode == 1
    assert "/linux/resources/unified/memory.high: controller 'memory'" in created.stderr
    assert [d for d in cgroup_dirs(bundle) if os.path.isdir(d)] == []

"""config.md: root, mounts, process, hostname, hooks."""
import json
import os
import uuid

import pytest

from clause import clause
from tests.waiting import wait_for_status


def _run(oci, make_bundle, args, edit=None):
    bundle, cid = make_bundle(args, edit)
    return oci("run", "--bundle", str(bundle), cid)


@clause("config.md", "Root", "readonly: true MUST make the root filesystem read-only")
def test_root_readonly(oci, make_bundle):
    result = _run(oci, make_bundle, ["sh", "-c", "touch /x; test -e /x && echo created"],
                  lambda c: c["root"].update(readonly=True))
    assert "Read-only file system" in result.stderr, result.stderr  # EROFS, not any failure
    assert "created" not in result.stdout


@clause("config.md", "Root", "a directory MUST exist at root.path")
def test_root_path_must_exist(oci, make_bundle):
    result = _run(oci, make_bundle, ["true"], lambda c: c["root"].update(path="missing"))
    assert result.returncode != 0 and "/root/path" in result.stderr


@clause("config.md", "Mounts", "the runtime MUST mount entries in the listed order")
def test_mounts_in_order(oci, make_bundle):
    def edit(config):
        config["mounts"] += [
            {"destination": "/stack", "type": "tmpfs", "source": "first", "options": ["size=1m"]},
            {"destination": "/stack/inner", "type": "tmpfs", "source": "second", "options": ["size=1m"]},
        ]
    result = _run(oci, make_bundle, ["sh", "-c", "awk '$2 ~ /^\\/stack/ {print $1, $2}' /proc/mounts"], edit)
    assert result.stdout.split("\n")[:2] == ["first /stack", "second /stack/inner"]


@clause("config.md", "Mounts", "a relative destination MUST be interpreted as relative to /")
def test_relative_mount_destination(oci, make_bundle):
    result = _run(oci, make_bundle, ["sh", "-c", "grep -c ' /rel ' /proc/mounts"],
                  lambda c: c["mounts"].append({"destination": "rel", "type": "tmpfs", "source": "tmpfs"}))
    assert result.returncode == 0 and result.stdout.strip() == "1"


@clause("config.md", "Process", "cwd is the working directory of the process")
def test_cwd(oci, make_bundle):
    result = _run(oci, make_bundle, ["pwd"], lambda c: c["process"].update(cwd="/etc"))
    assert result.stdout.strip() == "/etc"


@clause("config.md", "Process", "duplicated rlimits types MUST generate an error")
def test_duplicate_rlimits(oci, make_bundle):
    def edit(config):
        config["process"]["rlimits"] = [{"type": "RLIMIT_CORE", "soft": 0, "hard": 0},
                                        {"type": "RLIMIT_CORE", "soft": 1, "hard": 1}]
    result = _run(oci, make_bundle, ["true"], edit)
    assert result.returncode != 0 and "/process/rlimits/1" in result.stderr


@clause("config.md", "Process", "rlimit cur and max MUST match the configured values")
def test_rlimits_match(oci, make_bundle):
    def edit(config):
        config["process"]["rlimits"] = [{"type": "RLIMIT_NOFILE", "soft": 321, "hard": 654}]
    result = _run(oci, make_bundle, ["sh", "-c", "ulimit -n; ulimit -H -n"], edit)
    assert result.stdout.split() == ["321", "654"]


@clause("config.md", "Process", "if oomScoreAdj is set, the runtime MUST set oom_score_adj")
def test_oom_score_adj_set(oci, make_bundle):
    result = _run(oci, make_bundle, ["cat", "/proc/self/oom_score_adj"],
                  lambda c: c["process"].update(oomScoreAdj=123))
    assert result.stdout.strip() == "123"


@clause("config.md", "Process", "if oomScoreAdj is not set, the runtime MUST NOT change it")
def test_oom_score_adj_unchanged(oci, make_bundle):
    with open("/proc/self/oom_score_adj") as own:
        inherited = own.read().strip()
    result = _run(oci, make_bundle, ["cat", "/proc/self/oom_score_adj"])
    assert result.stdout.strip() == inherited


@clause("config.md", "Hostname", "hostname is the container's hostname")
def test_hostname(oci, make_bundle):
    result = _run(oci, make_bundle, ["hostname"], lambda c: c.update(hostname="clause-host"))
    assert result.stdout.strip() == "clause-host"


@clause("config.md", "POSIX-platform Hooks", "hooks MUST be called in the listed order with the state on stdin")
def test_hooks_order_and_state(oci, make_bundle, tmp_path):
    log = tmp_path / "hooks.log"

    def hook(tag):
        return {"path": "/bin/sh", "args": ["sh", "-c", f"read state; echo {tag} \"$state\" >> {log}"]}

    def edit(config):
        config["hooks"] = {"createRuntime": [hook("cr1"), hook("cr2")], "poststop": [hook("ps")]}
    bundle, cid = make_bundle(["true"], edit)
    oci("run", "--bundle", str(bundle), cid, check=True)
    lines = log.read_text().splitlines()
    assert [line.split()[0] for line in lines] == ["cr1", "cr2", "ps"]
    state = json.loads(lines[0].split(" ", 1)[1])
    assert state["id"] == cid and state["bundle"] == str(bundle) and state["status"] == "creating"


def _bounding_set():
    with open("/proc/self/status") as status:
        return int(next(line for line in status if line.startswith("CapBnd:")).split()[1], 16)


@clause("config.md", "Linux Process", "capabilities that cannot be granted SHOULD be logged and SHOULD NOT fail")
def test_ungrantable_capabilities_warn_and_the_container_runs(oci, make_bundle):
    from oci_runtime.process.capabilities import CAPABILITY_NUMBERS

    missing = [name for name, number in CAPABILITY_NUMBERS.items()
               if not _bounding_set() >> number & 1]
    wanted = ["CAP_KILL", "CAP_BOGUS"] + missing[:1]

    def edit(config):
        config["process"]["capabilities"] = {key: list(wanted) for key in (
            "bounding", "effective", "permitted", "inheritable", "ambient")}
    result = _run(oci, make_bundle, ["sh", "-c", "grep CapEff /proc/self/status"], edit)
    assert result.returncode == 0, result.stderr
    assert ("warning: config.json: /process/capabilities/bounding/1: ignoring capability "
            "'CAP_BOGUS': unknown to this kernel") in result.stderr
    assert int(result.stdout.split()[1], 16) == 1 << CAPABILITY_NUMBERS["CAP_KILL"]
    if missing:  # this host's runtime lacks some capability (here: CAP_SYS_RESOURCE)
        assert f"ignoring capability '{missing[0]}': not in the runtime's own bounding set" \
            in result.stderr


@clause("config.md", "POSIX-platform Hooks", "a hook without env runs with the runtime's environment")
def test_hook_env_defaults_to_the_runtimes(oci, make_bundle, tmp_path):
    out = tmp_path / "env"

    def hook(name, **extra):
        return dict({"path": "/bin/sh", "args": ["sh", "-c", f"env > {out}.{name}"]}, **extra)

    bundle, cid = make_bundle(["true"], lambda c: c.update(hooks={
        "prestart": [hook("absent"), hook("empty", env=[]), hook("given", env=["ONLY=1"])]}))
    env = dict(os.environ, RUNTIME_MARKER="from-the-runtime")
    result = oci("run", "--bundle", str(bundle), cid, env=env)
    assert result.returncode == 0, result.stderr
    assert "RUNTIME_MARKER=from-the-runtime" in (tmp_path / "env.absent").read_text().split()
    assert "RUNTIME_MARKER" not in (tmp_path / "env.empty").read_text()
    assert "ONLY=1" in (tmp_path / "env.given").read_text().split()
    assert "RUNTIME_MARKER" not in (tmp_path / "env.given").read_text()


@clause("config.md", "POSIX-platform Hooks", "args, env and timeout of every kind of hook: "
        "timeout is the number of seconds before aborting the hook")
@pytest.mark.parametrize("kind", ["prestart", "createRuntime", "createContainer",
                                  "startContainer", "poststart", "poststop"])
def test_every_kind_of_hook_gets_its_args_env_and_timeout(oci, make_bundle, tmp_path, kind):
    """args (argv[0] included), env (only what is given: nothing of the runtime's) and timeout
    hold for each kind, whether the runtime runs it (hooks/runner.py) or the container's init
    does (the executor)."""
    inside = kind == "startContainer"  # runs after pivot_root: paths are the container's
    log = "/tmp/hook.log" if inside else str(tmp_path / "hook.log")
    hooks = [{"path": "/bin/sh", "env": ["ONLY=given"],
              "args": ["sh", "-c", f'echo "$0 $ONLY ${{MARKER:-unset}}" > {log}', "argzero"]},
             {"path": "/bin/sh", "args": ["sh", "-c", "sleep 30"], "timeout": 1}]
    bundle, cid = make_bundle(["sleep", "1000"], lambda c: c.update(hooks={kind: hooks}))
    timed_out = f"hooks.{kind}[1] (/bin/sh) timed out after 1 s"
    runtime_env = dict(os.environ, MARKER="the runtime's")  # a hook with env must not see it
    created = oci("create", "--bundle", str(bundle), cid, env=runtime_env)
    if kind in ("prestart", "createRuntime", "createContainer"):
        assert created.returncode == 1 and timed_out in created.stderr, created.stderr
    else:
        assert created.returncode == 0, created.stderr
        started = oci("start", cid, env=runtime_env)
        if kind == "poststop":
            assert started.returncode == 0, started.stderr
            oci("kill", cid, "KILL", check=True)
            wait_for_status(oci, cid, "stopped")
            deleted = oci("delete", cid, env=runtime_env)
            assert deleted.returncode == 0 and "warning" in deleted.stderr
            assert timed_out in deleted.stderr
        else:
            assert started.returncode == 1 and timed_out in started.stderr, started.stderr
    written = bundle / "rootfs" / log.lstrip("/") if inside else tmp_path / "hook.log"
    assert written.read_text() == "argzero given unset\n"


@clause("config.md", "Mounts", "destination: path inside container (a symlink of the image on "
        "the way, dangling or not, resolves inside it)")
@pytest.mark.parametrize("target", ["absolute", "relative"])
def test_a_file_bind_onto_a_dangling_symlink_makes_its_target_inside_the_rootfs(
        oci, make_bundle, target):
    """runc (SecureJoin) and crun follow a dangling symlink destination inside the root: a bind
    of a file (here a host symlink, /etc/localtime's kind) onto /data, a link to a path that does
    not exist yet, makes that file in the rootfs and mounts there, never on the host."""
    name = f"oci-dangling-{uuid.uuid4().hex[:8]}"
    link_target = f"/{name}" if target == "absolute" else f"../../../{name}"
    source = os.path.join(os.path.dirname(oci.root), f"{name}-source")
    os.makedirs(os.path.dirname(source), exist_ok=True)
    with open(source + ".real", "w") as real:
        real.write("from the host\n")
    os.symlink(source + ".real", source)

    def edit(config):
        config["mounts"].append({"destination": "/data", "source": source,
                                 "options": ["bind", "ro"]})

    bundle, cid = make_bundle(["sh", "-c", f"cat /data; cat /{name}"], edit)
    (bundle / "rootfs" / "data").symlink_to(link_target)
    result = oci("run", "--bundle", str(bundle), cid)
    assert not os.path.exists(f"/{name}"), "a file was created on the host"
    assert result.returncode == 0, result.stderr
    assert result.stdout == "from the host\nfrom the host\n"
    assert (bundle / "rootfs" / name).is_file()


@clause("config.md", "Valid values", "Runtimes MUST generate an error when invalid or unsupported "
        "values are encountered")
def test_an_unsupported_value_is_an_error_naming_it(oci, make_bundle):
    """linux.personality.flags: config-linux.md defines no flag values; one given is refused at
    create, naming the field, with nothing left (tests/unit/test_config_fields.py lists every
    field this runtime refuses)."""
    def edit(config):
        config["linux"]["personality"] = {"domain": "LINUX", "flags": ["ADDR_NO_RANDOMIZE"]}
    bundle, cid = make_bundle(["true"], edit)
    result = oci("run", "--bundle", str(bundle), cid)
    assert result.returncode == 1
    assert "config.json: /linux/personality/flags: no flags are supported" in result.stderr
    assert oci("state", cid).returncode == 1

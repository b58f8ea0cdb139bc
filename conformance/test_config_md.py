"""config.md: root, mounts, process, hostname, hooks."""
import json
import os

from clause import clause


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

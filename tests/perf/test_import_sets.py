"""The modules each command imports, listed: every CLI call is a new interpreter, and an import is
the largest cost of a call after the interpreter's own start (docs/performance.md).  A module
that joins one of these sets fails this test until it is listed here, with the reason it is
needed; create's set is the one of a plain config, and each feature a config may ask for adds
its own modules and no others.

Counted, never timed: `python -X importtime` names every module a call imports, in the
interpreter the installed command runs (the generated launcher's), minus the interpreter's own
start-up (`python -I -S -c pass`)."""
import subprocess
import tempfile

import pytest


# What every command of the hot path imports: the CLI, the API over the state store, hotpath's
# bindings (posix, _signal, _json: the one extension module), and the import image's finder.
HOT = {
    "oci_runtime", "oci_runtime._image", "oci_runtime.errors", "oci_runtime.cli",
    "oci_runtime.cli.args", "oci_runtime.kernel", "oci_runtime.kernel.hotpath",
    "oci_runtime.kernel.files", "oci_runtime.container", "oci_runtime.container.api",
    "oci_runtime.container.lifecycle", "oci_runtime.container.store", "gc", "_json",
}
COMMANDS = {
    "state": HOT | {"oci_runtime.cli.cmd_state"},
    # the container's lock (flock), start.sock
    "start": HOT | {"oci_runtime.cli.cmd_start", "fcntl", "_socket"},
    # the lock, signal names
    "kill": HOT | {"oci_runtime.cli.cmd_kill", "fcntl", "oci_runtime.kernel.signals"},
    # the lock, the recorded cgroup directories' removal (oci_runtime.cgroups.remove_empty)
    "delete": HOT | {"oci_runtime.cli.cmd_delete", "fcntl", "oci_runtime.cgroups"},
}
# create of a plain config (runc spec's: namespaces, mounts, devices, a cgroupsPath with
# linux.resources.devices, no hooks, no user namespace, no seccomp, no terminal).
CREATE = HOT | {
    "oci_runtime.cli.cmd_create", "oci_runtime.plan", "oci_runtime.plan.options",
    # the create path: decide (prepare), then the transaction's steps, the executor launched
    "oci_runtime.container.create", "oci_runtime.container.prepare",
    "oci_runtime.container.transaction", "oci_runtime.container.launch",
    # config.json: read, validated against our schemas, the model's rules
    "oci_runtime.config", "oci_runtime.config.load", "oci_runtime.config.validate",
    "oci_runtime.config.model",
    # the plan compiler and what it knows of the host
    "oci_runtime.plan.create", "oci_runtime.plan.process", "oci_runtime.plan.model",
    "oci_runtime.plan.host", "oci_runtime.kernel.constants", "oci_runtime.kernel.mountinfo",
    "oci_runtime.rootfs", "oci_runtime.rootfs.devices", "oci_runtime.rootfs.mount_options",
    "oci_runtime.process", "oci_runtime.process.capabilities",
    "oci_runtime.process.attributes",   # the CPU affinity reset, AppArmor's attribute
    "oci_runtime.process.children",     # reaping the executor's first stage
    "oci_runtime.userns", "oci_runtime.userns.rootless",  # rootless or not (the cgroup)
    # the cgroup: v1/hybrid here, the devices rules, cpuset's inherited cpus, the freezer
    # (create refuses a frozen cgroup), the file writes, the attach's warm-up
    "oci_runtime.cgroups", "oci_runtime.cgroups._open", "oci_runtime.cgroups.hierarchy",
    "oci_runtime.cgroups.base", "oci_runtime.cgroups.v1", "oci_runtime.cgroups.dispatch",
    "oci_runtime.cgroups.files", "oci_runtime.cgroups.fields",
    "oci_runtime.cgroups.controllers", "oci_runtime.cgroups.controllers.devices",
    "oci_runtime.cgroups.controllers.cpuset", "oci_runtime.cgroups.controllers.freezer",
    # the executor: the plan's format, spawning it and talking to it
    "oci_runtime.executor", "oci_runtime.executor.wire", "oci_runtime.executor.session",
    # whether the config asks for networks (network.attach decides, and returns at once)
    "oci_runtime.network",
    "fcntl", "_socket",
}
# The standard library's modules beyond the interpreter's start that create loads on the
# interpreter scripts/setup builds the venv on (CPython 3.11): os (the create path is not
# posix-only), struct (the plan's format), zlib (its digest), errno.
CREATE_STDLIB_311 = {"os", "stat", "_stat", "posixpath", "genericpath", "_collections_abc",
                     "struct", "_struct", "zlib", "errno"}
# What a feature of the config or of create's options adds to a plain create, and only that.
FEATURES = {
    "pid-file": {"oci_runtime.container.pid_file"},
    "hooks": {"oci_runtime.hooks", "oci_runtime.hooks.runner"},
    "user-namespace": {"oci_runtime.userns.idmap", "oci_runtime.rootfs.userns_devices"},
    "no-mount-namespace": {"oci_runtime.rootfs.leftover_mounts"},
}


def _launcher(oci):
    command = oci.command
    if len(command) != 1:
        pytest.skip("no generated launcher (scripts/setup writes it): -X importtime needs the "
                    "command's own interpreter and flags")
    with open(command[0]) as launcher:
        first = launcher.readline()
    if not first.startswith("#!") or not first.rstrip().endswith(" -IS"):
        pytest.skip("not the generated launcher")
    return first[2:].split()[0], command[0]


def imported(python, *argv):
    """The modules the command imports (beyond the interpreter's start-up), and its result.
    Its output goes to a file: a created container's init holds the caller's stdio, so a
    pipe would not see its end."""
    with tempfile.TemporaryFile() as err:
        result = subprocess.run([python, "-IS", "-X", "importtime", *argv],
                                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err,
                                timeout=60)
        err.seek(0)
        result.stderr = err.read().decode(errors="replace")
    names = {line.rsplit("|", 1)[1].strip() for line in result.stderr.splitlines()
             if line.startswith("import time:") and "imported package" not in line}
    return names - _start_up(python), result


def _start_up(python, cache={}):  # noqa: B006 - one interpreter's start-up, asked once
    if python not in cache:
        stderr = subprocess.run([python, "-IS", "-X", "importtime", "-c", "pass"],
                                capture_output=True, text=True, timeout=30).stderr
        cache[python] = {line.rsplit("|", 1)[1].strip() for line in stderr.splitlines()
                         if line.startswith("import time:") and "imported package" not in line}
    return cache[python]


def _ours(names):
    return {name for name in names if name.split(".")[0] == "oci_runtime"}


def _stdlib_checked(python):
    version = subprocess.run([python, "-c", "import sys; print(sys.version_info[:2])"],
                             capture_output=True, text=True).stdout.strip()
    return version == "(3, 11)"


def _create(oci, python, launcher, bundle, cid, *options):
    names, result = imported(python, launcher, "--root", oci.root, "create", *options,
                             "--bundle", str(bundle), cid)
    assert result.returncode == 0, result.stderr[-2000:]
    return names


def test_the_hot_commands_import_their_listed_modules(oci, make_bundle):
    python, launcher = _launcher(oci)
    bundle, cid = make_bundle(["sleep", "60"])
    oci("create", "--bundle", str(bundle), cid, check=True)
    seen = {}
    for command, argv in (("state", [cid]), ("start", [cid]), ("kill", [cid, "KILL"])):
        seen[command], result = imported(python, launcher, "--root", oci.root, command, *argv)
        assert result.returncode == 0, result.stderr[-2000:]
    deadline = 300
    while oci.state(cid)["status"] != "stopped" and deadline:
        deadline -= 1
        subprocess.run(["sleep", "0.1"])
    seen["delete"], result = imported(python, launcher, "--root", oci.root, "delete", cid)
    assert result.returncode == 0, result.stderr[-2000:]
    for command, expected in COMMANDS.items():
        assert seen[command] == expected, (
            f"{command}: imports {sorted(seen[command] - expected)} not listed, "
            f"no longer {sorted(expected - seen[command])}")


def _v1_or_hybrid():
    """CREATE lists a cgroup v1 or hybrid host's modules (this kind of host, CI's); a pure v2
    host's manager is another module (the v2 bed runs a subset without tests/perf)."""
    from oci_runtime.cgroups import detect_mode

    if detect_mode() == "v2":
        pytest.skip("CREATE lists a cgroup v1/hybrid host's modules; this host is cgroup v2")


def test_create_imports_only_what_a_plain_config_uses(oci, make_bundle):
    _v1_or_hybrid()
    python, launcher = _launcher(oci)
    bundle, cid = make_bundle(["true"])
    names = _create(oci, python, launcher, bundle, cid)
    assert _ours(names) == _ours(CREATE), (
        f"create imports {sorted(_ours(names) - CREATE)} not listed in CREATE, no longer "
        f"{sorted(_ours(CREATE) - names)}")
    if _stdlib_checked(python):
        stdlib = (CREATE - _ours(CREATE)) | CREATE_STDLIB_311
        assert names - _ours(names) == stdlib, (
            f"create imports {sorted(names - _ours(names) - stdlib)} of the standard library "
            f"not listed, no longer {sorted(stdlib - names)}")


def _with_feature(feature, make_bundle, tmp_path):
    """(bundle, id, create's options) of a plain config with ``feature``."""
    def edit(config):
        if feature == "hooks":
            config["hooks"] = {"prestart": [{"path": "/bin/true"}]}
        elif feature == "user-namespace":
            # Identity-mapped (the bundle is in root-only directories), yet a namespace of its
            # own, as tests/network/test_cni.py's.
            identity = [{"containerID": 0, "hostID": 0, "size": 65536}]
            config["linux"].update(uidMappings=identity, gidMappings=identity)
            config["linux"]["namespaces"].append({"type": "user"})
            config["mounts"] = [m for m in config["mounts"] if m["type"] != "cgroup"]
        elif feature == "no-mount-namespace":
            config["linux"]["namespaces"] = [n for n in config["linux"]["namespaces"]
                                             if n["type"] != "mount"]
            config["mounts"] = []
            config["linux"].pop("maskedPaths", None)
            config["linux"].pop("readonlyPaths", None)
    bundle, cid = make_bundle(["true"], edit)
    options = ("--pid-file", str(tmp_path / f"{cid}.pid")) if feature == "pid-file" else ()
    return bundle, cid, options


@pytest.mark.parametrize("feature", sorted(FEATURES))
def test_a_feature_adds_its_own_modules_and_no_other(oci, make_bundle, tmp_path, feature):
    python, launcher = _launcher(oci)
    plain_bundle, plain_id = make_bundle(["true"])
    plain = _ours(_create(oci, python, launcher, plain_bundle, plain_id))
    bundle, cid, options = _with_feature(feature, make_bundle, tmp_path)
    with_feature = _ours(_create(oci, python, launcher, bundle, cid, *options))
    assert with_feature - plain == FEATURES[feature], feature
    assert plain - with_feature == set()


def test_the_listed_modules_exist():
    """A name listed here that no longer exists would make a set unreachable, silently."""
    import importlib.util

    listed = set().union(*COMMANDS.values(), CREATE, *FEATURES.values())
    missing = [name for name in sorted(_ours(listed))
               if importlib.util.find_spec(name) is None]
    assert missing == [], missing

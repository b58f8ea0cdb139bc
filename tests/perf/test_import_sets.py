"""The modules each command imports, as oci_runtime/cli/import_sets.py lists them: every CLI call
is a new interpreter, and an import is the largest cost of a call after the interpreter's own
start (docs/performance.md).  A module that joins one of these sets fails this test until it is
listed there, with the reason it is needed; create's set is the one of a plain config, run's
that and its wait, and each feature a config may ask for adds its own modules and no others.

Counted, never timed: `python -X importtime` names every module a call imports, in the
interpreter the installed command runs (the generated launcher's), minus the interpreter's own
start-up (`python -I -S -c pass`)."""
import subprocess
import tempfile

import pytest


from oci_runtime.cli.import_sets import COMMANDS, CREATE, CREATE_STDLIB_311, FEATURES, RUN, ours


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


def _check_listed(command, names, listed, python):
    """``names`` (what ``command`` imported) are the ``listed`` set, ours and, on the
    interpreter the lists are for, the standard library's."""
    assert ours(names) == ours(listed), (
        f"{command} imports {sorted(ours(names) - listed)} not listed, no longer "
        f"{sorted(ours(listed) - names)}")
    if _stdlib_checked(python):
        stdlib = (listed - ours(listed)) | CREATE_STDLIB_311
        assert names - ours(names) == stdlib, (
            f"{command} imports {sorted(names - ours(names) - stdlib)} of the standard library "
            f"not listed, no longer {sorted(stdlib - names)}")


def test_create_imports_only_what_a_plain_config_uses(oci, make_bundle):
    _v1_or_hybrid()
    python, launcher = _launcher(oci)
    bundle, cid = make_bundle(["true"])
    _check_listed("create", _create(oci, python, launcher, bundle, cid), CREATE, python)


def test_run_imports_create_s_modules_and_its_wait(oci, make_bundle):
    _v1_or_hybrid()
    python, launcher = _launcher(oci)
    bundle, cid = make_bundle(["true"])
    names, result = imported(python, launcher, "--root", oci.root, "run", "--bundle",
                             str(bundle), cid)
    assert result.returncode == 0, result.stderr[-2000:]
    _check_listed("run", names, RUN, python)


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
    plain = ours(_create(oci, python, launcher, plain_bundle, plain_id))
    bundle, cid, options = _with_feature(feature, make_bundle, tmp_path)
    with_feature = ours(_create(oci, python, launcher, bundle, cid, *options))
    assert with_feature - plain == FEATURES[feature], feature
    assert plain - with_feature == set()


def test_the_listed_modules_exist():
    """A name listed here that no longer exists would make a set unreachable, silently."""
    import importlib.util

    listed = set().union(*COMMANDS.values(), RUN, *FEATURES.values())
    missing = [name for name in sorted(ours(listed))
               if importlib.util.find_spec(name) is None]
    assert missing == [], missing

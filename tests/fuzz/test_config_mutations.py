"""Property: whatever config.json holds, `create` ends with a working container or a non-zero exit
and one line on stderr (no traceback), and leaves nothing behind: no state directory, no cgroup,
no mount.

hypothesis mutates a valid config (a busybox bundle with resources, rlimits, a hook, sysctl and
mounts): one value replaced by another type, a boundary, a huge value, a string with a NUL or a
lone surrogate, deep nesting; a key deleted or added; or the document's bytes truncated or
corrupted.  Most mutations fail at validation (~50 ms each: the real CLI, no shortcut); the rest
make a container that is started and force-deleted.  The examples are derived from a fixed seed
(derandomize) so CI runs the same ones; OCI_FUZZ_EXAMPLES changes how many (300 by default).

Not mutated: linux.cgroupsPath (the cgroup must stay under the test's own parent, where the
check looks) and root.path (a rootfs of "/" would be the host's).
"""
import json
import os
import shutil

import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings, strategies as st  # noqa: E402

EXAMPLES = int(os.environ.get("OCI_FUZZ_EXAMPLES", "300"))
CONTAINER_ID = "fuzz"
PROTECTED = {("linux", "cgroupsPath"), ("root", "path")}

# Stand-ins replaced in the serialised document (hypothesis would print the real values whole).
HUGE = "\ue000huge\ue000"  # a string of 100,000 characters
NEST = "\ue000nest\ue000"  # thousands of nested arrays: json.dumps cannot make them
BOUNDARIES = [0, -1, 1, 2 ** 31 - 1, 2 ** 31, 2 ** 32, 2 ** 63 - 1, 2 ** 63, 2 ** 64, -2 ** 63 - 1,
              10 ** 30, 1e308, -1e308, 0.5]
ODD_STRINGS = ["", "a\x00b", "\x00", "\ud800", "\udfff", "\u202e", "é", " ", "..", "../../..",
               HUGE, "\n", "%s%n", "-1", "1e999", "true", "null"]
# Keys the spec knows, so that an added key is often a real field with a wrong value.
KNOWN_KEYS = ["uid", "gid", "umask", "additionalGids", "args", "env", "cwd", "terminal",
              "rlimits", "capabilities", "noNewPrivileges", "oomScoreAdj", "apparmorProfile",
              "selinuxLabel", "ioPriority", "scheduler", "personality", "hostname", "domainname",
              "readonly", "options", "source", "type", "destination", "sysctl", "devices",
              "resources", "memory", "limit", "reservation", "swap", "cpu", "shares", "quota",
              "period", "cpus", "mems", "pids", "blockIO", "hugepageLimits", "network", "unified",
              "uidMappings", "gidMappings", "timeOffsets", "seccomp", "defaultAction",
              "architectures", "syscalls", "maskedPaths", "readonlyPaths", "mountLabel",
              "rootfsPropagation", "intelRdt", "hooks", "prestart", "poststart", "annotations",
              "path", "timeout", "console_size", "consoleSize", "height", "width"]


def base_config():
    from oci_runtime.config.default_spec import default_config

    config = default_config()
    config["process"]["terminal"] = False
    config["process"]["args"] = ["true"]
    config["root"]["readonly"] = False
    linux = config["linux"]
    linux["cgroupsPath"] = "set by apply()"
    linux["resources"] = {"memory": {"limit": 64 << 20}, "pids": {"limit": 64},
                          "cpu": {"shares": 512},
                          "devices": [{"allow": False, "access": "rwm"}]}
    linux["sysctl"] = {"net.ipv4.ip_forward": "1"}
    config["process"]["rlimits"].append({"type": "RLIMIT_NPROC", "hard": 512, "soft": 256})
    config["process"]["oomScoreAdj"] = 100
    config["hooks"] = {"createRuntime": [{"path": "/bin/true", "args": ["true"], "timeout": 5}]}
    config["annotations"] = {"org.example.key": "value"}
    config["mounts"].append({"destination": "/mnt", "type": "tmpfs", "source": "tmpfs",
                             "options": ["size=64k", "mode=0755"]})
    return config


def pointers(value, path=()):
    """Every location in the document, as a tuple of keys and indices."""
    yield path
    if isinstance(value, dict):
        for key, child in value.items():
            yield from pointers(child, path + (key,))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from pointers(child, path + (index,))


BASE = base_config()
LOCATIONS = [p for p in pointers(BASE) if not any(p[:len(q)] == q for q in PROTECTED)]


def at(document, location):
    for key in location:
        document = document[key]
    return document


CONTAINERS = [p for p in LOCATIONS if isinstance(at(BASE, p), (dict, list))]

leaves = st.one_of(
    st.none(), st.booleans(), st.integers(-2 ** 70, 2 ** 70), st.sampled_from(BOUNDARIES),
    st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=12),
    st.sampled_from(ODD_STRINGS),
)
values = st.recursive(leaves, lambda children: st.one_of(
    st.lists(children, max_size=3), st.dictionaries(st.sampled_from(KNOWN_KEYS), children, max_size=3)),
    max_leaves=6)


mutations = st.one_of(
    st.tuples(st.just("replace"), st.sampled_from(LOCATIONS[1:]), values),
    st.tuples(st.just("nest"), st.sampled_from(LOCATIONS[1:]), st.integers(100, 3000)),
    st.tuples(st.just("delete"), st.sampled_from(LOCATIONS[1:]), st.none()),
    st.tuples(st.just("add"), st.sampled_from(CONTAINERS),
              st.tuples(st.sampled_from(KNOWN_KEYS) | st.text(max_size=8), values)),
    st.tuples(st.just("bytes"), st.none(),
              st.tuples(st.sampled_from(["truncate", "flip", "nul", "bad-utf8", "bom"]),
                        st.floats(0, 1))),
)


def apply(mutation, cgroups_path):
    """The config.json bytes after one mutation of the base config, whose cgroupsPath is
    ``cgroups_path`` (never mutated: a changed parent would be a cgroup made outside it)."""
    kind, location, argument = mutation
    config = json.loads(json.dumps(BASE))
    config["linux"]["cgroupsPath"] = cgroups_path
    if kind == "bytes":
        data = json.dumps(config).encode()
        how, where = argument
        offset = int(where * (len(data) - 1))
        quoted = json.dumps(cgroups_path).encode()
        protected = data.index(quoted)
        if protected <= offset < protected + len(quoted):
            offset = protected + len(quoted)
        if how == "truncate":
            return data[:offset]
        if how == "flip":
            return data[:offset] + bytes([data[offset] ^ 0x5A]) + data[offset + 1:]
        if how == "nul":
            return data[:offset] + b"\0" + data[offset:]
        if how == "bad-utf8":
            return data[:offset] + b"\xc3\x28\xff" + data[offset:]
        return b"\xef\xbb\xbf" + data
    parent = at(config, location if kind == "add" else location[:-1])
    if kind == "add":
        if isinstance(parent, dict):
            parent[argument[0]] = argument[1]
        else:
            parent.append(argument[1])
    elif kind == "delete":
        del parent[location[-1]]
    elif kind == "nest":
        parent[location[-1]] = NEST
    else:
        parent[location[-1]] = argument
    text = json.dumps(config, ensure_ascii=False)
    if kind == "nest":
        text = text.replace(json.dumps(NEST, ensure_ascii=False), "[" * argument + "]" * argument)
    text = text.replace(json.dumps(HUGE, ensure_ascii=False), json.dumps("x" * 100_000))
    return text.encode("utf-8", "surrogatepass")


def one_line_error(result):
    assert result.returncode != 0
    assert "Traceback" not in result.stderr, result.stderr
    assert result.stderr.startswith("oci-runtime: ") and result.stderr.count("\n") == 1, \
        repr(result.stderr[:2000])


def our_mounts(bundle):
    with open("/proc/self/mountinfo") as mountinfo:
        return [line for line in mountinfo if f" {bundle}" in line]


def cgroups_left(cgroups_path):
    left = []
    for base in ("/sys/fs/cgroup", "/sys/fs/cgroup/unified"):
        if os.path.isdir(base):
            for controller in [base] + [os.path.join(base, c) for c in os.listdir(base)]:
                if os.path.isdir(controller + cgroups_path):
                    left.append(controller + cgroups_path)
    return left


@pytest.fixture(scope="module")
def fuzz_bundle(tmp_path_factory, rootfs_template, runtime_at, cgroup_parent):
    """(bundle, runtime, cgroupsPath): one bundle and root for every example."""
    bundle = tmp_path_factory.mktemp("fuzz-bundle")
    shutil.copytree(rootfs_template, bundle / "rootfs", symlinks=True)
    (bundle / "rootfs" / "mnt").mkdir()
    runtime = runtime_at(bundle / "state")
    yield bundle, runtime, f"/{cgroup_parent}/fuzz"
    runtime.cleanup()


@settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck))
@given(mutation=mutations)
def test_any_config_makes_a_working_container_or_one_line_and_nothing_left(fuzz_bundle, mutation):
    bundle, oci, cgroups_path = fuzz_bundle
    data = apply(mutation, cgroups_path)
    (bundle / "config.json").write_bytes(data)
    created = oci("create", "--bundle", str(bundle), CONTAINER_ID, timeout=30)
    hypothesis.event("create failed" if created.returncode else "create succeeded")
    try:
        if created.returncode:
            one_line_error(created)
        else:
            started = oci("start", CONTAINER_ID, timeout=30)
            if started.returncode:
                one_line_error(started)
    finally:
        deleted = oci("delete", "--force", CONTAINER_ID, timeout=30)
    assert deleted.returncode == 0, deleted.stderr
    assert [n for n in os.listdir(oci.root) if not n.startswith(".")] == [] \
        if os.path.isdir(oci.root) else True
    assert cgroups_left(cgroups_path) == []
    assert our_mounts(bundle) == []

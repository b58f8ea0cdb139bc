"""Tests for oci_runtime.config.validate and the schemas in schemas/.

Three kinds of evidence: the upstream runtime-spec example documents (good ones pass, bad ones fail),
agreement with the reference ``jsonschema`` implementation on a few dozen mutations of a full config,
and the exact wording of the one-line errors users see.
"""

import copy
import json
import os
from pathlib import Path

import pytest

from oci_runtime.kernel import hotpath
from oci_runtime.config import validate
from oci_runtime.errors import OCIError

REPO_ROOT = Path(__file__).resolve().parents[2]
SCHEMA_DIR = REPO_ROOT / "schemas"


def _upstream_tests_directory():
    """The upstream runtime-spec v1.3.0 example documents (schema/test/{config,state,features}/
    {good,bad}) are not shipped in this repository: they are read from $RUNTIME_SPEC_SCHEMA_TESTS,
    or from a runtime-spec checkout beside this checkout (or beside the main checkout of this git
    worktree) at ../shared/reference/runtime-spec-v1.3.0."""
    if os.environ.get("RUNTIME_SPEC_SCHEMA_TESTS"):
        return Path(os.environ["RUNTIME_SPEC_SCHEMA_TESTS"])
    checkouts = [REPO_ROOT]
    git = REPO_ROOT / ".git"
    if git.is_file() and git.read_text().startswith("gitdir: "):  # a worktree: .git/worktrees/NAME
        checkouts.append(Path(git.read_text().split(" ", 1)[1].strip()).parents[2])
    candidates = [checkout.parent / "shared/reference/runtime-spec-v1.3.0/schema/test" for checkout in checkouts]
    return next((candidate for candidate in candidates if candidate.is_dir()), candidates[0])


UPSTREAM_TESTS = _upstream_tests_directory()
UPSTREAM_MISSING = (f"the upstream runtime-spec v1.3.0 examples are not part of this repository and "
                    f"none were found at {UPSTREAM_TESTS} (looked for a runtime-spec checkout at "
                    f"../shared/reference/runtime-spec-v1.3.0 beside this checkout; set "
                    f"RUNTIME_SPEC_SCHEMA_TESTS to its schema/test directory)")

# Upstream "bad" documents this runtime deliberately accepts, with the reason.
UPSTREAM_BAD_NOT_REJECTED = {
    "config/bad/freebsd-vnet-disable.json":
        "FreeBSD jail settings: this Linux runtime only checks that 'freebsd' is an object and ignores it",
}
# Upstream "good" documents whose ociVersion is outside what this runtime implements (0.x pre-dates 1.0).
# The schema accepts them (any SemVer is a valid ociVersion); validate_config refuses them by policy.
UPSTREAM_GOOD_WITH_UNSUPPORTED_VERSION = {"config/good/spec-example.json", "config/good/zos-example.json"}


def runc_spec_config():
    """The document `runc spec` writes (runc 1.1+): the common case create must validate quickly."""
    default_capabilities = ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]
    return {
        "ociVersion": "1.0.2-dev",
        "process": {
            "terminal": True,
            "user": {"uid": 0, "gid": 0},
            "args": ["sh"],
            "env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"],
            "cwd": "/",
            "capabilities": {name: list(default_capabilities)
                             for name in ("bounding", "effective", "permitted", "ambient")},
            "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}],
            "noNewPrivileges": True,
        },
        "root": {"path": "rootfs", "readonly": True},
        "hostname": "runc",
        "mounts": [
            {"destination": "/proc", "type": "proc", "source": "proc"},
            {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
             "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
            {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
             "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]},
            {"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
             "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
            {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue",
             "options": ["nosuid", "noexec", "nodev"]},
            {"destination": "/sys", "type": "sysfs", "source": "sysfs",
             "options": ["nosuid", "noexec", "nodev", "ro"]},
            {"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
             "options": ["nosuid", "noexec", "nodev", "relatime", "ro"]},
        ],
        "linux": {
            "resources": {"devices": [{"allow": False, "access": "rwm"}]},
            "namespaces": [{"type": name} for name in ("pid", "network", "ipc", "uts", "mount", "cgroup")],
            "maskedPaths": ["/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
                            "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware",
                            "/proc/scsi"],
            "readonlyPaths": ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"],
        },
    }


def full_config():
    """A config exercising (nearly) every part of the schema, valid as a whole."""
    config = runc_spec_config()
    config["ociVersion"] = "1.3.0"
    config["domainname"] = "example.test"
    config["annotations"] = {"com.example.key": "value", "io.kubernetes.cri/sandbox": ""}
    config["mounts"].append({
        "destination": "/data", "type": "none", "source": "/srv/data", "options": ["rbind", "idmap"],
        "uidMappings": [{"containerID": 0, "hostID": 100000, "size": 65536}],
        "gidMappings": [{"containerID": 0, "hostID": 100000, "size": 65536}],
    })
    config["hooks"] = {
        "createRuntime": [{"path": "/usr/bin/setup-network", "args": ["setup-network", "-v"],
                           "env": ["A=1"], "timeout": 5}],
        "poststop": [{"path": "/usr/sbin/cleanup.sh"}],
    }
    process = config["process"]
    process.update({
        "consoleSize": {"height": 25, "width": 80},
        "oomScoreAdj": 100,
        "apparmorProfile": "acme_secure_profile",
        "selinuxLabel": "system_u:system_r:svirt_lxc_net_t:s0:c124,c675",
        "scheduler": {"policy": "SCHED_DEADLINE", "nice": -5, "priority": 0, "flags": ["SCHED_FLAG_RECLAIM"],
                      "runtime": 100000, "deadline": 200000, "period": 300000},
        "ioPriority": {"class": "IOPRIO_CLASS_IDLE", "priority": 4},
        "execCPUAffinity": {"initial": "7", "final": "0-3,7"},
    })
    process["user"].update({"umask": 18, "additionalGids": [5, 6]})
    process["rlimits"].append({"type": "RLIMIT_CORE", "hard": 18446744073709551615, "soft": 0})
    linux = config["linux"]
    linux["namespaces"].extend([{"type": "user"}, {"type": "time", "path": "/proc/1/ns/time"}])
    linux.update({
        "uidMappings": [{"containerID": 0, "hostID": 1000, "size": 32000}],
        "gidMappings": [{"containerID": 0, "hostID": 1000, "size": 32000}],
        "timeOffsets": {"monotonic": {"secs": -172800, "nanosecs": 0}, "boottime": {"secs": 604800}},
        "devices": [
            {"path": "/dev/fuse", "type": "c", "major": 10, "minor": 229, "fileMode": 438, "uid": 0, "gid": 0},
            {"path": "/dev/fifo0", "type": "p"},
        ],
        "netDevices": {"eth1": {"name": "ctr_eth1"}, "ens4": {}},
        "cgroupsPath": "/myRuntime/myContainer",
        "sysctl": {"net.ipv4.ip_forward": "1"},
        "rootfsPropagation": "rslave",
        "mountLabel": "system_u:object_r:svirt_sandbox_file_t:s0:c715,c811",
        "personality": {"domain": "LINUX32", "flags": []},
        "intelRdt": {"closID": "guaranteed_group", "l3CacheSchema": "L3:0=7f0;1=1f",
                     "memBwSchema": "MB:0=20;1=70", "schemata": ["L2:0=f;1=f"], "enableMonitoring": True},
        "memoryPolicy": {"mode": "MPOL_INTERLEAVE", "nodes": "2-3", "flags": ["MPOL_F_STATIC_NODES"]},
        "seccomp": {
            "defaultAction": "SCMP_ACT_ERRNO",
            "defaultErrnoRet": 1,
            "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
            "flags": ["SECCOMP_FILTER_FLAG_LOG"],
            "listenerPath": "/run/seccomp-agent.sock",
            "listenerMetadata": "MKNOD=/dev/null",
            "syscalls": [
                {"names": ["read", "write"], "action": "SCMP_ACT_ALLOW"},
                {"names": ["personality"], "action": "SCMP_ACT_ALLOW",
                 "args": [{"index": 0, "value": 8, "op": "SCMP_CMP_EQ"},
                          {"index": 1, "value": 255, "valueTwo": 8, "op": "SCMP_CMP_MASKED_EQ"}]},
                {"names": ["mount"], "action": "SCMP_ACT_NOTIFY", "errnoRet": 38},
            ],
        },
    })
    linux["resources"].update({
        "memory": {"limit": 536870912, "reservation": 536870912, "swap": -1, "kernel": -1, "kernelTCP": -1,
                   "swappiness": 60, "disableOOMKiller": False, "useHierarchy": True, "checkBeforeUpdate": True},
        "cpu": {"shares": 1024, "quota": -1, "burst": 0, "period": 100000, "realtimeRuntime": 950000,
                "realtimePeriod": 1000000, "cpus": "2-3", "mems": "0-7", "idle": 1},
        "blockIO": {"weight": 10, "leafWeight": 10,
                    "weightDevice": [{"major": 8, "minor": 0, "weight": 500, "leafWeight": 300},
                                     {"major": 8, "minor": 16, "leafWeight": 300}],
                    "throttleReadBpsDevice": [{"major": 8, "minor": 0, "rate": 600}],
                    "throttleWriteIOPSDevice": [{"major": 8, "minor": 16, "rate": 300}]},
        "hugepageLimits": [{"pageSize": "2MB", "limit": 209715200}, {"pageSize": "1GB", "limit": 0}],
        "network": {"classID": 1048577, "priorities": [{"name": "eth0", "priority": 500}]},
        "pids": {"limit": -1},
        "rdma": {"mlx5_1": {"hcaHandles": 3, "hcaObjects": 10000}, "mlx4_0": {"hcaObjects": 1000}},
        "unified": {"io.max": "259:0 rbps=2097152", "memory.high": "max"},
    })
    return config


DELETE = object()   # mutation value meaning "remove this key"

# (description, path inside full_config(), new value or DELETE, whether the result is valid)
MUTATIONS = [
    ("ociVersion not a string", ("ociVersion",), 1, False),
    ("ociVersion not SemVer", ("ociVersion",), "1.3", False),
    ("ociVersion with pre-release and build", ("ociVersion",), "1.2.0-rc.1+abc", True),
    ("ociVersion missing", ("ociVersion",), DELETE, False),
    ("root missing", ("root",), DELETE, False),
    ("root.path missing", ("root", "path"), DELETE, False),
    ("root.readonly as string", ("root", "readonly"), "yes", False),
    ("unknown top-level property", ("vendorExtension",), {"anything": [1, 2]}, True),
    ("unknown linux property", ("linux", "futureFeature"), True, True),
    ("process.args empty", ("process", "args"), [], False),
    ("process.args missing", ("process", "args"), DELETE, False),
    ("process.args item not a string", ("process", "args", 0), 7, False),
    ("process.cwd relative", ("process", "cwd"), "srv", False),
    ("process.cwd missing", ("process", "cwd"), DELETE, False),
    ("process.env as a string", ("process", "env"), "A=1", False),
    ("process.user.uid negative", ("process", "user", "uid"), -1, False),
    ("process.user.uid above uint32", ("process", "user", "uid"), 4294967296, False),
    ("process.user.uid at uint32 max", ("process", "user", "uid"), 4294967295, True),
    ("process.user.gid missing", ("process", "user", "gid"), DELETE, False),
    ("process.user.uid boolean", ("process", "user", "uid"), True, False),
    ("process.terminal as number", ("process", "terminal"), 1, False),
    ("process.consoleSize.width missing", ("process", "consoleSize", "width"), DELETE, False),
    ("process.rlimits unknown type", ("process", "rlimits", 0, "type"), "RLIMIT_FOO", False),
    ("process.rlimits soft negative", ("process", "rlimits", 0, "soft"), -1, False),
    ("process.rlimits hard above uint64", ("process", "rlimits", 1, "hard"), 18446744073709551616, False),
    ("process.oomScoreAdj out of kernel range", ("process", "oomScoreAdj"), 1001, False),
    ("process.oomScoreAdj at lower bound", ("process", "oomScoreAdj"), -1000, True),
    ("process.scheduler bad policy", ("process", "scheduler", "policy"), "SCHED_FAST", False),
    ("process.scheduler.nice above int32", ("process", "scheduler", "nice"), 2 ** 31, False),
    ("process.ioPriority.priority above 7", ("process", "ioPriority", "priority"), 8, False),
    ("process.capabilities.bounding unknown name", ("process", "capabilities", "bounding", 0), "CAP_NEW", True),
    ("mount without destination", ("mounts", 0, "destination"), DELETE, False),
    ("mount with a relative destination (deprecated, allowed)", ("mounts", 0, "destination"), "proc", True),
    ("mount option not a string", ("mounts", 1, "options", 0), ["nosuid"], False),
    ("mount uidMappings without gidMappings", ("mounts", 7, "gidMappings"), DELETE, False),
    ("mount idmapping size missing", ("mounts", 7, "uidMappings", 0, "size"), DELETE, False),
    ("hook with relative path", ("hooks", "poststop", 0, "path"), "cleanup.sh", False),
    ("hook timeout zero", ("hooks", "createRuntime", 0, "timeout"), 0, False),
    ("hooks list as an object", ("hooks", "poststop"), {"path": "/bin/true"}, False),
    ("annotation value not a string", ("annotations", "com.example.key"), 1, False),
    ("annotation with an empty key", ("annotations", ""), "value", False),
    ("namespace type unknown", ("linux", "namespaces", 2, "type"), "foo", False),
    ("namespace path relative", ("linux", "namespaces", 7, "path"), "proc/1/ns/time", False),
    ("uidMappings hostID missing", ("linux", "uidMappings", 0, "hostID"), DELETE, False),
    ("timeOffsets secs as string", ("linux", "timeOffsets", "monotonic", "secs"), "1", False),
    ("timeOffsets nanosecs negative", ("linux", "timeOffsets", "boottime", "nanosecs"), -1, False),
    ("char device without major", ("linux", "devices", 0, "major"), DELETE, False),
    ("device type unknown", ("linux", "devices", 1, "type"), "x", False),
    ("device cgroup rule without allow", ("linux", "resources", "devices", 0, "allow"), DELETE, False),
    ("device cgroup access with a bad letter", ("linux", "resources", "devices", 0, "access"), "rwx", False),
    ("memory.limit as a string", ("linux", "resources", "memory", "limit"), "1G", False),
    ("memory.swappiness above 100", ("linux", "resources", "memory", "swappiness"), 101, False),
    ("cpu.shares negative", ("linux", "resources", "cpu", "shares"), -2, False),
    ("blockIO.weight above uint16", ("linux", "resources", "blockIO", "weight"), 65536, False),
    ("weightDevice entry without any weight",
     ("linux", "resources", "blockIO", "weightDevice", 1, "leafWeight"), DELETE, False),
    ("throttle entry without rate",
     ("linux", "resources", "blockIO", "throttleReadBpsDevice", 0, "rate"), DELETE, False),
    ("hugepage size with lower-case k", ("linux", "resources", "hugepageLimits", 0, "pageSize"), "64kB", False),
    ("network priority missing name",
     ("linux", "resources", "network", "priorities", 0, "name"), DELETE, False),
    ("rdma entry without limits", ("linux", "resources", "rdma", "mlx4_0", "hcaObjects"), DELETE, False),
    ("unified value not a string", ("linux", "resources", "unified", "memory.high"), 5, False),
    ("rootfsPropagation unknown", ("linux", "rootfsPropagation"), "recursive", False),
    ("maskedPaths entry relative", ("linux", "maskedPaths", 0), "proc/acpi", False),
    ("seccomp defaultAction missing", ("linux", "seccomp", "defaultAction"), DELETE, False),
    ("seccomp architecture unknown", ("linux", "seccomp", "architectures", 0), "SCMP_ARCH_Z80", False),
    ("seccomp listenerMetadata without listenerPath", ("linux", "seccomp", "listenerPath"), DELETE, False),
    ("seccomp syscall with empty names", ("linux", "seccomp", "syscalls", 0, "names"), [], False),
    ("seccomp argument operator unknown", ("linux", "seccomp", "syscalls", 1, "args", 0, "op"), "SCMP_CMP_X", False),
    ("seccomp argument value negative", ("linux", "seccomp", "syscalls", 1, "args", 0, "value"), -1, False),
    ("memBwSchema without MB: prefix", ("linux", "intelRdt", "memBwSchema"), "0=20", False),
    ("schemata line with a newline", ("linux", "intelRdt", "schemata", 0), "L2:0=f\nL3:0=1", False),
    ("memoryPolicy mode missing", ("linux", "memoryPolicy", "mode"), DELETE, False),
    ("personality domain unknown", ("linux", "personality", "domain"), "BSD", False),
    ("netDevices entry not an object", ("linux", "netDevices", "ens4"), "eth9", False),
]


def mutated(document, path, new_value):
    result = copy.deepcopy(document)
    parent = result
    for key in path[:-1]:
        parent = parent[key]
    if new_value is DELETE:
        del parent[path[-1]]
    else:
        parent[path[-1]] = new_value
    return result


def config_error(document):
    """The one-line message validate_config raises for ``document``."""
    with pytest.raises(OCIError) as raised:
        validate.validate_config(document)
    return str(raised.value)


def upstream_documents(kind, verdict):
    directory = UPSTREAM_TESTS / kind / verdict
    if not directory.is_dir():
        return []
    return sorted(directory.glob("*.json"))


def upstream_id(path):
    return f"{path.parent.parent.name}/{path.parent.name}/{path.name}"


# --- upstream runtime-spec examples -------------------------------------------------------------------

requires_upstream = pytest.mark.skipif(not UPSTREAM_TESTS.is_dir(), reason=UPSTREAM_MISSING)


@requires_upstream
@pytest.mark.parametrize("kind", ["config", "state", "features"])
def test_upstream_example_sets_are_present(kind):
    assert upstream_documents(kind, "good"), f"no upstream good {kind} documents found"


@requires_upstream
@pytest.mark.parametrize(
    "path",
    [path for kind in ("config", "state", "features") for path in upstream_documents(kind, "good")],
    ids=upstream_id,
)
def test_upstream_good_documents_are_accepted(path):
    kind = path.parent.parent.name
    document = json.loads(path.read_text())
    assert validate.errors(document, kind) == []
    if upstream_id(path) in UPSTREAM_GOOD_WITH_UNSUPPORTED_VERSION:
        assert "unsupported version" in config_error(document)
    else:
        getattr(validate, f"validate_{kind}")(document)


@requires_upstream
@pytest.mark.parametrize(
    "path",
    [path for kind in ("config", "state", "features") for path in upstream_documents(kind, "bad")],
    ids=upstream_id,
)
def test_upstream_bad_documents_are_rejected(path):
    kind = path.parent.parent.name
    reason_accepted = UPSTREAM_BAD_NOT_REJECTED.get(upstream_id(path))
    if reason_accepted:
        pytest.skip(reason_accepted)
    text = path.read_text()
    try:
        document = json.loads(text)
    except json.JSONDecodeError:
        # Not JSON at all: rejected before validation, by the reader the runtime itself uses.
        with pytest.raises(ValueError):
            hotpath.loads(text)
        return
    assert validate.errors(document, kind) != []
    with pytest.raises(OCIError, match=rf"^{kind}\.json: /"):
        getattr(validate, f"validate_{kind}")(document)


# --- agreement with the reference implementation ------------------------------------------------------

@pytest.fixture(scope="module")
def reference_validators():
    jsonschema = pytest.importorskip("jsonschema")
    validators = {}
    for kind in ("config", "state", "features"):
        schema = json.loads((SCHEMA_DIR / f"{kind}.schema.json").read_text())
        jsonschema.Draft202012Validator.check_schema(schema)
        validators[kind] = jsonschema.Draft202012Validator(schema)
    return validators


def test_full_config_and_runc_default_are_valid_for_both_validators(reference_validators):
    for document in (full_config(), runc_spec_config()):
        assert validate.errors(document, "config") == []
        assert list(reference_validators["config"].iter_errors(document)) == []
        validate.validate_config(document)


@pytest.mark.parametrize("description, path, new_value, expected_valid", MUTATIONS,
                         ids=[mutation[0] for mutation in MUTATIONS])
def test_mutation_verdict_matches_jsonschema(reference_validators, description, path, new_value, expected_valid):
    document = mutated(full_config(), path, new_value)
    ours = validate.errors(document, "config")
    reference = list(reference_validators["config"].iter_errors(document))
    assert (ours == []) is expected_valid, ours
    assert (reference == []) is expected_valid, [error.message for error in reference]


@pytest.mark.parametrize("description, path, new_value, expected_valid",
                         [mutation for mutation in MUTATIONS if not mutation[3]],
                         ids=[mutation[0] for mutation in MUTATIONS if not mutation[3]])
def test_mutation_error_points_at_the_changed_value(description, path, new_value, expected_valid):
    """The first reported pointer is the mutated location or one of its ancestors (for 'required'
    style errors it is the missing member itself)."""
    pointer = validate.errors(mutated(full_config(), path, new_value), "config")[0][0]
    mutated_pointer = "".join(f"/{key}" for key in path)
    assert mutated_pointer.startswith(pointer) or pointer.startswith(mutated_pointer.rsplit("/", 1)[0]), pointer


@pytest.mark.parametrize("kind, document, expected_valid", [
    ("state", {"ociVersion": "1.3.0", "id": "c1", "status": "running", "pid": 42, "bundle": "/b"}, True),
    ("state", {"ociVersion": "1.3.0", "id": "c1", "status": "running", "bundle": "/b"}, False),
    ("state", {"ociVersion": "1.3.0", "id": "c1", "status": "stopped", "bundle": "/b"}, True),
    ("state", {"ociVersion": "1.3.0", "id": "c1", "status": "paused", "pid": 42, "bundle": "/b"}, True),
    ("state", {"ociVersion": "1.3.0", "id": "c1", "status": "created", "pid": -1, "bundle": "/b"}, False),
    ("state", {"ociVersion": "1.3.0", "id": "c1", "status": "stopped", "bundle": "bundles/c1"}, False),
    ("state", {"ociVersion": "1.3.0", "id": "", "status": "stopped", "bundle": "/b"}, False),
    ("state", {"ociVersion": "1.3.0", "id": "c1", "status": "stopped", "bundle": "/b",
               "annotations": {"k": 1}}, False),
    ("features", {"ociVersionMin": "1.0.0", "ociVersionMax": "1.3.0", "hooks": None, "linux": None}, True),
    ("features", {"ociVersionMin": "1.0.0", "ociVersionMax": "1.3.0",
                  "linux": {"cgroup": {"v2": None, "rdma": True}, "seccomp": {"archs": None}}}, True),
    ("features", {"ociVersionMin": "1.0.0", "ociVersionMax": "1.3.0", "mountOptions": "ro"}, False),
    ("features", {"ociVersionMin": "1.0.0", "ociVersionMax": "1.3.0",
                  "linux": {"apparmor": {"enabled": "yes"}}}, False),
    ("features", {"ociVersionMin": "1.0", "ociVersionMax": "1.3.0"}, False),
])
def test_state_and_features_verdicts_match_jsonschema(reference_validators, kind, document, expected_valid):
    assert (validate.errors(document, kind) == []) is expected_valid
    assert (list(reference_validators[kind].iter_errors(document)) == []) is expected_valid


def test_integral_floats_are_rejected_unlike_json_schema(reference_validators):
    """Deliberate difference: 0.0 is a JSON Schema integer, but uid 0.0 would break os.setuid()."""
    document = mutated(full_config(), ("process", "user", "uid"), 0.0)
    assert list(reference_validators["config"].iter_errors(document)) == []
    assert validate.errors(document, "config") == [("/process/user/uid", "must be an integer (got 0.0)")]


# --- error wording ------------------------------------------------------------------------------------

@pytest.mark.parametrize("path, new_value, expected_message", [
    (("process", "args"), [], "config.json: /process/args: must be a non-empty array"),
    (("linux", "namespaces", 2, "type"), "foo",
     'config.json: /linux/namespaces/2/type: must be one of cgroup, ipc, mount, network, pid, time, user, uts '
     '(got "foo")'),
    (("ociVersion",), "2.0.0", 'config.json: /ociVersion: unsupported version "2.0.0" (supported: 1.0.0 to 1.3.x)'),
    (("ociVersion",), "1.4.0", 'config.json: /ociVersion: unsupported version "1.4.0" (supported: 1.0.0 to 1.3.x)'),
    (("ociVersion",), "0.5.0-dev",
     'config.json: /ociVersion: unsupported version "0.5.0-dev" (supported: 1.0.0 to 1.3.x)'),
    (("ociVersion",), "v1.0",
     'config.json: /ociVersion: must be a SemVer 2.0.0 version such as 1.2.0 (got "v1.0")'),
    (("root",), DELETE, "config.json: /root: missing required property"),
    (("process", "cwd"), "tmp", 'config.json: /process/cwd: must be an absolute path (got "tmp")'),
    (("process", "user", "uid"), -1, "config.json: /process/user/uid: must be between 0 and 4294967295 (got -1)"),
    (("process", "user", "uid"), "0", 'config.json: /process/user/uid: must be an integer (got "0")'),
    (("process", "env"), {"A": "1"}, "config.json: /process/env: must be an array (got an object)"),
    (("hooks", "poststop", 0, "timeout"), 0, "config.json: /hooks/poststop/0/timeout: must be between 1 and "
                                             "9223372036854775807 (got 0)"),
    (("linux", "resources", "blockIO", "weightDevice", 1, "leafWeight"), DELETE,
     "config.json: /linux/resources/blockIO/weightDevice/1: must set at least one of weight, leafWeight"),
    (("linux", "devices", 0, "minor"), DELETE, "config.json: /linux/devices/0/minor: missing required property"),
    (("mounts", 7, "uidMappings"), DELETE,
     "config.json: /mounts/7/uidMappings: must be set when gidMappings is set"),
    (("annotations", "a/b~c"), 3, 'config.json: /annotations/a~1b~0c: must be a string (got 3)'),
    (("annotations", ""), "x", "config.json: /annotations/: property name must be a non-empty string"),
    (("process", "cwd"), "tab\tand\x01", r'config.json: /process/cwd: must be an absolute path (got "tab\tand\u0001")'),
])
def test_error_message_wording(path, new_value, expected_message):
    assert config_error(mutated(full_config(), path, new_value)) == expected_message


def test_long_values_are_shortened_in_messages():
    message = config_error(mutated(full_config(), ("process", "cwd"), "x" * 500))
    assert message.startswith('config.json: /process/cwd: must be an absolute path (got "xxx')
    assert message.endswith('...")') and len(message) < 130


def test_non_object_documents_are_rejected_with_the_root_pointer():
    assert config_error([]) == "config.json: /: must be an object (got an array)"
    with pytest.raises(OCIError, match=r"^state\.json: /: must be an object \(got null\)$"):
        validate.validate_state(None)


def test_supported_versions_are_accepted():
    for version in ("1.0.0", "1.0.2-dev", "1.1.0-rc.3", "1.2.1+build.7", "1.3.0", "1.3.12"):
        validate.validate_config(mutated(runc_spec_config(), ("ociVersion",), version))


def test_validate_state_and_features_raise_one_line_errors():
    with pytest.raises(OCIError, match=r"^state\.json: /pid: missing required property$"):
        validate.validate_state({"ociVersion": "1.3.0", "id": "c1", "status": "created", "bundle": "/b"})
    with pytest.raises(OCIError, match=r"^features\.json: /linux/cgroup/v2: must be a boolean or null \(got 1\)$"):
        validate.validate_features({"ociVersionMin": "1.0.0", "ociVersionMax": "1.3.0",
                                    "linux": {"cgroup": {"v2": 1}}})


def test_errors_lists_every_problem_not_just_the_first():
    document = mutated(mutated(runc_spec_config(), ("process", "cwd"), "rel"), ("hostname",), 5)
    assert validate.errors(document, "config") == [
        ("/process/cwd", 'must be an absolute path (got "rel")'),
        ("/hostname", "must be a string (got 5)"),
    ]


def test_unknown_schema_name_is_a_programming_error():
    with pytest.raises(ValueError, match="unknown schema 'bundle'"):
        validate.errors({}, "bundle")

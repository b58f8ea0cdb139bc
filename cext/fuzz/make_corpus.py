"""Write the fuzzer's seed corpus (cext/fuzz/corpus/): plans the plan compiler makes, through the
very path `create` and `plan` take (oci_runtime.container.prepare), from bundles like the test
suite's: the default config of `oci-runtime spec`, and that config with what the tests exercise
(hooks of every kind, a seccomp profile with a listener, users with groups, rlimits, devices,
bind, tmpfs and tmpcopyup mounts, masked and read-only paths, sysctls, a terminal, personality,
scheduler, I/O priority, memory policy, CPU affinity, a user namespace); and exec plans.  Plus a
frame of each type of the sync socket ("F" + type + payload) and a passwd file ("P" + uid +
text): cext/fuzz/fuzz_executor.c.

    .venv/bin/python cext/fuzz/make_corpus.py      (as root, from the checkout)

The seeds are checked in: regenerate them when the plan's layout changes (tests/fuzz/
test_executor_fuzz.py fails while one no longer decodes).  fds the runtime would pass are given
fixed numbers; nothing is created.
"""
import copy
import json
import os
import shutil
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(os.path.dirname(HERE)))

from oci_runtime.config.default_spec import default_config  # noqa: E402
from oci_runtime.container.prepare import prepare  # noqa: E402
from oci_runtime.container.store import StateStore  # noqa: E402
from oci_runtime.executor import wire  # noqa: E402
from oci_runtime.plan.options import CreateOptions  # noqa: E402

CORPUS = os.path.join(HERE, "corpus")
SECCOMP = os.path.join(os.path.dirname(os.path.dirname(HERE)), "tests", "data", "seccomp",
                       "docker-default.json")


def _hooks(config):
    hook = {"path": "/bin/sh", "args": ["sh", "-c", "cat >/dev/null"], "env": ["A=1"],
            "timeout": 5}
    config["hooks"] = {kind: [hook, {"path": "/bin/true"}] for kind in (
        "prestart", "createRuntime", "createContainer", "startContainer", "poststart",
        "poststop")}


def _seccomp(config):
    with open(SECCOMP) as profile:
        config["linux"]["seccomp"] = json.load(profile)
    config["linux"]["seccomp"]["listenerPath"] = "/run/oci-fuzz-agent.sock"
    config["linux"]["seccomp"]["syscalls"].append({"names": ["mkdir"],
                                                    "action": "SCMP_ACT_NOTIFY"})
    config["process"]["noNewPrivileges"] = False


def _user(config):
    config["process"]["user"] = {"uid": 1000, "gid": 1000, "additionalGids": [1, 2, 3, 65534],
                                 "umask": 0o22}
    config["process"]["rlimits"] = [{"type": "RLIMIT_NOFILE", "soft": 1024, "hard": 4096},
                                    {"type": "RLIMIT_CORE", "soft": 0, "hard": 0}]
    config["process"]["env"] += ["HOME_NOT_SET=1"]


def _mounts(config):
    config["mounts"] += [
        {"destination": "/data", "type": "bind", "source": "/tmp", "options": ["rbind", "ro"]},
        {"destination": "/scratch", "type": "tmpfs", "source": "tmpfs",
         "options": ["tmpcopyup", "nosuid", "size=1m"]},
        {"destination": "/etc/hostname-file", "type": "bind", "source": "/etc/hostname",
         "options": ["bind", "private"]},
    ]
    config["linux"]["devices"] = [
        {"path": "/dev/fuse", "type": "c", "major": 10, "minor": 229, "fileMode": 0o666},
        {"path": "/dev/fifo", "type": "p"}]
    config["linux"]["sysctl"] = {"net.ipv4.ip_forward": "1", "kernel.shm_rmid_forced": "1"}
    config["linux"]["readonlyPaths"] += ["/data"]
    config["linux"]["maskedPaths"] += ["/etc/hostname-file"]
    config["root"]["readonly"] = True


def _process(config):
    config["process"]["terminal"] = True
    config["process"]["consoleSize"] = {"height": 40, "width": 120}
    config["process"]["oomScoreAdj"] = 100
    config["process"]["scheduler"] = {"policy": "SCHED_OTHER", "nice": 5}
    config["process"]["ioPriority"] = {"class": "IOPRIO_CLASS_BE", "priority": 4}
    config["process"]["execCPUAffinity"] = {"initial": "0", "final": "0-1"}
    config["linux"]["personality"] = {"domain": "LINUX32"}
    config["linux"]["memoryPolicy"] = {"mode": "MPOL_BIND", "nodes": "0"}
    config["hostname"] = "fuzz"
    config["domainname"] = "fuzz.example"


def _user_namespace(config):
    config["linux"]["namespaces"].append({"type": "user"})
    config["linux"]["uidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 65536}]
    config["linux"]["gidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 65536}]


VARIANTS = {"default": [], "hooks": [_hooks], "seccomp": [_seccomp], "user": [_user],
            "mounts": [_mounts], "process": [_process], "userns": [_user_namespace],
            "everything": [_hooks, _seccomp, _user, _mounts, _process]}


def _encoded(plan, exec_plan=False):
    targets = {fd_arg: 100 + number for number, fd_arg in enumerate(plan.fd_args())}
    for step in plan.steps:
        step.targets = targets
    return wire.encode(plan.steps, exec_plan=exec_plan)


def create_plan(work, name, edits):
    bundle = os.path.join(work, name)
    for directory in ("rootfs/bin", "rootfs/proc", "rootfs/sys", "rootfs/dev", "rootfs/tmp"):
        os.makedirs(os.path.join(bundle, directory), exist_ok=True)
    shutil.copy("/bin/true", os.path.join(bundle, "rootfs", "bin", "sh"))
    config = copy.deepcopy(default_config())
    config["root"]["path"] = "rootfs"
    config["process"]["args"] = ["sh", "-c", "true"]
    config["process"]["terminal"] = False
    for edit in edits:
        edit(config)
    with open(os.path.join(bundle, "config.json"), "w") as out:
        json.dump(config, out)
    prepared = prepare(StateStore(os.path.join(work, "state")), f"fuzz-{name}", bundle,
                       CreateOptions(), attached=True)
    return prepared.plan


def frames():
    samples = {"u32": 4242, "bytes": b'{"ociVersion": "1.3.0", "id": "fuzz"}'}
    for frame in wire.FRAMES:
        payload = wire.pack_frame(frame.kind, *[samples[kind] for _, kind in frame.fields])
        yield f"frame-{frame.name}", b"F" + frame.kind + payload[wire.FRAME_HEADER.size:]


def main():
    os.makedirs(CORPUS, exist_ok=True)
    for old in os.listdir(CORPUS):
        os.unlink(os.path.join(CORPUS, old))
    # A fixed place, so the seeds (which hold the bundle's paths) come out the same each time.
    work = os.path.join(tempfile.gettempdir(), "oci-fuzz-corpus")
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    try:
        seeds = {}
        for name, edits in VARIANTS.items():
            plan = create_plan(work, name, edits)
            seeds[f"create-{name}"] = _encoded(plan)
            # The same steps as an exec plan (flag set): what the decoder reads of exec's.
            seeds[f"exec-{name}"] = _encoded(plan, exec_plan=True)
        seeds.update(frames())
        # An image's /etc/passwd: "P", the uid looked up (1000), the file.
        seeds["passwd"] = b"P" + (1000).to_bytes(4, "little") + (
            b"root:x:0:0:root:/root:/bin/sh\nbin:x:1:1::/bin:\n# comment\n\n"
            b"user:x:1000:1000:A User,,,:/home/user:/bin/sh\nshort:x:2\n")
        for name, data in sorted(seeds.items()):
            with open(os.path.join(CORPUS, name), "wb") as out:
                out.write(data)
            print(f"{name}: {len(data)} bytes")
    finally:
        shutil.rmtree(work)


if __name__ == "__main__":
    main()

"""The measurements, (a) to (h) of docs/performance.md: each takes the runtimes under test and
returns its raw samples, the runtimes alternating round by round (`rounds`)."""
import json
import os
import shutil
import subprocess
import threading
import time
import uuid

from harness import REPO, spawn, vm_rss_kib

DOCKER_SECCOMP_PROFILE = os.path.join(REPO, "tests", "data", "seccomp", "docker-default.json")


# -- the measurements ------------------------------------------------------------------------------

def rounds(runtimes, count):
    """Yield (round, runtime) alternating, the starting runtime rotating each round."""
    for index in range(count):
        shift = index % len(runtimes)
        for runtime in runtimes[shift:] + runtimes[:shift]:
            yield index, runtime


def bench_run(runtimes, count):
    """(a) `run` of /bin/true."""
    times = {r.name: [0.0] * count for r in runtimes}
    for index, runtime in rounds(runtimes, count):
        container_id, bundle = runtime.new_container(["/bin/true"])
        times[runtime.name][index] = runtime.call("run", "--bundle", bundle, container_id)[0]
        spawn(runtime.argv("delete", "--force", container_id))
    return times


def bench_memory(runtimes, count):
    """(d) Peak RSS (ru_maxrss via /usr/bin/time) of run/create/state/start/kill/delete, and the
    VmRSS of a created container's waiting process.  Separate, untimed calls."""
    names = ("run", "create", "state", "start", "kill", "delete")
    rss = {r.name: {n: [] for n in names} for r in runtimes}
    waiting = {r.name: [] for r in runtimes}
    for _, runtime in rounds(runtimes, count):
        def peak(name, *args, capture=False):
            _, _, maxrss, output = runtime.call(*args, capture=capture, rss=True)
            rss[runtime.name][name].append(maxrss)
            return output

        container_id, bundle = runtime.new_container(["/bin/true"])
        peak("run", "run", "--bundle", bundle, container_id)
        spawn(runtime.argv("delete", "--force", container_id))
        container_id, bundle = runtime.new_container(["/bin/sleep", "1000"])
        peak("create", "create", "--bundle", bundle, container_id)
        state = json.loads(peak("state", "state", container_id, capture=True))
        time.sleep(0.05)  # let the waiting process settle before reading its RSS
        waiting[runtime.name].append(vm_rss_kib(state["pid"]))
        peak("start", "start", container_id)
        peak("kill", "kill", container_id, "KILL")
        runtime.wait_stopped(container_id)
        peak("delete", "delete", container_id)
    return rss, waiting


def bench_lifecycle(runtimes, count):
    """(b) create, start, state until stopped, delete: separate invocations, summed."""
    times = {r.name: [0.0] * count for r in runtimes}
    for index, runtime in rounds(runtimes, count):
        container_id, bundle = runtime.new_container(["/bin/true"])
        total = runtime.call("create", "--bundle", bundle, container_id)[0]
        total += runtime.call("start", container_id)[0]
        total += runtime.wait_stopped(container_id)
        total += runtime.call("delete", container_id)[0]
        times[runtime.name][index] = total
    return times


def _create_start_delete(runtime, seccomp=None):
    container_id, bundle = runtime.new_container(["/bin/true"], seccomp)
    runtime.call("create", "--bundle", bundle, container_id)
    runtime.call("start", container_id)
    runtime.call("delete", "--force", container_id)


def bench_sequential(runtimes, count, repeats):
    """(c) `count` containers one after another (create+start+delete --force): wall seconds."""
    times = {r.name: [0.0] * repeats for r in runtimes}
    for index, runtime in rounds(runtimes, repeats):
        start = time.perf_counter()
        for _ in range(count):
            _create_start_delete(runtime)
        times[runtime.name][index] = time.perf_counter() - start
    return times


def bench_concurrent(runtimes, count, repeats):
    """(c) `count` create+start+delete sequences at once, one thread each: wall seconds."""
    times = {r.name: [0.0] * repeats for r in runtimes}
    for index, runtime in rounds(runtimes, repeats):
        errors = []

        def worker():
            try:
                _create_start_delete(runtime)
            except Exception as exc:  # noqa: BLE001 - reported below
                errors.append(exc)

        threads = [threading.Thread(target=worker) for _ in range(count)]
        start = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        times[runtime.name][index] = time.perf_counter() - start
        if errors:
            raise errors[0]
    return times


def bench_seccomp(runtimes, count):
    """(f) create+start+delete --force of /bin/true with Docker's default seccomp profile (~380
    syscall names, defaultAction ERRNO), the compile cache emptied first ("cold") and then
    populated ("warm"); and without a profile, the baseline the profile's cost is measured
    against.  Only create and start change: the filter is compiled in create, loaded in start."""
    with open(DOCKER_SECCOMP_PROFILE) as profile_file:
        profile = json.load(profile_file)
    phases = ("none", "cold", "warm")
    times = {phase: {r.name: [0.0] * count for r in runtimes} for phase in phases}
    cache_entries = {r.name: 0 for r in runtimes}
    for runtime in runtimes:
        # Untimed: fills the cache (and the page cache) so "warm" is warm even when it comes first.
        _create_start_delete(runtime, profile)
    for index, runtime in rounds(runtimes, count):
        # The phase order rotates too, so no phase always follows the same one.
        shift = index % len(phases)
        for phase in phases[shift:] + phases[:shift]:
            if phase == "cold":
                runtime.clear_seccomp_cache()
            start = time.perf_counter()
            _create_start_delete(runtime, None if phase == "none" else profile)
            times[phase][runtime.name][index] = time.perf_counter() - start
        cache_entries[runtime.name] = max(cache_entries[runtime.name], runtime.seccomp_cache_entries())
    return {"times": times, "cache_entries": cache_entries}


def bench_netdev(runtime, count):
    """(g) `create` of /bin/true without networking, and with one veth end in linux.netDevices
    (moved, renamed eth1, its address kept, set up: pyroute2's import is most of the cost), the
    two alternating.  oci-runtime only: runc 1.1 and crun 1.8 here predate netDevices.  The
    pair is made untimed before the create; it goes with the container's namespace."""
    phases = ("none", "netdev")
    times = {phase: [0.0] * count for phase in phases}
    for index in range(count):
        for phase in phases if index % 2 == 0 else phases[::-1]:
            devices = None
            if phase == "netdev":
                host_end, other_end = f"ob{uuid.uuid4().hex[:8]}h", f"ob{uuid.uuid4().hex[:8]}c"
                subprocess.run(["ip", "link", "add", host_end, "type", "veth", "peer", "name",
                                other_end], check=True)
                subprocess.run(["ip", "addr", "add", "10.213.254.2/24", "dev", other_end], check=True)
                devices = {other_end: {"name": "eth1"}}
            container_id, bundle = runtime.new_container(["/bin/true"], net_devices=devices)
            try:
                times[phase][index] = runtime.call("create", "--bundle", bundle, container_id)[0]
                runtime.call("start", container_id)
            finally:
                spawn(runtime.argv("delete", "--force", container_id))
                if devices and os.path.exists(f"/sys/class/net/{host_end}"):
                    subprocess.run(["ip", "link", "del", host_end], capture_output=True)
    return times


# What one long-lived Python program does with oci-runtime's API: no interpreter start per call.
# Reads {"root": ..., "containers": [[id, bundle], ...]} on stdin, prints the seconds the loop took
# (the interpreter's start and the API's import are outside it, paid once per program).
API_SEQUENCE = r"""
import json, sys, time
from oci_runtime import Runtime
work = json.load(sys.stdin)
runtime = Runtime(root=work["root"])
started = time.perf_counter()
for container_id, bundle in work["containers"]:
    container = runtime.create(container_id, bundle)
    container.start()
    status = container.wait()
    if status != 0:
        raise SystemExit(f"{container_id} exited {status}")
    container.delete()
print(time.perf_counter() - started)
"""


def _create_start_wait_delete(runtime):
    container_id, bundle = runtime.new_container(["/bin/true"])
    runtime.call("create", "--bundle", bundle, container_id)
    runtime.call("start", container_id)
    runtime.wait_stopped(container_id)
    runtime.call("delete", container_id)


def bench_api(runtimes, count, repeats, python):
    """(h) `count` containers one after another, create+start+wait+delete of /bin/true: every
    runtime through its CLI (wait = `state` until stopped), and oci-runtime through its Python
    API from one interpreter (``python``), alternating round by round: wall seconds."""
    cli = {r.name: [0.0] * repeats for r in runtimes}
    api = {r.name: [0.0] * repeats for r in runtimes if r.name == "oci-runtime"}
    for index, runtime in rounds(runtimes, repeats):
        start = time.perf_counter()
        for _ in range(count):
            _create_start_wait_delete(runtime)
        cli[runtime.name][index] = time.perf_counter() - start
        if runtime.name in api:
            work = {"root": runtime.root,
                    "containers": [runtime.new_container(["/bin/true"]) for _ in range(count)]}
            done = subprocess.run([python, "-c", API_SEQUENCE], input=json.dumps(work),
                                  capture_output=True, text=True)
            if done.returncode != 0:
                raise RuntimeError(f"API sequence failed: {done.stderr.strip()[-2000:]}")
            api[runtime.name][index] = float(done.stdout)
    return {"cli": cli, "api": api}


def bench_commands(runtimes, count, python=None):
    """Per-command timings on one container: create, state (created), start, kill, delete; with
    ``python``, the floor (`python -I -S -c pass`) right after oci-runtime's commands of each
    round, so that each command's ratio to the floor is taken in the same round."""
    names = ("create", "state", "start", "kill", "delete")
    times = {r.name: {n: [0.0] * count for n in names} for r in runtimes}
    if python is not None and "oci-runtime" in times:
        times["oci-runtime"]["floor"] = [0.0] * count
    for index, runtime in rounds(runtimes, count):
        container_id, bundle = runtime.new_container(["/bin/sleep", "1000"])

        def timed(name, *args, capture=False):
            elapsed, _, _, output = runtime.call(*args, capture=capture)
            times[runtime.name][name][index] = elapsed
            return output

        timed("create", "create", "--bundle", bundle, container_id)
        state = json.loads(timed("state", "state", container_id, capture=True))
        assert state["status"] == "created", state
        timed("start", "start", container_id)
        timed("kill", "kill", container_id, "KILL")
        runtime.wait_stopped(container_id)
        timed("delete", "delete", container_id)
        if "floor" in times[runtime.name]:
            times[runtime.name]["floor"][index] = spawn([python, "-I", "-S", "-c", "pass"])[0]
    return times


def run_imports(runtime, python):
    """The modules oci-runtime's `run` imports beyond the interpreter's start-up, as the
    statements that import them in that order: `python -X importtime`'s top-level lines."""
    container_id, bundle = runtime.new_container(["/bin/true"])
    done = subprocess.run([python, "-IS", "-X", "importtime", runtime.binary, "--root",
                           runtime.root, "run", "--bundle", bundle, container_id],
                          stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, text=True, check=True)
    bare = subprocess.run([python, "-IS", "-X", "importtime", "-c", "pass"],
                          capture_output=True, text=True).stderr
    start_up = {line.rsplit("|", 1)[1].strip() for line in bare.splitlines()
                if line.startswith("import time:")}
    return [line.rsplit("|", 1)[1].strip() for line in done.stderr.splitlines()
            if line.startswith("import time:") and line.rsplit("|", 1)[1].startswith(" ")
            and not line.rsplit("|", 1)[1].startswith("  ")
            and line.rsplit("|", 1)[1].strip() not in start_up]


def bench_run_parts(runtimes, python, count):
    """(i) Where oci-runtime's `run` goes, against runc's in the same rounds: the interpreter's
    start without finalisation (the command exits by posix._exit), then with the imports of
    `run` (from the launcher's first lines, the import image included), then `run` itself."""
    oci = next(r for r in runtimes if r.name == "oci-runtime")
    runc = next(r for r in runtimes if r.name == "runc")
    prelude = open(oci.binary).read().split("from oci_runtime")[0]
    script = os.path.join(oci.bundles, "imports-of-run.py")
    with open(script, "w") as imports:
        imports.write(prelude + "".join(f"import {name}\n" for name in run_imports(oci, python))
                      + "import posix\nposix._exit(0)\n")
    parts = {
        "start": lambda: spawn([python, "-IS", "-c", "import posix; posix._exit(0)"])[0],
        "imports": lambda: spawn([python, "-IS", script])[0],
    }
    times = {name: [0.0] * count for name in ("start", "imports", "oci-runtime", "runc")}
    for index in range(count):
        steps = ["start", "imports", "oci-runtime", "runc"]
        shift = index % len(steps)
        for step in steps[shift:] + steps[:shift]:
            if step in parts:
                times[step][index] = parts[step]()
                continue
            runtime = oci if step == "oci-runtime" else runc
            container_id, bundle = runtime.new_container(["/bin/true"])
            times[step][index] = runtime.call("run", "--bundle", bundle, container_id)[0]
            spawn(runtime.argv("delete", "--force", container_id))
    return times


def bench_floor(python, count):
    return [spawn([python, "-I", "-S", "-c", "pass"])[0] for _ in range(count)]


def fabricate_many(runtime, count):
    """`count` stopped containers in the runtime's root: one real container is created, started
    and left to stop, then its state directory is copied count-1 times with the id replaced."""
    container_id, bundle = runtime.new_container(["/bin/true"])
    runtime.call("create", "--bundle", bundle, container_id)
    runtime.call("start", container_id)
    runtime.wait_stopped(container_id)
    source = os.path.join(runtime.root, container_id)
    files = {}
    for name in os.listdir(source):
        path = os.path.join(source, name)
        if os.path.isfile(path) and not os.path.islink(path):
            with open(path, "rb") as handle:
                files[name] = handle.read()
    key = container_id.encode()
    ids = [f"many-{n:05d}" for n in range(count - 1)]
    for other in ids:
        target = os.path.join(runtime.root, other)
        os.mkdir(target, 0o700)
        for name, data in files.items():
            with open(os.path.join(target, name), "wb") as handle:
                handle.write(data.replace(key, other.encode()))
    return [container_id] + ids


def bench_many(runtimes, count, repeats):
    """(e) `state` of one container and `list` with `count` (stopped) containers in the root."""
    result = {}
    ids = {}
    for runtime in runtimes:
        ids[runtime.name] = fabricate_many(runtime, count)
        listed = runtime.call("list", "--quiet", capture=True)[3].split()
        result.setdefault("listed", {})[runtime.name] = len(listed)
    state_times = {r.name: [0.0] * repeats for r in runtimes}
    list_times = {r.name: [0.0] * repeats for r in runtimes}
    for index, runtime in rounds(runtimes, repeats):
        target = ids[runtime.name][count // 2]
        state_times[runtime.name][index] = runtime.call("state", target, capture=True)[0]
        list_times[runtime.name][index] = runtime.call("list", capture=True)[0]
    result["state"] = state_times
    result["list"] = list_times
    # Remove the copies: force-delete the real one through the runtime, the copies by hand.
    for runtime in runtimes:
        spawn(runtime.argv("delete", "--force", ids[runtime.name][0]))
        for other in ids[runtime.name][1:]:
            shutil.rmtree(os.path.join(runtime.root, other), ignore_errors=True)
    return result

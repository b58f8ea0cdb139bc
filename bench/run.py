#!/usr/bin/env python3
"""oci-runtime vs runc vs crun, in one run: see docs/performance.md for what each figure means.

    .venv/bin/python bench/run.py            # full run (a few minutes), writes bench/results/
    .venv/bin/python bench/run.py --quick    # CI smoke: small counts, < 2 minutes
    .venv/bin/python bench/run.py --write-docs   # also rewrites docs/performance.md (+ PNG plot)
    .venv/bin/python bench/run.py --only seccomp --write-docs   # just the seccomp section
    .venv/bin/python bench/run.py --only netdev --write-docs    # just create with a net device
    .venv/bin/python bench/run.py --only api --write-docs   # the Python API against the CLIs

Options: --runtimes oci-runtime,runc,crun  --oci-runtime PATH  --output DIR  --only seccomp|netdev|api.
Needs root.

Fairness: crun refuses a cgroup "hybrid" host, so the whole benchmark re-executes itself once in a
private mount namespace (``unshare -m``) where /sys/fs/cgroup/unified is unmounted, and every
runtime is then called directly from there (no per-call wrapper).  Measurements alternate between
the runtimes round by round (the order rotates each round), so drift in machine load hits all of
them alike; every figure is a median, and every ratio is the median of the per-round ratios.

Cleanup: each runtime gets a private --root under a temporary directory, every container uses a
cgroupsPath under /oci-bench-<pid>/, and at the end every container is force-deleted, the roots
removed, and /oci-bench-<pid> removed from every cgroup hierarchy (the host's too).
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
DOCKER_SECCOMP_PROFILE = os.path.join(REPO, "tests", "data", "seccomp", "docker-default.json")
# Where each runtime keeps compiled seccomp filters between containers, relative to its --root:
# emptied before every "cold" create.  runc compiles every time; crun's is only used by some
# versions (the results record whether one appeared).
SECCOMP_CACHES = {"oci-runtime": ".seccomp-cache", "crun": os.path.join(".cache", "seccomp")}
BUSYBOX = shutil.which("busybox") or "/bin/busybox"
CGROUP_ROOT = "/sys/fs/cgroup"

FULL = dict(rounds=15, sequential=100, concurrent=20, many=1000, cmd_rounds=15, floor_rounds=30,
            memory_rounds=5, seccomp_rounds=30, netdev_rounds=30, api_sequential=100,
            api_rounds=5)
QUICK = dict(rounds=3, sequential=5, concurrent=4, many=50, cmd_rounds=3, floor_rounds=5,
             memory_rounds=2, seccomp_rounds=3, netdev_rounds=3, api_sequential=5, api_rounds=1)


# -- process spawning with timing and rusage ------------------------------------------------------

def spawn(argv, capture=False, rss=False):
    """Run argv; returns (seconds, exit status, peak RSS KiB or None, stdout bytes).

    A child's ru_maxrss starts at what its parent's memory was when it exec'd (Linux keeps the
    pre-exec mm's high-water mark), so this Python's own ~15 MiB would show in every figure: with
    rss=True the call goes through /usr/bin/time (small), which reports its child's ru_maxrss
    from wait4.  Those calls are for memory only, never timed."""
    report = None
    if rss:
        report = tempfile.NamedTemporaryFile(prefix="oci-bench-rss-")
        argv = ["/usr/bin/time", "-q", "-f", "%M", "-o", report.name, *argv]
    devnull = os.open(os.devnull, os.O_RDWR)
    read_end = write_end = None
    actions = [(os.POSIX_SPAWN_DUP2, devnull, 0), (os.POSIX_SPAWN_DUP2, devnull, 2)]
    if capture:
        read_end, write_end = os.pipe()
        actions.append((os.POSIX_SPAWN_DUP2, write_end, 1))
    else:
        actions.append((os.POSIX_SPAWN_DUP2, devnull, 1))
    start = time.perf_counter()
    pid = os.posix_spawn(argv[0], argv, os.environ, file_actions=actions)
    output = b""
    if capture:
        os.close(write_end)
        chunks = []
        while True:
            chunk = os.read(read_end, 65536)
            if not chunk:
                break
            chunks.append(chunk)
        os.close(read_end)
        output = b"".join(chunks)
    _, status, _ = os.wait4(pid, 0)
    elapsed = time.perf_counter() - start
    os.close(devnull)
    maxrss = None
    if report is not None:
        with open(report.name) as handle:
            maxrss = int(handle.read().split()[-1])
        report.close()
    return elapsed, os.waitstatus_to_exitcode(status), maxrss, output


class Runtime:
    def __init__(self, name, binary, workdir, cgroup_parent, rootfs):
        self.name = name
        self.binary = binary
        self.root = os.path.join(workdir, "root-" + name)
        self.bundles = os.path.join(workdir, "bundles-" + name)
        os.makedirs(self.bundles, exist_ok=True)
        self.cgroup_parent = cgroup_parent
        self.rootfs = rootfs
        self.counter = 0
        self.lock = threading.Lock()

    def argv(self, *args):
        return [self.binary, "--root", self.root, *args]

    def call(self, *args, capture=False, check=True, rss=False):
        elapsed, code, maxrss, output = spawn(self.argv(*args), capture, rss)
        if check and code != 0:
            # Re-run capturing stderr so the failure says why.
            detail = subprocess.run(self.argv(*args), capture_output=True, text=True).stderr
            raise RuntimeError(f"{self.name} {' '.join(args)} exited {code}: {detail.strip()}")
        return elapsed, code, maxrss, output

    def new_container(self, process_args, seccomp=None, net_devices=None):
        """A fresh id and bundle (config.json only: root.path is the shared read-only rootfs),
        with ``seccomp`` as linux.seccomp and ``net_devices`` as linux.netDevices if given."""
        with self.lock:
            self.counter += 1
            container_id = f"b{os.getpid()}-{self.counter}"
        bundle = os.path.join(self.bundles, container_id)
        os.mkdir(bundle)
        config = base_config(self.rootfs, process_args,
                             f"/{self.cgroup_parent}/{self.name}-{container_id}")
        if seccomp is not None:
            config["linux"]["seccomp"] = seccomp
        if net_devices is not None:
            config["linux"]["netDevices"] = net_devices
        with open(os.path.join(bundle, "config.json"), "w") as config_file:
            json.dump(config, config_file)
        return container_id, bundle

    def state(self, container_id):
        return json.loads(self.call("state", container_id, capture=True)[3])

    def wait_stopped(self, container_id, timeout=10.0):
        """`state` until stopped; returns the time spent in those calls."""
        spent = 0.0
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            elapsed, _, _, output = self.call("state", container_id, capture=True)
            spent += elapsed
            if json.loads(output)["status"] == "stopped":
                return spent
        raise RuntimeError(f"{self.name}: {container_id} did not stop")

    @property
    def seccomp_cache(self):
        relative = SECCOMP_CACHES.get(self.name)
        return os.path.join(self.root, relative) if relative else None

    def seccomp_cache_entries(self):
        cache = self.seccomp_cache
        return len(os.listdir(cache)) if cache and os.path.isdir(cache) else 0

    def clear_seccomp_cache(self):
        if self.seccomp_cache:
            shutil.rmtree(self.seccomp_cache, ignore_errors=True)

    def cleanup(self):
        if os.path.isdir(self.root):
            for name in os.listdir(self.root):
                if os.path.isdir(os.path.join(self.root, name)):
                    spawn(self.argv("delete", "--force", name))
            shutil.rmtree(self.root, ignore_errors=True)


def base_config(rootfs, process_args, cgroups_path):
    """`oci-runtime spec`'s config (that is, `runc spec`'s defaults without ambient capabilities)
    with terminal off and no cgroup namespace (runc 1.1's default), shared verbatim by all three
    runtimes."""
    from oci_runtime.config.default_spec import default_config

    config = default_config()
    config["ociVersion"] = "1.0.2"  # what all three runtimes accept
    config["process"]["terminal"] = False
    config["process"]["args"] = process_args
    config["root"]["path"] = rootfs
    config["hostname"] = "runc"
    config["linux"]["cgroupsPath"] = cgroups_path
    config["linux"]["namespaces"] = [
        namespace for namespace in config["linux"]["namespaces"] if namespace["type"] != "cgroup"]
    return config


def make_rootfs(path):
    for directory in ("bin", "proc", "sys", "dev", "etc", "tmp", "root"):
        os.makedirs(os.path.join(path, directory), exist_ok=True)
    shutil.copy(BUSYBOX, os.path.join(path, "bin", "busybox"))
    for applet in ("true", "sh", "sleep"):
        os.symlink("busybox", os.path.join(path, "bin", applet))
    with open(os.path.join(path, "etc", "passwd"), "w") as passwd:
        passwd.write("root:x:0:0:root:/root:/bin/sh\n")


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


def vm_rss_kib(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def bench_commands(runtimes, count):
    """Per-command timings on one container: create, state (created), start, kill, delete."""
    names = ("create", "state", "start", "kill", "delete")
    times = {r.name: {n: [0.0] * count for n in names} for r in runtimes}
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


# -- summaries ------------------------------------------------------------------------------------

def median(values):
    return statistics.median(values) if values else float("nan")


def ratio(samples, name, other):
    """Median over rounds of samples[name][i] / samples[other][i]."""
    if name not in samples or other not in samples:
        return None
    pairs = zip(samples[name], samples[other])
    return statistics.median(a / b for a, b in pairs if b > 0)


def summarise(raw, runtime_names):
    rows = []

    def add(label, samples, unit="ms", scale=1000.0):
        row = {"label": label, "unit": unit,
               "median": {n: median(samples[n]) * scale for n in runtime_names if n in samples}}
        for other in ("runc", "crun"):
            value = ratio(samples, "oci-runtime", other)
            if value is not None:
                row["vs_" + other] = value
        rows.append(row)

    add("run /bin/true", raw["run"])
    add("create, start, state until stopped, delete", raw["lifecycle"])
    add(f"{raw['counts']['sequential']} containers one after another (create+start+delete)",
        raw["sequential"], "s", 1.0)
    add(f"{raw['counts']['concurrent']} containers at once (create+start+delete)",
        raw["concurrent"], "s", 1.0)
    for command in ("create", "state", "start", "kill", "delete"):
        add(f"`{command}` alone", {n: raw["commands"][n][command] for n in runtime_names})
    add(f"`state` with {raw['counts']['many']} containers in the root", raw["many"]["state"])
    add(f"`list` with {raw['counts']['many']} containers in the root", raw["many"]["list"])
    rss_rows = []
    for label, samples in [
        (f"`{c}` (ru_maxrss)", {n: raw["rss"][n][c] for n in runtime_names})
        for c in ("run", "create", "state", "start", "kill", "delete")
    ] + [("waiting process of a created container (VmRSS)", raw["waiting_rss"])]:
        rss_rows.append({"label": label, "unit": "MiB",
                         "median": {n: median(samples[n]) / 1024 for n in runtime_names}})
    floor = median(raw["floor"]) * 1000
    vs_floor = {}
    if "oci-runtime" in runtime_names:
        for command in ("state", "start", "kill"):
            samples = raw["commands"]["oci-runtime"][command]
            vs_floor[command] = median(samples) * 1000 / floor
    return {"rows": rows, "rss_rows": rss_rows, "floor_ms": floor, "vs_floor": vs_floor}


def summarise_seccomp(seccomp, runtime_names):
    """Rows for the seccomp table: medians of each phase, and the profile's cost as the median of
    the per-round differences to the same round's run without a profile."""
    times = seccomp["times"]
    rows = []

    def add(label, samples):
        row = {"label": label, "median": {n: median(samples[n]) * 1000 for n in runtime_names}}
        for other in ("runc", "crun"):
            value = ratio(samples, "oci-runtime", other)
            if value is not None:
                row["vs_" + other] = value
        rows.append(row)

    add("no profile", times["none"])
    add("Docker default profile, cold cache", times["cold"])
    add("Docker default profile, warm cache", times["warm"])
    for phase in ("cold", "warm"):
        differences = {n: [a - b for a, b in zip(times[phase][n], times["none"][n])]
                       for n in runtime_names}
        rows.append({"label": f"cost of the profile, {phase} cache",
                     "median": {n: median(differences[n]) * 1000 for n in runtime_names}})
    return {"rows": rows, "cache_entries": seccomp["cache_entries"]}


def summarise_netdev(times):
    differences = [a - b for a, b in zip(times["netdev"], times["none"])]
    return {"rows": [
        {"label": "`create` without networking", "median": median(times["none"]) * 1000},
        {"label": "`create` with one net device (a veth end in linux.netDevices)",
         "median": median(times["netdev"]) * 1000},
        {"label": "cost of the device (median of the per-round differences)",
         "median": median(differences) * 1000},
    ]}


def netdev_markdown(results):
    out = ["| oci-runtime | median |", "|---|---|"]
    out += [f"| {row['label']} | {row['median']:.1f} ms |" for row in results["netdev_summary"]["rows"]]
    return "\n".join(out) + "\n"


def summarise_api(api, runtime_names, count):
    """Rows for the API table: the CLI row of every runtime, and oci-runtime's API against the
    others' CLI (ratios: medians of the per-round ratios)."""
    rows = []
    for label, samples in (
            (f"{count} containers one after another, CLI", api["cli"]),
            (f"{count} containers one after another, oci-runtime through its Python API "
             "(runc, crun: CLI)", dict(api["cli"], **api["api"]))):
        row = {"label": label, "median": {n: median(samples[n]) for n in runtime_names}}
        for other in ("runc", "crun"):
            value = ratio(samples, "oci-runtime", other)
            if value is not None:
                row["vs_" + other] = value
        rows.append(row)
    if "oci-runtime" in api["api"]:
        rows[1]["api_vs_own_cli"] = statistics.median(
            a / c for a, c in zip(api["api"]["oci-runtime"], api["cli"]["oci-runtime"]) if c > 0)
    return {"rows": rows}


def _comparison_table(title, names, rows, value_format):
    """A markdown table: one row per measurement, a column per runtime, then the ratios."""
    out = [f"| {title} | " + " | ".join(names) + " | oci-runtime ÷ runc | oci-runtime ÷ crun |",
           "|" + "---|" * (len(names) + 3)]
    for row in rows:
        cells = [value_format.format(row["median"][n]) for n in names]
        cells.append(f"{row['vs_runc']:.2f}" if "vs_runc" in row else "–")
        cells.append(f"{row['vs_crun']:.2f}" if "vs_crun" in row else "–")
        out.append(f"| {row['label']} | " + " | ".join(cells) + " |")
    return out


def api_markdown(results):
    summary = results["api_summary"]
    out = _comparison_table("create+start+wait+delete of /bin/true", results["runtimes"],
                            summary["rows"], "{:.2f} s")
    own = summary["rows"][1].get("api_vs_own_cli")
    if own is not None:
        out.append("")
        out.append(f"oci-runtime's API ÷ its own CLI: {own:.2f}.")
    return "\n".join(out) + "\n"


def seccomp_markdown(results):
    names = results["runtimes"]
    summary = results["seccomp_summary"]
    out = _comparison_table("create+start+delete of /bin/true", names, summary["rows"],
                            "{:.1f} ms")
    out.append("")
    out.append("Compiled filters found in the runtime's cache after the warm runs: " + ", ".join(
        f"{n} {summary['cache_entries'][n]}" for n in names) + ".")
    return "\n".join(out) + "\n"


def targets(summary):
    by_label = {row["label"]: row for row in summary["rows"]}
    run = by_label["run /bin/true"]
    life = by_label["create, start, state until stopped, delete"]
    waiting = summary["rss_rows"][-1]["median"].get("oci-runtime")
    checks = [
        ("run ≤ 0.67× runc", run.get("vs_runc"), 0.67),
        ("run ≤ 1.25× crun", run.get("vs_crun"), 1.25),
        ("create/start/state/delete ≤ 0.8× runc", life.get("vs_runc"), 0.8),
    ]
    for command in ("state", "start", "kill"):
        checks.append((f"`{command}` ≤ 1.3× `python -I -S -c pass`",
                       summary["vs_floor"].get(command), 1.3))
    checks.append(("waiting process ≤ 12 MiB RSS", waiting, 12.0))
    return [{"target": t, "value": v, "limit": limit,
             "met": None if v is None else v <= limit} for t, v, limit in checks]


def markdown(results):
    names = results["runtimes"]
    summary = results["summary"]
    out = []
    header = "| measurement | " + " | ".join(names) + " | oci-runtime ÷ runc | oci-runtime ÷ crun |"
    out.append(header)
    out.append("|" + "---|" * (len(names) + 3))
    for row in summary["rows"]:
        cells = [f"{row['median'].get(n, float('nan')):.{1 if row['unit'] == 'ms' else 2}f}"
                 f" {row['unit']}" for n in names]
        cells.append(f"{row['vs_runc']:.2f}" if "vs_runc" in row else "–")
        cells.append(f"{row['vs_crun']:.2f}" if "vs_crun" in row else "–")
        out.append(f"| {row['label']} | " + " | ".join(cells) + " |")
    out.append("")
    out.append("| peak memory | " + " | ".join(names) + " |")
    out.append("|" + "---|" * (len(names) + 1))
    for row in summary["rss_rows"]:
        out.append(f"| {row['label']} | "
                   + " | ".join(f"{row['median'][n]:.1f} MiB" for n in names) + " |")
    out.append("")
    out.append(f"Floor: `{results['python']} -I -S -c pass` = {summary['floor_ms']:.1f} ms.")
    if summary["vs_floor"]:
        out.append("oci-runtime per command ÷ floor: " + ", ".join(
            f"`{c}` {v:.2f}×" for c, v in summary["vs_floor"].items()) + ".")
    out.append("")
    out.append("| target | value | met |")
    out.append("|---|---|---|")
    for check in results["targets"]:
        value = "–" if check["value"] is None else f"{check['value']:.2f}"
        met = "n/a" if check["met"] is None else ("yes" if check["met"] else "**no**")
        out.append(f"| {check['target']} | {value} | {met} |")
    return "\n".join(out) + "\n"


def plot(results, path):
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    names = results["runtimes"]
    rows = [r for r in results["summary"]["rows"] if r["unit"] == "ms"]
    figure, axis = plt.subplots(figsize=(10, 5.5))
    width = 0.8 / len(names)
    for offset, name in enumerate(names):
        values = [r["median"].get(name, 0) for r in rows]
        axis.barh([i + offset * width for i in range(len(rows))], values, width, label=name)
    axis.axvline(results["summary"]["floor_ms"], color="grey", linestyle="--",
                 label="python -I -S -c pass")
    axis.set_yticks([i + width * (len(names) - 1) / 2 for i in range(len(rows))])
    axis.set_yticklabels([r["label"].replace("`", "") for r in rows], fontsize=8)
    axis.invert_yaxis()
    axis.set_xlabel("median wall time per invocation (ms)")
    axis.set_title("oci-runtime vs runc vs crun")
    axis.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    return True


# -- driver ---------------------------------------------------------------------------------------

def remove_cgroup_parent(parent):
    """rmdir /oci-bench-<pid> (deepest first) in every hierarchy, the unified one included."""
    if not os.path.isdir(CGROUP_ROOT):
        return
    for hierarchy in os.listdir(CGROUP_ROOT):
        top = os.path.join(CGROUP_ROOT, hierarchy, parent)
        if not os.path.isdir(top):
            continue
        for directory, _, _ in sorted(os.walk(top), key=lambda e: -e[0].count("/")):
            try:
                os.rmdir(directory)
            except OSError:
                pass


def find_runtimes(args):
    wanted = args.runtimes.split(",")
    found = []
    for name in wanted:
        if name == "oci-runtime":
            binary = args.oci_runtime
        else:
            binary = shutil.which(name)
        if binary and os.path.exists(binary):
            found.append((name, binary))
        else:
            print(f"bench: {name} not found, skipped", file=sys.stderr)
    return found


def launcher_python(binary):
    """The interpreter the oci-runtime launcher runs (for the `python -I -S -c pass` floor)."""
    try:
        with open(binary, "rb") as launcher:
            head = launcher.read(4096).decode(errors="replace")
    except OSError:
        return sys.executable
    for line in head.splitlines():
        for word in line.replace("'", " ").replace('"', " ").split():
            if "python" in os.path.basename(word) and os.path.isabs(word) and os.path.exists(word):
                return word
    return sys.executable


def measure(args):
    counts = QUICK if args.quick else FULL
    everything = args.only is None
    with_seccomp = args.only in (None, "seccomp")
    found = find_runtimes(args)
    if not found:
        raise SystemExit("bench: no runtime to measure")
    workdir = tempfile.mkdtemp(prefix="oci-bench-")
    rootfs = os.path.join(workdir, "rootfs")
    make_rootfs(rootfs)
    parent = args.cgroup_parent
    runtimes = [Runtime(name, binary, workdir, parent, rootfs) for name, binary in found]
    names = [r.name for r in runtimes]
    oci_binary = dict(found).get("oci-runtime", args.oci_runtime)
    python = launcher_python(oci_binary)
    raw = {"counts": counts}
    started = time.time()
    try:
        log = lambda text: print(f"bench: [{time.time() - started:5.1f}s] {text}", file=sys.stderr)
        if everything:
            log("floor")
            raw["floor"] = bench_floor(python, counts["floor_rounds"])
            log("run")
            raw["run"] = bench_run(runtimes, counts["rounds"])
            log("lifecycle")
            raw["lifecycle"] = bench_lifecycle(runtimes, counts["rounds"])
            log("commands")
            raw["commands"] = bench_commands(runtimes, counts["cmd_rounds"])
            log("memory")
            raw["rss"], raw["waiting_rss"] = bench_memory(runtimes, counts["memory_rounds"])
            log("sequential")
            raw["sequential"] = bench_sequential(runtimes, counts["sequential"], 1 if args.quick else 3)
            log("concurrent")
            raw["concurrent"] = bench_concurrent(runtimes, counts["concurrent"], 1 if args.quick else 3)
            log("many")
            raw["many"] = bench_many(runtimes, counts["many"], counts["rounds"])
        if with_seccomp:
            log("seccomp")
            raw["seccomp"] = bench_seccomp(runtimes, counts["seccomp_rounds"])
        oci = [r for r in runtimes if r.name == "oci-runtime"]
        if args.only in (None, "netdev") and oci:
            log("netdev")
            raw["netdev"] = bench_netdev(oci[0], counts["netdev_rounds"])
        if args.only in (None, "api") and oci:
            log("api")
            raw["api"] = bench_api(runtimes, counts["api_sequential"], counts["api_rounds"],
                                   python)
        log("done")
    finally:
        for runtime in runtimes:
            runtime.cleanup()
        shutil.rmtree(workdir, ignore_errors=True)
    versions = {}
    for name, binary in found:
        output = subprocess.run([binary, "--version"], capture_output=True, text=True).stdout
        versions[name] = output.splitlines()[0] if output else "?"
    results = {"mode": "quick" if args.quick else "full", "runtimes": names, "binaries": dict(found),
               "versions": versions, "python": python, "kernel": os.uname().release,
               "cpus": os.cpu_count(), "date": time.strftime("%Y-%m-%d %H:%M:%S"), "raw": raw,
               "duration_s": time.time() - started}
    results["summary"] = summarise(raw, names) if everything else None
    results["targets"] = targets(results["summary"]) if everything and "oci-runtime" in names else []
    results["seccomp_summary"] = summarise_seccomp(raw["seccomp"], names) if with_seccomp else None
    results["netdev_summary"] = summarise_netdev(raw["netdev"]) if "netdev" in raw else None
    results["api_summary"] = summarise_api(raw["api"], names, counts["api_sequential"]) \
        if "api" in raw else None
    return results


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small counts (CI smoke)")
    parser.add_argument("--runtimes", default="oci-runtime,runc,crun")
    parser.add_argument("--oci-runtime", default=os.path.join(REPO, ".venv", "bin", "oci-runtime"))
    parser.add_argument("--output", default=os.path.join(HERE, "results"))
    parser.add_argument("--write-docs", action="store_true",
                        help="rewrite docs/performance.md's results sections (and plot) measured")
    parser.add_argument("--only", choices=["seccomp", "netdev", "api"], default=None,
                        help="measure only this group (results-<mode>-<group>.*)")
    parser.add_argument("--in-namespace", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--cgroup-parent", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("bench: needs root (real containers)")
    if not args.in_namespace:
        # Re-execute in a private mount namespace without the v2 "unified" mount (crun needs it),
        # then clean up the cgroup parent from out here, where every hierarchy is visible.
        parent = f"oci-bench-{os.getpid()}"
        command = ["unshare", "--mount", "--propagation", "private", sys.executable,
                   os.path.abspath(__file__), *sys.argv[1:], "--in-namespace",
                   "--cgroup-parent", parent]
        try:
            code = subprocess.call(command)
        finally:
            remove_cgroup_parent(parent)
        raise SystemExit(code)
    if os.path.ismount(os.path.join(CGROUP_ROOT, "unified")):
        subprocess.run(["umount", os.path.join(CGROUP_ROOT, "unified")], check=True)
    results = measure(args)
    os.makedirs(args.output, exist_ok=True)
    suffix = f"-{args.only}" if args.only else ""
    base = os.path.join(args.output, f"results-{results['mode']}{suffix}")
    with open(base + ".json", "w") as handle:
        json.dump(results, handle, indent=1)
    table = markdown(results) if results["summary"] else ""
    seccomp_table = seccomp_markdown(results) if results["seccomp_summary"] else ""
    netdev_table = netdev_markdown(results) if results["netdev_summary"] else ""
    api_table = api_markdown(results) if results["api_summary"] else ""
    tables = "\n".join(t for t in (table, seccomp_table, netdev_table, api_table) if t)
    with open(base + ".md", "w") as handle:
        handle.write(tables)
    print(tables)
    if args.write_docs:
        if results["summary"]:
            write_docs(results, table)
        if seccomp_table:
            write_section_docs(results, "bench-seccomp", "Cost of a seccomp profile",
                               results["raw"]["counts"]["seccomp_rounds"], seccomp_table)
        if netdev_table:
            write_section_docs(results, "bench-netdev", "Cost of a network device",
                               results["raw"]["counts"]["netdev_rounds"], netdev_table)
        if api_table:
            write_section_docs(results, "bench-api", "Through the Python API",
                               results["raw"]["counts"]["api_rounds"], api_table)
    print(f"bench: results in {base}.json and {base}.md", file=sys.stderr)


def write_docs(results, table):
    docs = os.path.join(REPO, "docs")
    path = os.path.join(docs, "performance.md")
    image = os.path.join(docs, "performance.png")
    plotted = plot(results, image)
    begin, end = "<!-- bench:begin -->", "<!-- bench:end -->"
    block = [begin, "",
             f"Run of {results['date']} ({results['mode']} mode, {results['duration_s']:.0f} s), "
             f"Linux {results['kernel']}, {results['cpus']} CPUs; "
             + ", ".join(f"{n}: {v}" for n, v in results["versions"].items()) + ".", "", table]
    if plotted:
        block += ["![median times](performance.png)", ""]
    block.append(end)
    text = open(path).read() if os.path.exists(path) else f"# Performance\n\n{begin}\n{end}\n"
    head, _, rest = text.partition(begin)
    _, _, tail = rest.partition(end)
    with open(path, "w") as handle:
        handle.write(head + "\n".join(block) + tail)


def write_section_docs(results, marker, title, rounds, table):
    """Rewrite only the ``marker`` block of docs/performance.md (appended as its own section,
    ``title``, the first time), leaving every other section as it is."""
    path = os.path.join(REPO, "docs", "performance.md")
    begin, end = f"<!-- {marker}:begin -->", f"<!-- {marker}:end -->"
    block = "\n".join([
        begin, "",
        f"Run of {results['date']} ({results['mode']} mode, "
        f"{rounds} rounds), Linux {results['kernel']}, "
        f"{results['cpus']} CPUs; " + ", ".join(f"{n}: {v}" for n, v in results["versions"].items())
        + ".", "", table, end])
    text = open(path).read()
    if begin in text:
        head, _, rest = text.partition(begin)
        _, _, tail = rest.partition(end)
        text = head + block + tail
    else:
        text = text.rstrip("\n") + f"\n\n## {title}\n\n" + block + "\n"
    with open(path, "w") as handle:
        handle.write(text)


if __name__ == "__main__":
    main()

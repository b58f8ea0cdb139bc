"""The modules each command imports, listed with the reason each is needed.

Every CLI call is a new interpreter, and an import is the largest cost of a call after the
interpreter's own start (docs/performance.md).  Two things read these sets:

* tests/perf/test_import_sets.py runs the commands under `python -X importtime` and fails when a
  module joins a set without being listed here (or leaves it);
* the import image (cli/launcher.py ``write_image``, oci_runtime/_image.py) orders its modules
  by them: the hot commands' first, in the head every command reads in one go, then create's
  and run's, read in one more go by the first of them a command imports.

Pure data: nothing here is imported by a command.
"""

# What every command of the hot path imports: the CLI, the API over the state store, hotpath's
# bindings (posix, _signal, _json: the one extension module), and the import image's finder.
HOT = frozenset({
    "oci_runtime", "oci_runtime._image", "oci_runtime.errors", "oci_runtime.cli",
    "oci_runtime.cli.args", "oci_runtime.kernel", "oci_runtime.kernel.hotpath",
    "oci_runtime.kernel.files", "oci_runtime.container", "oci_runtime.container.api",
    "oci_runtime.container.lifecycle", "oci_runtime.container.store", "gc", "_json",
})
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
    # (create refuses a frozen cgroup), the file writes
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
# An attached `run` of the same config: create's, then waiting for the container while
# forwarding signals to it (select: the pidfd and the signals' wakeup fd), and the child
# subreaper (a container sharing the runtime's pid namespace only, where orphans reach it).
RUN = CREATE | {
    "oci_runtime.cli.cmd_run", "oci_runtime.container.attached", "oci_runtime.kernel.signals",
    "oci_runtime.process.subreaper", "select",
}
# The standard library's modules beyond the interpreter's start that create loads on the
# interpreter scripts/setup builds the venv on (CPython 3.11): os (the create path is not
# posix-only), struct (the plan's format), zlib (its digest), errno.
CREATE_STDLIB_311 = frozenset({"os", "stat", "_stat", "posixpath", "genericpath",
                               "_collections_abc", "struct", "_struct", "zlib", "errno"})
# What a feature of the config or of create's options adds to a plain create, and only that.
FEATURES = {
    "pid-file": {"oci_runtime.container.pid_file"},
    "hooks": {"oci_runtime.hooks", "oci_runtime.hooks.runner"},
    "user-namespace": {"oci_runtime.userns.idmap", "oci_runtime.rootfs.userns_devices"},
    "no-mount-namespace": {"oci_runtime.rootfs.leftover_mounts"},
}


def ours(names: "frozenset[str] | set[str]") -> "set[str]":
    """The package's modules among ``names``."""
    return {name for name in names if name.split(".")[0] == "oci_runtime"}


def image_order() -> "tuple[list[str], list[str]]":
    """(head, warm): the package's modules the import image places first, the hot commands'
    (read by every command), then the rest of create's and run's (read together by the first
    a command imports).  Sorted: the order within a part changes nothing."""
    head = ours(set().union(*COMMANDS.values()))
    return sorted(head), sorted(ours(RUN) - head)

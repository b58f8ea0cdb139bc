"""Stage 1: the first fork.  Joins and creates namespaces, then forks the container's init.

A new pid (and time) namespace applies to children only, hence the second fork: the init is pid 1
of the new pid namespace.  The runtime's process is made non-dumpable before it joins anything a
container controls, so no container process can open its /proc/<pid>/exe or memory."""
import os

from oci_runtime import kernel
from oci_runtime.errors import OCIError
from oci_runtime.init.protocol import child_main

_TIME_CLOCKS = {"monotonic": 1, "boottime": 7}


def run(plan, channel):
    kernel.prctl(kernel.PR_SET_DUMPABLE, 0)
    linux = plan.config.linux
    joined = []
    # Open every namespace path first: they are paths in the runtime's mount namespace.
    for index, namespace in enumerate(linux.namespaces.values()):
        if namespace.path:
            try:
                fd = os.open(namespace.path, os.O_RDONLY | os.O_CLOEXEC)
            except OSError as exc:
                raise OCIError.from_os(
                    f"config.json: /linux/namespaces ({namespace.type}): opening {namespace.path}",
                    exc) from exc
            joined.append((namespace, fd))
    # The user namespace first: it owns the others and decides what we may join.
    joined.sort(key=lambda item: item[0].type != "user")
    for namespace, fd in joined:
        if namespace.type == "user":
            _join(namespace, fd)
    new_user = linux.has_new("user")
    if new_user:
        kernel.unshare(kernel.CLONE_NEWUSER)
        # Only the parent, outside, may write our id maps: wait for them.
        channel.send("setup", pid=os.getpid())
        channel.receive("ok")
    if new_user or "user" in linux.namespaces:
        os.setresgid(0, 0, 0)
        os.setresuid(0, 0, 0)
    for namespace, fd in joined:
        if namespace.type != "user":
            _join(namespace, fd)
    # The user namespace is new already; the cgroup namespace is made by the init once the
    # parent has placed it in the container's cgroup (see container_init._enter_cgroup).
    flags = linux.new_namespace_flags() & ~(kernel.CLONE_NEWUSER | kernel.CLONE_NEWCGROUP)
    if flags:
        try:
            kernel.unshare(flags)
        except OSError as exc:
            raise OCIError.from_os("creating namespaces " + ", ".join(
                n.type for n in linux.namespaces.values() if n.path is None), exc) from exc
    if linux.time_offsets:
        _write_time_offsets(linux.time_offsets)
    # The init's modules (rootfs, process...) are imported here, off the parent's path, unless
    # the parent had to (see needs_init_preloaded): the host's files are still visible to us.
    from oci_runtime.init import container_init

    go_read, go_write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(go_write)
        child_main(channel, lambda: container_init.run(plan, channel, go_read))
    os.close(go_read)
    channel.send("init", pid=pid)
    # Only now may the init talk on the channel: the parent must learn its pid first.  The init
    # learns its host pid here too (it sees itself as 1): hooks report the pid as the host sees it.
    os.write(go_write, str(pid).encode())
    os.close(go_write)


def needs_init_preloaded(linux):
    """Whether the parent must import the init's modules before forking: inside a user namespace
    (new or joined) the host's Python files may not be readable, and a joined mount namespace
    need not contain them at all."""
    mount = linux.namespaces.get("mount")
    return "user" in linux.namespaces or (mount is not None and mount.path is not None)


def _join(namespace, fd):
    try:
        kernel.setns(fd, namespace.flag)
    except OSError as exc:
        if exc.errno == 22:  # EINVAL: the file is not a namespace of this type
            raise OCIError(f"config.json: /linux/namespaces ({namespace.type}): "
                           f"{namespace.path} is not a {namespace.type} namespace") from exc
        raise OCIError.from_os(
            f"config.json: /linux/namespaces ({namespace.type}): joining {namespace.path}",
            exc) from exc
    finally:
        os.close(fd)


def _write_time_offsets(offsets):
    lines = []
    for clock, offset in offsets.items():
        if clock not in _TIME_CLOCKS:
            raise OCIError(f"config.json: /linux/timeOffsets/{clock}: unknown clock "
                           "(monotonic or boottime)")
        lines.append(f"{clock} {offset.get('secs', 0)} {offset.get('nanosecs', 0)}")
    try:
        with open("/proc/self/timens_offsets", "w") as timens:
            timens.write("\n".join(lines) + "\n")
    except OSError as exc:
        raise OCIError.from_os("config.json: /linux/timeOffsets: writing timens_offsets",
                               exc) from exc

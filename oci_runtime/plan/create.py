"""The plan of `create`: everything the executor does from the first namespace to execve.

compile_create adds the steps in the order the executor runs them (crun's
libcrun_run_linux_container / init_container, adapted); docs/architecture.md "Create, in order"
tells the same sequence with what the runtime does between them.

Every path inside the rootfs is resolved by the executor with openat2(RESOLVE_IN_ROOT); every
write to /proc goes through the host procfs of the init's mount namespace, checked to be procfs,
before pivot_root, so nothing the image provides is ever written through.

Pure: what the compiler knows of the host comes in as a value (plan/host.py HostFacts); fds are
FdArgs whose openers run only when the runtime launches the plan.
"""
import os
import stat


from oci_runtime.kernel import constants as k
from oci_runtime.errors import OCIError
from oci_runtime.executor import wire
from oci_runtime.plan.model import FdArg, Plan
from oci_runtime.plan.process import (add_cgroup_join_steps, add_exec_steps,
                                       add_oom_score_step, add_process_attribute_steps,
                                       hook_steps)
from oci_runtime.rootfs.devices import DEV_SYMLINKS, TYPE_BITS, devices_to_create
from oci_runtime.rootfs.mount_options import plan_mount_options, propagation_flags

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (mypy reads it the same)
if TYPE_CHECKING:
    from typing import Any, TypeAlias

    from oci_runtime.config.model import Config, Linux, Mount, Namespace
    from oci_runtime.plan.host import HostFacts
    from oci_runtime.plan.model import Describe, Step, StepInt
    from oci_runtime.plan.options import CreateOptions
    from oci_runtime.process.capabilities import CapabilityPlan
    from oci_runtime.rootfs.mount_options import MountPlan
    from oci_runtime.seccomp.filter import CompiledFilter

_TIME_CLOCKS = ("monotonic", "boottime")


class CreateInputs:
    """What the runtime prepared for the plan of one create (container/prepare.py): the fds it
    will hand the executor (symbolic FdArgs until launch), the compiled seccomp program and the
    process's capability sets."""

    __slots__ = ("container_id", "start_listener", "console_socket", "seccomp_program",
                 "capabilities", "cgroup_directory", "cgroup_files")

    def __init__(self, container_id: str, *, start_listener: FdArg,
                 capabilities: "CapabilityPlan", console_socket: FdArg | None = None,
                 seccomp_program: "CompiledFilter | None" = None,
                 cgroup_directory: FdArg | None = None,
                 cgroup_files: "tuple[FdArg, ...]" = ()) -> None:
        self.container_id = container_id
        self.start_listener = start_listener  # start.sock's listening socket
        self.capabilities = capabilities
        self.console_socket = console_socket  # the socket the pty master goes out on
        self.seccomp_program = seccomp_program
        # How the init enters its cgroup by itself (cgroups.base.CgroupJoin): born in the
        # cgroup v2 directory, then writing "0" to each cgroup v1 tasks file.
        self.cgroup_directory = cgroup_directory
        self.cgroup_files = cgroup_files


def namespace_fd(namespace: "Namespace") -> FdArg:
    path = namespace.path
    assert path is not None  # only a namespace joined by path has an fd

    def opener() -> int:
        try:
            return os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        except OSError as exc:
            raise OCIError.from_os(f"config.json: /linux/namespaces ({namespace.type}): opening "
                                   f"{namespace.path}", exc) from exc
    return FdArg(f"{namespace.path} ({namespace.type})", opener)


def _join_error(namespace: "Namespace") -> "Describe":
    def describe(step: "Step", errno: int, detail: str) -> OCIError:
        if errno == 22:  # EINVAL: the file is not a namespace of this type
            return OCIError(f"config.json: /linux/namespaces ({namespace.type}): "
                            f"{namespace.path} is not a {namespace.type} namespace", errno)
        return OCIError(f"{step.what}: {os.strerror(errno)}", errno)
    return describe


def _add_namespace_steps(plan: Plan, linux: "Linux") -> None:
    joined = [n for n in linux.namespaces.values() if n.path]
    joined.sort(key=lambda namespace: namespace.type != "user")  # it owns the others
    pointer = "/linux/namespaces"
    for namespace in joined:
        if namespace.type == "user":
            plan.add(wire.SETNS, f"config.json: {pointer} (user): joining {namespace.path}",
                     pointer, (namespace_fd(namespace), namespace.flag),
                     describe=_join_error(namespace))
    if linux.has_new("user"):
        plan.add(wire.UNSHARE, "creating a user namespace", pointer, (k.CLONE_NEWUSER,))
        # Only the runtime, outside, may write our id maps: it does on this message.
        plan.add(wire.SYNC_SETUP, "waiting for the id maps", "/linux/uidMappings")
        # Dumpable until then (as runc): an unprivileged runtime can open /proc/<pid>/uid_map
        # and setgroups only of a dumpable process, and nothing of a container is joined yet.
        plan.add(wire.NONDUMPABLE, "making the runtime's process non-dumpable")
    if "user" in linux.namespaces:
        plan.add(wire.BECOME_ROOT, "becoming root of the user namespace", pointer)
    for namespace in joined:
        if namespace.type != "user":
            plan.add(wire.SETNS,
                     f"config.json: {pointer} ({namespace.type}): joining {namespace.path}",
                     pointer, (namespace_fd(namespace), namespace.flag),
                     describe=_join_error(namespace))
    # The cgroup namespace is made by the init once the runtime has placed it in its cgroup.
    flags = linux.new_namespace_flags() & ~(k.CLONE_NEWUSER | k.CLONE_NEWCGROUP)
    if flags:
        names = ", ".join(n.type for n in linux.namespaces.values()
                          if n.path is None and n.type not in ("user", "cgroup"))
        plan.add(wire.UNSHARE, f"creating namespaces {names}", pointer, (flags,))
    if linux.time_offsets:
        lines = []
        for clock, offset in linux.time_offsets.items():
            if clock not in _TIME_CLOCKS:
                raise OCIError(f"config.json: /linux/timeOffsets/{clock}: unknown clock "
                               "(monotonic or boottime)")
            lines.append(f"{clock} {offset.get('secs', 0)} {offset.get('nanosecs', 0)}")
        plan.add(wire.WRITE_PROC, "config.json: /linux/timeOffsets: writing timens_offsets",
                 "/linux/timeOffsets", strings=("self/timens_offsets", "\n".join(lines) + "\n"))


def _mount_what(mount: "Mount") -> str:
    return f"config.json: {mount.pointer}: mounting {mount.source or mount.type!r} on " \
           f"{mount.destination}"


def _add_bind_finish(plan: Plan, mount: "Mount", options: "MountPlan") -> None:
    """A bind mount ignores flags other than MS_REC; a remount applies them, keeping the locked
    flags of the source."""
    wanted = options.flags & ~(k.MS_BIND | k.MS_REC | k.MS_REMOUNT)
    if wanted or options.cleared:
        plan.add(wire.REMOUNT_BIND, _mount_what(mount), mount.pointer, (wanted, options.cleared),
                 ("", mount.destination))


def _add_propagation_and_attrs(plan: Plan, mount: "Mount", options: "MountPlan") -> None:
    for propagation in options.propagation:
        plan.add(wire.PROPAGATION, _mount_what(mount), mount.pointer, (propagation,),
                 ("", mount.destination))
    if options.attr_set or options.attr_clr:
        plan.add(wire.SETATTR, _mount_what(mount), mount.pointer,
                 (options.attr_set, options.attr_clr), ("", mount.destination))


def _source_is_file(source: str, pointer: str, host: "HostFacts") -> bool:
    fact = host.path(source)
    if fact.errno:
        raise OCIError(f"config.json: {pointer}: mount source {source}: "
                       f"{os.strerror(fact.errno)}", fact.errno)
    return not stat.S_ISDIR(fact.mode)


def _ordinary_directory_error(mount: "Mount") -> "Describe":
    def describe(step: "Step", errno: int, detail: str) -> OCIError:
        if errno == 20:  # ENOTDIR: a symlink (the detail is its target) or a file is there
            what = f"a symlink to {detail}" if detail else "not a directory"
            return OCIError(f"config.json: {mount.pointer}: filesystem \"{mount.type}\" must be "
                            f"mounted on ordinary directory: {mount.destination} in the rootfs "
                            f"is {what}", errno)
        return OCIError(f"{step.what}: {os.strerror(errno)}", errno)
    return describe


def _add_mount(plan: Plan, mount: "Mount", context: "_MountContext") -> None:
    options = plan_mount_options(mount.options)
    if options.idmap or mount.uid_mappings:
        from oci_runtime.rootfs.idmapped_mounts import idmapped_tree_opener

        # The runtime makes the idmapped copy of the source (oci_runtime.rootfs.idmapped_mounts); the
        # executor only moves it onto the destination.
        tree = FdArg(*idmapped_tree_opener(mount, options, context.linux))
        bits = wire.MNT_TARGET_FILE if _source_is_file(mount.source, mount.pointer,
                                                       context.host) else 0
        plan.add(wire.MOVE_MOUNT, _mount_what(mount), mount.pointer, (tree, bits),
                 ("", mount.destination))
        _add_bind_finish(plan, mount, options)
    elif mount.type in ("cgroup", "cgroup2"):
        return _add_cgroup_mount(plan, mount, options, context)
    elif options.is_bind or mount.type == "bind":
        if context.host.path(mount.source).errno:
            # Not there yet: it may lie under an earlier mount's destination, so the executor
            # looks at it when it mounts (as runc resolves each source in its turn), and a
            # source that is missing then fails there, naming the mount.
            bits = wire.MNT_SOURCE_AT_MOUNT
        elif _source_is_file(mount.source, mount.pointer, context.host):
            bits = wire.MNT_TARGET_FILE
        else:
            bits = 0
        fallback_tree: "StepInt" = -1
        if context.new_user_ns and context.may_clone_mounts and not bits & wire.MNT_SOURCE_AT_MOUNT:
            # A source under a directory the container's root cannot traverse fails with EACCES
            # once inside the user namespace: the runtime's detached copy of it is moved instead
            # (only then: a copy made outside does not carry the flags the kernel locks).  A
            # rootless runtime may not make one (open_tree(CLONE) needs CAP_SYS_ADMIN).
            bits |= wire.MNT_TREE_FALLBACK
            fallback_tree = _detached_tree(mount.source, bool(options.flags & k.MS_REC))
        plan.add(wire.MOUNT, _mount_what(mount), mount.pointer,
                 (k.MS_BIND | (options.flags & k.MS_REC), bits, 0, fallback_tree),
                 (mount.source, mount.destination))
        _add_bind_finish(plan, mount, options)
    else:
        data = options.data_string or ""
        if context.mount_label and mount.type in ("tmpfs", "mqueue", "devpts"):
            label = f'context="{context.mount_label}"'
            data = f"{data},{label}" if data else label
        bits = wire.MNT_COPY_UP if options.copy_up else 0
        if mount.type == "tmpfs" and not any(d.startswith("mode=") for d in options.data):
            bits |= wire.MNT_TMPFS_MODE  # as runc: the directory's own mode
        fallback = 0
        describe = None
        if mount.type in ("proc", "sysfs"):
            # Never through a symlink the image put there (runc alike).
            bits |= wire.MNT_ORDINARY_DIR
            describe = _ordinary_directory_error(mount)
        if mount.type == "sysfs" and not context.new_network_ns:
            # sysfs of a network namespace we do not own cannot be mounted: bind the host's /sys
            # as runc does, read-only if asked.
            bits |= wire.MNT_SYSFS_FALLBACK
            fallback = options.flags & ~(k.MS_BIND | k.MS_REC | k.MS_REMOUNT)
        plan.add(wire.MOUNT, _mount_what(mount), mount.pointer,
                 (options.flags & ~k.MS_REMOUNT, bits, fallback),
                 (mount.source or mount.type, mount.destination, mount.type, data),
                 describe=describe)
    _add_propagation_and_attrs(plan, mount, options)


def _add_cgroup_mount(plan: Plan, mount: "Mount", options: "MountPlan",
                      context: "_MountContext") -> None:
    """cgroup2 as one filesystem; on v1/hybrid hosts a tmpfs with one mount per controller, as
    runc does.  Without a cgroup namespace, on v1/hybrid the container's own cgroup directories
    are bound, so it cannot see its siblings; on v2 cgroup2 is mounted all the same (the host's
    hierarchy, as runc does: `docker --cgroupns=host` relies on it)."""
    flags = options.flags & ~k.MS_REMOUNT
    what = _mount_what(mount)
    if context.cgroup_mounts is None:  # pure v2
        bits = 0 if context.new_cgroup_ns else wire.MNT_CGROUP2_FALLBACK
        fallback = flags & ~(k.MS_BIND | k.MS_REC | k.MS_REMOUNT)
        plan.add(wire.MOUNT, what, mount.pointer, (flags, bits, fallback),
                 ("cgroup2", mount.destination, "cgroup2", ""))
        return
    plan.add(wire.MOUNT, what, mount.pointer, (k.MS_NOSUID | k.MS_NODEV | k.MS_NOEXEC, 0),
             ("tmpfs", mount.destination, "tmpfs", "mode=755"))
    for name, fstype, data, host_path in context.cgroup_mounts:
        sub = mount.destination.rstrip("/") + "/" + name
        if context.new_cgroup_ns:
            plan.add(wire.MOUNT, what, mount.pointer, (flags, 0),
                     ("cgroup", sub, fstype, data or ""))
        else:
            plan.add(wire.MOUNT, what, mount.pointer, (k.MS_BIND | k.MS_REC, 0), (host_path, sub))
            wanted = flags & ~(k.MS_BIND | k.MS_REC | k.MS_REMOUNT)
            if wanted or options.cleared:
                plan.add(wire.REMOUNT_BIND, what, mount.pointer, (wanted, options.cleared),
                         ("", sub))
    if flags & k.MS_RDONLY:
        plan.add(wire.REMOUNT_BIND, what, mount.pointer, (k.MS_RDONLY, 0), ("", mount.destination))


def _detached_tree(source: str, recursive: bool) -> FdArg:
    def opener() -> int:

        from oci_runtime.kernel import syscalls as kernel

        flags = k.OPEN_TREE_CLONE | k.OPEN_TREE_CLOEXEC | (k.AT_RECURSIVE if recursive else 0)
        try:
            return kernel.open_tree(-100, source, flags)  # AT_FDCWD
        except OSError as exc:
            raise OCIError.from_os(f"opening bind source {source}", exc) from exc
    return FdArg(f"open_tree({source})", opener)


class _MountContext:
    def __init__(self, linux: "Linux", host: "HostFacts") -> None:
        self.linux = linux
        self.host = host
        self.new_user_ns = linux.has_new("user")
        self.may_clone_mounts = bool(host.effective_capabilities & (1 << k.CAP_SYS_ADMIN))
        self.new_network_ns = linux.has_new("network")
        self.new_cgroup_ns = linux.has_new("cgroup")
        self.cgroup_mounts = host.cgroup_mounts
        self.mount_label = linux.mount_label


def _device_exists_error(device: "dict[str, Any]") -> "Describe":
    def describe(step: "Step", errno: int, detail: str) -> OCIError:
        if errno == 17 and detail:  # EEXIST with a detail: something else is at the path
            where = device.get("pointer", "/linux/devices")
            return OCIError(f"config.json: {where}: {device['path']} exists in the rootfs and is "
                            f"not the requested device ({device['type']} "
                            f"{device.get('major', 0)}:{device.get('minor', 0)})", errno)
        return OCIError(f"{step.what}: {os.strerror(errno)}", errno)
    return describe


def _add_device_steps(plan: Plan, config: "Config", host: "HostFacts") -> None:
    linux = config.linux
    # mknod of devices is not allowed in a user namespace: there each is bound from the host's
    # node, decided (and refused) here (oci_runtime.rootfs.userns_devices).
    if linux.in_user_namespace(host.in_user_namespace):
        from oci_runtime.rootfs.userns_devices import device_plan

        devices = device_plan(linux.devices, host.mode_and_rdev)
    else:
        devices = devices_to_create(linux.devices)
    for device in devices:
        where = device.get("pointer", device["path"])
        what = f"creating device {device['path']} ({where})"
        if "bindSource" in device:
            plan.add(wire.BIND_DEVICE, what, where,
                     strings=(device["bindSource"], device["path"]))
            continue
        kind = TYPE_BITS.get(device["type"])
        if kind is None:
            raise OCIError(f"config.json: {device.get('pointer')}/type: unknown device type "
                           f"{device['type']!r} (one of c, b, u, p)")
        mode = (device.get("fileMode") or 0o666) & 0o7777
        plan.add(wire.MKNOD, what, where,
                 (mode | kind, device.get("major", 0), device.get("minor", 0),
                  device.get("uid", 0), device.get("gid", 0)), (device["path"],),
                 describe=_device_exists_error(device))


def _add_dev_links(plan: Plan, config: "Config") -> None:
    has_devpts = any(m.destination == "/dev/pts" and m.type == "devpts" for m in config.mounts)
    links = list(DEV_SYMLINKS)
    for target, name in links:
        plan.add(wire.SYMLINK, f"creating /dev/{name}", None, (0,), (target, f"/dev/{name}"))
    if has_devpts:
        # The container's ptys come from its own devpts instance, not the host's /dev/ptmx.
        plan.add(wire.SYMLINK, "creating /dev/ptmx", None, (1,), ("pts/ptmx", "/dev/ptmx"))


def _rootfs_parent_mount(rootfs: str, host: "HostFacts") -> str:
    """The mount point holding the rootfs (the longest that is a prefix): pivot_root refuses a
    new root whose parent mount is shared, so the init makes it private."""
    best = "/"
    for point in host.mount_points:
        if (rootfs == point or rootfs.startswith(point.rstrip("/") + "/")) and len(point) > len(best):
            best = point
    return best


def _setgroups_denied(linux: "Linux", host: "HostFacts") -> bool:
    """Whether the runtime will deny setgroups in the container's new user namespace."""
    if not linux.has_new("user"):
        return False
    from oci_runtime.userns.idmap import plan_writes

    return plan_writes(linux.uid_mappings, linux.gid_mappings, host.effective_capabilities,
                       (host.euid, host.egid))[1]


def _add_fork_into_cgroup(plan: Plan, inputs: CreateInputs) -> None:
    """The init's fork, and its entry into the cgroup as far as it makes it by itself: first
    of all, so that what it does is the container's (as runc's init, placed before it goes on)."""
    directory = inputs.cgroup_directory
    if directory is None:
        plan.add(wire.FORK, "forking the container's init", "/linux/namespaces", (-1,))
    else:
        def describe(step: "Step", errno: int, detail: str) -> OCIError:
            reason = os.strerror(errno)
            if errno == 16:  # EBUSY
                from oci_runtime.cgroups.files import v2_leaf_rule

                reason += f" ({v2_leaf_rule(directory.label)})"
            return OCIError(f"{step.what}: {reason}", errno)

        plan.add(wire.FORK, f"forking the container's init into its cgroup {directory.label}",
                 "/linux/cgroupsPath", (directory,), describe=describe)
    add_cgroup_join_steps(plan, inputs.cgroup_files)


def compile_create(config: "Config", options: "CreateOptions", inputs: CreateInputs,
                   host: "HostFacts") -> Plan:
    """The Plan of create for ``config`` (config.model.Config with paths resolved) with the
    create's ``options``, what the runtime prepared for it (``inputs``) and what it knows of
    the host (``host``)."""
    linux = config.linux
    process = config.process
    assert process is not None  # create refuses a config without one before compiling
    plan = Plan("create")
    if not linux.has_new("user"):
        plan.add(wire.NONDUMPABLE, "making the runtime's process non-dumpable")
    _add_namespace_steps(plan, linux)
    _add_fork_into_cgroup(plan, inputs)
    plan.add(wire.SETSID, "setsid")
    rootfs = config.root_path
    # Nothing of the caller's reaches the container, not even the working directory the
    # executor inherits: the init works in the rootfs until pivot_root, as runc's does (its
    # createContainer hooks run there).
    plan.add(wire.CHDIR, f"changing to the root filesystem {rootfs}", "/root/path",
             strings=(rootfs,))
    if linux.has_new("network"):
        plan.add(wire.LOOPBACK_UP, "bringing up the loopback interface", "/linux/namespaces")
    has_mount_ns = "mount" in linux.namespaces
    if has_mount_ns:
        propagation = k.MS_SLAVE | k.MS_REC
        if linux.rootfs_propagation:
            propagation = propagation_flags(linux.rootfs_propagation, "/linux/rootfsPropagation")
        plan.add(wire.PREPARE_ROOT, f"preparing the root filesystem {rootfs}", "/root/path",
                 (propagation, 0), (rootfs, _rootfs_parent_mount(rootfs, host)))
    else:
        # config-linux.md: a namespace not listed is the runtime's.  The container's mounts are
        # then made in the host's mount table, under the rootfs, and `delete` removes them.
        plan.add(wire.PREPARE_ROOT, f"binding the root filesystem {rootfs} (no mount namespace)",
                 "/root/path", (0, 1), (rootfs, ""))
    context = _MountContext(linux, host)
    first_cgroup = next((index for index, mount in enumerate(config.mounts)
                         if mount.type in ("cgroup", "cgroup2")), len(config.mounts))
    for mount in config.mounts[:first_cgroup]:
        _add_mount(plan, mount, context)
    # The runtime places the init in its cgroup while it mounts (a cgroup v1 attach waits for an
    # RCU grace period); only the cgroup namespace, and so any cgroup mount, waits for that.
    plan.add(wire.WAIT_GO, "waiting for the runtime (cgroup, networks)", "/linux/cgroupsPath")
    if linux.has_new("cgroup"):
        plan.add(wire.UNSHARE, "creating namespaces cgroup", "/linux/namespaces",
                 (k.CLONE_NEWCGROUP,))
    for mount in config.mounts[first_cgroup:]:
        _add_mount(plan, mount, context)
    dev_is_host_bind = any(m.destination == "/dev" and ("bind" in m.options or "rbind" in m.options)
                           for m in config.mounts)
    if not dev_is_host_bind:
        _add_device_steps(plan, config, host)
    _add_dev_links(plan, config)
    # A missing cwd is created (as runc does), before the root can be made read-only.
    plan.add(wire.MKDIR_P, f"config.json: /process/cwd: creating {process.cwd}", "/process/cwd",
             strings=(process.cwd,))
    if config.hooks.get("prestart") or config.hooks.get("createRuntime"):
        plan.add(wire.HOOKS_SYNC, "running the prestart and createRuntime hooks", "/hooks")
    hook_steps(plan, config.hooks, "createContainer", state_blob=0)
    for key, value in linux.sysctl.items():
        path = "/proc/sys/" + key.replace(".", "/")
        plan.add(wire.WRITE_PROC, f"config.json: /linux/sysctl/{key}: writing {value!r} to {path}",
                 f"/linux/sysctl/{key}", strings=(path[len("/proc/"):], value))
    for path in linux.readonly_paths:
        plan.add(wire.READONLY_PATH, f"config.json: /linux/readonlyPaths: {path}",
                 "/linux/readonlyPaths", strings=(path,))
    for path in linux.masked_paths:
        plan.add(wire.MASK_PATH, f"config.json: /linux/maskedPaths: masking {path}",
                 "/linux/maskedPaths", strings=(path,))
    add_oom_score_step(plan, process)
    add_process_attribute_steps(plan, process, linux.personality, "thread-self", host)
    if config.root_readonly:
        plan.add(wire.ROOT_READONLY, "config.json: /root/readonly: remounting / read-only",
                 "/root/readonly")
    if process.terminal:
        size = process.console_size or {}
        assert inputs.console_socket is not None  # prepare makes one for a terminal
        plan.add(wire.CONSOLE, "setting up the terminal (/process/terminal)", "/process/terminal",
                 (inputs.console_socket, size.get("height", 0), size.get("width", 0), -1, -1))
    add_exec_steps(plan, process)
    if has_mount_ns and options.no_pivot:
        plan.add(wire.MOVE_ROOT, f"moving {rootfs} over / (--no-pivot)", "/root/path")
    elif has_mount_ns:
        plan.add(wire.PIVOT_ROOT, f"pivot_root into {rootfs}", "/root/path")
    else:
        plan.add(wire.CHROOT, f"chroot into {rootfs} (no mount namespace)", "/root/path")
    if linux.rootfs_propagation:
        plan.add(wire.PROPAGATION, "config.json: /linux/rootfsPropagation",
                 "/linux/rootfsPropagation",
                 (propagation_flags(linux.rootfs_propagation, "/linux/rootfsPropagation"),),
                 ("", "/"))
    if config.hostname:
        plan.add(wire.SETHOSTNAME, f"config.json: /hostname: sethostname({config.hostname!r})",
                 "/hostname", strings=(config.hostname,))
    if config.domainname:
        plan.add(wire.SETDOMAINNAME,
                 f"config.json: /domainname: setdomainname({config.domainname!r})",
                 "/domainname", strings=(config.domainname,))
    from oci_runtime.plan.process import add_rlimit_steps

    add_rlimit_steps(plan, process.rlimits)
    if not options.no_new_keyring:
        plan.add(wire.KEYRING, "joining a new session keyring", None,
                 strings=(f"_ses.{inputs.container_id}",))
    if linux.memory_policy:
        from oci_runtime.plan.process import add_memory_policy_step
        from oci_runtime.process.mempolicy import allowed_nodes

        add_memory_policy_step(plan, linux.memory_policy,
                               allowed_nodes(host.memory_nodes, linux.resources))
    plan.add(wire.REPORT_CREATED, "reporting the container created")
    plan.add(wire.WAIT_START, "waiting for `start`", None, (inputs.start_listener,))
    hook_steps(plan, config.hooks, "startContainer", state_blob=1)
    from oci_runtime.plan.process import add_credential_steps

    add_credential_steps(plan, process, inputs.capabilities, inputs.seccomp_program,
                         options.preserve_fds, release=True,
                         setgroups_denied=_setgroups_denied(linux, host))
    return plan

"""The container's init: pid 1 of the container until it execs the user's program.

Order (crun's init_container / runc's standard_init, adapted):
  rootfs: mounts in order, devices, /dev links -> createRuntime (parent) and createContainer hooks
  -> pivot_root -> sysctl, readonlyPaths, maskedPaths, root.readonly -> hostname -> oomScoreAdj,
  rlimits, keyring -> check args[0] -> "created" -> block until `start` -> startContainer hooks
  -> credentials (user, groups, capabilities), cwd, no_new_privs, seccomp -> execve.
Seccomp comes last so the runtime's own syscalls are not filtered, except without no_new_privs,
where loading it needs CAP_SYS_ADMIN and so happens before the capabilities are dropped.
"""
import os

import _signal
import _socket

from oci_runtime import kernel
from oci_runtime.errors import OCIError
from oci_runtime.fdpass import send_fd
from oci_runtime.init import network
from oci_runtime.hooks import has_hooks, hook_state, run_hooks
from oci_runtime.process_attributes import apply_personality, apply_process_attributes
from oci_runtime.process import (
    CapabilityPlan, apply_rlimits, finalize_and_exec, find_executable, set_oom_score_adj,
)
from oci_runtime.rootfs import devices, mounts
from oci_runtime.state import SECCOMP_LISTENER_MESSAGE, START_RELEASED
from oci_runtime.rootfs.mount_options import propagation_flags


def run(plan, channel, go_fd):
    host_pid = int(os.read(go_fd, 32))
    os.close(go_fd)
    config = plan.config
    linux = config.linux
    process = config.process
    os.setsid()
    if linux.has_new("network"):
        network.bring_up_loopback()
    _build_rootfs(plan, channel)
    if has_hooks(config.hooks, "prestart", "createRuntime"):
        channel.send("hooks", stage="createRuntime")
        channel.receive("ok")
    if config.hooks.get("createContainer"):
        state = hook_state(plan.container_id, "creating", host_pid, plan.bundle,
                           config.annotations)
        run_hooks(config.hooks, "createContainer", state)
    if plan.no_pivot:
        mounts.move_into(config.root_path)
    else:
        mounts.pivot_into(config.root_path)
    if linux.rootfs_propagation:
        kernel.mount(None, "/", None,
                     propagation_flags(linux.rootfs_propagation, "/linux/rootfsPropagation"))
    _finish_rootfs(config)
    if plan.console is not None:
        # After pivot_root and the mounts: the pty comes from the container's own devpts.
        plan.console.setup_in_container(process.console_size)
    if config.hostname:
        kernel.sethostname(config.hostname)
    if config.domainname:
        kernel.setdomainname(config.domainname)
    if process.oom_score_adj is not None:
        set_oom_score_adj(process.oom_score_adj)
    apply_rlimits(process.rlimits)
    if not plan.no_new_keyring:
        try:
            kernel.join_session_keyring(f"_ses.{plan.container_id}")
        except OSError as exc:
            if exc.errno != 38:  # ENOSYS: kernel without keyrings; runc ignores it too
                raise OCIError.from_os("joining a new session keyring", exc) from exc
    apply_personality(linux.personality)
    apply_process_attributes(process)
    capabilities = CapabilityPlan(process.capabilities, "/process/capabilities", plan.warnings)
    executable = find_executable(process.args[0], process.env, process.cwd)
    channel.send("created", warnings=plan.warnings)
    channel.close()
    _wait_for_start_and_exec(plan, executable, capabilities, host_pid)


def _enter_cgroup(plan, channel):
    """Wait until the parent has placed us in the container's cgroup, then make that the root of
    a new cgroup namespace if the config asks for one."""
    channel.receive("cgroup-ready")
    if plan.config.linux.has_new("cgroup"):
        kernel.unshare(kernel.CLONE_NEWCGROUP)


def _build_rootfs(plan, channel):
    config = plan.config
    linux = config.linux
    rootfs = config.root_path
    propagation = 0
    if linux.rootfs_propagation:
        propagation = propagation_flags(linux.rootfs_propagation, "/linux/rootfsPropagation")
    mounts.prepare_root(rootfs, propagation)
    root_fd = os.open(rootfs, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        context = mounts.MountContext(
            rootfs, linux.has_new("network"), linux.has_new("cgroup"), plan.cgroup_mounts,
            linux.mount_label)
        # The parent places us in the container's cgroup while we mount (a cgroup attach waits
        # for an RCU grace period, ~5 ms); only the cgroup namespace, and so any cgroup mount,
        # must wait for that.
        first_cgroup_mount = next((index for index, mount in enumerate(config.mounts)
                                   if mount.type in ("cgroup", "cgroup2")), len(config.mounts))
        mounts.mount_all(root_fd, config.mounts[:first_cgroup_mount], context)
        _enter_cgroup(plan, channel)
        mounts.mount_all(root_fd, config.mounts[first_cgroup_mount:], context)
        dev_is_host_bind = any(
            m.destination == "/dev" and ("bind" in m.options or "rbind" in m.options)
            for m in config.mounts)
        if not dev_is_host_bind:
            devices.create_devices(root_fd, linux.devices, bind_from_host="user" in linux.namespaces)
        has_devpts = any(m.destination == "/dev/pts" and m.type == "devpts" for m in config.mounts)
        devices.create_dev_symlinks(root_fd, with_ptmx=has_devpts)
    finally:
        os.close(root_fd)


def _finish_rootfs(config):
    linux = config.linux
    for key, value in linux.sysctl.items():
        path = "/proc/sys/" + key.replace(".", "/")
        try:
            with open(path, "w") as sysctl:
                sysctl.write(value)
        except OSError as exc:
            raise OCIError.from_os(f"config.json: /linux/sysctl/{key}: writing {value!r} to {path}",
                                   exc) from exc
    root_fd = os.open("/", os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        mounts.make_readonly(root_fd, linux.readonly_paths)
        mounts.mask_paths(root_fd, linux.masked_paths)
    finally:
        os.close(root_fd)
    if config.root_readonly:
        mounts.make_root_readonly()


def _wait_for_start_and_exec(plan, executable, capabilities, host_pid):
    config = plan.config
    process = config.process
    listener = plan.start_listener
    # As pid 1 of its pid namespace the init only receives the signals it handles; until the
    # user's program runs, `kill` of a created container must end it, as with runc.  execve
    # resets handled signals to their defaults, so the program starts as usual.
    for signal_number in _TERMINATING_SIGNALS:
        _signal.signal(signal_number, _exit_on_signal)
    while True:
        connection_fd, _ = listener._accept()  # _socket's accept: a close-on-exec fd
        connection = _socket.socket(fileno=connection_fd)
        request = connection.recv(64)
        if request == b"start":
            break
        connection.close()  # a stray connection: keep waiting for a real `start`
    released = []

    def release():
        # `start` returns on this byte, before execve, as runc's does: a caller may only be
        # ready for the program's first output once `start` has returned (podman's attach
        # loses output written earlier).  write(2), not send(2): a seccomp profile must allow
        # write anyway.  What fails after this is reported on the container's stderr.
        os.write(connection.fileno(), START_RELEASED)
        released.append(True)

    try:
        if config.hooks.get("startContainer"):
            state = hook_state(plan.container_id, "created", host_pid, plan.bundle,
                               config.annotations)
            run_hooks(config.hooks, "startContainer", state)
        finalize_and_exec(
            process, executable, capabilities, seccomp_program=plan.seccomp_program,
            preserve_fds=plan.preserve_fds,
            hand_over_listener=lambda fd: _send_listener_to_start(fd, connection),
            release=release)
    except OSError as exc:
        error = OCIError.from_os(f"exec {process.args[0]!r}", exc)
    except OCIError as exc:
        error = exc
    if released:
        os.write(2, f"oci-runtime: {error}\n".encode(errors="replace"))
    else:
        connection.send(str(error).encode())
    os._exit(127)


# HUP INT QUIT USR1 USR2 ALRM TERM: the catchable signals whose default action ends a process.
_TERMINATING_SIGNALS = (1, 2, 3, 10, 12, 14, 15)


def _exit_on_signal(signal_number, _frame):
    os._exit(128 + signal_number)


def _send_listener_to_start(listener_fd, connection):
    """A seccomp notify listener fd goes to `start` over its connection, which hands it to the
    agent at listenerPath (a host path the init can no longer reach)."""
    send_fd(connection, SECCOMP_LISTENER_MESSAGE, listener_fd)

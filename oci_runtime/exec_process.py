"""`exec`: start one more process inside a running container.

    parent (the CLI)                      joiner (fork 1)                     process (fork 2)
    compiles seccomp, reads the
    saved config, forks            ->     non-dumpable, opens the init's
                                          /proc/<pid>/ns/* while they are
                                          host paths; "setup" {pid}
    puts the joiner in the cgroup  <-
    "ok"                           ->     joins user ns first, then the
                                          rest (mnt last); forks, because a
                                          pid namespace applies to children  ->  setsid, pty, rlimits,
                                          "started" {pid}; exits                 keyring, user, caps,
    reaps the joiner                                                             seccomp, execve
    waits for EOF (execve closed
    the channel: success) or an "error" line

The process inherits the joiner's cgroup, so the cgroup is joined before any namespace: joining
the cgroup namespace afterwards then shows the container's cgroup as its root.  After setns into
the mount namespace the kernel sets root and cwd to that namespace's root, which is the
container's pivoted rootfs: no chroot is needed (checked by tests/exec).
"""
import os

from oci_runtime import kernel
from oci_runtime.config.model import Process
from oci_runtime.children import kill_and_reap, wait_for_exit, wait_with_forwarding
from oci_runtime.errors import OCIError
from oci_runtime.fdpass import receive_with_fd, send_fd
from oci_runtime.init.protocol import Channel, child_main
from oci_runtime.process import (
    CapabilityPlan, apply_rlimits, finalize_and_exec, find_executable, set_oom_score_adj,
)
from oci_runtime.process_attributes import (
    apply_personality, apply_process_attributes, check_process_attributes, set_cpu_affinity,
)
from oci_runtime import terminal

# /proc/<pid>/ns/ entry -> CLONE_NEW* flag, in the order they are joined: the user namespace
# first (it owns the others and grants the capabilities to join them), the mount namespace last.
_NAMESPACE_ORDER = (
    ("user", kernel.CLONE_NEWUSER), ("cgroup", kernel.CLONE_NEWCGROUP),
    ("ipc", kernel.CLONE_NEWIPC), ("uts", kernel.CLONE_NEWUTS), ("net", kernel.CLONE_NEWNET),
    ("pid", kernel.CLONE_NEWPID), ("time", kernel.CLONE_NEWTIME), ("mnt", kernel.CLONE_NEWNS),
)


class ExecRequest:
    """What to run: the process section (config.md shape) plus runtime-side options.

    ``sub_cgroups`` is parse_sub_cgroup_arguments()'s result ({controller: path}, '' = every
    hierarchy); ``ignore_paused`` allows exec into a paused container (the process then stays
    frozen with the others until `resume`)."""

    def __init__(self, process, *, detach=False, pid_file=None, console_socket=None,
                 preserve_fds=0, ignore_paused=False, sub_cgroups=None):
        self.process = process
        self.detach = detach
        self.pid_file = pid_file
        self.console_socket = console_socket
        self.preserve_fds = preserve_fds
        self.ignore_paused = ignore_paused
        self.sub_cgroups = sub_cgroups or {}


def parse_sub_cgroup_arguments(arguments):
    """runc's `exec --cgroup [controller[,controller...]:]path` values as {controller: path}.

    A path without a controller prefix applies to every hierarchy (the only form that makes sense
    on cgroup v2) and must then be the only --cgroup given; the key for it is ''."""
    paths = {}
    for argument in arguments or ():
        parts = argument.split(":")
        if len(parts) > 2:
            raise OCIError(f"invalid --cgroup argument {argument!r}: expected [controller:]path")
        if len(parts) == 1:
            if len(arguments) != 1:
                raise OCIError(f"invalid --cgroup argument {argument!r}: a path without a "
                               "controller: prefix must be the only --cgroup")
            paths[""] = argument
            continue
        controllers, path = parts
        for controller in controllers.split(","):
            if not controller:
                raise OCIError(f"invalid --cgroup argument {argument!r}: empty controller name")
            if controller in paths:
                raise OCIError(f"invalid --cgroup arguments: controller {controller} is given "
                               "more than once")
            paths[controller] = path
    return paths


def cgroup_directories(manager):
    """{controller: directory} of the container's cgroup on every hierarchy, '' for the cgroup v2
    one, as runc keeps them in its state (so --cgroup's controller names are runc's)."""
    filesystem = getattr(manager, "fs", manager)  # systemd: the cgroupfs view of its unit
    if filesystem.mode == "v2":
        return {"": filesystem.path}
    directories = dict(filesystem.paths)
    if filesystem.unified:
        directories[""] = filesystem.unified
    return directories


def sub_cgroup_directories(directories, sub_cgroups):
    """The directories the exec'd process joins: each hierarchy's container cgroup, or the
    sub-cgroup below it that --cgroup names.  A path is relative to the container's cgroup even
    with a leading '/', and may not climb out of it (runc: "is not a sub cgroup path")."""
    joined = dict(directories)
    if "" in sub_cgroups:
        wanted = {controller: sub_cgroups[""] for controller in directories}
    else:
        unknown = sorted(set(sub_cgroups) - set(directories))
        if unknown:
            raise OCIError(f"exec --cgroup: unknown controller {', '.join(unknown)} (this "
                           f"container has: {', '.join(sorted(c for c in directories if c))})")
        wanted = sub_cgroups
    for controller, sub_path in wanted.items():
        base = directories[controller]
        candidate = os.path.normpath(f"{base}/{sub_path.lstrip('/')}")
        if candidate != base and not candidate.startswith(base + "/"):
            raise OCIError(f"exec --cgroup: {sub_path} is not a sub cgroup path")
        joined[controller] = candidate
    return sorted(set(joined.values()))


def _join_sub_cgroups(directories, pid):
    """Move ``pid`` into existing cgroup directories; unlike the container's own cgroup, a
    sub-cgroup is never created here (runc neither): a typo must not make a new cgroup."""
    for directory in directories:
        try:
            with open(f"{directory}/cgroup.procs", "w") as procs:
                procs.write(str(pid))
        except OSError as exc:
            hint = ""
            if exc.errno == 28 and os.path.exists(f"{directory}/cpuset.cpus"):  # ENOSPC
                hint = " (a new cgroup v1 cpuset has no cpuset.cpus/cpuset.mems until they are set)"
            raise OCIError(f"exec --cgroup: adding pid {pid} to {directory}/cgroup.procs: "
                           f"{exc.strerror}{hint}", exc.errno) from exc


def process_from_options(saved_process, *, args, cwd=None, env=(), user=None,
                         additional_gids=None, capabilities=(), no_new_privileges=False,
                         tty=False):
    """runc's exec without --process: start from the container's own process section and
    override what the command line gives (env entries are appended, capabilities added to every
    set)."""
    process = dict(saved_process)
    process["args"] = list(args)
    process.pop("commandLine", None)
    process["terminal"] = bool(tty)
    if not tty:
        process.pop("consoleSize", None)
    if cwd:
        process["cwd"] = cwd
    if env:
        process["env"] = list(process.get("env") or ()) + list(env)
    user_section = dict(process.get("user") or {})
    if user:
        uid, _, gid = user.partition(":")
        if not uid.isdigit() or (gid and not gid.isdigit()):
            raise OCIError(f"--user {user!r}: expected uid[:gid] as numbers")
        user_section["uid"] = int(uid)
        user_section["gid"] = int(gid) if gid else 0
    if additional_gids:
        for gid in additional_gids:
            if not gid.isdigit():
                raise OCIError(f"--additional-gids {gid!r}: not a number")
        user_section["additionalGids"] = [int(gid) for gid in additional_gids]
    process["user"] = user_section
    if capabilities:
        sets = dict(process.get("capabilities") or {})
        for key in ("bounding", "effective", "permitted", "inheritable", "ambient"):
            if key == "ambient" and key not in sets:
                continue
            sets[key] = list(sets.get(key) or ()) + [c for c in capabilities
                                                      if c not in (sets.get(key) or ())]
        process["capabilities"] = sets
    if no_new_privileges:
        process["noNewPrivileges"] = True
    return process


def exec_in_container(container, saved_config, request, warn=None, debug=None):
    """Run ``request`` in ``container``.  Detached: return the process's host pid once it has
    exec'd.  Otherwise wait for it and return its exit status (128+N when killed by signal N).

    ``debug`` is --debug's DebugLog or None (then nothing is formatted)."""
    status = container.status
    # runc's rule: a created container (its init waits for `start`, namespaces all made) takes
    # exec like a running one; a paused one only when asked, since the process freezes too.
    if status == "paused" and not request.ignore_paused:
        raise OCIError(f"cannot exec in container {container.id}: it is paused "
                       "(use --ignore-paused to override)")
    if status not in ("created", "running", "paused"):
        raise OCIError(f"cannot exec in container {container.id}: it is {status}")
    process = Process(request.process, "/process (exec)")
    if process.terminal and request.console_socket is None and request.detach:
        raise OCIError("exec --detach with a terminal needs --console-socket")
    personality = (saved_config.get("linux") or {}).get("personality")
    check_process_attributes(process, personality)
    warnings = []
    capabilities = CapabilityPlan(process.capabilities, "/process/capabilities", warnings)
    seccomp_program = None
    seccomp = (saved_config.get("linux") or {}).get("seccomp")
    if seccomp:
        from oci_runtime.creation import compile_seccomp

        seccomp_program = compile_seccomp(seccomp, container.store.root, warnings)
    for warning in warnings:
        if warn is not None:
            warn(warning)
    manager = container._cgroup_manager()
    cgroup_join = None
    if request.sub_cgroups:
        if manager is None:
            raise OCIError(f"exec --cgroup: container {container.id} has no cgroup")
        directories = sub_cgroup_directories(cgroup_directories(manager), request.sub_cgroups)

        def cgroup_join(pid):
            _join_sub_cgroups(directories, pid)
    elif manager is not None:
        cgroup_join = manager.apply
    namespace_fds = _open_namespaces_to_join(container.pid)
    if debug is not None:
        flag_names = {flag: name for name, flag in _NAMESPACE_ORDER}
        debug(f"exec in {container.id} ({status}, init {container.pid}): args {process.args!r}, "
              f"joining namespaces {', '.join(flag_names[f] for f, _ in namespace_fds) or 'none'}")
        if manager is not None:
            joined = (directories if request.sub_cgroups
                      else sorted(set(cgroup_directories(manager).values())))
            debug(f"exec cgroup: {', '.join(joined)}")
    console = None
    try:
        if process.terminal:
            console = terminal.ConsoleEndpoint(request.console_socket)
        if not request.detach:
            from oci_runtime.init.launch import become_subreaper

            become_subreaper()  # the process is re-parented here when the joiner exits
        pid = _fork_and_join(container, process, capabilities, seccomp_program, request,
                             namespace_fds, cgroup_join, console, personality)
    except BaseException:
        if console is not None:
            console.close()
        raise
    finally:
        for _, fd in namespace_fds:
            os.close(fd)
    if debug is not None:
        debug(f"exec: process {pid} is running")
    if request.pid_file:
        from oci_runtime.state import write_atomically

        write_atomically(os.path.abspath(request.pid_file), f"{pid}".encode(), 0o644)
    if request.detach:
        if console is not None:
            console.close()
        return pid
    if console is not None and console.relays:
        return console.relay_until_exit(pid, wait_for_exit)
    if console is not None:
        console.close()
    return wait_with_forwarding(pid)


def _open_namespaces_to_join(init_pid):
    """(flag, fd) for each namespace of the init that differs from ours.  Opened now, while
    /proc is the host's; a namespace we already share is skipped (setns into one's own user
    namespace is EINVAL)."""
    opened = []
    try:
        for name, flag in _NAMESPACE_ORDER:
            theirs = f"/proc/{init_pid}/ns/{name}"
            try:
                their_stat = os.stat(theirs)
            except FileNotFoundError:
                continue  # a namespace type this kernel does not have
            ours = os.stat(f"/proc/self/ns/{name}")
            if (their_stat.st_dev, their_stat.st_ino) == (ours.st_dev, ours.st_ino):
                continue
            opened.append((flag, os.open(theirs, os.O_RDONLY | os.O_CLOEXEC)))
    except OSError as exc:
        for _, fd in opened:
            os.close(fd)
        raise OCIError.from_os(f"opening the namespaces of the container's init {init_pid}",
                               exc) from exc
    return opened


def _fork_and_join(container, process, capabilities, seccomp_program, request, namespace_fds,
                   cgroup_join, console, personality):
    parent_channel, child_channel = Channel.pair()
    joiner_pid = os.fork()
    if joiner_pid == 0:
        parent_channel.close()
        child_main(child_channel, lambda: _joiner(
            container.id, process, capabilities, seccomp_program, request, namespace_fds,
            child_channel, console, personality))
    child_channel.close()
    if console is not None:
        console.after_fork()
    process_pid = 0
    try:
        setup = parent_channel.receive("setup")
        if cgroup_join is not None:
            cgroup_join(setup["pid"])
        parent_channel.send("ok")
        process_pid = parent_channel.receive("started")["pid"]
        os.waitpid(joiner_pid, 0)
        joiner_pid = 0
        _wait_for_exec(parent_channel, container, process_pid)
        if console is not None:
            console.receive_master()
        return process_pid
    except BaseException:
        for pid in (joiner_pid, process_pid):
            if pid:
                kill_and_reap(pid)
        raise
    finally:
        parent_channel.close()


def _wait_for_exec(channel, container, process_pid):
    """The channel is close-on-exec: EOF means execve succeeded; otherwise one line saying why
    not, or a seccomp listener fd to pass to its agent first."""
    while True:
        data, listener_fd = receive_with_fd(channel.sock, 1 << 16)
        if listener_fd is not None:
            container._send_seccomp_listener(container.record["seccomp_listener"], listener_fd,
                                             process_pid)
            continue
        if not data:
            return
        from oci_runtime import fastjson

        message = fastjson.loads(data)
        if message.get("type") == "error":
            raise OCIError(message.get("message", "exec failed"), message.get("errno", 0))


def _joiner(container_id, process, capabilities, seccomp_program, request, namespace_fds,
            channel, console, personality):
    # Before joining anything the container controls: its processes must not be able to ptrace
    # or open /proc/<pid>/mem of a process that still holds the runtime's privileges and fds.
    kernel.prctl(kernel.PR_SET_DUMPABLE, 0)
    # config.md: "initial" is where the runtime's process runs before it enters the cgroup.
    set_cpu_affinity((process.exec_cpu_affinity or {}).get("initial"),
                     "/process/execCPUAffinity/initial")
    channel.send("setup", pid=os.getpid())
    channel.receive("ok")
    for flag, fd in namespace_fds:
        try:
            kernel.setns(fd, flag)
        except OSError as exc:
            name = next((n for n, f in _NAMESPACE_ORDER if f == flag), f"{flag:#x}")
            raise OCIError.from_os(f"joining the container's {name} namespace", exc) from exc
    pid = os.fork()
    if pid == 0:
        child_main(channel, lambda: _run_process(
            container_id, process, capabilities, seccomp_program, request, channel, console,
            personality))
    channel.send("started", pid=pid)


def _run_process(container_id, process, capabilities, seccomp_program, request, channel,
                 console, personality):
    os.setsid()
    if console is not None:
        console.setup_in_container(process.console_size)
    if process.oom_score_adj is not None:
        set_oom_score_adj(process.oom_score_adj)
    apply_rlimits(process.rlimits)
    try:
        # runc's exec too gets a fresh session keyring: it must not share the caller's.
        kernel.join_session_keyring(f"_ses.{container_id}")
    except OSError as exc:
        if exc.errno != 38:  # ENOSYS: kernel without keyrings
            raise OCIError.from_os("joining a new session keyring", exc) from exc
    apply_personality(personality)
    apply_process_attributes(process)
    set_cpu_affinity((process.exec_cpu_affinity or {}).get("final"),
                     "/process/execCPUAffinity/final")
    executable = find_executable(process.args[0], process.env, process.cwd)

    def hand_over_listener(listener_fd):
        send_fd(channel.sock, b"listener", listener_fd)

    try:
        finalize_and_exec(process, executable, capabilities, seccomp_program=seccomp_program,
                          preserve_fds=request.preserve_fds, hand_over_listener=hand_over_listener)
    except OSError as exc:
        raise OCIError.from_os(f"exec {process.args[0]!r}", exc) from exc

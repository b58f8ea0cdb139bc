"""The parent side of create: fork the stages, answer their requests, and undo everything if
any step fails (the spec: a failed create leaves the host as if it was never attempted)."""
import os
import _socket

from oci_runtime import kernel, network
from oci_runtime.children import kill_and_reap
from oci_runtime.errors import OCIError
from oci_runtime.hooks import hook_state, run_hooks
from oci_runtime.init import stage1
from oci_runtime.init.protocol import Channel, child_main
from oci_runtime.state import START_SOCKET


class LaunchedInit:
    def __init__(self, pid, warnings):
        self.pid = pid
        self.warnings = warnings


def launch(plan, cgroup, resources):
    """Fork the container's init, set up as far as `create` goes.  The caller must be the
    child subreaper (the init is re-parented to it when stage 1 exits) so that a failed init can
    be reaped here.  On failure the processes are killed and OCIError raised; the caller destroys
    the cgroup.  ``cgroup`` (a manager, or None) is created and given ``resources`` here, while
    the children create namespaces: none of that is on their path."""
    if plan.config.hooks.get("createContainer") or plan.config.hooks.get("startContainer"):
        # The init runs these hooks from inside the container's namespaces, where the host's
        # Python installation may be out of reach (user namespace, pivot_root): import now.
        import subprocess  # noqa: F401
    if stage1.needs_init_preloaded(plan.config.linux):
        from oci_runtime.init import container_init  # noqa: F401
    start_path = f"{plan.state_dir}/{START_SOCKET}"
    listener = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
    listener.bind(start_path)
    listener.listen(1)
    plan.start_listener = listener
    parent_channel, child_channel = Channel.pair()
    init_pid = 0
    if cgroup is not None:
        cgroup.create()
    stage1_pid = os.fork()
    if stage1_pid == 0:
        parent_channel.close()
        child_main(child_channel, lambda: stage1.run(plan, child_channel))
    child_channel.close()
    listener.close()
    if plan.console is not None:
        plan.console.after_fork()
    try:
        if plan.config.linux.has_new("user"):
            setup = parent_channel.receive("setup")
            _write_id_maps(setup["pid"], plan.config.linux)
            parent_channel.send("ok")
        init_pid = parent_channel.receive("init")["pid"]
        # The init builds its rootfs meanwhile, and waits for this only before it creates its
        # cgroup namespace: placing a process costs an RCU grace period on cgroup v1 (~5 ms).
        if cgroup is not None:
            cgroup.apply(init_pid)
            cgroup.set(resources)
        plan.attached_networks = network.attach(plan, init_pid)
        parent_channel.send("cgroup-ready")
        _reap(stage1_pid)
        stage1_pid = 0
        message = parent_channel.receive("hooks", "created")
        if message["type"] == "hooks":
            # runtime.md: the container is "creating" until create has finished.
            state = hook_state(plan.container_id, "creating", init_pid, plan.bundle,
                               plan.config.annotations)
            try:
                run_hooks(plan.config.hooks, "prestart", state)
                run_hooks(plan.config.hooks, "createRuntime", state)
            except OCIError as exc:
                parent_channel.send_error(exc)
                raise
            parent_channel.send("ok")
            message = parent_channel.receive("created")
        return LaunchedInit(init_pid, message.get("warnings") or [])
    except BaseException:
        for pid in (stage1_pid, init_pid):
            if pid:
                kill_and_reap(pid)
        try:
            os.unlink(start_path)
        except FileNotFoundError:
            pass
        raise
    finally:
        parent_channel.close()


def _write_id_maps(pid, linux):
    for name, mappings, pointer in (("uid_map", linux.uid_mappings, "/linux/uidMappings"),
                                    ("gid_map", linux.gid_mappings, "/linux/gidMappings")):
        lines = "".join(f"{m['containerID']} {m['hostID']} {m['size']}\n" for m in mappings)
        try:
            with open(f"/proc/{pid}/{name}", "w") as id_map:
                id_map.write(lines)
        except OSError as exc:
            raise OCIError.from_os(f"config.json: {pointer}: writing /proc/{pid}/{name}",
                                   exc) from exc


def _reap(pid):
    _, status = os.waitpid(pid, 0)
    return status


def become_subreaper():
    kernel.prctl(kernel.PR_SET_CHILD_SUBREAPER, 1)

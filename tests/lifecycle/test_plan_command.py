"""`oci-runtime plan`: the compiled plan of a bundle, printed, with nothing created."""
import json
import os


def test_plan_lists_the_operations_in_order_and_creates_nothing(oci, make_bundle):
    bundle, container_id = make_bundle(["true"])
    result = oci("plan", "--bundle", str(bundle), "--format", "json", container_id, check=True)
    plan = json.loads(result.stdout)
    ops = [step["op"] for step in plan["steps"]]
    assert ops[0] == "nondumpable" and ops[-1] == "exec"
    assert ops.index("fork") < ops.index("prepare_root") < ops.index("pivot_root")
    mounts = [step for step in plan["steps"] if step["op"] == "mount"]
    assert mounts[0]["pointer"] == "/mounts/0" and "/proc" in mounts[0]["what"]
    assert not os.path.exists(os.path.join(oci.root, container_id))
    text = oci("plan", "--bundle", str(bundle), container_id, check=True).stdout
    assert "CLONE_NEWPID" in text and "[/mounts/0]" in text
    # The state root is --root's, not the default one.
    assert f"listener=fd<{oci.root}/{container_id}/start.sock (listening)>" in text


def test_plan_of_a_bad_bundle_names_the_field(oci, make_bundle):
    bundle, _ = make_bundle(["true"], edit=lambda c: c["linux"].update(
        sysctl={"kernel.bogus": "1"}, rootfsPropagation="sideways"))
    result = oci("plan", "--bundle", str(bundle))
    assert result.returncode == 1
    assert "/linux/rootfsPropagation" in result.stderr and "Traceback" not in result.stderr


def test_plan_prints_exactly_the_plan_create_executes(oci, make_bundle, monkeypatch):
    """One create path: `plan` with create's options prints the very plan that create, with the
    same options, state root and id, hands the executor (the host's cgroup hierarchies, the
    seccomp program, the options' steps, the start socket under --root included)."""
    from oci_runtime import CreateOptions, Runtime
    from oci_runtime.executor import session
    from oci_runtime.plan.show import plan_as_json

    def edit(config):
        config["linux"]["seccomp"] = {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
            {"names": ["reboot"], "action": "SCMP_ACT_ERRNO"}]}
        config["hooks"] = {"createContainer": [{"path": "/bin/true"}]}

    bundle, container_id = make_bundle(["true"], edit=edit)
    printed = oci("plan", "--no-pivot", "--no-new-keyring", "--format", "json", "--bundle",
                  str(bundle), container_id, check=True).stdout
    assert '"move_root"' in printed and '"keyring"' not in printed
    assert f"{oci.root}/{container_id}/start.sock" in printed
    executed = []
    spawn = session.spawn

    def recording_spawn(plan, *args):
        executed.append(plan_as_json(plan))
        return spawn(plan, *args)

    monkeypatch.setattr(session, "spawn", recording_spawn)
    runtime = Runtime(root=oci.root)
    container = runtime.create(container_id, str(bundle),
                               CreateOptions(no_pivot=True, no_new_keyring=True))
    try:
        assert container.status == "created"
    finally:
        container.delete(force=True)
    assert executed == [printed]

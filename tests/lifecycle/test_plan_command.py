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
    text = oci("plan", "--bundle", str(bundle), check=True).stdout
    assert "CLONE_NEWPID" in text and "[/mounts/0]" in text


def test_plan_of_a_bad_bundle_names_the_field(oci, make_bundle):
    bundle, _ = make_bundle(["true"], edit=lambda c: c["linux"].update(
        sysctl={"kernel.bogus": "1"}, rootfsPropagation="sideways"))
    result = oci("plan", "--bundle", str(bundle))
    assert result.returncode == 1
    assert "/linux/rootfsPropagation" in result.stderr and "Traceback" not in result.stderr

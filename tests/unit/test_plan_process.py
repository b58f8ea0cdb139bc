"""The process part of a plan (plan/process.py, shared by create and exec): LSM labels, the
initial CPU affinity of exec, the memory policy.  Pure, like tests/unit/test_plan.py, whose
helpers it uses."""
import pytest

from oci_runtime.errors import OCIError
from oci_runtime.executor import wire
from oci_runtime.plan.host import HostFacts
from oci_runtime.process.capabilities import CapabilityPlan

from .test_plan import HOST_PATHS, compiled, config_of, names, ops


def test_lsm_labels_are_written_for_execve_through_the_host_procfs(tmp_path):
    """process.apparmorProfile and selinuxLabel become writes of the "exec" attribute (they label
    the next execve); create refuses them where the LSM is not enabled (process/attributes.py)."""
    plan = compiled(config_of(tmp_path, process={"apparmorProfile": "docker-default",
                                                 "selinuxLabel": "system_u:system_r:c_t:s0"}))
    writes = {step.pointer: step.strings for step in ops(plan, wire.WRITE_PROC)}
    path, text = writes["/process/apparmorProfile"]
    assert path.startswith("thread-self/attr/") and path.endswith("exec")
    assert text == "exec docker-default"
    assert writes["/process/selinuxLabel"] == ("thread-self/attr/exec", "system_u:system_r:c_t:s0")
    assert names(plan).index("write_proc") < names(plan).index("exec")


def test_exec_cpu_affinity_initial_is_set_before_the_cgroup(tmp_path):
    """config.md: execCPUAffinity.initial is where the runtime's process runs before it moves to
    the container's cgroup (a move resets the affinity to the cpuset's: final is then the one
    the process keeps; tests/exec/test_process_attributes.py shows it)."""
    from oci_runtime.plan.exec import compile_exec

    config = config_of(tmp_path, process={"execCPUAffinity": {"initial": "0", "final": "0"}})
    host = HostFacts(paths=HOST_PATHS)
    caps = CapabilityPlan(config.process.capabilities, "/process/capabilities", [],
                          bounding=host.bounding_set, last=host.last_capability)
    plan = compile_exec(config.process, None, [], host, container_id="test", capabilities=caps)
    affinity = ops(plan, wire.AFFINITY)
    assert affinity[0].pointer == "/process/execCPUAffinity/initial"
    assert affinity[0].strings[0].rstrip(b"\0") == b"\x01"  # a mask of CPU 0
    assert plan.steps.index(affinity[0]) < names(plan).index("sync_setup")
    assert affinity[-1].pointer == "/process/execCPUAffinity/final"


def test_memory_policy_is_set_late_with_its_mode_flags_and_nodemask(tmp_path):
    """set_mempolicy(mode | flags, nodemask, maxnode) once the init is in its cgroup, before it
    reports created; the nodemask is unsigned longs covering maxnode - 1 bits, as the kernel
    reads it; the container's cpuset narrows the nodes a host has."""
    from oci_runtime.process.mempolicy import FLAGS, MODES

    config = config_of(tmp_path, linux={"memoryPolicy": {
        "mode": "MPOL_INTERLEAVE", "nodes": "1,3-4,64", "flags": ["MPOL_F_STATIC_NODES"]}})
    plan = compiled(config, host=HostFacts(paths=HOST_PATHS, memory_nodes={0, 1, 2, 3, 4, 64}))
    [step] = ops(plan, wire.MEMPOLICY)
    mode, maxnode = step.ints
    assert mode == MODES["MPOL_INTERLEAVE"] | FLAGS["MPOL_F_STATIC_NODES"]
    mask = step.strings[0]
    assert maxnode == 129 and len(mask) == 16
    assert int.from_bytes(mask, "little") == (1 << 1) | (1 << 3) | (1 << 4) | (1 << 64)
    assert names(plan).index("wait_go") < names(plan).index("mempolicy") \
        < names(plan).index("report_created")
    refused = config_of(tmp_path, linux={"memoryPolicy": {"mode": "MPOL_BIND", "nodes": "1"},
                                         "resources": {"cpu": {"mems": "0"}}})
    with pytest.raises(OCIError, match=r"/linux/memoryPolicy/nodes: '1': none of these nodes"):
        compiled(refused, host=HostFacts(paths=HOST_PATHS, memory_nodes={0, 1}))
    local = compiled(config_of(tmp_path, linux={"memoryPolicy": {"mode": "MPOL_LOCAL"}}))
    assert ops(local, wire.MEMPOLICY)[0].ints == (MODES["MPOL_LOCAL"], 0)

"""config-linux.md "Memory policy" and features-linux.md "MemoryPolicy": linux.memoryPolicy is
the container's NUMA memory policy (set_mempolicy(2)), seen from inside in /proc/self/numa_maps;
what the kernel would refuse is refused naming the field."""
import json
import os

import pytest

from clause import clause

# What /proc/<pid>/numa_maps says of a task policy (the kernel's mpol_to_str).
CASES = [
    ("MPOL_DEFAULT", None, None, "default"),
    ("MPOL_BIND", "0", None, "bind:0"),
    ("MPOL_INTERLEAVE", "0", ["MPOL_F_STATIC_NODES"], "interleave=static:0"),
    ("MPOL_INTERLEAVE", "0", ["MPOL_F_RELATIVE_NODES"], "interleave=relative:0"),
    ("MPOL_WEIGHTED_INTERLEAVE", "0", None, "weighted interleave:0"),
    ("MPOL_PREFERRED", "0", None, "prefer:0"),
    ("MPOL_PREFERRED", None, None, "local"),  # no node: local allocation
    ("MPOL_PREFERRED_MANY", "0", None, "prefer (many):0"),
    ("MPOL_LOCAL", None, None, "local"),
    ("MPOL_BIND", "0", ["MPOL_F_NUMA_BALANCING"], "bind=balancing:0"),
]
# The kernel's policy of the first mapping: the fields after its address, up to the page counts.
SHOW_POLICY = "head -1 /proc/self/numa_maps | sed -e 's/^[^ ]* //' -e 's/ \\(file\\|anon\\|heap\\|stack\\)[= ].*//'"

pytestmark = pytest.mark.skipif(not os.path.exists("/proc/self/numa_maps"),
                                reason="this kernel has no NUMA support (/proc/self/numa_maps)")


def policy(mode, nodes=None, flags=None):
    raw = {"mode": mode}
    if nodes is not None:
        raw["nodes"] = nodes
    if flags:
        raw["flags"] = flags
    return raw


def _run(oci, make_bundle, memory_policy, script=SHOW_POLICY):
    def edit(config):
        config["linux"]["memoryPolicy"] = memory_policy
    bundle, cid = make_bundle(["sh", "-c", script], edit)
    return oci("run", "--bundle", str(bundle), cid)


def _too_new(result, mode, flags):
    """Modes and flags newer than this kernel are refused by set_mempolicy with EINVAL."""
    return (result.returncode != 0 and "set_mempolicy" in result.stderr
            and "Invalid argument" in result.stderr
            and (mode in ("MPOL_WEIGHTED_INTERLEAVE", "MPOL_PREFERRED_MANY")
                 or "MPOL_F_NUMA_BALANCING" in (flags or ())))


@clause("config-linux.md", "Memory policy", "memoryPolicy sets the NUMA memory policy for the "
        "container (set_mempolicy(2)): every mode and flag")
@pytest.mark.parametrize("mode, nodes, flags, shown", CASES,
                         ids=[f"{c[0]}-{c[1]}-{'+'.join(c[2] or ())}" for c in CASES])
def test_every_mode_and_flag_is_the_container_s_policy(oci, make_bundle, mode, nodes, flags,
                                                        shown):
    result = _run(oci, make_bundle, policy(mode, nodes, flags))
    if _too_new(result, mode, flags):
        pytest.skip(f"{mode} {flags or ''} is newer than this kernel ({os.uname().release})")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == shown


@clause("config-linux.md", "Memory policy", "memoryPolicy sets the NUMA memory policy for the "
        "container: its exec'd processes too")
def test_an_exec_d_process_has_the_container_s_policy(oci, make_bundle):
    bundle, cid = make_bundle(["sleep", "1000"], lambda c: c["linux"].update(
        memoryPolicy=policy("MPOL_INTERLEAVE", "0", ["MPOL_F_STATIC_NODES"])))
    oci("run", "--detach", "--bundle", str(bundle), cid, check=True)
    result = oci("exec", cid, "sh", "-c", SHOW_POLICY + "; grep Mems_allowed_list /proc/self/status")
    assert result.returncode == 0, result.stderr
    shown, mems = result.stdout.strip().splitlines()
    assert shown == "interleave=static:0"
    assert mems.split()[-1] == "0"  # the cpuset the policy's nodes are taken within


@clause("config-linux.md", "Memory policy", "nodes: a comma-separated list with dashes for "
        "ranges; some modes require no nodes, others at least one")
@pytest.mark.parametrize("memory_policy, pointer, message", [
    (policy("MPOL_BIND", "0-"), "nodes", "expected node numbers and ranges"),
    (policy("MPOL_BIND", "3-1"), "nodes", "runs backwards"),
    (policy("MPOL_BIND", "0,,1"), "nodes", "an empty entry"),
    (policy("MPOL_LOCAL", "0"), "nodes", "MPOL_LOCAL takes no nodes"),
    (policy("MPOL_DEFAULT", "0"), "nodes", "MPOL_DEFAULT takes no nodes"),
    (policy("MPOL_INTERLEAVE"), "nodes", "MPOL_INTERLEAVE needs at least one node"),
    (policy("MPOL_BIND", "0", ["MPOL_F_STATIC_NODES", "MPOL_F_RELATIVE_NODES"]), "flags",
     "exclude each other"),
    (policy("MPOL_BIND", "1023"), "nodes", "none of these nodes is one the container may "
                                           "allocate from"),
    (policy("MPOL_BIND", "4096"), "nodes", "beyond the kernel's limit"),
])
def test_an_impossible_policy_is_refused_naming_the_field(oci, make_bundle, memory_policy,
                                                           pointer, message):
    result = _run(oci, make_bundle, memory_policy, "true")
    assert result.returncode == 1
    assert f"config.json: /linux/memoryPolicy/{pointer}: " in result.stderr
    assert message in result.stderr
    assert result.stderr.count("\n") == 1


@clause("features-linux.md", "MemoryPolicy", "the runtime MUST recognize the elements of modes "
        "and flags in linux.memoryPolicy")
def test_features_lists_what_create_takes(oci):
    features = json.loads(oci("features", check=True).stdout)["linux"]["memoryPolicy"]
    from oci_runtime.process.mempolicy import FLAGS, MODES

    assert set(features["modes"]) == set(MODES) and set(features["flags"]) == set(FLAGS)
    schema = json.load(open(os.path.join(os.path.dirname(os.path.dirname(
        os.path.abspath(__file__))), "schemas", "config.schema.json")))
    policy_schema = schema["$defs"]["MemoryPolicy"]["properties"]
    assert set(policy_schema["mode"]["enum"]) == set(features["modes"])
    assert set(policy_schema["flags"]["items"]["enum"]) == set(features["flags"])

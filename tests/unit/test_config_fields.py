"""No config field silently ignored (issue 23, point 2).

Every property of the config schema that applies to Linux (schemas/config.schema.json, checked
against runtime-spec v1.3.0's own schema where a copy is at hand) is listed in FIELDS as one of:

* applied: the tests that show its effect on a container (or on what the runtime makes);
* refused: create (and `check`) fails naming it, or the object holding it, by JSON pointer;
  the test below proves it with a sample value;
* a deliberate no-op: why (a field of another platform, a kernel that removed the knob...).

An enumerated field also names the runtime's table that maps its values, which must cover
every value the schema allows.  A field the schema gains, or a field whose listed test is gone,
fails here: a schema-valid field with no code behind it cannot pass unnoticed again.
"""
import ast
import importlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
OUR_SCHEMA = REPO / "schemas" / "config.schema.json"
# Sections of other platforms: this runtime checks they are objects and reads nothing in them.
OTHER_PLATFORMS = ("solaris", "windows", "vm", "zos", "freebsd")


class Applied:
    def __init__(self, *tests, values=None, note=""):
        self.tests = tests
        self.values = values  # "module:NAME" of the table mapping an enum's values
        self.note = note


class Refused:
    def __init__(self, sample, why):
        self.sample = sample  # a schema-valid value the runtime refuses
        self.why = why


class NoOp:
    def __init__(self, why):
        self.why = why


# -- the evidence --------------------------------------------------------------------------------

T_HOOKS = "conformance/test_config_md.py::test_every_kind_of_hook_gets_its_args_env_and_timeout"
T_CAPS = "tests/lifecycle/test_container_setup.py::test_capability_sets"
T_USER = "tests/lifecycle/test_container_setup.py::test_user_groups_umask_cwd_env"
T_DEVICES = "tests/lifecycle/test_container_setup.py::test_linux_devices_are_created"
T_USERNS = "tests/lifecycle/test_container_setup.py::test_user_namespace_mappings"
T_IDMAP = ("tests/rootless/test_idmapped_mounts.py::test_mount_uid_mappings_without_a_user_namespace",
           "conformance/test_config_md_idmap.py::test_idmap_uses_the_mounts_mappings")
T_CPU = "tests/cgroups/test_real_hybrid.py::test_cpu_fields"
T_CPU_V2 = "tests/cgroups/test_real_v2.py::test_cpu_fields"
T_MEMORY = "tests/cgroups/test_real_hybrid.py::test_memory_fields"
T_MEMORY_V2 = "tests/cgroups/test_real_v2.py::test_memory_fields"
T_BLKIO = "tests/cgroups/test_real_hybrid.py::test_blkio_fields"
T_IO_V2 = "tests/cgroups/test_real_v2.py::test_io_fields"
T_FAKE_V1 = "tests/cgroups/test_faketree.py::test_v1_writes"
T_FAKE_V2 = "tests/cgroups/test_faketree.py::test_v2_writes"
T_DEVICE_RULES = "tests/cgroups/test_real_hybrid.py::test_devices_allow_deny_in_order"
T_HUGETLB = ("tests/cgroups/test_real_hybrid.py::test_hugetlb", "tests/cgroups/test_real_v2.py::test_hugetlb")
T_NET_CGROUP = ("tests/cgroups/test_real_hybrid.py::test_network_fields_if_present",
                "tests/cgroups/test_real_hybrid.py::test_absent_controllers_error_only_when_asked")
T_SECCOMP_ARGS = "tests/seccomp/test_seccomp.py::test_every_operator_matches_the_right_argument_values"
T_TIME = ("tests/lifecycle/test_container_setup.py::test_time_namespace_offsets",
          "tests/unit/test_config_model.py::test_time_offsets_need_a_new_time_namespace")
T_RT = "conformance/test_config_md_scheduler.py::test_realtime_scheduler_with_a_budget"
T_MEMPOLICY = ("conformance/test_config_linux_md_memory_policy.py::"
               "test_every_mode_and_flag_is_the_container_s_policy")
T_MEMPOLICY_NODES = ("conformance/test_config_linux_md_memory_policy.py::"
                     "test_an_impossible_policy_is_refused_naming_the_field")
T_DEADLINE = "conformance/test_config_md_scheduler.py::test_deadline_scheduler_fields"

FIELDS = {
    "/ociVersion": Applied("tests/unit/test_validate.py::test_supported_versions_are_accepted",
                           "conformance/test_runtime_md.py::test_state_matches_schema"),
    "/annotations": Applied("tests/lifecycle/test_lifecycle.py::test_state_json_has_spec_fields"),
    "/hostname": Applied("conformance/test_config_md.py::test_hostname"),
    "/domainname": Applied("tests/lifecycle/test_container_setup.py::test_sysctl_and_hostname_and_domainname"),
    "/root/path": Applied("conformance/test_config_md.py::test_root_path_must_exist"),
    "/root/readonly": Applied("conformance/test_config_md.py::test_root_readonly"),

    "/mounts/*/destination": Applied("conformance/test_config_md.py::test_mounts_in_order",
                                     "conformance/test_config_md.py::test_relative_mount_destination"),
    "/mounts/*/source": Applied("tests/lifecycle/test_container_setup.py::test_bind_mount_relative_to_bundle_readonly"),
    "/mounts/*/type": Applied("tests/lifecycle/test_container_setup.py::test_mount_options_are_applied"),
    "/mounts/*/options": Applied("tests/lifecycle/test_container_setup.py::test_mount_options_are_applied"),
    "/mounts/*/uidMappings/*/containerID": Applied(*T_IDMAP),
    "/mounts/*/uidMappings/*/hostID": Applied(*T_IDMAP),
    "/mounts/*/uidMappings/*/size": Applied(*T_IDMAP),
    "/mounts/*/gidMappings/*/containerID": Applied(*T_IDMAP),
    "/mounts/*/gidMappings/*/hostID": Applied(*T_IDMAP),
    "/mounts/*/gidMappings/*/size": Applied(*T_IDMAP),

    "/process/terminal": Applied("tests/terminal/test_terminal.py::test_console_socket_receives_a_working_pty"),
    "/process/consoleSize/height": Applied("tests/terminal/test_terminal.py::test_run_relays_the_terminal_without_console_socket"),
    "/process/consoleSize/width": Applied("tests/terminal/test_terminal.py::test_run_relays_the_terminal_without_console_socket"),
    "/process/cwd": Applied("conformance/test_config_md.py::test_cwd"),
    "/process/env": Applied(T_USER),
    "/process/args": Applied("conformance/test_runtime_md.py::test_start_runs_program"),
    "/process/commandLine": NoOp("Windows only (config.md: \"the full command line to be executed "
                                 "on Windows\"); on Linux args is required and is what runs"),
    "/process/user/uid": Applied(T_USER),
    "/process/user/gid": Applied(T_USER),
    "/process/user/umask": Applied(T_USER),
    "/process/user/additionalGids": Applied(T_USER),
    "/process/user/username": NoOp("Windows only (config.md \"Windows User\"); a POSIX process "
                                   "runs as uid and gid"),
    "/process/capabilities/bounding": Applied(T_CAPS),
    "/process/capabilities/effective": Applied(T_CAPS),
    "/process/capabilities/permitted": Applied(T_CAPS),
    "/process/capabilities/inheritable": Applied(T_CAPS),
    "/process/capabilities/ambient": Applied(T_CAPS),
    "/process/rlimits/*/type": Applied("conformance/test_config_md.py::test_rlimits_match",
                                       values="oci_runtime.process.capabilities:RLIMIT_NUMBERS"),
    "/process/rlimits/*/soft": Applied("conformance/test_config_md.py::test_rlimits_match"),
    "/process/rlimits/*/hard": Applied("conformance/test_config_md.py::test_rlimits_match"),
    "/process/noNewPrivileges": Applied("tests/lifecycle/test_container_setup.py::test_rlimits_nnp_oom_score"),
    "/process/oomScoreAdj": Applied("conformance/test_config_md.py::test_oom_score_adj_set"),
    "/process/apparmorProfile": Applied(
        "tests/unit/test_plan_process.py::test_lsm_labels_are_written_for_execve_through_the_host_procfs",
        "tests/exec/test_process_attributes.py::test_apparmor_profile_without_apparmor_is_a_clear_error",
        note="applied where AppArmor is enabled, refused where it is not"),
    "/process/selinuxLabel": Applied(
        "tests/unit/test_plan_process.py::test_lsm_labels_are_written_for_execve_through_the_host_procfs",
        "tests/exec/test_process_attributes.py::test_selinux_label_without_selinux_is_a_clear_error",
        note="applied where SELinux is enabled, refused where it is not"),
    "/process/ioPriority/class": Applied("tests/exec/test_process_attributes.py::test_io_priority",
                                         values="oci_runtime.process.attributes:IOPRIO_CLASSES"),
    "/process/ioPriority/priority": Applied("tests/exec/test_process_attributes.py::test_io_priority"),
    "/process/scheduler/policy": Applied("tests/exec/test_process_attributes.py::test_scheduler_policy_and_nice",
                                         T_RT, values="oci_runtime.process.attributes:SCHED_POLICIES"),
    "/process/scheduler/nice": Applied("tests/exec/test_process_attributes.py::test_scheduler_policy_and_nice"),
    "/process/scheduler/priority": Applied(T_RT),
    "/process/scheduler/flags": Applied(T_DEADLINE, values="oci_runtime.process.attributes:SCHED_FLAGS"),
    "/process/scheduler/runtime": Applied(T_DEADLINE),
    "/process/scheduler/deadline": Applied(T_DEADLINE),
    "/process/scheduler/period": Applied(T_DEADLINE),
    "/process/execCPUAffinity/initial": Applied(
        "tests/unit/test_plan_process.py::test_exec_cpu_affinity_initial_is_set_before_the_cgroup"),
    "/process/execCPUAffinity/final": Applied("tests/exec/test_process_attributes.py::test_exec_cpu_affinity_final"),

    "/linux/namespaces/*/type": Applied("conformance/test_config_linux_md.py::test_new_namespace_created",
                                        values="oci_runtime.config.model:NAMESPACE_TYPES"),
    "/linux/namespaces/*/path": Applied("conformance/test_config_linux_md.py::test_namespace_path_is_joined"),
    "/linux/uidMappings/*/containerID": Applied(T_USERNS),
    "/linux/uidMappings/*/hostID": Applied(T_USERNS),
    "/linux/uidMappings/*/size": Applied(T_USERNS),
    "/linux/gidMappings/*/containerID": Applied(T_USERNS),
    "/linux/gidMappings/*/hostID": Applied(T_USERNS),
    "/linux/gidMappings/*/size": Applied(T_USERNS),
    # a map by clock here: a clock but monotonic and boottime is refused naming it
    "/linux/timeOffsets/*/secs": Applied(*T_TIME),
    "/linux/timeOffsets/*/nanosecs": Applied(*T_TIME),
    "/linux/devices/*/type": Applied(T_DEVICES, values="oci_runtime.rootfs.devices:TYPE_BITS"),
    "/linux/devices/*/path": Applied(T_DEVICES, "conformance/test_config_linux_md.py::test_a_device_path_with_a_trailing_slash_names_the_file"),
    "/linux/devices/*/major": Applied(T_DEVICES),
    "/linux/devices/*/minor": Applied(T_DEVICES),
    "/linux/devices/*/fileMode": Applied(T_DEVICES),
    "/linux/devices/*/uid": Applied(T_DEVICES),
    "/linux/devices/*/gid": Applied(T_DEVICES),
    "/linux/cgroupsPath": Applied("conformance/test_config_linux_md.py::test_absolute_cgroups_path"),
    "/linux/rootfsPropagation": Applied("tests/lifecycle/test_lifecycle.py::test_rootfs_propagation_is_applied",
                                        values="oci_runtime.rootfs.mount_options:_PROPAGATION_OPTIONS"),
    "/linux/sysctl": Applied("conformance/test_config_linux_md.py::test_namespaced_sysctls_are_applied_in_the_container"),
    "/linux/maskedPaths": Applied("conformance/test_config_linux_md.py::test_masked_paths"),
    "/linux/readonlyPaths": Applied("conformance/test_config_linux_md.py::test_readonly_paths"),
    "/linux/mountLabel": Applied("tests/unit/test_plan.py::test_tmpfs_gets_flags_data_label_and_no_remount_flag",
                                 note="the context= option of tmpfs, mqueue and devpts mounts; "
                                      "the kernel refuses it where SELinux is off"),
    "/linux/personality/domain": Applied("tests/exec/test_process_attributes.py::test_personality_linux32",
                                         values="oci_runtime.process.attributes:PERSONALITY_DOMAINS"),
    "/linux/personality/flags": Refused(["ADDR_NO_RANDOMIZE"], "config-linux.md: \"Currently no flag "
                                        "values are supported\""),
    "/linux/netDevices/*/name": Applied("conformance/test_config_linux_netdevices.py::test_device_moved_renamed_addressed_and_up",
                                        "conformance/test_config_linux_netdevices.py::test_template_name_and_default_name"),
    "/linux/intelRdt/closID": Refused("c1", "no resctrl support (features: intelRdt disabled)"),
    "/linux/intelRdt/l3CacheSchema": Refused("L3:0=f", "no resctrl support"),
    "/linux/intelRdt/memBwSchema": Refused("MB:0=50", "no resctrl support"),
    "/linux/intelRdt/schemata": Refused(["L3:0=f"], "no resctrl support"),
    "/linux/intelRdt/enableMonitoring": Refused(True, "no resctrl support"),
    "/linux/memoryPolicy/mode": Applied(T_MEMPOLICY, values="oci_runtime.process.mempolicy:MODES"),
    "/linux/memoryPolicy/nodes": Applied(T_MEMPOLICY, T_MEMPOLICY_NODES),
    "/linux/memoryPolicy/flags": Applied(T_MEMPOLICY, values="oci_runtime.process.mempolicy:FLAGS"),

    "/linux/resources/devices/*/allow": Applied(T_DEVICE_RULES),
    "/linux/resources/devices/*/type": Applied(T_DEVICE_RULES,
                                               values="oci_runtime.cgroups.controllers.devices:RULE_TYPES"),
    "/linux/resources/devices/*/major": Applied(T_DEVICE_RULES),
    "/linux/resources/devices/*/minor": Applied(T_DEVICE_RULES),
    "/linux/resources/devices/*/access": Applied(T_DEVICE_RULES),
    "/linux/resources/memory/limit": Applied(T_MEMORY, T_MEMORY_V2),
    "/linux/resources/memory/reservation": Applied(T_MEMORY, T_MEMORY_V2),
    "/linux/resources/memory/swap": Applied(T_MEMORY, T_MEMORY_V2),
    "/linux/resources/memory/kernel": NoOp(
        "deprecated by the spec; the kernel removed kmem limits (Linux 5.16: the write is "
        "refused and runc ignores it, as here) and cgroup v2 never had them"),
    "/linux/resources/memory/kernelTCP": Applied(T_MEMORY, note="cgroup v1 only: v2 has no such "
                                                 "file (runc ignores it there too)"),
    "/linux/resources/memory/swappiness": Applied(T_MEMORY, note="cgroup v1 only: v2 has no "
                                                  "such file (runc ignores it there too)"),
    "/linux/resources/memory/disableOOMKiller": Applied(T_MEMORY, note="cgroup v1 only: v2 has "
                                                        "no such file (runc ignores it there too)"),
    "/linux/resources/memory/useHierarchy": Applied(T_MEMORY, note="cgroup v1 only: v2 is "
                                                    "always hierarchical"),
    "/linux/resources/memory/checkBeforeUpdate": Applied(
        "tests/cgroups/test_containers.py::test_update_rejects_a_memory_limit_below_usage_when_asked_to_check"),
    "/linux/resources/cpu/shares": Applied(T_CPU, T_CPU_V2),
    "/linux/resources/cpu/quota": Applied(T_CPU, "tests/cgroups/test_containers.py::test_cpu_quota_holds_a_busy_loop_to_half_a_cpu"),
    "/linux/resources/cpu/period": Applied(T_CPU, T_CPU_V2),
    "/linux/resources/cpu/burst": Applied(T_CPU, T_CPU_V2),
    "/linux/resources/cpu/realtimeRuntime": Applied(T_CPU, T_RT),
    "/linux/resources/cpu/realtimePeriod": Applied(T_CPU, T_RT),
    "/linux/resources/cpu/cpus": Applied("tests/cgroups/test_containers.py::test_cpuset_pins_the_container_to_cpu_0"),
    "/linux/resources/cpu/mems": Applied(T_CPU),
    "/linux/resources/cpu/idle": Applied(T_CPU, T_CPU_V2),
    "/linux/resources/pids/limit": Applied("tests/cgroups/test_containers.py::test_pids_limit_makes_fork_fail_inside"),
    "/linux/resources/blockIO/weight": Applied(T_FAKE_V1, T_IO_V2),
    "/linux/resources/blockIO/leafWeight": Applied(T_BLKIO, note="cgroup v1 with CFQ; the "
                                                   "kernel's refusal names the field elsewhere"),
    "/linux/resources/blockIO/weightDevice/*/major": Applied(T_FAKE_V1),
    "/linux/resources/blockIO/weightDevice/*/minor": Applied(T_FAKE_V1),
    "/linux/resources/blockIO/weightDevice/*/weight": Applied(T_FAKE_V1),
    "/linux/resources/blockIO/weightDevice/*/leafWeight": Applied(
        T_BLKIO, note="cgroup v1 with CFQ; on cgroup v2 there is no leaf weight (runc ignores it)"),
    **{f"/linux/resources/blockIO/{name}/*/{key}": Applied(T_BLKIO, T_IO_V2)
       for name in ("throttleReadBpsDevice", "throttleWriteBpsDevice", "throttleReadIOPSDevice",
                    "throttleWriteIOPSDevice") for key in ("major", "minor", "rate")},
    "/linux/resources/hugepageLimits/*/pageSize": Applied(*T_HUGETLB),
    "/linux/resources/hugepageLimits/*/limit": Applied(*T_HUGETLB),
    "/linux/resources/network/classID": Applied(*T_NET_CGROUP),
    "/linux/resources/network/priorities/*/name": Applied(*T_NET_CGROUP),
    "/linux/resources/network/priorities/*/priority": Applied(*T_NET_CGROUP),
    "/linux/resources/rdma/*/hcaHandles": Applied("tests/cgroups/test_convert.py::test_rdma_string", T_FAKE_V1),
    "/linux/resources/rdma/*/hcaObjects": Applied("tests/cgroups/test_convert.py::test_rdma_string", T_FAKE_V2),
    "/linux/resources/unified": Applied("tests/cgroups/test_real_hybrid.py::test_unified_on_hybrid",
                                        "tests/cgroups/test_containers.py::test_memory_high_throttles_without_killing"),

    "/linux/seccomp/defaultAction": Applied("tests/seccomp/test_seccomp.py::test_kill_actions_kill_with_sigsys",
                                            values="oci_runtime.seccomp.constants:ACTION_VALUES"),
    "/linux/seccomp/defaultErrnoRet": Applied("tests/seccomp/test_seccomp.py::test_default_errno_ret_applies_to_default_action"),
    "/linux/seccomp/architectures": Applied("tests/seccomp/test_seccomp.py::test_arch_unsupported_by_this_libseccomp_is_an_error",
                                            values="oci_runtime.seccomp.constants:ARCHITECTURE_LIBSECCOMP_NAMES"),
    "/linux/seccomp/flags": Applied("tests/seccomp/test_seccomp.py::test_all_filter_flags_are_known_to_this_kernel_and_install",
                                    values="oci_runtime.seccomp.constants:FLAG_VALUES"),
    "/linux/seccomp/listenerPath": Applied("tests/seccomp/test_seccomp_containers.py::test_notify_agent_gets_the_state_and_answers_the_syscall"),
    "/linux/seccomp/listenerMetadata": Applied("tests/seccomp/test_seccomp_containers.py::test_notify_agent_gets_the_state_and_answers_the_syscall"),
    "/linux/seccomp/syscalls/*/names": Applied("tests/seccomp/test_seccomp_containers.py::test_errno_ret_is_the_errno_the_program_sees"),
    "/linux/seccomp/syscalls/*/action": Applied("tests/seccomp/test_seccomp_containers.py::test_kill_process_kills_the_container_with_sigsys",
                                                values="oci_runtime.seccomp.constants:ACTION_VALUES"),
    "/linux/seccomp/syscalls/*/errnoRet": Applied("tests/seccomp/test_seccomp_containers.py::test_errno_ret_is_the_errno_the_program_sees"),
    "/linux/seccomp/syscalls/*/args/*/index": Applied(T_SECCOMP_ARGS),
    "/linux/seccomp/syscalls/*/args/*/value": Applied(T_SECCOMP_ARGS),
    "/linux/seccomp/syscalls/*/args/*/valueTwo": Applied(T_SECCOMP_ARGS),
    "/linux/seccomp/syscalls/*/args/*/op": Applied(T_SECCOMP_ARGS, values="oci_runtime.seccomp.constants:OPERATOR_VALUES"),

    **{f"/hooks/{kind}/*/{key}": Applied(T_HOOKS, "tests/hooks/test_hooks.py::test_each_hook_runs_at_its_moment_with_the_state")
       for kind in ("prestart", "createRuntime", "createContainer", "startContainer", "poststart",
                    "poststop") for key in ("path", "args", "env", "timeout")},
}


# -- the walk --------------------------------------------------------------------------------------

class _Schema:
    """One JSON Schema document set: draft 2020-12 "#/$defs/X" references within a file, or the
    spec's draft-04 "file.json#/definitions/X" across the files of a directory."""

    def __init__(self, path):
        self.directory = path.parent
        self.documents = {path.name: json.loads(path.read_text())}
        self.root = (path.name, self.documents[path.name])

    def resolve(self, reference, base):
        name, _, fragment = reference.partition("#")
        name = name or base
        if name not in self.documents:
            self.documents[name] = json.loads((self.directory / name).read_text())
        node = self.documents[name]
        for part in fragment.strip("/").split("/"):
            if part:
                node = node[part]
        return node, name


def _resolved(schema, node, base):
    while "$ref" in node:
        node, base = schema.resolve(node["$ref"], base)
    return node, base


def _alternatives(schema, node, base):
    """The node and every sub-schema of its anyOf/oneOf/allOf/if/then/else, references resolved."""
    node, base = _resolved(schema, node, base)
    yield node, base
    for keyword in ("anyOf", "oneOf", "allOf"):
        for member in node.get(keyword, ()):
            yield from _alternatives(schema, member, base)
    for keyword in ("if", "then", "else"):
        if keyword in node:
            yield from _alternatives(schema, node[keyword], base)


def schema_fields(path):
    """{JSON pointer ("*" for any array index or map key): set of enum values} of every field a
    value can be given for; objects with properties and arrays of such objects are not fields
    themselves (their members are)."""
    schema = _Schema(path)
    fields = {}

    def walk(node, base, pointer, depth=0):
        assert depth < 30, pointer
        members = False
        enum = set()
        for alternative, alt_base in _alternatives(schema, node, base):
            enum |= set(alternative.get("enum", ()))
            for name, sub in alternative.get("properties", {}).items():
                if pointer == "" and name in OTHER_PLATFORMS:
                    continue
                members = True
                walk(sub, alt_base, f"{pointer}/{name}", depth + 1)
            items = alternative.get("items")
            if isinstance(items, dict):
                if _has_properties(schema, items, alt_base):
                    members = walk(items, alt_base, f"{pointer}/*", depth + 1) or members
                else:  # an array of scalars is one field; its values are the items'
                    for item, _ in _alternatives(schema, items, alt_base):
                        enum |= set(item.get("enum", ()))
            extra = alternative.get("additionalProperties")
            if isinstance(extra, dict) and _has_properties(schema, extra, alt_base):
                members = walk(extra, alt_base, f"{pointer}/*", depth + 1) or members
        if not members and pointer:
            fields.setdefault(pointer, set()).update(enum)
        return members

    walk(schema.root[1], schema.root[0], "")
    return fields


def _has_properties(schema, node, base):
    return any(alternative.get("properties") for alternative, _ in _alternatives(schema, node, base))


def _spec_schema():
    """runtime-spec v1.3.0's own schema, where a copy is at hand (test_validate.py's search)."""
    from tests.unit.test_validate import UPSTREAM_TESTS

    path = UPSTREAM_TESTS.parent / "config-schema.json"
    return path if path.is_file() else None


# -- the tests ---------------------------------------------------------------------------------------

def test_every_linux_field_of_the_schema_is_applied_refused_or_a_listed_no_op():
    fields = schema_fields(OUR_SCHEMA)
    missing = sorted(set(fields) - set(FIELDS))
    stale = sorted(set(FIELDS) - set(fields))
    assert not missing, f"schema fields with no evidence of being applied or refused: {missing}"
    assert not stale, f"FIELDS lists what the schema does not have: {stale}"


def test_our_schema_has_every_linux_field_of_runtime_spec_1_3():
    spec = _spec_schema()
    if spec is None:
        pytest.skip("no copy of runtime-spec v1.3.0's schema (see tests/unit/test_validate.py)")
    ours, theirs = schema_fields(OUR_SCHEMA), schema_fields(spec)
    for pointer, values in theirs.items():
        # ours may say "*" (any key, checked by the runtime) where the spec names each key
        matches = [p for p in ours if _matches(p, pointer)]
        assert matches, f"{pointer} of the spec's schema is not in ours"
        assert values <= set().union(*(ours[p] for p in matches)), pointer


def _matches(ours, theirs):
    mine, other = ours.split("/"), theirs.split("/")
    return len(mine) == len(other) and all(a in ("*", b) for a, b in zip(mine, other))


def _test_functions(path):
    tree = ast.parse((REPO / path).read_text())
    return {node.name for node in tree.body if isinstance(node, ast.FunctionDef)}


def test_every_test_named_as_evidence_exists():
    found = {}
    absent = []
    for pointer, entry in FIELDS.items():
        for test in getattr(entry, "tests", ()):
            path, _, name = test.partition("::")
            if path not in found:
                found[path] = _test_functions(path) if (REPO / path).is_file() else set()
            if name not in found[path]:
                absent.append(f"{pointer}: {test}")
    assert absent == []


@pytest.mark.parametrize("pointer", [p for p, e in FIELDS.items() if isinstance(e, Applied)
                                     and e.values])
def test_every_value_of_an_enumerated_field_is_in_the_runtime_s_table(pointer):
    module, _, name = FIELDS[pointer].values.partition(":")
    table = getattr(importlib.import_module(module), name)
    schema_values = schema_fields(OUR_SCHEMA)[pointer]
    assert schema_values, f"{pointer} is not enumerated in the schema"
    assert sorted(schema_values - set(table)) == []


def test_enumerated_fields_name_their_table():
    unlisted = [p for p, values in schema_fields(OUR_SCHEMA).items()
                if values and isinstance(FIELDS.get(p), Applied) and not FIELDS[p].values]
    assert unlisted == []


def _set(document, pointer, value):
    """Put ``value`` at ``pointer`` ("*": the first array item or a map key "x"), making what
    is on the way."""
    parts = pointer.strip("/").split("/")
    node = document
    for part, following in zip(parts, parts[1:] + [None]):
        empty = [] if following == "*" else {}
        if part == "*":
            if isinstance(node, list):
                if not node:
                    node.append(empty if following is not None else value)
                target_key = 0
            else:
                target_key = "x"
        else:
            target_key = part
        if following is None:
            node[target_key] = value
        else:
            if isinstance(node, list):
                node = node[target_key]
            else:
                node = node.setdefault(target_key, empty)


_REQUIRED_SIBLINGS = {  # what the schema needs next to a refused field to reach the runtime
    "/linux/personality": {"domain": "LINUX"},
}


@pytest.mark.parametrize("pointer", [p for p, e in FIELDS.items() if isinstance(e, Refused)])
def test_refused_fields_are_refused_naming_their_pointer(pointer, tmp_path, rootfs_template):
    from oci_runtime.config.default_spec import default_config

    config = default_config()
    config["root"] = {"path": str(rootfs_template)}
    parent = pointer.rsplit("/", 1)[0]
    if parent in _REQUIRED_SIBLINGS:
        _set(config, parent, dict(_REQUIRED_SIBLINGS[parent]))
    _set(config, pointer, FIELDS[pointer].sample)
    (tmp_path / "config.json").write_text(json.dumps(config))
    runtime = [sys.executable, "-m", "oci_runtime"]
    checked = subprocess.run(runtime + ["check", "--bundle", str(tmp_path), "--format", "json"],
                             capture_output=True, text=True, timeout=60)
    findings = json.loads(checked.stdout)["findings"]
    errors = [f["subject"] for f in findings if f["severity"] == "error"]
    assert checked.returncode == 1 and errors, checked.stdout
    assert any(pointer == subject or pointer.startswith(subject + "/") for subject in errors), (
        f"{pointer} refused without naming it: {findings}")

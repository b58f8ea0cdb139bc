"""Device rules: the v1 model and the generated cgroup v2 eBPF program (checked with a small interpreter
against the model for many rule lists and devices)."""

import copy
import itertools
import random

import pytest

from oci_runtime.cgroups.controllers import devices as d


def allowed(rules, *dev):
    return d.run_program(d.build_program(rules), *dev)


def test_empty_rules_allow_everything():
    assert allowed([], "c", "r", 1, 3)
    assert allowed([], "b", "m", 8, 0)


def test_deny_all_then_allow_null():
    rules = [{"allow": False, "access": "rwm"},
             {"allow": True, "type": "c", "major": 1, "minor": 3, "access": "rwm"}]
    assert allowed(rules, "c", "r", 1, 3) and allowed(rules, "c", "w", 1, 3)
    assert not allowed(rules, "c", "r", 1, 5)
    assert not allowed(rules, "b", "r", 1, 3)


def test_partial_access_and_wildcards():
    rules = [{"allow": False}, {"allow": True, "type": "c", "major": 136, "access": "rw"},
             {"allow": True, "type": "b", "access": "m"}]
    assert allowed(rules, "c", "r", 136, 7) and not allowed(rules, "c", "m", 136, 7)
    assert allowed(rules, "b", "m", 8, 1) and not allowed(rules, "b", "r", 8, 1)


def test_later_deny_removes_access():
    rules = [{"allow": False}, {"allow": True, "type": "c", "major": 1, "minor": 3, "access": "rwm"},
             {"allow": False, "type": "c", "major": 1, "minor": 3, "access": "w"}]
    assert allowed(rules, "c", "r", 1, 3) and not allowed(rules, "c", "w", 1, 3)


def test_blacklist_mode():
    rules = [{"allow": True}, {"allow": False, "type": "c", "major": 1, "minor": 5, "access": "rwm"}]
    assert not allowed(rules, "c", "r", 1, 5)
    assert allowed(rules, "c", "r", 1, 3)


def test_program_shape():
    prog = d.build_program([{"allow": False}, {"allow": True, "type": "c", "major": 1, "minor": 3}])
    code = d.encode_program(prog)
    assert len(code) == 8 * len(prog)
    assert prog[0] == (0x61, 2, 1, 0, 0)            # r2 = *(u32 *)(r1 + 0)
    assert prog[-1] == (0x95, 0, 0, 0, 0)           # exit
    assert prog[-2] == (0xB4, 0, 0, 0, 0)           # default deny
    assert code[:8] == bytes([0x61, 0x12, 0, 0, 0, 0, 0, 0])


def test_random_rules_match_model():
    rnd = random.Random(1234)
    devs = [(t, a, ma, mi) for t in "cb" for a in "rwm" for ma in (1, 8, 136) for mi in (0, 3, 5)]
    for _ in range(300):
        rules = []
        for _ in range(rnd.randint(0, 6)):
            r = {"allow": rnd.random() < 0.6, "type": rnd.choice("abcc")}
            if rnd.random() < 0.7:
                r["major"] = rnd.choice((1, 8, 136))
            if rnd.random() < 0.6:
                r["minor"] = rnd.choice((0, 3, 5))
            r["access"] = "".join(sorted(set(rnd.choices("rwm", k=rnd.randint(1, 3)))))
            rules.append(r)
        model = d.compile_rules(rules)
        prog = d.build_program(rules)
        for t, a, ma, mi in devs:
            assert d.run_program(prog, t, a, ma, mi) == model.allows(t, ma, mi, a), (rules, (t, a, ma, mi))


# -- cgroup v1: from what devices.list says to the target, writing only the difference ----------

def apply_v1_writes(state, writes):
    """What the kernel does with the writes (devices.allow/deny lines), on a DeviceRules."""
    for name, line in writes:
        allow = name == "devices.allow"
        if line == "a":
            state.apply((allow, "a", -1, -1, "rwm"))
            continue
        typ, numbers, access = line.split()
        major, minor = (-1 if n == "*" else int(n) for n in numbers.split(":"))
        state.apply((allow, typ, major, minor, access))
    return state


def test_devices_list_parsing():
    allow_all = d.parse_devices_list("a *:* rwm\n")
    assert allow_all.default_allow and not allow_all.exceptions
    listed = d.parse_devices_list("c 1:3 rwm\nc *:* m\nb 8:0 r\n")
    assert not listed.default_allow
    assert listed.exceptions == [["c", 1, 3, "rwm"], ["c", -1, -1, "m"], ["b", 8, 0, "r"]]
    assert not d.parse_devices_list("").default_allow


def test_transition_between_allow_lists_never_resets():
    current = d.compile_rules(d.container_device_rules([]))
    target = d.compile_rules(d.container_device_rules(
        [{"allow": True, "type": "c", "major": 1, "minor": 11, "access": "r"}]))
    writes = d.transition_v1(current, target)
    assert writes == [("devices.allow", "c 1:11 r")]
    back = d.transition_v1(target, current)
    assert back == [("devices.deny", "c 1:11 r")]


def test_transition_from_a_fresh_cgroup_resets_first():
    target = d.compile_rules(d.container_device_rules([]))
    writes = d.transition_v1(d.parse_devices_list("a *:* rwm"), target)
    assert writes[0] == ("devices.deny", "a")
    assert ("devices.allow", "c 1:3 rwm") in writes


def test_random_transitions_reach_the_target():
    rnd = random.Random(4321)
    devs = [(t, a, ma, mi) for t in "cb" for a in "rwm" for ma in (1, 8, 136) for mi in (0, 3, 5)]

    def random_rules():
        rules = [{"allow": rnd.random() < 0.3, "access": "rwm"}]
        for _ in range(rnd.randint(0, 6)):
            rule = {"allow": rnd.random() < 0.6, "type": rnd.choice("cb"),
                    "access": "".join(sorted(set(rnd.choices("rwm", k=rnd.randint(1, 3)))))}
            if rnd.random() < 0.7:
                rule["major"] = rnd.choice((1, 8, 136))
            if rnd.random() < 0.6:
                rule["minor"] = rnd.choice((0, 3, 5))
            rules.append(rule)
        return rules

    for _ in range(300):
        current, target = d.compile_rules(random_rules()), d.compile_rules(random_rules())
        seen = copy.deepcopy(current)
        if current.default_allow:   # the kernel shows only "a *:* rwm" for those
            seen = d.DeviceRules(default_allow=True)
        reached = apply_v1_writes(copy.deepcopy(current), d.transition_v1(seen, target))
        for t, a, ma, mi in devs:
            assert reached.allows(t, ma, mi, a) == target.allows(t, ma, mi, a), (current, target)

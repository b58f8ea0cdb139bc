"""Device rules: the v1 model and the generated cgroup v2 eBPF program (checked with a small interpreter
against the model for many rule lists and devices)."""

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

"""What the cgroup tests read from cgroup files (a module, not conftest.py: `from conftest
import ...` finds whichever conftest pytest loaded last, conformance's when both are collected)."""


def read(path):
    with open(path) as f:
        return f.read().strip()

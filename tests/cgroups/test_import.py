"""Importing the package must stay cheap: no re/json/cffi/subprocess, implementation modules lazy."""

import subprocess
import sys

CODE = """
import sys, time
import oci_runtime
before = set(sys.modules)
t = time.perf_counter()
import oci_runtime.cgroups
dt = time.perf_counter() - t
print(dt * 1000)
print(' '.join(sorted(set(sys.modules) - before)))
"""


def test_import_is_cheap_and_lazy():
    out = subprocess.run([sys.executable, "-c", CODE], capture_output=True, text=True, check=True).stdout.split("\n")
    ms, new = float(out[0]), set(out[1].split())
    assert new == {"oci_runtime.cgroups"}, new
    assert ms < 20, ms       # ~0.2 ms with bytecode, < 2 ms compiling from source; generous for CI noise

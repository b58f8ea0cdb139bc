"""Importing the package must stay cheap: no re/json/cffi/subprocess, implementation modules
lazy.  Counted (the modules it loads), never timed: a test must not depend on the host's load."""

import subprocess
import sys

CODE = """
import sys
import oci_runtime
before = set(sys.modules)
import oci_runtime.cgroups
print(' '.join(sorted(set(sys.modules) - before)))
"""


def test_import_is_cheap_and_lazy():
    out = subprocess.run([sys.executable, "-c", CODE], capture_output=True, text=True,
                         check=True).stdout
    assert set(out.split()) == {"oci_runtime.cgroups"}, out

"""The executor's C as tests compile it: the folder of its sources, and the format header the
build generates from oci_runtime/executor/wire.py (cext/generate_format.py) written where a
test builds, so that a test compiles what the installed executor was built from."""
import os
import subprocess
import sys

CEXT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "cext")


def format_header_directory(build_directory: "str | os.PathLike[str]") -> str:
    """Write <build_directory>/generated/format.h; return that folder (for ``-I``)."""
    generated = os.path.join(os.fspath(build_directory), "generated")
    subprocess.run([sys.executable, os.path.join(CEXT, "generate_format.py"),
                    os.path.join(generated, "format.h")], check=True)
    return generated

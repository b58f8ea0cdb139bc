# setuptools reads everything from pyproject.toml; cffi_modules has no pyproject spelling yet, and
# the container executor (cext/executor*.c) is a static program, not an extension module: it is
# compiled here, beside the extensions, into the package (oci_runtime/_executor).
import os
import subprocess
import sys

from setuptools import setup
from setuptools.command.build_ext import build_ext

# cext/executor.c runs the plan; each other unit holds the steps of one concern (cext/executor.h).
EXECUTOR_SOURCES = [os.path.join("cext", name + ".c") for name in (
    "executor", "plan", "frames", "sync", "paths", "walk", "namespaces", "mounts", "copyup",
    "devices", "hooks", "process", "credentials")]
# The executor is clean of these (CI makes them errors); scripts/build-executor uses the same.
WARNINGS = ["-Wall", "-Wextra"]


def generate_format():
    """cext/generated/format.h, the C side of the plan and frame formats, from oci_runtime/executor/wire.py
    (cext/generate_format.py): the one definition both sides are made from."""
    subprocess.run([sys.executable, os.path.join("cext", "generate_format.py")], check=True)


def compile_executor(target):
    """A static, stripped executable: no libraries to load (no ld.so.preload of an image can
    reach it) and nothing beyond libc."""
    compiler = os.environ.get("CC", "cc")
    os.makedirs(os.path.dirname(target), exist_ok=True)
    generate_format()
    # Warnings are errors in CI (.ci/run sets CI=true), not in a user's install, where a newer
    # compiler's new warning must not make the package uninstallable.
    strict = ["-Werror"] if os.environ.get("CI") == "true" else []
    subprocess.run([compiler, "-static", "-Os", "-s", *WARNINGS, *strict, "-I",
                    os.path.join("cext", "generated"), "-o", target, *EXECUTOR_SOURCES],
                   check=True)


class BuildWithExecutor(build_ext):
    def run(self):
        super().run()
        package_dir = "oci_runtime" if self.inplace else os.path.join(self.build_lib, "oci_runtime")
        compile_executor(os.path.join(package_dir, "_executor"))

    def get_outputs(self):
        package_dir = "oci_runtime" if self.inplace else os.path.join(self.build_lib, "oci_runtime")
        return super().get_outputs() + [os.path.join(package_dir, "_executor")]


setup(cffi_modules=["cext/build_kernel.py:ffibuilder"], cmdclass={"build_ext": BuildWithExecutor})

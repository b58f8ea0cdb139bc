# setuptools reads everything from pyproject.toml; cffi_modules has no pyproject spelling yet, and
# the container executor (cext/executor*.c) is a static program, not an extension module: it is
# compiled here, beside the extensions, into the package (oci_runtime/_executor).
import os
import sys

from setuptools import setup
from setuptools.command.build_ext import build_ext

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "cext"))
import build_executor  # noqa: E402  (cext/build_executor.py: the executor's sources and flags)


def compile_executor(target):
    """A static, stripped executable: no libraries to load (no ld.so.preload of an image can
    reach it) and nothing beyond libc.  Warnings are errors in CI (.ci/run sets CI=true), not in
    a user's install, where a newer compiler's new warning must not make the package
    uninstallable."""
    build_executor.build(target, strict=os.environ.get("CI") == "true")


class BuildWithExecutor(build_ext):
    def run(self):
        super().run()
        package_dir = "oci_runtime" if self.inplace else os.path.join(self.build_lib, "oci_runtime")
        compile_executor(os.path.join(package_dir, "_executor"))

    def get_outputs(self):
        package_dir = "oci_runtime" if self.inplace else os.path.join(self.build_lib, "oci_runtime")
        return super().get_outputs() + [os.path.join(package_dir, "_executor")]


setup(cffi_modules=["cext/build_kernel.py:ffibuilder"], cmdclass={"build_ext": BuildWithExecutor})

"""Fixtures of the security tests (helpers are in security_support.py)."""
import shutil
import subprocess

import pytest

@pytest.fixture(scope="session")
def compile_c(tmp_path_factory):
    """compile_c(name, source, *gcc_flags) -> path of the built program (gcc -O1)."""
    gcc = shutil.which("gcc")
    if gcc is None:
        pytest.skip("gcc is not installed (apt-get install gcc libc6-dev)")
    directory = tmp_path_factory.mktemp("programs")

    def build(name, source, *flags):
        source_path = directory / f"{name}.c"
        source_path.write_text(source)
        program = directory / name
        completed = subprocess.run([gcc, "-O1", "-Wall", "-o", str(program), str(source_path),
                                    *flags], capture_output=True, text=True)
        if completed.returncode != 0:
            raise AssertionError(f"gcc {name}: {completed.stderr}")
        return program

    return build

"""Fixtures of the security tests (helpers are in security_support.py)."""
import os
import pathlib
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


@pytest.fixture
def shifted_bundle():
    """shifted_bundle(bundle) -> a copy of ``bundle`` whose container root is host uid 100000 (a
    user namespace mapping 0-65535 to 100000-165535), in a directory that uid can traverse
    (pytest's tmp dirs are root-only).  Removed at teardown."""
    import json
    import tempfile

    made = []

    def shift(bundle, host_id=100000):
        target = tempfile.mkdtemp(prefix="oci-security-userns-", dir="/tmp")
        made.append(target)
        os.chmod(target, 0o755)
        shutil.copytree(bundle / "rootfs", f"{target}/rootfs", symlinks=True)
        for directory, subdirectories, files in os.walk(f"{target}/rootfs"):
            os.lchown(directory, host_id, host_id)
            for name in files + subdirectories:
                os.lchown(os.path.join(directory, name), host_id, host_id)
        config = json.loads((bundle / "config.json").read_text())
        config["linux"]["namespaces"].append({"type": "user"})
        mapping = [{"containerID": 0, "hostID": host_id, "size": 65536}]
        config["linux"]["uidMappings"] = mapping
        config["linux"]["gidMappings"] = mapping
        config["mounts"] = [m for m in config["mounts"] if m["type"] not in ("cgroup", "sysfs")]
        with open(f"{target}/config.json", "w") as config_file:
            json.dump(config, config_file)
        return pathlib.Path(target)

    yield shift
    for target in made:
        shutil.rmtree(target, ignore_errors=True)

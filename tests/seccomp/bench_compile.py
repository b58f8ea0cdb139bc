"""Time compile_filter() for the Docker-sized profile cold and cached (create's cost; the executor
loads the program, in C).

Run from the repository root:  python tests/seccomp/bench_compile.py [runs]

Every sample is a fresh interpreter, as a `create` is, with json already imported (it has parsed
config.json by then) and byte code cached (in a temporary PYTHONPYCACHEPREFIX, so the source tree
stays untouched).  "cold" includes importing cffi, dlopen() of libseccomp and generating the
program; a cache hit loads neither cffi nor libseccomp.
"""

import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
PROFILE = REPO_ROOT / "tests" / "data" / "seccomp" / "docker-default.json"

_SAMPLE = r"""
import json, os, sys, time
profile_path, cache_dir, mode = sys.argv[1], sys.argv[2] or None, sys.argv[3]
profile = json.load(open(profile_path))
sample = {}
start = time.perf_counter()
from oci_runtime import seccomp
sample["import"] = time.perf_counter() - start
start = time.perf_counter()
compiled = seccomp.compile_filter(profile, cache_dir=cache_dir)
sample["compile"] = time.perf_counter() - start
sample["from_cache"] = compiled.from_cache
sample["instructions"] = compiled.instruction_count
sample["warnings"] = len(compiled.warnings)
sample["cffi_loaded_by_compile"] = "cffi" in sys.modules
if mode == "recompile":
    start = time.perf_counter()
    seccomp.compile_filter(profile)
    sample["recompile"] = time.perf_counter() - start  # libseccomp and cffi already loaded
print(json.dumps(sample))
"""


def sample(cache_dir, bytecode_dir):
    environment = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}
    environment["PYTHONPYCACHEPREFIX"] = bytecode_dir
    output = subprocess.run([sys.executable, "-c", _SAMPLE, str(PROFILE), cache_dir or "", "recompile"],
                            cwd=REPO_ROOT, env=environment, check=True, capture_output=True, text=True).stdout
    return json.loads(output)


def milliseconds(values):
    return (f"median {statistics.median(values) * 1000:6.2f} ms "
            f"(min {min(values) * 1000:.2f}, max {max(values) * 1000:.2f})")


def main():
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    with tempfile.TemporaryDirectory() as bytecode_dir, tempfile.TemporaryDirectory() as cache_dir:
        sample(None, bytecode_dir)  # writes byte code
        cold = [sample(None, bytecode_dir) for _ in range(runs)]
        sample(cache_dir, bytecode_dir)  # fills the seccomp cache
        cached = [sample(cache_dir, bytecode_dir) for _ in range(runs)]
    assert not any(s["from_cache"] for s in cold) and all(s["from_cache"] for s in cached)
    assert not any(s["cffi_loaded_by_compile"] for s in cached)
    names = sum(len(entry["names"]) for entry in json.loads(PROFILE.read_text())["syscalls"])
    print(f"{PROFILE.name}: {names} syscall names, {cold[0]['instructions']} BPF instructions, "
          f"{cold[0]['warnings']} unknown names skipped; {runs} fresh interpreters per row")
    print(f"import oci_runtime.seccomp               {milliseconds([s['import'] for s in cold])}")
    print(f"compile, cold (cffi+dlopen+generate)     {milliseconds([s['compile'] for s in cold])}")
    print(f"compile, libseccomp already loaded       {milliseconds([s['recompile'] for s in cold])}")
    print(f"compile, cache hit                       {milliseconds([s['compile'] for s in cached])}")


if __name__ == "__main__":
    main()

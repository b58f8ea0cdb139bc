"""Build the container executor (cext/*.c) into one static program; or, for tests, the same
program with AddressSanitizer and UndefinedBehaviorSanitizer.

setup.py builds the installed one through build(); scripts/build-executor and
scripts/test-sanitized run this file:

    python3 cext/build_executor.py [--sanitize] OUTPUT

The normal build is static and stripped: no library to load, so no ld.so.preload of an image can
reach it.  The sanitized build cannot be static (ASan's runtime is a shared library): it is for
the test suite only (scripts/test-sanitized), never installed.  It reports to the file named by
$OCI_EXECUTOR_SANITIZER_LOG (opened before the executor enters anything: cext/sanitizer_log.c),
and stops at the first finding.
"""
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
# cext/executor.c runs the plan; each other unit holds the steps of one concern (executor.h).
UNITS = ("executor", "plan", "frames", "sync", "paths", "walk", "namespaces", "mounts", "copyup",
         "devices", "hooks", "process", "passwd", "credentials")
SOURCES = [os.path.join(HERE, name + ".c") for name in UNITS]
# The executor is clean of these; CI (CI=true) and the tests make them errors.
WARNINGS = ["-Wall", "-Wextra"]
SANITIZERS = ["-fsanitize=address,undefined", "-fno-sanitize-recover=all",
              "-fno-omit-frame-pointer"]
GENERATED = os.path.join(HERE, "generated")


def generate():
    """cext/generated/format.h from oci_runtime/executor/wire.py (cext/generate_format.py)."""
    subprocess.run([sys.executable, os.path.join(HERE, "generate_format.py"),
                    os.path.join(GENERATED, "format.h")], check=True)


def build(target, sanitize=False, strict=False):
    """The executor at ``target``; ``strict``: warnings are errors."""
    generate()
    os.makedirs(os.path.dirname(os.path.abspath(target)), exist_ok=True)
    flags = WARNINGS + (["-Werror"] if strict else []) + ["-I", GENERATED]
    if sanitize:
        compiler = os.environ.get("CC_SANITIZE", "clang")
        command = [compiler, "-O1", "-g", *SANITIZERS, *flags, "-o", target, *SOURCES,
                   os.path.join(HERE, "sanitizer_log.c")]
    else:
        compiler = os.environ.get("CC", "cc")
        command = [compiler, "-static", "-Os", "-s", *flags, "-o", target, *SOURCES]
    subprocess.run(command, check=True)


def main(argv):
    sanitize = "--sanitize" in argv
    targets = [arg for arg in argv[1:] if arg != "--sanitize"]
    if len(targets) != 1:
        print("usage: build_executor.py [--sanitize] OUTPUT", file=sys.stderr)
        return 2
    build(targets[0], sanitize=sanitize, strict=os.environ.get("CI") == "true")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

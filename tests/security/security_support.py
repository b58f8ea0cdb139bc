"""Helpers of the security tests: the host files no container may change, compiled programs."""
import hashlib
import os
import subprocess
import sys

import oci_runtime

PACKAGE = os.path.dirname(os.path.abspath(oci_runtime.__file__))


def _script_interpreter(path):
    """The interpreter a `#!` script names (the runtime's launcher script), else None."""
    try:
        with open(path, "rb") as script:
            first = script.readline(4096)
    except OSError:
        return None
    if not first.startswith(b"#!"):
        return None
    words = first[2:].split()
    return os.fsdecode(words[0]) if words else None


def runtime_interpreters(command):
    """Every interpreter the runtime under test runs on: this one and the one ``command`` (the
    runtime's command line) names."""
    found = [sys.executable]
    interpreter = _script_interpreter(command[0])
    if interpreter:
        found.append(interpreter)
    found.append(command[0])
    result = []
    for path in found:
        for candidate in (path, os.path.realpath(path)):
            if os.path.isfile(candidate) and candidate not in result:
                result.append(candidate)
    return result


def shared_libraries(program):
    """The shared libraries the dynamic loader maps for ``program`` (ldd), loader included."""
    completed = subprocess.run(["ldd", program], capture_output=True, text=True)
    libraries = []
    for line in completed.stdout.splitlines():
        words = line.split()
        for word in words:
            if word.startswith("/") and os.path.exists(word):
                libraries.append(word)
    return libraries


def protected_files(command):
    """The host files no container may change: the runtime's interpreters and their libraries,
    the launcher, the executor, every file of the installed package."""
    files = []
    for interpreter in runtime_interpreters(command):
        files.append(interpreter)
        files.extend(shared_libraries(interpreter))
    for directory, _, names in os.walk(PACKAGE):
        for name in names:
            if name.endswith((".py", ".so")) or name == "_executor":
                files.append(os.path.join(directory, name))
    return sorted({os.path.realpath(path) for path in files})


def digests(paths):
    result = {}
    for path in paths:
        with open(path, "rb") as handle:
            result[path] = (hashlib.sha256(handle.read()).hexdigest(), os.stat(path).st_size)
    return result

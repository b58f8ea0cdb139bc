"""The executor's C (cext/) is clean of every warning -Wall -Wextra gives with gcc and clang, of
clang's static analyzer and of cppcheck (warning, portability, performance), with no
suppression anywhere.  Each tool is required under CI (CI=true: scripts/setup installs them) and
skipped with its reason elsewhere when missing."""
import os
import re
import shutil
import subprocess
import sys

import pytest

from tests.executor_c import format_header_directory

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CEXT = os.path.join(REPO, "cext")
sys.path.insert(0, CEXT)
import build_executor  # noqa: E402  (cext/build_executor.py: the sources and warnings)

UNDER_CI = os.environ.get("CI") == "true"
# Everything of the executor's, its sanitizer build's and the fuzzer's; kernel_shim.c is the cffi
# module's (built by cffi with Python's headers) and gets cppcheck and the analyzer only.
SOURCES = build_executor.SOURCES + [os.path.join(CEXT, "sanitizer_log.c"),
                                    os.path.join(CEXT, "fuzz", "fuzz_executor.c")]


def _tool(name):
    path = shutil.which(name)
    if path is None:
        if UNDER_CI:
            pytest.fail(f"{name} is missing under CI (scripts/setup installs it)")
        pytest.skip(f"{name} is not installed (scripts/setup installs it)")
    return path


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    return format_header_directory(tmp_path_factory.mktemp("static"))


def _run(command):
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    return result.returncode, (result.stdout + result.stderr).strip()


@pytest.mark.parametrize("compiler", ["gcc", "clang"])
def test_no_warning_with_wall_wextra(compiler, generated):
    status, output = _run([_tool(compiler), "-fsyntax-only", *build_executor.WARNINGS, "-Werror",
                           "-I", generated, "-I", CEXT, *SOURCES])
    assert status == 0 and not output, output


def test_clangs_static_analyzer_finds_nothing(generated, tmp_path):
    clang = _tool("clang")
    findings = []
    for source in SOURCES + [os.path.join(CEXT, "kernel_shim.c")]:
        status, output = _run([clang, "--analyze", "-Xclang", "-analyzer-werror",
                               "-Xclang", "-analyzer-output=text", "-I", generated, "-I", CEXT,
                               "-o", str(tmp_path / "report.plist"), source])
        if status or "warning" in output:
            findings.append(output)
    assert not findings, "\n".join(findings)


def test_cppcheck_finds_nothing(generated):
    status, output = _run([_tool("cppcheck"), "--quiet", "--error-exitcode=1", "--std=c11",
                           "--enable=warning,portability,performance", "-I", generated,
                           *SOURCES, os.path.join(CEXT, "kernel_shim.c")])
    assert status == 0 and not output, output


def test_no_check_is_suppressed_in_the_sources():
    suppressions = re.compile(r"cppcheck-suppress|NOLINT|#pragma\s+(GCC|clang)\s+diagnostic|"
                              r"clang-analyzer|__attribute__\(\(no_sanitize")
    found = []
    for directory, _, names in os.walk(CEXT):
        for name in names:
            if name.endswith((".c", ".h")) and "generated" not in directory:
                path = os.path.join(directory, name)
                with open(path, errors="replace") as source:
                    for number, line in enumerate(source, start=1):
                        if suppressions.search(line):
                            found.append(f"{path}:{number}: {line.strip()}")
    assert not found, found

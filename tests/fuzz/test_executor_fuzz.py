"""The executor's input parsers fuzzed (cext/fuzz/fuzz_executor.c): the plan decoder and
validator, the sync socket's frame codec and the image's passwd parser, under libFuzzer with
AddressSanitizer and UndefinedBehaviorSanitizer, from the checked-in seeds (plans the compiler
made from bundles like the tests': cext/fuzz/make_corpus.py).

A bounded run: OCI_FUZZ_SECONDS long (120 under CI, CI=true; 20 otherwise).  A crash, a sanitizer
report or a broken invariant fails the test with the input that did it (kept in the test's tmp
directory, in hex in the message: `fuzz_executor CRASH_FILE` reproduces it)."""
import os
import shutil
import subprocess

import pytest

from tests.executor_c import CEXT, format_header_directory

CORPUS = os.path.join(CEXT, "fuzz", "corpus")
UNDER_CI = os.environ.get("CI") == "true"
SECONDS = int(os.environ.get("OCI_FUZZ_SECONDS", "120" if UNDER_CI else "20"))


@pytest.fixture(scope="module")
def harness(tmp_path_factory):
    clang = shutil.which("clang")
    if clang is None:
        if UNDER_CI:
            pytest.fail("clang is missing under CI (scripts/setup installs clang and "
                        "libclang-rt-dev, libFuzzer's runtime)")
        pytest.skip("clang is not installed (scripts/setup installs it)")
    directory = tmp_path_factory.mktemp("fuzz")
    generated = format_header_directory(directory)
    program = directory / "fuzz_executor"
    subprocess.run([clang, "-g", "-O1", "-fsanitize=fuzzer,address,undefined",
                    "-fno-sanitize-recover=all", "-Wall", "-Wextra", "-Werror",
                    "-I", str(generated), "-I", CEXT, "-o", str(program),
                    os.path.join(CEXT, "fuzz", "fuzz_executor.c"), os.path.join(CEXT, "plan.c"),
                    os.path.join(CEXT, "frames.c"), os.path.join(CEXT, "passwd.c")], check=True)
    return program


def test_every_seed_plan_is_one_the_executor_accepts(harness):
    """A seed that no longer decodes (the layout of an op changed) seeds nothing past the
    decoder's first refusal: regenerate them (.venv/bin/python cext/fuzz/make_corpus.py)."""
    seeds = sorted(os.path.join(CORPUS, name) for name in os.listdir(CORPUS))
    assert any(os.path.basename(seed).startswith("create-") for seed in seeds)
    result = subprocess.run([str(harness), *seeds], capture_output=True, text=True,
                            env=dict(os.environ, OCI_FUZZ_SEEDS_DECODE="1"), timeout=120)
    assert result.returncode == 0, result.stderr[-3000:] + \
        "\n(regenerate the seeds: .venv/bin/python cext/fuzz/make_corpus.py)"


@pytest.mark.slow
def test_a_bounded_fuzzing_run_finds_nothing(harness, tmp_path):
    corpus = tmp_path / "corpus"
    shutil.copytree(CORPUS, corpus)  # libFuzzer adds what it finds: never to the checked-in one
    artifacts = tmp_path / "artifacts"
    artifacts.mkdir()
    result = subprocess.run(
        [str(harness), f"-max_total_time={SECONDS}", "-timeout=10", "-rss_limit_mb=2048",
         "-print_final_stats=1", f"-artifact_prefix={artifacts}/", str(corpus)],
        capture_output=True, text=True, timeout=SECONDS + 300, cwd=tmp_path)
    found = sorted(artifacts.iterdir())
    detail = "".join(f"\n{path}: {path.read_bytes()[:4096].hex()}" for path in found)
    assert result.returncode == 0 and not found, result.stderr[-6000:] + detail
    executed = [line for line in result.stderr.splitlines()
                if line.startswith("stat::number_of_executed_units")]
    assert executed and int(executed[0].split(":")[-1]) > 0, result.stderr[-2000:]

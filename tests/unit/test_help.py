"""Help pages, --version, docs/cli.md and the global options checked up front."""
import os
import subprocess
import sys

import pytest

from oci_runtime.cli.args import COMMANDS, GLOBAL_OPTIONS
from oci_runtime.cli import help as cli_help

RUNC_COMMANDS = ("create", "start", "state", "kill", "delete", "run", "list", "spec", "features",
                 "exec", "ps", "pause", "resume", "update", "events")


REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture
def cli(oci):
    """Runs the runtime command the tests use (conftest's oci.command), capturing its output."""
    def run(*args):
        return subprocess.run(oci.command + list(args), capture_output=True, text=True,
                              timeout=30)
    run.command = oci.command
    return run


def test_every_runc_command_is_known():
    assert set(RUNC_COMMANDS) <= set(COMMANDS)


def test_every_command_has_a_page():
    """A new command needs its arguments and description in cli/help.py PAGES."""
    assert set(cli_help.PAGES) == set(COMMANDS)


@pytest.mark.parametrize("command", list(COMMANDS))
@pytest.mark.parametrize("how", ["--help", "-h", "help"])
def test_every_command_has_a_help_page(command, how, cli):
    args = ["help", command] if how == "help" else [command, how]
    result = cli("--root", "/nonexistent-help-root", *args)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    page = result.stdout
    assert f"oci-runtime {command} - {COMMANDS[command]}" in page
    assert f"USAGE:\n   oci-runtime [global options] {command}" in page
    assert "DESCRIPTION:\n   " in page
    options, _ = cli_help.options_of(command)
    for name, entry in options.items():
        line = next(line for line in page.split("OPTIONS:\n")[1].splitlines()
                    if line.strip().startswith(name + " ")
                    or line.strip().startswith(name + ","))
        assert entry[3] in line
        if entry[2] is not None:
            assert f'(default: "{entry[2]}")' in line
    if options:
        assert "OPTIONS:" in page


def test_help_after_other_arguments_still_shows_the_page(cli):
    result = cli("exec", "--tty", "some-id", "--help")
    assert result.returncode == 0 and "oci-runtime exec -" in result.stdout


def test_a_commands_own_dash_h_is_not_help():
    """After `exec ID CMD`, -h belongs to CMD; after `ps ID`, to ps."""
    from oci_runtime.cli.args import parse
    from oci_runtime.cli.cmd_exec import OPTIONS

    assert parse(["id", "ls", "-h"], OPTIONS, stop_after=2)[1] == ["id", "ls", "-h"]


@pytest.mark.parametrize("command", list(COMMANDS))
def test_every_option_has_help_text_and_a_value_name_or_none(command):
    options, repeatable = cli_help.options_of(command)
    for name, entry in options.items():
        assert len(entry) == 4, name
        short, value_name, default, text = entry
        assert text.strip(), name
        assert value_name is None or value_name.strip(), name
        assert default is None or value_name is not None, f"{name}: a flag has no default"
    assert set(repeatable) <= set(options)


def test_global_options_have_help_text(cli):
    assert all(len(entry) == 4 and entry[3] for entry in GLOBAL_OPTIONS.values())
    page = cli("--help").stdout
    for name in GLOBAL_OPTIONS:
        assert name in page
    assert all(command in page for command in COMMANDS)


def test_help_of_an_unknown_command_is_an_error(cli):
    """runc exits 3 for both (urfave/cli's "No help topic for ..." ExitError)."""
    for args in (["help", "frobnicate"], ["frobnicate"], ["h", "frobnicate"]):
        result = cli("--root", "/nonexistent-help-root", *args)
        assert result.returncode == 3, (args, result.stderr)
        assert "unknown command 'frobnicate'" in result.stderr
        assert result.stderr.count("\n") == 1


def test_h_is_help(cli):
    """runc's alias: `h` and `h COMMAND` show the same pages as `help`; the list names it."""
    for args in ([], ["state"]):
        alias = cli("--root", "/nonexistent-help-root", "h", *args)
        assert alias.returncode == 0, alias.stderr
        assert alias.stdout == cli("--root", "/nonexistent-help-root", "help", *args).stdout
    assert "   help, h " in cli("help").stdout


def test_defaults_shown_are_the_defaults_used():
    from oci_runtime.cli.args import parse
    from oci_runtime.cli.cmd_list import OPTIONS

    assert parse([], OPTIONS)[0] == {"format": "table"}
    assert parse(["-f", "json"], OPTIONS)[0] == {"format": "json"}


def test_docs_cli_md_is_current(cli):
    with open(os.path.join(REPO, "docs", "cli.md")) as docs:
        assert docs.read() == cli_help.markdown(), \
            "docs/cli.md is stale: run `oci-runtime help --markdown > docs/cli.md`"
    assert cli("help", "--markdown").stdout == cli_help.markdown()


@pytest.mark.parametrize("command", ["state", "start", "kill"])
def test_the_hot_path_does_not_load_the_help(command, cli):
    # The installed command runs python -IS (no environment variables): -X importtime is given
    # to the same interpreter, running the same launcher.
    launcher = cli.command
    if len(launcher) == 1:
        launcher = [sys.executable, "-IS", "-X", "importtime", launcher[0]]
    else:
        launcher = [sys.executable, "-X", "importtime", "-m", "oci_runtime"]
    result = subprocess.run(launcher + ["--root", "/nonexistent-help-root", command, "no-such-id"],
                            capture_output=True, text=True, timeout=30)
    assert "does not exist" in result.stderr
    imported = [line.rsplit("|", 1)[-1].strip() for line in result.stderr.splitlines()
                if line.startswith("import time:")]
    assert f"oci_runtime.cli.cmd_{command}" in imported  # the probe sees the imports
    assert "oci_runtime.cli.help" not in imported


def test_version_says_commit_spec_and_libseccomp(cli):
    lines = cli("--version").stdout.splitlines()
    assert lines[0].startswith("oci-runtime version ")
    assert "spec: 1.3.0" in lines
    commit = subprocess.run(["git", "-C", REPO, "rev-parse", "HEAD"], capture_output=True,
                            text=True).stdout.strip()
    if commit:
        assert f"commit: {commit}" in lines
    from oci_runtime.seccomp.filter import libseccomp_version

    if libseccomp_version():
        assert f"libseccomp: {libseccomp_version()}" in lines


def test_git_commit_reads_packed_refs_and_worktrees(tmp_path):
    package = tmp_path / "src" / "oci_runtime" / "cli"
    package.mkdir(parents=True)
    git = tmp_path / "src" / ".git"
    git.mkdir()
    (git / "HEAD").write_text("ref: refs/heads/main\n")
    (git / "packed-refs").write_text("# pack-refs\n" + "a" * 40 + " refs/heads/main\n")
    assert cli_help.git_commit(str(package)) == "a" * 40
    (git / "refs" / "heads").mkdir(parents=True)
    (git / "refs" / "heads" / "main").write_text("b" * 40 + "\n")
    assert cli_help.git_commit(str(package)) == "b" * 40
    # a worktree: .git is a file pointing to <common>/worktrees/NAME, refs are in <common>
    worktree = tmp_path / "wt" / "oci_runtime" / "cli"
    worktree.mkdir(parents=True)
    (git / "worktrees" / "wt").mkdir(parents=True)
    (git / "worktrees" / "wt" / "HEAD").write_text("ref: refs/heads/main\n")
    (git / "worktrees" / "wt" / "commondir").write_text("../..\n")
    (tmp_path / "wt" / ".git").write_text(f"gitdir: {git}/worktrees/wt\n")
    assert cli_help.git_commit(str(worktree)) == "b" * 40
    assert cli_help.git_commit(str(tmp_path / "none" / "oci_runtime" / "cli")) is None


def test_an_unknown_log_format_is_an_error_for_every_command(cli):
    for command in ("state", "list", "spec"):
        result = cli("--log-format", "yaml", "--root", "/nonexistent-help-root", command, "x")
        assert result.returncode == 1
        assert result.stderr == "oci-runtime: --log-format 'yaml': invalid log format (text or json)\n"


def test_a_log_file_that_cannot_be_opened_is_an_error_at_start(tmp_path, cli):
    missing = tmp_path / "no-dir" / "log.json"
    result = cli("--log", str(missing), "--root", str(tmp_path), "list")
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert f"--log {missing}: cannot open the log file: No such file or directory" in result.stderr
    # a log file that can be opened is created at start, and the error goes there too
    log = tmp_path / "log.json"
    result = cli("--log", str(log), "--log-format", "json", "--root", str(tmp_path), "state", "x")
    assert result.returncode == 1 and '"level":"error"' in log.read_text()


def test_rootless_takes_runcs_values_only(cli):
    assert cli("--rootless", "auto", "--root", "/nonexistent-help-root", "list").returncode == 0
    result = cli("--rootless", "maybe", "list")
    assert result.returncode == 1
    assert result.stderr == "oci-runtime: --rootless 'maybe': expected true, false or auto\n"

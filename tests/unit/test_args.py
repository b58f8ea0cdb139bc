"""oci_runtime.cli.args.parse: runc-style options without argparse."""
import pytest

from oci_runtime.cli.args import UsageError, parse
from oci_runtime.errors import OCIError

OPTIONS = {
    "--bundle": ("-b", True),
    "--pid-file": (None, True),
    "--detach": ("-d", False),
    "--env": ("-e", True),
    "--no-pivot": (None, False),
}


def test_long_short_and_inline_values():
    values, positionals = parse(["--bundle", "/b", "--pid-file=/p", "-d", "id"], OPTIONS)
    assert values == {"bundle": "/b", "pid_file": "/p", "detach": True}
    assert positionals == ["id"]
    assert parse(["-b", "/x", "id"], OPTIONS)[0] == {"bundle": "/x"}
    assert parse(["-b=/y"], OPTIONS)[0] == {"bundle": "/y"}


def test_single_dash_long_names_are_accepted_like_runc():
    assert parse(["-bundle", "/b", "-no-pivot"], OPTIONS)[0] == {"bundle": "/b", "no_pivot": True}


def test_inline_values_of_flags():
    assert parse(["--detach=false"], OPTIONS)[0] == {"detach": False}
    assert parse(["--detach=0"], OPTIONS)[0] == {"detach": False}
    assert parse(["--detach=true"], OPTIONS)[0] == {"detach": True}
    assert parse(["--detach=FALSE"], OPTIONS)[0] == {"detach": False}


def test_an_inline_value_may_contain_equals_signs_and_be_empty():
    assert parse(["--env=A=b=c"], OPTIONS, repeatable=("--env",))[0] == {"env": ["A=b=c"]}
    assert parse(["--bundle="], OPTIONS)[0] == {"bundle": ""}


def test_repeated_options_keep_the_last_value_unless_repeatable():
    assert parse(["-b", "1", "--bundle", "2"], OPTIONS)[0] == {"bundle": "2"}
    values, _ = parse(["-e", "A=1", "--env", "B=2", "--env=C=3"], OPTIONS, repeatable=("--env",))
    assert values == {"env": ["A=1", "B=2", "C=3"]}


def test_options_may_follow_positionals_until_double_dash():
    values, positionals = parse(["id", "-d", "--", "-b", "x"], OPTIONS)
    assert values == {"detach": True}
    assert positionals == ["id", "-b", "x"]


def test_a_lone_dash_is_a_positional():
    assert parse(["-"], OPTIONS) == ({}, ["-"])


def test_a_value_that_looks_like_an_option_is_still_the_value():
    assert parse(["--bundle", "--detach"], OPTIONS) == ({"bundle": "--detach"}, [])


def test_stop_after_leaves_the_command_s_own_flags_alone():
    # `exec -d ID sh -c 'x' -b`: after the id and the command, everything belongs to the command.
    values, positionals = parse(["-d", "id", "sh", "-c", "x", "-b", "--bundle"], OPTIONS,
                                stop_after=2)
    assert values == {"detach": True}
    assert positionals == ["id", "sh", "-c", "x", "-b", "--bundle"]
    # Options between the id and the command are still options.
    values, positionals = parse(["id", "--env", "A=1", "sh", "--env"], OPTIONS,
                                repeatable=("--env",), stop_after=2)
    assert values == {"env": ["A=1"]}
    assert positionals == ["id", "sh", "--env"]


def test_unknown_options_are_usage_errors_naming_the_option():
    for argv, named in ((["--bogus"], "--bogus"), (["--bogus=1"], "--bogus"), (["-x"], "-x"),
                        (["id", "--nope"], "--nope")):
        with pytest.raises(UsageError) as refused:
            parse(argv, OPTIONS)
        assert str(refused.value) == f"unknown option {named}"


def test_a_missing_value_is_a_usage_error():
    with pytest.raises(UsageError, match=r"^option --bundle needs a value$"):
        parse(["-b"], OPTIONS)


def test_usage_errors_are_oci_errors():
    # The CLI prints any OCIError as one line: usage errors must be caught the same way.
    assert issubclass(UsageError, OCIError)

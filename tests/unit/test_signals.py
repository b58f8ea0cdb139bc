"""oci_runtime.kernel.signals.parse_signal: what `kill` accepts, checked against the C library's
numbers (the stdlib signal module, which the runtime itself avoids importing)."""
import signal

import pytest

from oci_runtime.errors import OCIError
from oci_runtime.kernel.signals import SIGNALS, parse_signal


@pytest.mark.parametrize("name", sorted(SIGNALS))
def test_every_name_matches_the_c_library(name):
    assert parse_signal(name) == getattr(signal, "SIG" + name)


@pytest.mark.parametrize("text, number", [
    ("TERM", 15), ("SIGTERM", 15), ("sigterm", 15), ("term", 15), ("SigKill", 9),
    ("9", 9), ("1", 1), ("64", 64), ("SIGIOT", 6), ("POLL", 29),
])
def test_names_with_or_without_sig_any_case_and_numbers(text, number):
    assert parse_signal(text) == number


@pytest.mark.parametrize("text, number", [
    ("RTMIN", signal.SIGRTMIN), ("SIGRTMIN", signal.SIGRTMIN), ("rtmin+3", signal.SIGRTMIN + 3),
    ("SIGRTMIN+30", signal.SIGRTMAX), ("RTMAX", signal.SIGRTMAX), ("RTMAX-1", signal.SIGRTMAX - 1),
    ("SIGRTMAX-30", signal.SIGRTMIN),
])
def test_realtime_signals_relative_to_rtmin_and_rtmax(text, number):
    assert parse_signal(text) == number


@pytest.mark.parametrize("text", [
    "", "0", "65", "-1", "+9", "1.5", "SIG", "SIGFOO", "KILLL", "RTMIN+31", "RTMAX-31",
    "RTMIN-1", "RTMAX+1", "RTMIN+", "RTMIN+x", "SIGRTMIN+ 1", " TERM", "９",
    "²", "RTMIN+²",
])
def test_invalid_signals_are_refused_with_the_text_named(text):
    with pytest.raises(OCIError) as refused:
        parse_signal(text)
    assert str(refused.value) == f"invalid signal {text!r}"

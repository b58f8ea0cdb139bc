"""Signal names for `kill`, without importing the signal module (it imports enum: ~3 ms)."""
from oci_runtime.errors import OCIError

SIGNALS = {
    "HUP": 1, "INT": 2, "QUIT": 3, "ILL": 4, "TRAP": 5, "ABRT": 6, "IOT": 6, "BUS": 7, "FPE": 8,
    "KILL": 9, "USR1": 10, "SEGV": 11, "USR2": 12, "PIPE": 13, "ALRM": 14, "TERM": 15,
    "STKFLT": 16, "CHLD": 17, "CONT": 18, "STOP": 19, "TSTP": 20, "TTIN": 21, "TTOU": 22,
    "URG": 23, "XCPU": 24, "XFSZ": 25, "VTALRM": 26, "PROF": 27, "WINCH": 28, "IO": 29,
    "POLL": 29, "PWR": 30, "SYS": 31,
}
_SIGRTMIN, _SIGRTMAX = 34, 64


def _is_number(text: str) -> bool:
    # str.isdigit alone also accepts non-ASCII digits ('９', '²') that int() reads differently
    # or not at all.
    return text.isascii() and text.isdigit()


def parse_signal(text: str) -> int:
    """'TERM', 'SIGTERM', 'sigterm', '15', 'RTMIN+3' -> signal number."""
    if _is_number(text):
        number = int(text)
        if 0 < number <= _SIGRTMAX:
            return number
        raise OCIError(f"invalid signal {text!r}")
    name = text.upper()
    if name.startswith("SIG"):
        name = name[3:]
    if name in SIGNALS:
        return SIGNALS[name]
    for base, start, sign in (("RTMIN", _SIGRTMIN, 1), ("RTMAX", _SIGRTMAX, -1)):
        if name == base:
            return start
        if name.startswith(base + ("+" if sign > 0 else "-")) and _is_number(name[6:]):
            number = start + sign * int(name[6:])
            if _SIGRTMIN <= number <= _SIGRTMAX:
                return number
    raise OCIError(f"invalid signal {text!r}")

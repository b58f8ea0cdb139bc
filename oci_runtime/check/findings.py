"""What `oci-runtime check` reports: one Finding per problem or fact, of the bundle (bundle.py)
or of this host (host.py), and the two host readers both use."""

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (mypy reads it the same)
if TYPE_CHECKING:
    from collections.abc import Iterable

ERROR, WARNING, OK = "error", "warning", "ok"


class Finding:
    """``subject`` is a JSON pointer into config.json ("/process/args") or a host fact's name
    ("cgroup"); ``advice`` says what to do (empty when there is nothing to do)."""

    __slots__ = ("severity", "subject", "message", "advice")

    def __init__(self, severity: str, subject: str, message: str, advice: str = "") -> None:
        self.severity = severity
        self.subject = subject
        self.message = message
        self.advice = advice

    def line(self) -> str:
        text = f"{self.severity:<7} {self.subject}: {self.message}"
        return text + (f" -> {self.advice}" if self.advice else "")

    def to_dict(self) -> "dict[str, str]":
        return {"severity": self.severity, "subject": self.subject, "message": self.message,
                "advice": self.advice}


def blocks_a_run(findings: "Iterable[Finding]") -> bool:
    return any(finding.severity == ERROR for finding in findings)


def bundle_verdict(findings: "list[Finding]") -> "Finding | None":
    """The line that closes a bundle's findings when create would accept it (None when an error
    says it would not): it stays whatever the host's findings that follow say."""
    if blocks_a_run(findings):
        return None
    warnings = sum(finding.severity == WARNING for finding in findings)
    if not warnings:
        return Finding(OK, "config.json", "no problem found")
    return Finding(OK, "config.json", f"create accepts it ({warnings} warning"
                                      f"{'s' if warnings > 1 else ''} above)")


CAP_SYS_RESOURCE = 24


def has_capability(number: int) -> bool:
    from oci_runtime.kernel import syscalls as kernel

    effective, _, _ = kernel.capget()
    return bool(effective >> number & 1)


def read_text(path: str, default: str | None = None) -> str | None:
    try:
        with open(path) as file:
            return file.read()
    except OSError:
        return default

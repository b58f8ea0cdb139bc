"""check [--bundle DIR] [--host] [--format text|json]: will this bundle run on this host?

One line per finding: severity, the JSON pointer into config.json or the host fact, what is wrong
or what was found, and after "->" what to do.  With neither --bundle nor --host, both (the bundle
in the current directory).  Exits 0 when nothing blocks a run, 1 otherwise."""
import sys

from oci_runtime.cli.args import UsageError, parse

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (mypy reads it the same)
if TYPE_CHECKING:
    from collections.abc import Sequence

    from oci_runtime.cli import Context
    from oci_runtime.cli.args import OptionTable

OPTIONS: "OptionTable" = {
    "--bundle": ("-b", "DIR", None, "check the bundle in DIR (config.json against the schema, "
                 "then create's rules, every problem at once)"),
    "--host": (None, None, None, "check this host (cgroups, systemd, seccomp, user namespaces, "
               "idmapped mounts, rlimits, overlayfs, CRIU, podman/containerd configuration)"),
    "--format": ("-f", "FORMAT", "text", "text (one line per finding) or json"),
}


def run(context: "Context", argv: "Sequence[str]") -> int:
    from oci_runtime.check.bundle import check_bundle
    from oci_runtime.check.findings import blocks_a_run, bundle_verdict
    from oci_runtime.check.host import check_host

    values, positionals = parse(argv, OPTIONS)
    if positionals:
        raise UsageError("usage: oci-runtime check [--bundle DIR] [--host] [--format text|json]")
    output_format = values["format"]
    if output_format not in ("text", "json"):
        raise UsageError(f"--format {output_format!r}: expected text or json")
    both = "bundle" not in values and not values.get("host")
    findings = []
    if "bundle" in values or both:
        findings += check_bundle(values.get("bundle", "."), context.store, context.systemd_cgroup)
        verdict = bundle_verdict(findings)
        if verdict is not None:
            findings.append(verdict)
    if values.get("host") or both:
        findings += check_host(systemd_cgroup=context.systemd_cgroup)
    if output_format == "json":
        from oci_runtime.kernel.hotpath import dumps

        sys.stdout.write(dumps({"ok": not blocks_a_run(findings),
                                "findings": [f.to_dict() for f in findings]}) + "\n")
    else:
        sys.stdout.write("".join(f.line() + "\n" for f in findings))
    return 1 if blocks_a_run(findings) else 0

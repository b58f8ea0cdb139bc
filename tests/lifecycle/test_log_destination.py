"""Where the runtime's own warnings go: to --log when it is given and only there, as runc's.

Under containerd, Docker and conmon the runtime's stderr during create, run and exec is the
container's own stderr: a warning written there shows as the container's output (`docker
logs`).  Errors still go to stderr as well (runc prints them there too: callers such as go-runc
read a failed call's output), and to --log."""
import json


def _with_an_ungrantable_capability(config):
    # config.md: a capability the runtime cannot grant SHOULD be logged, SHOULD NOT fail create.
    config["process"]["capabilities"]["bounding"].append("CAP_NOT_A_THING")


def test_a_warning_goes_to_the_log_only_never_to_the_container_s_stderr(oci, make_bundle,
                                                                         tmp_path):
    bundle, cid = make_bundle(["sh", "-c", "echo out; echo err >&2"],
                              _with_an_ungrantable_capability)
    log = tmp_path / "log.json"
    result = oci("--log", str(log), "--log-format", "json", "run", "--bundle", str(bundle), cid)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "out\n"
    assert result.stderr == "err\n"  # the container's stderr: its own line, nothing of ours
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    assert [line["level"] for line in lines] == ["warning"]
    assert "CAP_NOT_A_THING" in lines[0]["msg"]


def test_without_a_log_a_warning_goes_to_stderr(oci, make_bundle):
    bundle, cid = make_bundle(["true"], _with_an_ungrantable_capability)
    result = oci("run", "--bundle", str(bundle), cid)
    assert result.returncode == 0, result.stderr
    assert result.stderr.startswith("oci-runtime: warning: ") and "CAP_NOT_A_THING" in result.stderr


def test_an_error_goes_to_the_log_and_to_stderr(oci, tmp_path):
    log = tmp_path / "log.json"
    result = oci("--log", str(log), "--log-format", "json", "state", "nope")
    assert result.returncode == 1
    assert "does not exist" in result.stderr
    (line,) = [json.loads(text) for text in log.read_text().splitlines()]
    assert line["level"] == "error" and "does not exist" in line["msg"]

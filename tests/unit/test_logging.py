"""oci_runtime.cli.logging: line formats and --debug's DebugLog (stage timing, destinations)."""
import io
import json
import re

from oci_runtime.cli import Context
from oci_runtime.cli.logging import DebugLog, format_line, write_log


def test_text_lines_quote_the_message_like_logrus():
    line = format_line("text", "error", 'open "/x": no such file\nsecond line \\ end')
    assert re.fullmatch(r'time="\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z" level=error '
                        r'msg="open \\"/x\\": no such file\\nsecond line \\\\ end"', line)


def test_json_lines_carry_level_msg_and_time():
    entry = json.loads(format_line("json", "debug", 'quote " and é'))
    assert entry["level"] == "debug" and entry["msg"] == 'quote " and é'
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z", entry["time"])


def test_write_log_appends_one_line_per_message(tmp_path):
    path = tmp_path / "log.json"
    write_log(str(path), "json", "warning", "one")
    write_log(str(path), "json", "error", "two")
    assert [json.loads(line)["msg"] for line in path.read_text().splitlines()] == ["one", "two"]


def test_debug_log_to_a_stream_with_stage_times_adding_up():
    stream = io.StringIO()
    debug = DebugLog(stream=stream)
    debug.begin("create c1")
    debug.stage("config", "read")
    debug.stage("cgroup")
    debug.total("create c1")
    messages = [re.search(r'msg="(.*)"$', line).group(1) for line in stream.getvalue().splitlines()]
    assert messages[0] == "create c1"
    assert re.fullmatch(r"stage config: \d+\.\d\d ms \(read\)", messages[1])
    assert re.fullmatch(r"stage cgroup: \d+\.\d\d ms", messages[2])
    stages = sum(float(re.search(r"(\d+\.\d\d) ms", m).group(1)) for m in messages[1:3])
    total = float(re.search(r"(\d+\.\d\d) ms in total", messages[3]).group(1))
    assert stages <= total + 0.02


def test_stages_are_back_to_back_so_only_the_last_line_is_outside_them(monkeypatch):
    """With a clock that moves only inside the stages, the total is exactly their sum: each
    stage runs from the end of the one before (or `begin`), and writing a line costs the
    total nothing but what the clock says it took."""
    import types

    from oci_runtime.cli import logging as logging_module

    now = [100.0]
    clock = types.SimpleNamespace(**{name: getattr(logging_module.time, name)
                                     for name in ("time", "strftime", "gmtime")},
                                  perf_counter=lambda: now[0])
    monkeypatch.setattr(logging_module, "time", clock)
    stream = io.StringIO()
    debug = DebugLog(stream=stream)
    debug.begin("create c1")
    for name, seconds in (("config", 0.004), ("cgroup", 0.0015), ("init", 0.02)):
        now[0] += seconds
        debug.stage(name)
    debug.total("create c1")
    messages = [re.search(r'msg="(.*)"$', line).group(1) for line in stream.getvalue().splitlines()]
    assert messages[1:] == ["stage config: 4.00 ms", "stage cgroup: 1.50 ms",
                            "stage init: 20.00 ms", "create c1: 25.50 ms in total"]


def test_debug_log_prefers_the_log_file(tmp_path):
    stream = io.StringIO()
    path = tmp_path / "log"
    DebugLog(str(path), "text", stream=stream)("to the file")
    assert stream.getvalue() == ""
    assert 'level=debug msg="to the file"' in path.read_text()


def test_without_debug_the_context_has_no_debugger_and_debug_log_writes_nothing(tmp_path,
                                                                               capsys):
    path = tmp_path / "log"
    context = Context({"log": str(path)})
    assert context.debugger is None
    context.debug_log("never shown")
    assert not path.exists()
    assert capsys.readouterr().err == ""
    debugging = Context({"log": str(path), "debug": True})
    assert debugging.debugger is debugging.debugger  # one per command
    debugging.debug_log("shown")
    assert 'msg="shown"' in path.read_text()

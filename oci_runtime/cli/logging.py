"""--log FILE with --log-format text|json, and --debug.

JSON lines carry level, msg and time like runc's (containerd's shim reads the last "error" line of
log.json to show why create failed).  Debug messages go where runc sends them: to the --log file
when there is one, else to stderr.

This module is imported only when something is logged: with --debug off and no warning or error,
no command loads it, and the create path makes no debug string at all (every use of the
DebugLog is behind ``if debug is not None``).
"""
import os
import sys
import time


from oci_runtime.kernel import hotpath

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (mypy reads it the same)
if TYPE_CHECKING:
    from typing import TextIO

    from oci_runtime.cgroups.base import CgroupManager
    from oci_runtime.config.model import Config
    from oci_runtime.seccomp.filter import CompiledFilter


def _timestamp() -> str:
    now = time.time()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + f".{int(now % 1 * 1e9):09d}Z"


def format_line(log_format: str, level: str, message: str) -> str:
    if log_format == "json":
        return hotpath.dumps({"level": level, "msg": message, "time": _timestamp()})
    # logrus' text format quotes msg: escape what would end or split the quoted value.
    quoted = message.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'time="{_timestamp()}" level={level} msg="{quoted}"'


def write_log(path: str, log_format: str, level: str, message: str) -> None:
    line = format_line(log_format, level, message)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        os.write(fd, (line + "\n").encode())
    finally:
        os.close(fd)


class DebugLog:
    """--debug's messages, plus how long each stage of a command took.

    ``stage(name, detail)`` logs the time since the previous stage (or since ``begin``), so the
    stages of `create` add up to its total.  Describing helpers (``config_loaded``,
    ``cgroup_opened``, ...) keep the wording here instead of in the code they observe."""

    def __init__(self, path: str | None = None, log_format: str = "text",
                 stream: "TextIO | None" = None) -> None:
        self.path = path
        self.log_format = log_format
        self.stream = stream if stream is not None else sys.stderr
        self._began = self._last = time.perf_counter()

    def __call__(self, message: str) -> None:
        if self.path:
            write_log(self.path, self.log_format, "debug", message)
        else:
            self.stream.write(format_line(self.log_format, "debug", message) + "\n")
            self.stream.flush()

    def begin(self, what: str) -> None:
        self._began = self._last = time.perf_counter()
        self(what)

    def stage(self, name: str, detail: str = "") -> None:
        now = time.perf_counter()
        elapsed, self._last = (now - self._last) * 1000, now
        self(f"stage {name}: {elapsed:.2f} ms" + (f" ({detail})" if detail else ""))

    def total(self, what: str) -> None:
        self(f"{what}: {(time.perf_counter() - self._began) * 1000:.2f} ms in total")

    # -- what `create` reports ------------------------------------------------------------------

    def config_loaded(self, bundle: str, config: "Config") -> None:
        self.stage("config", f"read and checked {bundle}/config.json")
        linux = config.linux
        created = sorted(t for t in linux.namespaces if linux.has_new(t))
        joined = sorted(f"{n.type}={n.path}" for n in linux.namespaces.values() if n.path)
        self(f"namespaces: new {', '.join(created) or 'none'}; "
             f"joined {', '.join(joined) or 'none'}")
        if config.process is not None:
            self(f"rootfs {config.root_path}, process args {config.process.args!r}")

    def cgroup_opened(self, cgroup: "CgroupManager | None") -> None:
        if cgroup is None:
            self.stage("cgroup", "no cgroup")
            return
        saved = cgroup.to_dict()
        where = (saved.get("unit") or saved.get("path") or saved.get("inner")
                 or saved.get("fs", {}).get("path", ""))
        self.stage("cgroup", f"opened: {saved['driver']} driver, "
                             f"cgroup {saved['mode']}, {where}")

    def seccomp_compiled(self, program: "CompiledFilter") -> None:
        source = "served from the cache" if program.from_cache else "compiled (cache miss)"
        self.stage("seccomp", f"filter {source}, {program.instruction_count} instructions")

    def init_created(self, pid: int) -> None:
        self.stage("init", f"init {pid} set up the container and waits for start")

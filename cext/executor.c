/* oci-runtime's container-side executor: runs a plan compiled by Python (oci_runtime/plan/).
 *
 * Python plans, C executes.  The runtime (Python) validates the config and compiles a flat list of
 * steps; this static program, exec'd from a sealed memfd copy of itself, performs them in order:
 * from the first setns/unshare to execve.  No step decides policy: which flags, which order and
 * what to refuse were decided in Python.  Failures travel to the runtime as (step index, errno,
 * detail) on the sync socket; Python turns the index into the step's JSON pointer and text.
 *
 * Usage (only by the runtime):  oci-runtime-executor PLAN_FD SYNC_FD
 * The plan format and the frames are defined in oci_runtime/executor/wire.py (format.h is made
 * from it).
 *
 * This unit reads the plan, has it checked whole (plan.c) and runs its steps, one by one, each
 * by its op's handler (format.h: OP_LIST), which lives in the unit of its concern.
 */
#include "executor.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int devnull_fd = -1;
uint32_t current_step = PLAN_REFUSED;
const struct step *running;

typedef void handler(const struct step *st);
#define HANDLER_ENTRY(op, function) [op] = function,
static handler *const handlers[OP_COUNT] = {OP_LIST(HANDLER_ENTRY)};
#undef HANDLER_ENTRY

static char *read_plan(int fd, size_t *size)
{
    size_t capacity = 1 << 16, used = 0;
    char *buf = malloc(capacity);
    if (!buf)
        return NULL;
    for (;;) {
        if (used == capacity) {
            capacity *= 2;
            char *grown = realloc(buf, capacity);
            if (!grown) {
                free(buf);
                return NULL;
            }
            buf = grown;
        }
        ssize_t n = pread(fd, buf + used, capacity - used, (off_t)used);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            free(buf);
            return NULL;
        }
        if (n == 0)
            break;
        used += (size_t)n;
    }
    *size = used;
    return buf;
}

int main(int argc, char **argv)
{
    /* Run as anything but the runtime's executor (for instance as the interpreter of a
     * container's `#!/proc/self/exe` script): do nothing. */
    if (argc != 3 || strcmp(argv[0], "oci-runtime-executor") != 0)
        return 127;
    int plan_fd = atoi(argv[1]);
    sync_fd = atoi(argv[2]);
    struct stat st;
    if (plan_fd < 3 || sync_fd < 3 || fstat(plan_fd, &st) < 0 || fstat(sync_fd, &st) < 0 ||
        !S_ISSOCK(st.st_mode))
        return 127;
    fcntl(sync_fd, F_SETFD, FD_CLOEXEC);
    size_t size = 0;
    char *data = read_plan(plan_fd, &size);
    close(plan_fd);
    if (!data)
        fail_detail(errno, "reading the plan");
    /* The whole plan is checked before the first step runs: a malformed one is refused with
     * one error frame (step PLAN_REFUSED) and nothing done.  `data` stays: steps point in it. */
    struct plan plan;
    char why[512];
    if (decode_plan(data, size, &plan, why, sizeof(why)) < 0)
        fail_detail(EINVAL, why);
    in_exec_mode = plan.flags & PLAN_FLAG_EXEC;
    devnull_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
    for (uint32_t k = 0; k < plan.count; k++) {
        current_step = k;
        running = &plan.steps[k];
        handlers[running->op](running);
    }
    return 0;
}

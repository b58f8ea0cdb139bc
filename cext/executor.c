/* oci-runtime's container-side executor: runs a plan compiled by Python (oci_runtime/plan/).
 *
 * Python plans, C executes.  The runtime (Python) validates the config and compiles a flat list of
 * steps; this static program, exec'd from a sealed memfd copy of itself, performs them in order:
 * from the first setns/unshare to execve.  No step decides policy: which flags, which order and
 * what to refuse were decided in Python.  Failures travel to the runtime as (step index, errno,
 * detail) on the sync socket; Python turns the index into the step's JSON pointer and text.
 *
 * Usage (only by the runtime):  oci-runtime-executor PLAN_FD SYNC_FD
 * The plan format and the sync messages are documented in oci_runtime/executor/wire.py.
 *
 * This unit reads the plan and runs its steps, one by one; what each step does is in the unit of
 * its concern (executor.h lists them).
 */
#include "executor.h"

#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>

int devnull_fd = -1;
uint32_t current_step;
struct step *running;

/* NUL-separated strings of a blob as a NULL-terminated vector. */
char **split_vector(struct str blob, int count)
{
    char **vector = calloc((size_t)count + 1, sizeof(char *));
    if (!vector)
        fail(ENOMEM);
    const char *p = blob.p, *end = blob.p + blob.len;
    for (int k = 0; k < count; k++) {
        if (p >= end)
            fail_detail(EINVAL, "plan: vector shorter than its count");
        vector[k] = (char *)p;
        p += strlen(p) + 1;
    }
    return vector;
}

/* ---- the interpreter ---------------------------------------------------------------------- */

static void run_step(struct step *st)
{
    char message[1 << 16];
    switch (st->op) {
    case OP_NONDUMPABLE:
        /* Before joining anything a container controls: no container process may ptrace us or
         * open /proc/<pid>/mem while we hold the runtime's privileges and fds. */
        CHECK(prctl(PR_SET_DUMPABLE, 0, 0, 0, 0));
        break;
    case OP_SETNS:
        CHECK(setns((int)st->i[0], (int)st->i[1]));
        close((int)st->i[0]);
        break;
    case OP_UNSHARE:
        CHECK(unshare((int)st->i[0]));
        break;
    case OP_SYNC_SETUP:
        send_u32_msg(MSG_SETUP, (uint32_t)getpid());
        receive(message, sizeof(message), MSG_OK);
        break;
    case OP_BECOME_ROOT:
        CHECK(setresgid(0, 0, 0));
        CHECK(setresuid(0, 0, 0));
        break;
    case OP_WRITE_PROC:
        CHECK(write_proc(st->s[0].p, st->s[1].p, st->s[1].len));
        break;
    case OP_FORK:
        fork_as_runtime_child();
        break;
    case OP_SETSID:
        CHECK(setsid());
        break;
    case OP_LOOPBACK_UP:
        loopback_up();
        break;
    case OP_PREPARE_ROOT:
        prepare_root(st);
        break;
    case OP_OPEN_CWD_ROOT:
        open_root("/");
        break;
    case OP_MOUNT:
        do_mount(st);
        break;
    case OP_MOVE_MOUNT:
        do_move_mount(st);
        break;
    case OP_REMOUNT_BIND:
        CHECK(remount_bind(st->s[1].p, (unsigned long)st->i[0], (unsigned long)st->i[1]));
        break;
    case OP_PROPAGATION:
        do_propagation(st);
        break;
    case OP_SETATTR:
        do_setattr(st);
        break;
    case OP_WAIT_GO: {
        ssize_t n = receive(message, sizeof(message), MSG_GO);
        /* GO: u32 len, bytes, u32 len, bytes: the hook states ("creating", "created"). */
        size_t offset = 1;
        for (int k = 0; k < 2; k++) {
            uint32_t len = 0;
            if (offset + 4 > (size_t)n)
                fail_detail(EPROTO, "short GO message");
            memcpy(&len, message + offset, 4);
            offset += 4;
            if (offset + len > (size_t)n)
                fail_detail(EPROTO, "short GO message");
            state_blob[k] = malloc(len + 1);
            if (!state_blob[k])
                fail(ENOMEM);
            memcpy(state_blob[k], message + offset, len);
            state_len[k] = len;
            offset += len;
        }
        break;
    }
    case OP_MKNOD:
        make_node(st);
        break;
    case OP_BIND_DEVICE:
        bind_device(st);
        break;
    case OP_SYMLINK:
        make_symlink(st);
        break;
    case OP_HOOKS_SYNC:
        message[0] = MSG_HOOKS;
        send_all_msg(message, 1);
        receive(message, sizeof(message), MSG_OK);
        break;
    case OP_RUN_HOOK:
        run_hook(st);
        break;
    case OP_MKDIR_P: {
        int fd = mkdirs_in_root(st->s[0].p, 0755, 0);
        if (fd < 0)
            fail(errno);
        close(fd);
        break;
    }
    case OP_PIVOT_ROOT:
        pivot_root_here();
        break;
    case OP_MOVE_ROOT:
        move_root_here();
        break;
    case OP_CHROOT:
        chroot_here();
        break;
    case OP_SYSCTL:
        CHECK(write_proc(st->s[0].p, st->s[1].p, st->s[1].len));
        break;
    case OP_READONLY_PATH:
        readonly_path(st->s[0].p);
        break;
    case OP_MASK_PATH:
        mask_path(st->s[0].p);
        break;
    case OP_ROOT_READONLY:
        root_readonly();
        break;
    case OP_CONSOLE:
        console(st);
        break;
    case OP_SETHOSTNAME:
        CHECK(sethostname(st->s[0].p, st->s[0].len));
        break;
    case OP_SETDOMAINNAME:
        CHECK(setdomainname(st->s[0].p, st->s[0].len));
        break;
    case OP_RLIMIT: {
        struct rlimit limit = {(rlim_t)st->i[1], (rlim_t)st->i[2]};
        if (setrlimit((int)st->i[0], &limit) < 0) {
            int err = errno;
            struct rlimit current;
            char detail[64] = "";
            if (getrlimit((int)st->i[0], &current) == 0)
                snprintf(detail, sizeof(detail), "%llu", (unsigned long long)current.rlim_max);
            fail_detail(err, detail);
        }
        break;
    }
    case OP_KEYRING:
        /* ENOSYS: a kernel without keyrings; runc ignores it too. */
        if (syscall(SYS_keyctl, 1 /* KEYCTL_JOIN_SESSION_KEYRING */, st->s[0].p) < 0 && errno != ENOSYS)
            fail(errno);
        break;
    case OP_PERSONALITY:
        CHECK(personality((unsigned long)st->i[0]));
        break;
    case OP_SCHED: {
        struct {
            uint32_t size, sched_policy;
            uint64_t sched_flags;
            int32_t sched_nice;
            uint32_t sched_priority;
            uint64_t sched_runtime, sched_deadline, sched_period;
        } attr = {48, (uint32_t)st->i[0], (uint64_t)st->i[1], (int32_t)st->i[2], (uint32_t)st->i[3],
                  (uint64_t)st->i[4], (uint64_t)st->i[5], (uint64_t)st->i[6]};
        CHECK(syscall(SYS_sched_setattr, 0, &attr, 0));
        break;
    }
    case OP_IOPRIO:
        CHECK(syscall(SYS_ioprio_set, 1 /* IOPRIO_WHO_PROCESS */, 0, (int)st->i[0]));
        break;
    case OP_MEMPOLICY:
        /* The kernel reads BITS_TO_LONGS(maxnode - 1) longs: the plan's mask holds that many. */
        if (st->i[1] < 0 || (uint64_t)(st->i[1] ? st->i[1] - 1 : 0) > (uint64_t)st->s[0].len * 8)
            fail_detail(EINVAL, "plan: nodemask shorter than maxnode");
        CHECK(syscall(SYS_set_mempolicy, (int)st->i[0], st->s[0].len ? st->s[0].p : NULL,
                      (unsigned long)st->i[1]));
        break;
    case OP_AFFINITY:
        CHECK(sched_setaffinity(0, st->s[0].len, (const cpu_set_t *)st->s[0].p));
        break;
    case OP_EXEC_ARGS:
        exec_argv = split_vector(st->s[0], (int)st->i[0]);
        exec_envp = split_vector(st->s[1], (int)st->i[1]);
        exec_envc = (int)st->i[1];
        break;
    case OP_SET_HOME:
        set_home((uid_t)st->i[0]);
        break;
    case OP_FIND_EXEC:
        find_exec(st);
        break;
    case OP_REPORT_CREATED:
        message[0] = MSG_CREATED;
        send_all_msg(message, 1);
        close(sync_fd);
        sync_fd = -1;
        break;
    case OP_WAIT_START:
        wait_start((int)st->i[0]);
        break;
    case OP_FD_SWEEP:
        fd_sweep((int)st->i[0]);
        break;
    case OP_DROP_BOUNDING:
        for (int cap = 0; cap <= (int)st->i[1]; cap++)
            if (!((uint64_t)st->i[0] & (1ULL << cap)))
                CHECK(prctl(PR_CAPBSET_DROP, cap, 0, 0, 0));
        break;
    case OP_SET_IDS: {
        /* Capabilities are kept across the uid change; OP_SET_CAPS sets the final ones. */
        CHECK(prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0));
        /* i3: the runtime wrote the user namespace's gid map without CAP_SETGID (rootless), so
         * setgroups is denied there; the plan then has no groups and the call is skipped. */
        if (!st->i[3] && setgroups((size_t)st->i[2], (const gid_t *)st->s[0].p) < 0)
            fail(errno);
        CHECK(setresgid((gid_t)st->i[1], (gid_t)st->i[1], (gid_t)st->i[1]));
        CHECK(setresuid((uid_t)st->i[0], (uid_t)st->i[0], (uid_t)st->i[0]));
        break;
    }
    case OP_SET_CAPS:
        CHECK(capset3((uint64_t)st->i[0], (uint64_t)st->i[1], (uint64_t)st->i[2]));
        break;
    case OP_AMBIENT:
        CHECK(prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0));
        for (int cap = 0; cap < 64; cap++)
            if ((uint64_t)st->i[0] & (1ULL << cap))
                CHECK(prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0));
        break;
    case OP_UMASK:
        umask((mode_t)st->i[0]);
        break;
    case OP_CHDIR: {
        /* i0 1: the cwd before the user changes, as runc: one only root may enter (/root 0700)
         * still becomes the cwd; EACCES/EPERM wait for i0 2, after the change, which is
         * skipped once this succeeded. */
        static int cwd_set;
        if (st->i[0] == 2 && cwd_set)
            break;
        if (chdir(st->s[0].p) == 0) {
            cwd_set = st->i[0] == 1;
            break;
        }
        if (st->i[0] == 1 && (errno == EACCES || errno == EPERM))
            break;
        fail(errno);
    }
    case OP_RELEASE:
        /* `start` returns on this byte, before execve, as runc's does; what fails after it is
         * reported on the container's stderr. */
        if (start_conn >= 0)
            (void)write(start_conn, "", 1);
        released = 1;
        break;
    case OP_NO_NEW_PRIVS:
        CHECK(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0));
        break;
    case OP_SECCOMP:
        load_seccomp(st);
        break;
    case OP_STDIO_CHOWN:
        stdio_chown((uid_t)st->i[0], (gid_t)st->i[1]);
        break;
    case OP_OOM_SCORE: {
        char value[32];
        int len = snprintf(value, sizeof(value), "%lld", (long long)st->i[0]);
        CHECK(write_proc("self/oom_score_adj", value, (size_t)len));
        break;
    }
    case OP_EXEC:
        execve(exec_path, exec_argv, exec_envp);
        fail_detail(errno, exec_path);
    default:
        fail_detail(EINVAL, "plan: unknown operation");
    }
}

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
            if (!grown)
                return NULL;
            buf = grown;
        }
        ssize_t n = pread(fd, buf + used, capacity - used, (off_t)used);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return NULL;
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
    devnull_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
    size_t size = 0;
    char *plan = read_plan(plan_fd, &size);
    close(plan_fd);
    if (!plan)
        fail_detail(errno, "reading the plan");
    if (size < 20 || memcmp(plan, PLAN_MAGIC, 8) != 0)
        fail_detail(EINVAL, "plan: bad header");
    uint32_t version, count, flags;
    memcpy(&version, plan + 8, 4);
    memcpy(&count, plan + 12, 4);
    memcpy(&flags, plan + 16, 4);
    if (version != 1)
        fail_detail(EINVAL, "plan: unknown version");
    in_exec_mode = flags & 1;
    size_t header = 20;
    if ((size - header) / STEP_SIZE < count)
        fail_detail(EINVAL, "plan: truncated");
    const char *blob = plan + header + (size_t)count * STEP_SIZE;
    size_t blob_size = size - header - (size_t)count * STEP_SIZE;
    struct step *steps = calloc(count ? count : 1, sizeof(struct step));
    if (!steps)
        fail(ENOMEM);
    for (uint32_t k = 0; k < count; k++) {
        const char *p = plan + header + (size_t)k * STEP_SIZE;
        memcpy(&steps[k].op, p, 4);
        memcpy(&steps[k].index, p + 4, 4);
        memcpy(steps[k].i, p + 8, 64);
        for (int s = 0; s < 5; s++) {
            uint32_t offset, len;
            memcpy(&offset, p + 72 + s * 8, 4);
            memcpy(&len, p + 76 + s * 8, 4);
            if ((size_t)offset + len + 1 > blob_size || blob[offset + len] != 0)
                fail_detail(EINVAL, "plan: string out of bounds");
            steps[k].s[s].p = blob + offset;
            steps[k].s[s].len = len;
        }
    }
    for (uint32_t k = 0; k < count; k++) {
        current_step = steps[k].index;
        running = &steps[k];
        run_step(&steps[k]);
    }
    return 0;
}


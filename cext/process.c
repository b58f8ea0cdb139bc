/* The process: its arguments and environment (HOME), the program to execve looked up in the
 * root, its cwd, umask, rlimits, scheduling, personality, CPU affinity, the fds it inherits. */
#include "executor.h"

#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/personality.h>
#include <sys/resource.h>
#include <sys/stat.h>

#define CLOSE_RANGE_CLOEXEC (1U << 2)
#define PASSWD_LARGEST (8 << 20)

char **exec_argv;
char **exec_envp;
size_t exec_envc;
char *exec_path;

void op_exec_args(const struct step *st)
{
    exec_argv = split_vector(st->s[S_EXEC_ARGS_ARGV], st->i[I_EXEC_ARGS_ARGC]);
    exec_envp = split_vector(st->s[S_EXEC_ARGS_ENV], st->i[I_EXEC_ARGS_ENVC]);
    exec_envc = (size_t)st->i[I_EXEC_ARGS_ENVC];
}

void op_set_home(const struct step *st)
{
    uid_t uid = (uid_t)st->i[I_SET_HOME_UID];
    for (size_t k = 0; k < exec_envc; k++)
        if (strncmp(exec_envp[k], "HOME=", 5) == 0)
            return;
    char *entry = NULL;
    /* Only a regular file is read: never a device node or a fifo of the image. */
    int probe = open_in_root("/etc/passwd", O_PATH);
    struct stat sb;
    if (probe >= 0 && fstat(probe, &sb) == 0 && S_ISREG(sb.st_mode) && sb.st_size < PASSWD_LARGEST) {
        char path[64];
        fdpath(probe, path, sizeof(path));
        int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
        struct stat opened;
        if (fd >= 0 && fstat(fd, &opened) == 0 && opened.st_ino == sb.st_ino &&
            opened.st_dev == sb.st_dev) {
            char *text = malloc((size_t)sb.st_size + 1);
            if (text && read_all(fd, text, (size_t)sb.st_size) == 0) {
                text[sb.st_size] = 0;
                const char *home = home_in_passwd(text, uid);
                if (home && asprintf(&entry, "HOME=%s", home) < 0)
                    fail(ENOMEM);
            }
            free(text);
        }
        if (fd >= 0)
            close(fd);
    }
    if (probe >= 0)
        close(probe);
    if (!entry && !(entry = strdup("HOME=/")))
        fail(ENOMEM);
    char **grown = calloc(exec_envc + 2, sizeof(char *));
    if (!grown)
        fail(ENOMEM);
    if (exec_envc)
        memcpy(grown, exec_envp, exec_envc * sizeof(char *));
    grown[exec_envc++] = entry;
    exec_envp = grown;
}

/* Whether `candidate` (a path in the root) is a regular file we may execute: 0, or the errno. */
static int executable_in_root(const char *candidate)
{
    int fd = open_in_root(candidate, O_PATH);
    if (fd < 0)
        return ENOENT;
    struct stat sb;
    int ok = fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode) &&
             syscall(SYS_faccessat2, fd, "", X_OK, AT_EMPTY_PATH | AT_EACCESS) == 0;
    close(fd);
    return ok ? 0 : EACCES;
}

/* args[0] like execvp with the process's own PATH; checked in the root: a missing program fails
 * create, as with runc.  detail: "notfound" (not in $PATH), or the path for ENOENT / EACCES. */
void op_find_exec(const struct step *st)
{
    const char *arg0 = st->s[S_FIND_EXEC_ARG0].p;
    const char *search = st->s[S_FIND_EXEC_SEARCH].p;
    const char *cwd = st->s[S_FIND_EXEC_CWD].p;
    char *candidate = NULL;
    if (strchr(arg0, '/')) {
        if (arg0[0] == '/' ? asprintf(&candidate, "%s", arg0) < 0
                           : asprintf(&candidate, "%s/%s", cwd, arg0) < 0)
            fail(ENOMEM);
        int err = executable_in_root(candidate);
        if (err)
            fail_detail(err, candidate);
        exec_path = candidate;
        return;
    }
    for (const char *p = search;;) {
        const char *end = strchr(p, ':');
        int len = (int)(end ? (size_t)(end - p) : strlen(p));
        if (len == 0 ? asprintf(&candidate, "%s/%s", cwd, arg0) < 0
                     : asprintf(&candidate, "%.*s/%s", len, p, arg0) < 0)
            fail(ENOMEM);
        if (executable_in_root(candidate) == 0) {
            exec_path = candidate;
            return;
        }
        free(candidate);
        if (!end)
            break;
        p = end + 1;
    }
    fail_detail(ENOENT, "notfound");
}

void op_exec(const struct step *st)
{
    (void)st;
    execve(exec_path, exec_argv, exec_envp);
    fail_detail(errno, exec_path);
}

void op_chdir(const struct step *st)
{
    /* As runc: the cwd is entered before the user changes (when 1), so one only root may enter
     * (/root 0700) still becomes the cwd; EACCES/EPERM then wait for the try after the change
     * (when 2), which is skipped once the first succeeded. */
    static int cwd_set;
    int64_t when = st->i[I_CHDIR_WHEN];
    if (when == 2 && cwd_set)
        return;
    if (chdir(st->s[S_CHDIR_PATH].p) == 0) {
        cwd_set = when == 1;
        return;
    }
    if (when == 1 && (errno == EACCES || errno == EPERM))
        return;
    fail(errno);
}

void op_umask(const struct step *st) { umask((mode_t)st->i[I_UMASK_MASK]); }

void op_fd_sweep(const struct step *st)
{
    int preserved = (int)st->i[I_FD_SWEEP_PRESERVED];
    /* No fd is at or past the limit on open files: a huge --preserve-fds costs no more. */
    struct rlimit files;
    int last = preserved;
    if (getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < (rlim_t)preserved + 3)
        last = files.rlim_cur > 3 ? (int)files.rlim_cur - 3 : 0;
    for (int fd = 3; fd - 3 < last; fd++) {
        int flags = fcntl(fd, F_GETFD);
        if (flags >= 0)
            fcntl(fd, F_SETFD, flags & ~FD_CLOEXEC);
    }
    /* 3 + preserved: at most 2^31 + 2, an unsigned int. */
    CHECK(syscall(SYS_close_range, 3U + (unsigned)preserved, ~0U, CLOSE_RANGE_CLOEXEC));
}

void op_rlimit(const struct step *st)
{
    int resource = (int)st->i[I_RLIMIT_RESOURCE];
    struct rlimit limit = {(rlim_t)st->i[I_RLIMIT_SOFT], (rlim_t)st->i[I_RLIMIT_HARD]};
    if (setrlimit(resource, &limit) < 0) {
        int err = errno;
        struct rlimit current;
        char detail[64] = "";
        if (getrlimit(resource, &current) == 0)
            snprintf(detail, sizeof(detail), "%llu", (unsigned long long)current.rlim_max);
        fail_detail(err, detail);
    }
}

void op_personality(const struct step *st)
{
    CHECK(personality((unsigned long)st->i[I_PERSONALITY_PERSONA]));
}

void op_sched(const struct step *st)
{
    struct {
        uint32_t size, sched_policy;
        uint64_t sched_flags;
        int32_t sched_nice;
        uint32_t sched_priority;
        uint64_t sched_runtime, sched_deadline, sched_period;
    } attr = {48, (uint32_t)st->i[I_SCHED_POLICY], (uint64_t)st->i[I_SCHED_FLAGS],
              (int32_t)st->i[I_SCHED_NICE], (uint32_t)st->i[I_SCHED_PRIORITY],
              (uint64_t)st->i[I_SCHED_RUNTIME], (uint64_t)st->i[I_SCHED_DEADLINE],
              (uint64_t)st->i[I_SCHED_PERIOD]};
    CHECK(syscall(SYS_sched_setattr, 0, &attr, 0));
}

void op_ioprio(const struct step *st)
{
    CHECK(syscall(SYS_ioprio_set, 1 /* IOPRIO_WHO_PROCESS */, 0, (int)st->i[I_IOPRIO_VALUE]));
}

void op_mempolicy(const struct step *st)
{
    /* The nodemask's longs copied to an aligned array (plan.c: whole longs, enough for maxnode). */
    struct str mask = st->s[S_MEMPOLICY_NODEMASK];
    unsigned long *nodes = NULL;
    if (mask.len) {
        nodes = calloc(mask.len / sizeof(unsigned long), sizeof(unsigned long));
        if (!nodes)
            fail(ENOMEM);
        memcpy(nodes, mask.p, mask.len);
    }
    CHECK(syscall(SYS_set_mempolicy, (int)st->i[I_MEMPOLICY_MODE], nodes,
                  (unsigned long)st->i[I_MEMPOLICY_MAXNODE]));
    free(nodes);
}

void op_affinity(const struct step *st)
{
    /* The mask's bytes are copied into an allocated, aligned cpu_set_t (the plan's strings have
     * no alignment); a mask shorter than one is zero-filled. */
    struct str mask = st->s[S_AFFINITY_MASK];
    size_t size = mask.len < sizeof(cpu_set_t) ? sizeof(cpu_set_t) : mask.len;
    cpu_set_t *set = calloc(1, size);
    if (!set)
        fail(ENOMEM);
    memcpy(set, mask.p, mask.len);
    CHECK(sched_setaffinity(0, size, set));
    free(set);
}

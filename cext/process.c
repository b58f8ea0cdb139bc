/* The process: HOME, the program to execve, capabilities, seccomp, the fds it inherits. */
#include "executor.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/stat.h>

#define CLOSE_RANGE_CLOEXEC (1U << 2)

char **exec_argv;
char **exec_envp;
int exec_envc;
char exec_path[4096];

static int read_exact(int fd, void *buf, size_t len)
{
    size_t done = 0;
    while (done < len) {
        ssize_t n = read(fd, (char *)buf + done, len - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        done += (size_t)n;
    }
    return 0;
}

/* ---- the process -------------------------------------------------------------------------- */

void set_home(uid_t uid)
{
    for (int k = 0; k < exec_envc; k++)
        if (strncmp(exec_envp[k], "HOME=", 5) == 0)
            return;
    char home[4096] = "/";
    /* Only a regular file is read: never a device node or a fifo of the image. */
    int probe = open_in_root("/etc/passwd", O_PATH);
    struct stat st;
    if (probe >= 0 && fstat(probe, &st) == 0 && S_ISREG(st.st_mode) && st.st_size < (8 << 20)) {
        char path[64];
        fdpath(probe, path, sizeof(path));
        int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
        struct stat opened;
        if (fd >= 0 && fstat(fd, &opened) == 0 && opened.st_ino == st.st_ino &&
            opened.st_dev == st.st_dev) {
            char *text = malloc((size_t)st.st_size + 1);
            if (text && read_exact(fd, text, (size_t)st.st_size) == 0) {
                text[st.st_size] = 0;
                for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
                    char *fields[7] = {0};
                    int count = 0;
                    for (char *p = line; count < 7; count++) {
                        fields[count] = p;
                        char *colon = strchr(p, ':');
                        if (!colon) {
                            count++;
                            break;
                        }
                        *colon = 0;
                        p = colon + 1;
                    }
                    if (count >= 6 && fields[2][0] && strtoul(fields[2], NULL, 10) == uid &&
                        fields[5][0]) {
                        snprintf(home, sizeof(home), "%s", fields[5]);
                        break;
                    }
                }
            }
            free(text);
        }
        if (fd >= 0)
            close(fd);
    }
    if (probe >= 0)
        close(probe);
    char **grown = calloc((size_t)exec_envc + 2, sizeof(char *));
    if (!grown)
        fail(ENOMEM);
    memcpy(grown, exec_envp, (size_t)exec_envc * sizeof(char *));
    grown[exec_envc] = malloc(strlen(home) + 6);
    if (!grown[exec_envc])
        fail(ENOMEM);
    sprintf(grown[exec_envc], "HOME=%s", home);
    exec_envp = grown;
    exec_envc++;
}

/* args[0] like execvp with the process's own PATH; checked in the root: a missing program fails
 * create, as with runc.  detail: "notfound" (not in $PATH), "denied", "nofile" + path. */
void find_exec(struct step *st)
{
    const char *arg0 = st->s[0].p;
    const char *search = st->s[1].p;
    const char *cwd = st->s[2].p;
    char candidate[8192];
    if (strchr(arg0, '/')) {
        if (arg0[0] == '/')
            snprintf(candidate, sizeof(candidate), "%s", arg0);
        else
            snprintf(candidate, sizeof(candidate), "%s/%s", cwd, arg0);
        int fd = open_in_root(candidate, O_PATH);
        struct stat sb;
        if (fd < 0)
            fail_detail(ENOENT, candidate);
        if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode) ||
            syscall(SYS_faccessat2, fd, "", X_OK, AT_EMPTY_PATH | AT_EACCESS) < 0)
            fail_detail(EACCES, candidate);
        close(fd);
        snprintf(exec_path, sizeof(exec_path), "%s", candidate);
        return;
    }
    const char *p = search;
    for (;;) {
        const char *end = strchr(p, ':');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len == 0)
            snprintf(candidate, sizeof(candidate), "%s/%s", cwd, arg0);
        else
            snprintf(candidate, sizeof(candidate), "%.*s/%s", (int)len, p, arg0);
        int fd = open_in_root(candidate, O_PATH);
        if (fd >= 0) {
            struct stat sb;
            int ok = fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode) &&
                     syscall(SYS_faccessat2, fd, "", X_OK, AT_EMPTY_PATH | AT_EACCESS) == 0;
            close(fd);
            if (ok) {
                snprintf(exec_path, sizeof(exec_path), "%s", candidate);
                return;
            }
        }
        if (!end)
            break;
        p = end + 1;
    }
    fail_detail(ENOENT, "notfound");
}

int capset3(uint64_t effective, uint64_t permitted, uint64_t inheritable)
{
    struct __user_cap_header_struct header = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct data[2];
    data[0].effective = (uint32_t)effective;
    data[1].effective = (uint32_t)(effective >> 32);
    data[0].permitted = (uint32_t)permitted;
    data[1].permitted = (uint32_t)(permitted >> 32);
    data[0].inheritable = (uint32_t)inheritable;
    data[1].inheritable = (uint32_t)(inheritable >> 32);
    return (int)syscall(SYS_capset, &header, data);
}

void load_seccomp(struct step *st)
{
    struct sock_fprog program = {(unsigned short)(st->s[0].len / 8), (struct sock_filter *)st->s[0].p};
    unsigned long flags = (unsigned long)st->i[0];
    long result = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &program);
    if (result < 0)
        fail(errno);
    if (st->i[1]) {
        /* The listener goes to `start` (create) or to `exec`, which hands it to the agent. */
        int sock = in_exec_mode ? sync_fd : start_conn;
        static const char create_message[] = "\0seccomp-listener\0";
        static const char exec_message[] = "L";
        if (in_exec_mode)
            (void)send_fd(sock, exec_message, 1, (int)result);
        else
            (void)send_fd(sock, create_message, sizeof(create_message) - 1, (int)result);
        close((int)result);
    }
}

void fd_sweep(int preserved)
{
    for (int fd = 3; fd < 3 + preserved; fd++) {
        int flags = fcntl(fd, F_GETFD);
        if (flags >= 0)
            fcntl(fd, F_SETFD, flags & ~FD_CLOEXEC);
    }
    CHECK(syscall(SYS_close_range, 3 + preserved, ~0U, CLOSE_RANGE_CLOEXEC));
}

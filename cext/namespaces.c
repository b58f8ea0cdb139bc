/* Namespaces and what belongs to one: joining and creating them, the fork into a new pid
 * namespace and the entry into the container's cgroup, root of a new user namespace, the
 * loopback interface of a new network namespace, the host and domain names, the session
 * keyring, dumpability. */
#include "executor.h"

#include <fcntl.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>

void op_nondumpable(const struct step *st)
{
    (void)st;
    /* Before joining anything a container controls: no container process may ptrace us or
     * open /proc/<pid>/mem while we hold the runtime's privileges and fds. */
    CHECK(prctl(PR_SET_DUMPABLE, 0, 0, 0, 0));
}

void op_setns(const struct step *st)
{
    int fd = (int)st->i[I_SETNS_FD];
    CHECK(setns(fd, (int)st->i[I_SETNS_NSTYPE]));
    close(fd);
}

void op_unshare(const struct step *st) { CHECK(unshare((int)st->i[I_UNSHARE_FLAGS])); }

void op_become_root(const struct step *st)
{
    (void)st;
    CHECK(setresgid(0, 0, 0));
    CHECK(setresuid(0, 0, 0));
}

void op_setsid(const struct step *st)
{
    (void)st;
    CHECK(setsid());
}

void op_loopback_up(const struct step *st)
{
    (void)st;
    int sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (sock < 0)
        fail(errno);
    struct ifreq request = {0};
    snprintf(request.ifr_name, IFNAMSIZ, "lo");
    CHECK(ioctl(sock, SIOCGIFFLAGS, &request));
    request.ifr_flags |= IFF_UP;
    CHECK(ioctl(sock, SIOCSIFFLAGS, &request));
    close(sock);
}

/* Write "0" to a cgroup file the runtime opened: the calling thread joins that cgroup.  A
 * thread that moves itself into a cgroup v1 hierarchy (its `tasks` file) is the one move the
 * kernel makes without write-locking cgroup_threadgroup_rwsem, whose first writer after a quiet
 * spell waits for an RCU grace period (5-15 ms here, per placement); the executor is
 * single-threaded, so the thread is the whole process.  The permission is checked against the
 * opener's credentials (kernel >= 5.16) or the writer's own, which a process always has over
 * itself. */
static void write_zero(int fd)
{
    ssize_t written = write(fd, "0", 1);
    if (written < 0)
        fail(errno);
    if (written != 1)
        fail(EIO);
}

void op_join_cgroup(const struct step *st)
{
    int fd = (int)st->i[I_JOIN_CGROUP_FILE];
    write_zero(fd);
    close(fd);
}

/* The process the plan goes on in: clone(CLONE_PARENT), or clone3(CLONE_PARENT |
 * CLONE_INTO_CGROUP) when the runtime gave a cgroup v2 directory, the child then being born in
 * it: no move at all, so no cgroup_threadgroup_rwsem (crun does the same).  A kernel without
 * CLONE_INTO_CGROUP (ENOSYS before 5.3, E2BIG before 5.7) gets the plain clone and
 * the child writes "0" to the directory's cgroup.procs instead. */
static pid_t fork_into(int cgroup, int *moved)
{
    *moved = 0;
    if (cgroup >= 0) {
        struct clone_args args;
        memset(&args, 0, sizeof(args));
        /* exit_signal stays 0: clone3 refuses one with CLONE_PARENT, whose child signals
         * the runtime as this process would (SIGCHLD, posix_spawn's). */
        args.flags = CLONE_PARENT | CLONE_INTO_CGROUP;
        args.cgroup = (uint64_t)cgroup;
        pid_t pid = (pid_t)syscall(SYS_clone3, &args, sizeof(args));
        if (pid >= 0 || (errno != ENOSYS && errno != E2BIG)) {
            *moved = 1;
            return pid;
        }
    }
    return (pid_t)syscall(SYS_clone, CLONE_PARENT | SIGCHLD, 0, 0, 0, 0);
}

/* The caller sends PID(child) and exits; the child continues the plan. */
void op_fork(const struct step *st)
{
    int cgroup = (int)st->i[I_FORK_CGROUP];
    int go[2];
    CHECK(pipe2(go, O_CLOEXEC));
    /* CLONE_PARENT: the new process is the runtime's child, not ours, so the runtime can wait
     * for it without being a subreaper; a new pid namespace makes it pid 1 there. */
    int moved;
    pid_t pid = fork_into(cgroup, &moved);
    if (pid < 0)
        fail(errno);
    if (pid > 0) {
        close(go[0]);
        send_u32_frame(FRAME_PID, (uint32_t)pid);
        /* Only now may the child talk on the channel: the runtime must learn its pid first. */
        (void)write(go[1], "g", 1);
        _exit(0);
    }
    close(go[1]);
    if (sanitizer_forked)
        sanitizer_forked();
    char g;
    if (read(go[0], &g, 1) != 1)
        _exit(1);
    close(go[0]);
    if (cgroup >= 0) {
        if (!moved) {
            int procs = openat(cgroup, "cgroup.procs", O_WRONLY | O_CLOEXEC);
            if (procs < 0)
                fail(errno);
            write_zero(procs);
            close(procs);
        }
        close(cgroup);
    }
}

void op_sethostname(const struct step *st)
{
    CHECK(sethostname(st->s[S_SETHOSTNAME_NAME].p, st->s[S_SETHOSTNAME_NAME].len));
}

void op_setdomainname(const struct step *st)
{
    CHECK(setdomainname(st->s[S_SETDOMAINNAME_NAME].p, st->s[S_SETDOMAINNAME_NAME].len));
}

void op_keyring(const struct step *st)
{
    /* ENOSYS: a kernel without keyrings; runc ignores it too. */
    if (syscall(SYS_keyctl, 1 /* KEYCTL_JOIN_SESSION_KEYRING */, st->s[S_KEYRING_NAME].p) < 0 &&
        errno != ENOSYS)
        fail(errno);
}

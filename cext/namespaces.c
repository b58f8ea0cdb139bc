/* Namespaces and what belongs to one: joining and creating them, the fork into a new pid
 * namespace, root of a new user namespace, the loopback interface of a new network namespace,
 * the host and domain names, the session keyring, dumpability. */
#include "executor.h"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
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

/* The caller sends PID(child) and exits; the child continues the plan. */
void op_fork(const struct step *st)
{
    (void)st;
    int go[2];
    CHECK(pipe2(go, O_CLOEXEC));
    /* CLONE_PARENT: the new process is the runtime's child, not ours, so the runtime can wait
     * for it without being a subreaper; a new pid namespace makes it pid 1 there. */
    pid_t pid = (pid_t)syscall(SYS_clone, CLONE_PARENT | SIGCHLD, 0, 0, 0, 0);
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

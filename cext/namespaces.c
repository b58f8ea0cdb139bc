/* The namespace steps that are more than one system call: the fork into a new pid namespace,
 * and the loopback interface of a new network namespace. */
#include "executor.h"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

void loopback_up(void)
{
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

static int go_read = -1;

/* The caller sends PID(child) and exits; the child continues the plan. */
void fork_as_runtime_child(void)
{
    int go[2];
    CHECK(pipe2(go, O_CLOEXEC));
    /* CLONE_PARENT: the new process is the runtime's child, not ours, so the runtime can wait
     * for it without being a subreaper; a new pid namespace makes it pid 1 there. */
    pid_t pid = (pid_t)syscall(SYS_clone, CLONE_PARENT | SIGCHLD, 0, 0, 0, 0);
    if (pid < 0)
        fail(errno);
    if (pid > 0) {
        close(go[0]);
        send_u32_msg(MSG_PID, (uint32_t)pid);
        /* Only now may the child talk on the channel: the runtime must learn its pid first. */
        (void)write(go[1], "g", 1);
        _exit(0);
    }
    close(go[1]);
    go_read = go[0];
    char g;
    if (read(go_read, &g, 1) != 1)
        _exit(1);
    close(go_read);
}

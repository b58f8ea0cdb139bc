/* The hooks run inside the container's namespaces (createContainer, startContainer). */
#include "executor.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/wait.h>

/* ---- hooks (createContainer, startContainer) ---------------------------------------------- */

void run_hook(struct step *st)
{
    const char *path = st->s[0].p;
    char **argv = split_vector(st->s[1], (int)st->i[1]);
    char **envp = st->i[2] >= 0 ? split_vector(st->s[2], (int)st->i[2]) : environ;
    int blob = (int)st->i[3] & 1;
    int in_pipe[2], err_pipe[2];
    CHECK(pipe2(in_pipe, O_CLOEXEC));
    CHECK(pipe2(err_pipe, O_CLOEXEC));
    pid_t pid = fork();
    if (pid < 0)
        fail(errno);
    if (pid == 0) {
        dup2(in_pipe[0], 0);
        dup2(devnull_fd, 1);
        dup2(err_pipe[1], 2);
        syscall(SYS_close_range, 3, ~0U, 0);
        execve(path, argv, envp);
        dprintf(2, "exec %s: %s\n", path, strerror(errno));
        _exit(127);
    }
    close(in_pipe[0]);
    close(err_pipe[1]);
    signal(SIGPIPE, SIG_IGN);
    /* A hook need not read its stdin: what does not fit in the pipe is dropped, never waited for. */
    fcntl(in_pipe[1], F_SETFL, O_NONBLOCK);
    (void)write(in_pipe[1], state_blob[blob], state_len[blob]);
    close(in_pipe[1]);
    signal(SIGPIPE, SIG_DFL); /* ignored signals survive execve: the program must not inherit it */
    int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
    char tail[2048];
    size_t tail_len = 0;
    int timeout_ms = st->i[0] > 0 ? (int)(st->i[0] * 1000) : -1;
    struct timespec begin, now;
    clock_gettime(CLOCK_MONOTONIC, &begin);
    int timed_out = 0, err_open = 1;
    for (;;) {
        struct pollfd fds[2] = {{pidfd, POLLIN, 0}, {err_open ? err_pipe[0] : -1, POLLIN, 0}};
        int wait_ms = -1;
        if (timeout_ms >= 0) {
            clock_gettime(CLOCK_MONOTONIC, &now);
            long spent = (now.tv_sec - begin.tv_sec) * 1000 + (now.tv_nsec - begin.tv_nsec) / 1000000;
            wait_ms = spent >= timeout_ms ? 0 : (int)(timeout_ms - spent);
        }
        int n = poll(fds, 2, wait_ms);
        if (n < 0 && errno == EINTR)
            continue;
        if (n == 0) {
            timed_out = 1;
            kill(pid, SIGKILL);
            break;
        }
        if (err_open && (fds[1].revents & (POLLIN | POLLHUP))) {
            char buf[1024];
            ssize_t got = read(err_pipe[0], buf, sizeof(buf));
            if (got <= 0) {
                err_open = 0;
            } else {
                if (tail_len + (size_t)got > sizeof(tail) - 1) {
                    size_t drop = tail_len + (size_t)got - (sizeof(tail) - 1);
                    if (drop > tail_len)
                        drop = tail_len;
                    memmove(tail, tail + drop, tail_len - drop);
                    tail_len -= drop;
                }
                size_t take = (size_t)got > sizeof(tail) - 1 ? sizeof(tail) - 1 : (size_t)got;
                memcpy(tail + tail_len, buf + got - take, take);
                tail_len += take;
            }
        }
        if (fds[0].revents & POLLIN)
            break;
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    close(pidfd);
    close(err_pipe[0]);
    if (!timed_out && WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return;
    /* detail: "<kind> <value>\n<last stderr line>"; the runtime phrases it. */
    char detail[2200];
    tail[tail_len] = 0;
    while (tail_len && (tail[tail_len - 1] == '\n' || tail[tail_len - 1] == ' '))
        tail[--tail_len] = 0;
    char *last = strrchr(tail, '\n');
    last = last ? last + 1 : tail;
    if (timed_out)
        snprintf(detail, sizeof(detail), "timeout %lld\n", (long long)st->i[0]);
    else if (WIFSIGNALED(status))
        snprintf(detail, sizeof(detail), "signal %d\n%s", WTERMSIG(status), last);
    else
        snprintf(detail, sizeof(detail), "status %d\n%s", WEXITSTATUS(status), last);
    fail_detail(0, detail);
}

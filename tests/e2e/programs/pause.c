/* The pod sandbox's process (what registry.k8s.io/pause is): it holds the pod's namespaces,
 * reaps the zombies of a pod-shared pid namespace (it is pid 1 there), and exits 0 on SIGINT
 * or SIGTERM.  Built static by the CRI tests (tests/e2e/cri_images.py). */
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static void stop(int signo) { (void)signo; _exit(0); }

static void reap(int signo)
{
    (void)signo;
    while (waitpid(-1, NULL, WNOHANG) > 0)
        ;
}

int main(void)
{
    struct sigaction action = {0};
    action.sa_handler = stop;
    sigaction(SIGINT, &action, NULL);
    sigaction(SIGTERM, &action, NULL);
    action.sa_handler = reap;
    action.sa_flags = SA_NOCLDSTOP | SA_RESTART;
    sigaction(SIGCHLD, &action, NULL);
    for (;;)
        pause();
}

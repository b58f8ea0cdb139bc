/* Installed set-user-ID root in its image: prints the effective uid it runs with, 0 unless
 * no_new_privs kept the set-user-ID bit from taking effect (what the NoNewPrivs specs of
 * critest read from registry.k8s.io/e2e-test-images/nonewprivs). */
#include <stdio.h>
#include <unistd.h>

int main(void)
{
    printf("Effective uid: %d\n", (int)geteuid());
    return 0;
}

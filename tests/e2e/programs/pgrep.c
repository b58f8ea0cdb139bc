/* pgrep NAME: the pids (one a line, but its own) whose command name contains NAME; exit 1 when
 * there is none.  The busybox of the test images lacks the applet; critest runs
 * `sh -c "pgrep sleep || true"` and wants an empty stderr. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: pgrep NAME\n");
        return 2;
    }
    DIR *proc = opendir("/proc");
    if (proc == NULL) {
        perror("pgrep: /proc");
        return 2;
    }
    int found = 0;
    long self = (long)getpid();
    struct dirent *entry;
    while ((entry = readdir(proc)) != NULL) {
        char *end;
        long pid = strtol(entry->d_name, &end, 10);
        if (*end != '\0' || pid <= 0 || pid == self)
            continue;
        char path[64], comm[64] = "";
        snprintf(path, sizeof(path), "/proc/%ld/comm", pid);
        FILE *file = fopen(path, "r");
        if (file == NULL)
            continue;
        if (fgets(comm, sizeof(comm), file) != NULL && strstr(comm, argv[1]) != NULL) {
            printf("%ld\n", pid);
            found = 1;
        }
        fclose(file);
    }
    closedir(proc);
    return found ? 0 : 1;
}

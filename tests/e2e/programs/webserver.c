/* A tiny HTTP server standing in for the nginx and httpd images of critest: answers every
 * request with 200 and a small page.  Configured by the image's environment:
 *   WEB_PORT     the TCP port (default 80)
 *   WEB_PIDFILE  a file to write its pid to (nginx's /var/run/nginx.pid)
 *   WEB_TITLE    what /proc/PID/cmdline shows: the program execs itself once under that argv[0]
 *                (nginx's "nginx: master process ...", which critest's pid namespace specs grep)
 *   WEB_BANNER   a line printed on stderr at start, "%s" replaced by the command line (httpd's
 *                "AH00094: Command line: '%s'", which critest's log spec looks for)
 * SIGTERM and SIGINT end it with status 0.  Built static by the CRI tests. */
#define _GNU_SOURCE
#include <netinet/in.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

static const char PAGE[] = "<html><body><h1>Welcome</h1><p>oci-runtime test web server</p>"
                           "</body></html>\n";

static void stop(int signo) { (void)signo; _exit(0); }

static void print_banner(const char *format, int argc, char **argv)
{
    char line[1024] = "";
    size_t used = 0;
    for (int i = 0; i < argc && used < sizeof(line) - 1; i++) {
        int n = snprintf(line + used, sizeof(line) - used, "%s%s", i ? " " : "", argv[i]);
        if (n < 0)
            break;
        used += (size_t)n;
    }
    const char *mark = strstr(format, "%s");
    if (mark == NULL)
        fprintf(stderr, "%s\n", format);
    else
        fprintf(stderr, "%.*s%s%s\n", (int)(mark - format), format, line, mark + 2);
    fflush(stderr);
}

static void answer(int connection)
{
    struct timeval timeout = {5, 0};
    setsockopt(connection, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
    char request[8192];
    size_t got = 0;
    while (got < sizeof(request) - 1) {
        ssize_t n = read(connection, request + got, sizeof(request) - 1 - got);
        if (n <= 0)
            break;
        got += (size_t)n;
        request[got] = '\0';
        if (strstr(request, "\r\n\r\n") != NULL || strstr(request, "\n\n") != NULL)
            break;
    }
    char reply[512];
    int n = snprintf(reply, sizeof(reply),
                     "HTTP/1.0 200 OK\r\nContent-Type: text/html\r\nContent-Length: %zu\r\n"
                     "Connection: close\r\n\r\n%s", sizeof(PAGE) - 1, PAGE);
    if (n > 0)
        (void)!write(connection, reply, (size_t)n);
}

int main(int argc, char **argv)
{
    const char *title = getenv("WEB_TITLE");
    if (title != NULL && *title && strcmp(argv[0], title) != 0) {
        const char *banner = getenv("WEB_BANNER");
        if (banner != NULL && *banner)
            print_banner(banner, argc, argv);
        /* Its own path, not /proc/self/exe: the command name (pidof's) is the file's name. */
        char self[PATH_MAX];
        ssize_t length = readlink("/proc/self/exe", self, sizeof(self) - 1);
        if (length <= 0) {
            perror("webserver: /proc/self/exe");
            return 1;
        }
        self[length] = '\0';
        char *args[] = {(char *)title, NULL};
        execv(self, args);
        perror(self);
        return 1;
    }
    if ((title == NULL || !*title) && getenv("WEB_BANNER") != NULL)
        print_banner(getenv("WEB_BANNER"), argc, argv);
    signal(SIGTERM, stop);
    signal(SIGINT, stop);
    signal(SIGPIPE, SIG_IGN);
    int port = getenv("WEB_PORT") ? atoi(getenv("WEB_PORT")) : 80;
    int listener = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int on = 1;
    setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                                  .sin_addr.s_addr = htonl(INADDR_ANY)};
    if (listener < 0 || bind(listener, (struct sockaddr *)&address, sizeof(address)) < 0
        || listen(listener, 64) < 0) {
        perror("webserver: listen");
        return 1;
    }
    const char *pid_file = getenv("WEB_PIDFILE");
    if (pid_file != NULL && *pid_file) {
        FILE *file = fopen(pid_file, "w");
        if (file == NULL) {
            perror(pid_file);
            return 1;
        }
        fprintf(file, "%d\n", (int)getpid());
        fclose(file);
    }
    for (;;) {
        int connection = accept4(listener, NULL, NULL, SOCK_CLOEXEC);
        if (connection < 0)
            continue;
        answer(connection);
        close(connection);
    }
}

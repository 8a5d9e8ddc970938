/*
 * blackhole — a backend that accepts TCP connections and never answers: the
 * hung Gateway or JobManager of the controller's stuck-backend test.  It
 * reads and discards what it is sent and holds every connection open until
 * the peer closes it or the process gets SIGTERM.  Bounded by --max-seconds.
 *
 *   blackhole --port-file P [--max-seconds N]
 */
#define _POSIX_C_SOURCE 200809L
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAXC 256

int main(int argc, char **argv)
{
    const char *port_file = NULL;
    long max_s = 600;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--port-file"))
            port_file = argv[i + 1];
        else if (!strcmp(argv[i], "--max-seconds"))
            max_s = atol(argv[i + 1]);
    }
    if (!port_file) {
        fprintf(stderr, "usage: blackhole --port-file P [--max-seconds N]\n");
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    int ls = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof a;
    if (ls < 0 || bind(ls, (struct sockaddr *)&a, sizeof a) < 0 || listen(ls, 64) < 0 ||
        getsockname(ls, (struct sockaddr *)&a, &al) < 0) {
        perror("blackhole: listen");
        return 1;
    }
    FILE *f = fopen(port_file, "w");
    if (!f) {
        perror(port_file);
        return 1;
    }
    fprintf(f, "%d\n", ntohs(a.sin_port));
    fclose(f);
    struct pollfd p[MAXC + 1] = {{.fd = ls, .events = POLLIN}};
    int n = 1;
    long accepted = 0;
    time_t end = time(NULL) + max_s;
    while (time(NULL) < end) {
        if (poll(p, (nfds_t)n, 1000) < 0)
            continue;
        if ((p[0].revents & POLLIN) && n <= MAXC) {
            int c = accept(ls, NULL, NULL);
            if (c >= 0) {
                p[n++] = (struct pollfd){.fd = c, .events = POLLIN};
                fprintf(stderr, "blackhole: connection %ld held\n", ++accepted);
            }
        }
        for (int i = 1; i < n; i++) {
            if (!(p[i].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            char buf[4096];
            if (read(p[i].fd, buf, sizeof buf) <= 0) { /* the peer gave up */
                close(p[i].fd);
                p[i--] = p[--n];
            }
        }
    }
    return 0;
}

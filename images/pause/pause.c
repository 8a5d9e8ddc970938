/*
 * pause — the sandbox (infra) container of a pod: holds the pod's namespaces
 * open and does nothing else.  As PID 1 of the pod's PID namespace (when the
 * pod shares it) it reaps orphaned children on SIGCHLD.  SIGTERM or SIGINT:
 * exit 0.  Statically linked, no files needed: it runs in a FROM scratch image.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef PAUSE_VERSION
#define PAUSE_VERSION "dev"
#endif

static void on_stop(int sig)
{
    (void)sig;
    _exit(0);
}

static void on_child(int sig)
{
    (void)sig;
    int saved = errno;
    while (waitpid(-1, NULL, WNOHANG) > 0)
        ;
    errno = saved;
}

static int catch (int sig, void (*fn)(int), int flags)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = fn;
    sa.sa_flags = flags;
    sigemptyset(&sa.sa_mask);
    return sigaction(sig, &sa, NULL);
}

int main(int argc, char **argv)
{
    if (argc > 1 && (strcmp(argv[1], "-v") == 0 || strcmp(argv[1], "--version") == 0)) {
        printf("flinkpg-pause %s\n", PAUSE_VERSION);
        return 0;
    }
    if (argc > 1) {
        fprintf(stderr, "usage: %s [--version]\n", argv[0]);
        return 2;
    }
    if (catch (SIGTERM, on_stop, 0) != 0 || catch (SIGINT, on_stop, 0) != 0 ||
        catch (SIGCHLD, on_child, SA_NOCLDSTOP | SA_RESTART) != 0) {
        perror("pause: sigaction");
        return 1;
    }
    if (getpid() != 1)
        fprintf(stderr, "pause: warning: not PID 1\n");
    for (;;)
        pause();
}

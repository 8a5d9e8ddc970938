/*
 * mockkafka — hosts librdkafka's built-in mock cluster in its own process, so
 * tests can point the real sink (and generator) at a Kafka protocol peer on
 * 127.0.0.1 without a JVM.  The mock has no SASL and no CreateTopics:
 * topics are created here, up front.
 *
 *   mockkafka [--brokers N] [--max-seconds S] [--bootstrap-file F] topic[:partitions] ...
 *
 * Prints the bootstrap servers on stdout (and into F), then serves until
 * SIGTERM or S seconds (default 1800), whichever comes first.  SIGUSR1 takes
 * every broker down (connections refused: a Kafka outage), SIGUSR2 brings
 * them back.
 */
#define _POSIX_C_SOURCE 200809L
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t stop, want_down, is_down;
static void on_signal(int sig)
{
    if (sig == SIGUSR1)
        want_down = 1;
    else if (sig == SIGUSR2)
        want_down = 0;
    else
        stop = 1;
}

int main(int argc, char **argv)
{
    int brokers = 1, max_seconds = 1800;
    const char *bootstrap_file = NULL;
    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        if (!strcmp(argv[i], "--brokers") && i + 1 < argc)
            brokers = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--max-seconds") && i + 1 < argc)
            max_seconds = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--bootstrap-file") && i + 1 < argc)
            bootstrap_file = argv[++i];
        else {
            fprintf(stderr, "usage: mockkafka [--brokers N] [--max-seconds S] "
                            "[--bootstrap-file F] topic[:partitions] ...\n");
            return 2;
        }
    }
    char err[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "log_level", "3", err, sizeof err);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    if (!rk) {
        fprintf(stderr, "mockkafka: %s\n", err);
        return 1;
    }
    rd_kafka_mock_cluster_t *mc = rd_kafka_mock_cluster_new(rk, brokers);
    if (!mc) {
        fprintf(stderr, "mockkafka: cannot create mock cluster\n");
        return 1;
    }
    for (; i < argc; i++) {
        char *name = strdup(argv[i]);
        char *colon = strchr(name, ':');
        int parts = 1;
        if (colon) {
            *colon = '\0';
            parts = atoi(colon + 1);
        }
        rd_kafka_resp_err_t e = rd_kafka_mock_topic_create(mc, name, parts, 1);
        if (e) {
            fprintf(stderr, "mockkafka: topic %s: %s\n", name, rd_kafka_err2str(e));
            return 1;
        }
        free(name);
    }
    const char *bs = rd_kafka_mock_cluster_bootstraps(mc);
    printf("%s\n", bs);
    fflush(stdout);
    if (bootstrap_file) {
        char tmp[4096];
        snprintf(tmp, sizeof tmp, "%s.tmp", bootstrap_file);
        FILE *f = fopen(tmp, "w");
        if (!f || fprintf(f, "%s\n", bs) < 0 || fclose(f) != 0 || rename(tmp, bootstrap_file)) {
            fprintf(stderr, "mockkafka: cannot write %s\n", bootstrap_file);
            return 1;
        }
    }
    struct sigaction sa = {0};
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGUSR1, &sa, NULL);
    sigaction(SIGUSR2, &sa, NULL);
    time_t end = time(NULL) + max_seconds;
    while (!stop && time(NULL) < end) {
        if (want_down != is_down) {
            for (int b = 1; b <= brokers; b++) {
                rd_kafka_resp_err_t e = want_down ? rd_kafka_mock_broker_set_down(mc, b)
                                                  : rd_kafka_mock_broker_set_up(mc, b);
                if (e)
                    fprintf(stderr, "mockkafka: broker %d: %s\n", b, rd_kafka_err2str(e));
            }
            is_down = want_down;
            fprintf(stderr, "mockkafka: brokers %s\n", is_down ? "down" : "up");
        }
        struct timespec ts = {0, 100 * 1000000L};
        nanosleep(&ts, NULL);
    }
    rd_kafka_mock_cluster_destroy(mc);
    rd_kafka_destroy(rk);
    return 0;
}

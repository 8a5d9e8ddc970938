/*
 * kconsume — dump a topic for the tests: every record of every partition from
 * the beginning to the end of the partition, then exit.  No consumer group
 * (partitions are assigned directly), so there is no group-join delay.
 *
 *   kconsume -b BOOTSTRAP -t TOPIC
 *
 * One line per record, in partition then offset order:
 *   <partition> <offset> <key> <value>
 * A key or value framed with the Schema Registry wire header is printed as
 * "[sr=<id>]<payload>"; a null value (tombstone) as "null"; an absent key as "-".
 */
#define _POSIX_C_SOURCE 200809L
#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void part(FILE *out, const void *data, size_t len, const char *absent)
{
    const unsigned char *p = data;
    if (!p) {
        fputs(absent, out);
        return;
    }
    if (len >= 5 && p[0] == 0) {
        fprintf(out, "[sr=%u]",
                (unsigned)p[1] << 24 | (unsigned)p[2] << 16 | (unsigned)p[3] << 8 | p[4]);
        p += 5;
        len -= 5;
    }
    fwrite(p, 1, len, out);
}

int main(int argc, char **argv)
{
    const char *bootstrap = NULL, *topic = NULL;
    int o;
    while ((o = getopt(argc, argv, "b:t:")) != -1) {
        if (o == 'b')
            bootstrap = optarg;
        else if (o == 't')
            topic = optarg;
        else
            return 2;
    }
    if (!bootstrap || !topic) {
        fprintf(stderr, "usage: kconsume -b BOOTSTRAP -t TOPIC\n");
        return 2;
    }
    char err[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if (rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap, err, sizeof err) ||
        rd_kafka_conf_set(conf, "group.id", "kconsume", err, sizeof err) ||
        rd_kafka_conf_set(conf, "enable.partition.eof", "true", err, sizeof err) ||
        rd_kafka_conf_set(conf, "fetch.wait.max.ms", "10", err, sizeof err)) {
        fprintf(stderr, "kconsume: %s\n", err);
        return 2;
    }
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
    if (!rk) {
        fprintf(stderr, "kconsume: %s\n", err);
        return 2;
    }
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t e = rd_kafka_metadata(rk, 0, rkt, &md, 10000);
    if (e || md->topic_cnt != 1 || md->topics[0].err) {
        fprintf(stderr, "kconsume: metadata of %s: %s\n", topic,
                rd_kafka_err2str(e ? e : md->topics[0].err));
        return 2;
    }
    int nparts = md->topics[0].partition_cnt;
    rd_kafka_metadata_destroy(md);
    rd_kafka_topic_destroy(rkt);
    int rc = 0;
    /* all partitions at once; lines are kept per partition and printed in
     * partition order at the end */
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(nparts);
    for (int p = 0; p < nparts; p++)
        rd_kafka_topic_partition_list_add(l, topic, p)->offset = RD_KAFKA_OFFSET_BEGINNING;
    e = rd_kafka_assign(rk, l);
    rd_kafka_topic_partition_list_destroy(l);
    if (e) {
        fprintf(stderr, "kconsume: assign: %s\n", rd_kafka_err2str(e));
        return 2;
    }
    char **out = calloc((size_t)nparts, sizeof *out);
    size_t *outlen = calloc((size_t)nparts, sizeof *outlen);
    FILE **pf = calloc((size_t)nparts, sizeof *pf);
    for (int p = 0; p < nparts; p++)
        pf[p] = open_memstream(&out[p], &outlen[p]);
    int eofs = 0;
    for (int idle = 0; eofs < nparts && idle < 300 && rc == 0;) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
        if (!m) {
            idle++;
            continue;
        }
        if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            eofs++;
        } else if (m->err) {
            fprintf(stderr, "kconsume: %s\n", rd_kafka_message_errstr(m));
            rc = 1;
        } else {
            FILE *f = pf[m->partition];
            fprintf(f, "%d %lld ", m->partition, (long long)m->offset);
            part(f, m->key, m->key_len, "-");
            fputc(' ', f);
            part(f, m->payload, m->len, "null");
            fputc('\n', f);
        }
        rd_kafka_message_destroy(m);
    }
    if (eofs < nparts && rc == 0) {
        fprintf(stderr, "kconsume: timed out before the end of every partition\n");
        rc = 1;
    }
    for (int p = 0; p < nparts; p++) {
        fclose(pf[p]);
        if (out[p])
            fwrite(out[p], 1, outlen[p], stdout);
        free(out[p]);
    }
    free(out);
    free(outlen);
    free(pf);
    rd_kafka_assign(rk, NULL);
    rd_kafka_destroy(rk);
    return rc;
}

/*
 * pgprobe — when do changes become visible in PostgreSQL?  The probe side of
 * `make race` (racegen writes the probes).
 *
 *   pgprobe -T TABLE --probes FILE [-d CONNINFO] [--interval-us N] [--timeout S]
 *
 * FILE grows while racegen runs: one line "id<TAB>version" per probe change it
 * sent (marker rows have negative ids; version is the send time in µs since the
 * epoch), and a last line "end".  pgprobe polls the marker rows of TABLE on one
 * connection every N µs (default 2000).  A probe counts as visible at the first
 * poll whose row holds that version or a later one, so a probe overwritten
 * before any poll saw it still gets its (longer) latency.  It also notes the
 * first poll at which any ordinary row (id >= 0) exists.
 *
 * Prints one line: first_row_ms= (epoch ms, 0 if never) done_ms= (all probes
 * visible) probes= seen= p50_ms= p99_ms= max_ms=.  Exit 0 once every probe up to
 * "end" is visible, 1 on timeout (default 600 s) or a query error.
 */
#define _POSIX_C_SOURCE 200809L
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_IDS 64

typedef struct {
    long long *sent;     /* versions in send order */
    size_t n, cap, next; /* next: first not yet visible */
} probe_id;

static probe_id ids[MAX_IDS];
static double *lat;
static size_t nlat, caplat, total;

static long long now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void push(void **arr, size_t *cap, size_t n, size_t elem)
{
    if (n < *cap)
        return;
    *cap = *cap ? *cap * 2 : 1024;
    void *p = realloc(*arr, *cap * elem);
    if (!p) {
        fprintf(stderr, "pgprobe: out of memory\n");
        exit(2);
    }
    *arr = p;
}

/* New complete lines of the probes file; returns 1 once "end" was read. */
static int read_probes(FILE *f)
{
    char line[128];
    for (;;) {
        long pos = ftell(f);
        if (!fgets(line, sizeof line, f))
            break;
        if (!strchr(line, '\n')) { /* a line still being written */
            fseek(f, pos, SEEK_SET);
            break;
        }
        if (!strcmp(line, "end\n"))
            return 1;
        long long id, version;
        if (sscanf(line, "%lld\t%lld", &id, &version) != 2 || id >= 0 || -id > MAX_IDS) {
            fprintf(stderr, "pgprobe: bad probe line: %s", line);
            exit(2);
        }
        probe_id *p = &ids[-id - 1];
        push((void **)&p->sent, &p->cap, p->n, sizeof *p->sent);
        p->sent[p->n++] = version;
        total++;
    }
    clearerr(f);
    return 0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double pct(double p)
{
    if (!nlat)
        return 0;
    size_t i = (size_t)(p * (double)(nlat - 1) + 0.5);
    return lat[i];
}

int main(int argc, char **argv)
{
    const char *table = NULL, *path = NULL, *conninfo = "";
    long interval_us = 2000, timeout_s = 600;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "-T"))
            table = argv[i + 1];
        else if (!strcmp(argv[i], "--probes"))
            path = argv[i + 1];
        else if (!strcmp(argv[i], "-d"))
            conninfo = argv[i + 1];
        else if (!strcmp(argv[i], "--interval-us"))
            interval_us = atol(argv[i + 1]);
        else if (!strcmp(argv[i], "--timeout"))
            timeout_s = atol(argv[i + 1]);
        else {
            fprintf(stderr, "pgprobe: unknown option %s\n", argv[i]);
            return 2;
        }
    }
    if (!table || !path || (argc - 1) % 2) {
        fprintf(stderr, "usage: pgprobe -T TABLE --probes FILE [-d CONNINFO] [--interval-us N] "
                        "[--timeout S]\n");
        return 2;
    }
    FILE *f = fopen(path, "r");
    PGconn *pg = PQconnectdb(conninfo);
    if (!f || PQstatus(pg) != CONNECTION_OK) {
        fprintf(stderr, "pgprobe: %s\n", f ? PQerrorMessage(pg) : "cannot open the probes file");
        return 2;
    }
    char markers[512], first[512];
    snprintf(markers, sizeof markers, "SELECT id, version FROM %s WHERE id < 0", table);
    snprintf(first, sizeof first, "SELECT 1 FROM %s WHERE id >= 0 LIMIT 1", table);
    long long deadline = now_us() + (long long)timeout_s * 1000000, first_row = 0, done = 0;
    int ended = 0, rc = 1;
    while (now_us() < deadline) {
        ended |= read_probes(f);
        long long t = now_us();
        if (!first_row) {
            PGresult *r = PQexec(pg, first);
            if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) > 0)
                first_row = t;
            PQclear(r);
        }
        PGresult *r = PQexec(pg, markers);
        if (PQresultStatus(r) != PGRES_TUPLES_OK) {
            /* the table may not exist yet while a contender starts */
            PQclear(r);
            struct timespec ts = {0, interval_us * 1000};
            nanosleep(&ts, NULL);
            continue;
        }
        t = now_us();
        for (int i = 0; i < PQntuples(r); i++) {
            long long id = atoll(PQgetvalue(r, i, 0)), v = atoll(PQgetvalue(r, i, 1));
            if (id >= 0 || -id > MAX_IDS)
                continue;
            probe_id *p = &ids[-id - 1];
            while (p->next < p->n && p->sent[p->next] <= v) {
                push((void **)&lat, &caplat, nlat, sizeof *lat);
                lat[nlat++] = (double)(t - p->sent[p->next++]) / 1000.0;
            }
        }
        PQclear(r);
        if (ended && nlat == total) {
            done = t;
            rc = 0;
            break;
        }
        struct timespec ts = {0, interval_us * 1000};
        nanosleep(&ts, NULL);
    }
    qsort(lat, nlat, sizeof *lat, cmp_double);
    printf("first_row_ms=%lld done_ms=%lld probes=%zu seen=%zu p50_ms=%.1f p99_ms=%.1f "
           "max_ms=%.1f\n",
           first_row / 1000, done / 1000, total, nlat, pct(0.50), pct(0.99),
           nlat ? lat[nlat - 1] : 0.0);
    PQfinish(pg);
    fclose(f);
    for (int i = 0; i < MAX_IDS; i++)
        free(ids[i].sent);
    free(lat);
    return rc;
}

/*
 * flinkpg-statements — submit, inspect, stop, resume and delete the demo's
 * Flink statements without the controller, on either Flink flavour:
 *
 *   gateway    an Apache Flink SQL Gateway (+ JobManager REST), common/flinkgw.h
 *   confluent  Confluent Cloud's statements API (SQL API v1), common/confluent.h
 *
 * Subcommands (first positional argument):
 *   submit FILE...      run template files in one session (gateway) or as one
 *                       statement resource per SQL statement (confluent)
 *   status ID|NAME      job state (gateway) or phase + detail (confluent)
 *   list                jobs on the cluster / statements in the environment
 *   stop ID|NAME        stop; --savepoint prints the savepoint path (gateway)
 *   resume FILE...|NAME gateway: submit again from --from-savepoint;
 *                       confluent: set spec.stopped = false
 *   delete ID|NAME      gateway: cancel the job; confluent: delete the statement
 *
 * Results go to stdout as key=value lines (job_id=…, savepoint=…, state=…) so
 * scripts can read them; logs go to stderr in logfmt.
 */
#define _POSIX_C_SOURCE 200809L
#define FLINKPG_WITH_JANSSON
#define FLINKPG_WITH_CURL
#include "../common/xalloc.h"
#include "../common/libversions.h"
#include "../common/backoff.h"
#include "../common/config.h"
#include "../common/confluent.h"
#include "../common/flinkgw.h"
#include "../common/sqltmpl.h"
#include "../common/startup.h"
#include "options.h"
#include "../common/httpc.h"
#include "../common/log.h"

#include "../common/strbuf.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *example =
    "  # Apache Flink: the retract demo, in one session, printing job_id=...\n"
    "  flinkpg-statements submit sql/flink/sources.sql sql/flink/retract.sql \\\n"
    "      --gateway-url http://127.0.0.1:18083 --rest-url http://127.0.0.1:18081 \\\n"
    "      -v orders_topic=orders -v shipments_topic=shipments -v output_topic=demo-retract \\\n"
    "      -v bootstrap=127.0.0.1:19092 -v kafka_options= -v job_name=flinkpg-demo-retract\n"
    "  flinkpg-statements status <job-id>\n"
    "  flinkpg-statements stop <job-id> --savepoint          # prints savepoint=file:/...\n"
    "  flinkpg-statements resume --from-savepoint file:/... sql/flink/sources.sql \\\n"
    "      sql/flink/retract.sql -v ...                       # same job_name\n"
    "  # Confluent Cloud (FLINK_API_KEY / FLINK_API_SECRET in the environment or .env):\n"
    "  flinkpg-statements --backend confluent --region us-east-1 --org <org-id> \\\n"
    "      --environment env-abc --compute-pool lfcp-abc --catalog my-env --database my-cluster "
    "\\\n"
    "      submit sql/confluent/retract.sql --name flinkpg-demo-retract -v ...\n"
    "  flinkpg-statements --backend confluent ... status flinkpg-demo-retract\n"
    "  flinkpg-statements --backend confluent ... stop flinkpg-demo-retract\n"
    "  flinkpg-statements --backend confluent ... delete flinkpg-demo-retract";

static void versions(void)
{
    libversion_jansson();
    libversion_curl();
}

static int usage(const char *msg)
{
    fprintf(stderr, "flinkpg-statements: %s (see --help)\n", msg);
    return 2;
}

/* "a=b" list -> NULL-terminated alternating array; NULL on a malformed item */
static char **pairs(cfg_opt *o, const char *flag, char *err, size_t errlen)
{
    char **out = xcalloc(o->nlist * 2 + 2, sizeof *out);
    for (size_t i = 0; i < o->nlist; i++) {
        char *eq = strchr(o->list[i], '=');
        if (!eq || eq == o->list[i]) {
            snprintf(err, errlen, "--%s needs name=value, got \"%s\"", flag, o->list[i]);
            for (size_t j = 0; j < 2 * i; j++)
                free(out[j]);
            free(out);
            return NULL;
        }
        out[2 * i] = strndup(o->list[i], (size_t)(eq - o->list[i]));
        out[2 * i + 1] = strdup(eq + 1);
    }
    return out;
}

static void free_pairs(char **p)
{
    for (size_t i = 0; p && p[i]; i++)
        free(p[i]);
    free(p);
}

/* ---- gateway ---- */

static bool wait_job_running(flinkgw *gw, const char *job, long timeout_ms, char *err,
                             size_t errlen)
{
    int64_t deadline = now_ms() + timeout_ms;
    char state[32] = "";
    while (now_ms() < deadline) {
        if (!flinkgw_job_state(gw, job, state, sizeof state, err, errlen))
            return false;
        bool all = false;
        if (strcmp(state, "RUNNING") == 0 &&
            flinkgw_job_all_tasks_running(gw, job, &all, err, errlen) && all)
            return true;
        if (!strcmp(state, "FAILED") || !strcmp(state, "CANCELED") || !strcmp(state, "FINISHED")) {
            snprintf(err, errlen,
                     "job %s is %s (see the JobManager log / REST /jobs/%s/exceptions)", job, state,
                     job);
            return false;
        }
        sleep_ms_unless(300, NULL);
    }
    char cause[768] = "", cerr[256];
    if (!flinkgw_job_exception(gw, job, cause, sizeof cause, cerr, sizeof cerr))
        cause[0] = 0;
    snprintf(err, errlen, "job %s still %s after %ld ms%s%s", job, state, timeout_ms,
             *cause ? "; last failure: " : "", cause);
    return false;
}

/* submit / resume FILE...: 0, 1 with err, or a usage error's status */
static int gw_submit(cfg_spec *c, flinkgw *gw, const char *cmd, char **args, int nargs, char *err,
                     size_t errlen)
{
    if (nargs < 1)
        return usage("submit/resume needs at least one SQL file");
    const char *sp = cfg_str(c, "from-savepoint");
    if (!strcmp(cmd, "resume") && (!sp || !*sp))
        return usage(
            "resume on the gateway needs --from-savepoint PATH (printed by stop --savepoint)");
    char **vars = pairs(cfg_find(c, "var"), "var", err, errlen), **props = NULL;
    if (!vars ||
        !(props = pairs(cfg_find(c, "session-property"), "session-property", err, errlen))) {
        free_pairs(vars);
        return usage(err);
    }
    int rc = 1;
    char *job = NULL;
    /* every placeholder is checked before anything reaches Flink */
    for (int i = 0; i < nargs; i++) {
        size_t n;
        char **st = sqltmpl_file(args[i], (const char *const *)vars, &n, err, errlen);
        if (!st)
            goto out;
        sqltmpl_free_list(st, n);
    }
    if (!flinkgw_open_session(gw, "flinkpg-statements", (const char *const *)props, err, errlen) ||
        (sp && *sp && !flinkgw_resume_from(gw, sp, err, errlen)))
        goto out;
    for (int i = 0; i < nargs; i++)
        if (!flinkgw_run_file(gw, args[i], (const char *const *)vars, &job, err, errlen))
            goto out;
    printf("job_id=%s\n", job ? job : "");
    fflush(stdout);
    if (job && cfg_bool(c, "wait-running") &&
        !wait_job_running(gw, job, (long)cfg_int(c, "timeout-ms"), err, errlen))
        goto out;
    rc = 0;
out:
    free(job);
    free_pairs(vars);
    free_pairs(props);
    return rc;
}

static int gw_list(flinkgw *gw, char *err, size_t errlen)
{
    json_t *jobs = flinkgw_jobs(gw, err, errlen);
    if (!jobs)
        return 1;
    size_t i;
    json_t *j;
    json_array_foreach (jobs, i, j) {
        const char *id = json_string_value(json_object_get(j, "jid"));
        const char *name = json_string_value(json_object_get(j, "name"));
        const char *st = json_string_value(json_object_get(j, "state"));
        printf("%s %-10s %s\n", id ? id : "?", st ? st : "?", name ? name : "");
    }
    json_decref(jobs);
    return 0;
}

/* stop / delete JOB-ID (stop --savepoint prints the savepoint's path) */
static int gw_stop(cfg_spec *c, flinkgw *gw, const char *cmd, const char *job, char *err,
                   size_t errlen)
{
    bool with_sp = !strcmp(cmd, "stop") && cfg_bool(c, "savepoint");
    char *path = NULL;
    if (!flinkgw_open_session(gw, "flinkpg-statements", NULL, err, errlen) ||
        !flinkgw_stop_job(gw, job, with_sp, cfg_bool(c, "drain"), &path, err, errlen))
        return 1;
    if (path)
        printf("savepoint=%s\n", path);
    printf("job_id=%s\nstate=stopped\n", job);
    free(path);
    return 0;
}

static int gateway_main(cfg_spec *c, const char *cmd, char **args, int nargs)
{
    char err[2048] = "";
    flinkgw *gw = flinkgw_new(cfg_str(c, "gateway-url"), cfg_str(c, "rest-url"));
    if (!gw)
        return usage("out of memory");
    flinkgw_set_timeout_ms(gw, (long)cfg_int(c, "timeout-ms"));
    int rc;
    char state[32];
    if (!strcmp(cmd, "submit") || !strcmp(cmd, "resume"))
        rc = gw_submit(c, gw, cmd, args, nargs, err, sizeof err);
    else if (!strcmp(cmd, "list"))
        rc = gw_list(gw, err, sizeof err);
    else if (strcmp(cmd, "status") && strcmp(cmd, "stop") && strcmp(cmd, "delete"))
        rc = usage("unknown subcommand; use submit, status, list, stop, resume or delete");
    else if (nargs != 1)
        rc = usage("status, stop and delete need one job id");
    else if (!strcmp(cmd, "status")) {
        rc = flinkgw_job_state(gw, args[0], state, sizeof state, err, sizeof err) ? 0 : 1;
        if (!rc)
            printf("job_id=%s\nstate=%s\n", args[0], state);
    } else
        rc = gw_stop(c, gw, cmd, args[0], err, sizeof err);
    if (rc == 1) {
        log_error("flink_failed", "command=%s error=%s", cmd, lq(err));
        fprintf(stderr, "flinkpg-statements %s: %s\n", cmd, err);
    }
    flinkgw_free(gw);
    return rc;
}

/* ---- confluent ---- */

static bool phase_in(const char *phase, const char *list)
{
    if (!phase)
        return false;
    size_t n = strlen(phase);
    for (const char *p = list; (p = strstr(p, phase)); p += n)
        if ((p == list || p[-1] == ' ') && (p[n] == ' ' || p[n] == 0))
            return true;
    return false;
}

/* polls until the phase is one of `until` (space-separated); FAILED is an error */
static confluent_rc wait_phase(confluent *cf, const char *name, const char *until, long timeout_ms,
                               char *phase_out, size_t plen, char *err, size_t errlen)
{
    int64_t deadline = now_ms() + timeout_ms;
    for (;;) {
        confluent_statement s;
        confluent_rc rc = confluent_get(cf, name, &s, err, errlen);
        if (rc != CF_OK)
            return rc;
        snprintf(phase_out, plen, "%s", s.phase ? s.phase : "");
        bool done = phase_in(s.phase, until);
        bool failed = phase_in(s.phase, "FAILED FAILING");
        if (failed)
            snprintf(err, errlen, "statement %s is %s: %s", name, s.phase,
                     s.detail ? s.detail : "(no detail)");
        confluent_statement_free(&s);
        if (failed)
            return CF_ERROR;
        if (done)
            return CF_OK;
        if (now_ms() > deadline) {
            snprintf(err, errlen, "statement %s still %s after %ld ms", name, phase_out,
                     timeout_ms);
            return CF_ERROR;
        }
        sleep_ms_unless(500, NULL);
    }
}

/* DELETE answers 202 and the statement passes through DELETING: wait
 * until a GET no longer finds it */
static confluent_rc wait_gone(confluent *cf, const char *name, long timeout_ms, char *err,
                              size_t errlen)
{
    int64_t deadline = now_ms() + timeout_ms;
    for (;;) {
        confluent_statement s;
        confluent_rc rc = confluent_get(cf, name, &s, err, errlen);
        if (rc == CF_NOT_FOUND)
            return CF_OK;
        if (rc != CF_OK)
            return rc;
        char phase[32];
        snprintf(phase, sizeof phase, "%s", s.phase ? s.phase : "?");
        confluent_statement_free(&s);
        if (now_ms() > deadline) {
            snprintf(err, errlen, "statement %s still %s %ld ms after its delete", name, phase,
                     timeout_ms);
            return CF_ERROR;
        }
        sleep_ms_unless(500, NULL);
    }
}

static int confluent_submit(cfg_spec *c, confluent *cf, char **args, int nargs, char *err,
                            size_t errlen)
{
    const char *name = cfg_str(c, "name");
    if (!name || !*name) {
        snprintf(err, errlen, "--name is required for submit on confluent");
        return 2;
    }
    if (!confluent_valid_name(name, err, errlen))
        return 2;
    /* The files name their tables unqualified (`orders`), which Confluent
     * resolves only in sql.current-catalog / sql.current-database
     * (docs.confluent.io/cloud/current/flink/reference/statements/
     * set.html: "sql.current-catalog", "sql.current-database"). */
    static const char *const where[] = {"catalog", "database"};
    for (size_t i = 0; i < 2; i++)
        if (!cfg_str(c, where[i]) || !*cfg_str(c, where[i])) {
            const cfg_opt *o = cfg_find(c, where[i]);
            snprintf(err, errlen,
                     "submit on confluent needs --%s (or %s): the statements' table names are "
                     "resolved in sql.current-%s",
                     o->name, o->env, where[i]);
            return 2;
        }
    char **vars = pairs(cfg_find(c, "var"), "var", err, errlen);
    if (!vars)
        return 2;
    const char *props[] = {"sql.current-catalog", cfg_str(c, "catalog"), "sql.current-database",
                           cfg_str(c, "database"), NULL};
    /* every statement of every file, in order */
    char **all = NULL;
    size_t nall = 0;
    int rc = 1;
    for (int i = 0; i < nargs; i++) {
        size_t n = 0;
        char **st = sqltmpl_file(args[i], (const char *const *)vars, &n, err, errlen);
        if (!st) {
            rc = 2; /* a file missing or a placeholder without a value: usage */
            goto out;
        }
        all = xrealloc(all, (nall + n + 1) * sizeof *all);
        memcpy(all + nall, st, n * sizeof *st);
        nall += n;
        free(st);
    }
    long timeout = (long)cfg_int(c, "timeout-ms");
    for (size_t i = 0; i < nall; i++) {
        bool last = i + 1 == nall;
        char sname[128];
        char suffix[32] = "";
        if (!last)
            snprintf(suffix, sizeof suffix, "-ddl-%zu", i + 1);
        confluent_fit_name(name, suffix, CONFLUENT_NAME_MAX, sname, sizeof sname);
        confluent_statement s;
        confluent_rc r = confluent_create(cf, sname, all[i], cfg_str(c, "compute-pool"),
                                          cfg_str(c, "principal"), props, &s, err, errlen);
        if (r != CF_OK)
            goto out;
        confluent_statement_free(&s);
        char phase[32];
        /* DDL must complete before the next statement can see its table */
        if ((!last || cfg_bool(c, "wait-running")) &&
            wait_phase(cf, sname, last ? "RUNNING COMPLETED" : "COMPLETED", timeout, phase,
                       sizeof phase, err, errlen) != CF_OK)
            goto out;
        printf("statement=%s\n", sname);
        fflush(stdout);
    }
    rc = 0;
out:
    sqltmpl_free_list(all, nall);
    free_pairs(vars);
    return rc;
}

/* A client from the options, or NULL with the usage error printed (*rc). */
static confluent *confluent_client(cfg_spec *c, int *rc)
{
    char err[2048];
    /* what every call needs, named as the user sets it */
    static const char *const need[] = {"org", "environment", "flink-api-key", "flink-api-secret"};
    for (size_t i = 0; i < sizeof need / sizeof need[0]; i++) {
        const char *v = cfg_str(c, need[i]);
        if (!v || !*v) {
            cfg_opt *o = cfg_find(c, need[i]);
            snprintf(err, sizeof err, "--backend confluent needs --%s (or %s)", o->name, o->env);
            *rc = usage(err);
            return NULL;
        }
    }
    if ((!cfg_str(c, "region") || !*cfg_str(c, "region")) &&
        (!cfg_str(c, "confluent-url") || !*cfg_str(c, "confluent-url"))) {
        *rc = usage("--backend confluent needs --region (or CONFLUENT_REGION), or --confluent-url "
                    "(or CONFLUENT_FLINK_URL)");
        return NULL;
    }
    confluent_opts o = {.base_url = cfg_str(c, "confluent-url"),
                        .cloud = cfg_str(c, "cloud"),
                        .region = cfg_str(c, "region"),
                        .org = cfg_str(c, "org"),
                        .env = cfg_str(c, "environment"),
                        .api_key = cfg_str(c, "flink-api-key"),
                        .api_secret = cfg_str(c, "flink-api-secret")};
    confluent *cf = confluent_new(&o, err, sizeof err);
    if (!cf)
        *rc = usage(err);
    return cf;
}

static void print_statement(const char *name, const char *phase, void *ctx)
{
    (void)ctx;
    printf("%s %s\n", name, phase);
}

/* status, stop, resume or delete of one statement */
static confluent_rc cf_one(cfg_spec *c, confluent *cf, const char *cmd, const char *name, char *err,
                           size_t errlen)
{
    confluent_rc r;
    if (!strcmp(cmd, "status")) {
        confluent_statement s;
        r = confluent_get(cf, name, &s, err, errlen);
        if (r == CF_OK) {
            printf("statement=%s\nphase=%s\nstopped=%s\ndetail=%s\n", name, s.phase ? s.phase : "",
                   s.stopped ? "true" : "false", s.detail ? s.detail : "");
            confluent_statement_free(&s);
        }
    } else if (!strcmp(cmd, "delete")) {
        r = confluent_delete(cf, name, err, errlen);
        if (r == CF_OK)
            r = wait_gone(cf, name, (long)cfg_int(c, "timeout-ms"), err, errlen);
        if (r == CF_OK)
            printf("statement=%s\ndeleted=true\n", name);
    } else { /* stop, resume */
        bool stop = !strcmp(cmd, "stop");
        r = confluent_set_stopped(cf, name, stop, err, errlen);
        char phase[32] = "";
        if (r == CF_OK && cfg_bool(c, "wait-running"))
            r = wait_phase(cf, name, stop ? "STOPPED" : "RUNNING", (long)cfg_int(c, "timeout-ms"),
                           phase, sizeof phase, err, errlen);
        if (r == CF_OK)
            printf("statement=%s\nstopped=%s\n%s%s%s", name, stop ? "true" : "false",
                   *phase ? "phase=" : "", phase, *phase ? "\n" : "");
    }
    return r;
}

static int confluent_main(cfg_spec *c, const char *cmd, char **args, int nargs)
{
    static const char *const one[] = {"status", "stop", "resume", "delete"};
    bool is_one = false;
    for (size_t i = 0; i < 4; i++)
        is_one |= !strcmp(cmd, one[i]);
    if (!is_one && strcmp(cmd, "submit") && strcmp(cmd, "list"))
        return usage("unknown subcommand; use submit, status, list, stop, resume or delete");
    if (!strcmp(cmd, "submit") && nargs < 1)
        return usage("submit needs at least one SQL file");
    if (is_one && nargs != 1)
        return usage("status, stop, resume and delete need one statement name");
    int rc = 0;
    confluent *cf = confluent_client(c, &rc);
    if (!cf)
        return rc;
    char err[2048] = "";
    confluent_rc r;
    if (!strcmp(cmd, "submit")) {
        rc = confluent_submit(c, cf, args, nargs, err, sizeof err);
        if (rc == 2) {
            confluent_free(cf);
            return usage(err);
        }
        r = rc ? CF_ERROR : CF_OK;
    } else if (!strcmp(cmd, "list")) {
        r = confluent_each(cf, print_statement, NULL, err, sizeof err);
    } else {
        r = cf_one(c, cf, cmd, args[0], err, sizeof err);
    }
    rc = r == CF_OK ? 0 : r == CF_NOT_FOUND ? 3 : 1;
    if (r != CF_OK) {
        log_error("confluent_failed", "command=%s error=%s", cmd, lq(err));
        fprintf(stderr, "flinkpg-statements %s: %s\n", cmd, err);
    }
    confluent_free(cf);
    return rc;
}

int main(int argc, char **argv)
{
    char err[1024];
    cfg_spec c = {
        .prog = "flinkpg-statements",
        .summary = "submit, inspect, stop, resume and delete Flink statements "
                   "(SQL Gateway or Confluent Cloud)",
        .usage = "flinkpg-statements [options] submit|status|list|stop|resume|delete ARGS\n"
                 "       flinkpg-statements [options] submit FILE.sql... [-v name=value]...\n"
                 "       flinkpg-statements [options] status JOB-ID|NAME\n"
                 "       flinkpg-statements [options] list\n"
                 "       flinkpg-statements [options] stop JOB-ID|NAME [--savepoint] [--drain]\n"
                 "       flinkpg-statements [options] resume --from-savepoint PATH FILE.sql...   "
                 "(gateway)\n"
                 "       flinkpg-statements [options] resume NAME                              "
                 "(confluent)\n"
                 "       flinkpg-statements [options] delete JOB-ID|NAME",
        .versions = versions,
        .usage_example = example,
        .opts = statements_options,
        .nopts = statements_noptions};
    /* a command-line tool: Ctrl-C ends it at once, no stop flag */
    int rc = startup_options(&c, argc, argv, "statements", true);
    if (rc >= 0) {
        cfg_free(&c);
        return rc;
    }
    if (c.nargs < 1) {
        cfg_free(&c);
        return usage("a subcommand is required: submit, status, list, stop, resume or delete");
    }
    if (!httpc_global_init(err, sizeof err)) {
        cfg_free(&c);
        return usage(err);
    }
    const char *backend = cfg_str(&c, "backend");
    if (!strcmp(backend, "gateway"))
        rc = gateway_main(&c, c.args[0], c.args + 1, c.nargs - 1);
    else if (!strcmp(backend, "confluent"))
        rc = confluent_main(&c, c.args[0], c.args + 1, c.nargs - 1);
    else
        rc = usage(cfg_invalid(&c, "backend", "is not one of gateway, confluent", err, sizeof err));
    cfg_free(&c);
    return rc;
}

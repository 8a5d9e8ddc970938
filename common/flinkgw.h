/*
 * flinkgw — a client for the Apache Flink SQL Gateway REST API (Flink 1.20)
 * and the few JobManager REST calls that go with it.
 *
 * How the Gateway works: state lives in a *session* (POST /v1/sessions with
 * {"sessionName", "properties"} → sessionHandle); tables and views created in
 * it exist only in its in-memory catalog, so a template file and the files it
 * depends on run in one session.  Each statement is an *operation* (POST
 * /v1/sessions/{s}/statements {"statement"} → operationHandle) that runs
 * asynchronously: GET …/operations/{o}/status goes INITIALIZED → PENDING →
 * RUNNING → FINISHED (or ERROR, CANCELED, TIMEOUT, CLOSED).  Results are read
 * in pages: GET /v2/sessions/{s}/operations/{o}/result/{token}?rowFormat=JSON
 * answers {"resultType": NOT_READY | PAYLOAD | EOS, "results": {"columns",
 * "data": [{"kind", "fields"}]}, "jobID", "nextResultUri"}; a client follows
 * nextResultUri until EOS, asking again after NOT_READY.  An INSERT finishes
 * as soon as its job is submitted: its one row (column "job id") and the
 * "jobID" field name the streaming job, which then runs on the cluster and is
 * watched through the JobManager REST API (GET /jobs/{id} → "state").
 *
 * Errors: a failed request answers {"errors": ["Internal server error.",
 * "<Exception on server side: … stack trace>"]}.  The useful text is in the
 * trace's "Caused by:" lines; flinkgw reports the first cause that is not the
 * Gateway's own wrapper and, when different, the deepest one.
 *
 * Savepoints: `STOP JOB '<id>' WITH SAVEPOINT` stops the job after writing a
 * savepoint and answers its path (column "savepoint path"); a job resumes from
 * it when the session sets 'execution.state-recovery.path' (the Flink 1.20 name
 * of the older 'execution.savepoint.path') before the INSERT.
 *
 * Templates: common/sqltmpl.h.
 */
#ifndef FLINKPG_FLINKGW_H
#define FLINKPG_FLINKGW_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct flinkgw flinkgw;

/* One statement's outcome: the columns and rows (arrays of JSON values), the
 * job id when the statement started a job. */
typedef struct {
    json_t *columns; /* array of column names (strings) */
    json_t *rows;    /* array of arrays of fields */
    char *job_id;    /* NULL unless the statement submitted a job */
} flinkgw_result;

void flinkgw_result_free(flinkgw_result *r);

/* gateway_url e.g. http://127.0.0.1:8083; rest_url (JobManager) e.g.
 * http://127.0.0.1:8081, may be NULL when job status is not needed. */
flinkgw *flinkgw_new(const char *gateway_url, const char *rest_url);
void flinkgw_free(flinkgw *gw); /* closes the session if open */

/* Statement timeout for execute (default 120 s). */
void flinkgw_set_timeout_ms(flinkgw *gw, long ms);
/* Bound of each HTTP request to the Gateway or the JobManager (default 60 s). */
void flinkgw_set_request_timeout_ms(flinkgw *gw, long ms);

/* props: NULL-terminated list of alternating keys and values, may be NULL. */
bool flinkgw_open_session(flinkgw *gw, const char *name, const char *const *props, char *err,
                          size_t errlen);
const char *flinkgw_session(const flinkgw *gw);
bool flinkgw_close_session(flinkgw *gw, char *err, size_t errlen);

/* The steps, for callers that want them one by one. */
bool flinkgw_submit(flinkgw *gw, const char *statement, char **operation, char *err, size_t errlen);
/* status: INITIALIZED, PENDING, RUNNING, FINISHED, ERROR, CANCELED, TIMEOUT, CLOSED */
bool flinkgw_operation_status(flinkgw *gw, const char *operation, char *status, size_t slen,
                              char *err, size_t errlen);
/* One page of an operation's results (the answer to GET …/result/<token>):
 * its columns (the first page's) and rows appended to out, the job id taken
 * when it names one; *next is the nextResultUri (borrowed from res) or NULL.
 * FLINKGW_PAGE_BAD with err for a resultType other than PAYLOAD, EOS or
 * NOT_READY. */
enum { FLINKGW_PAGE_BAD = -1, FLINKGW_PAGE_EOS, FLINKGW_PAGE_PAYLOAD, FLINKGW_PAGE_NOT_READY };
int flinkgw_result_page(json_t *res, flinkgw_result *out, const char **next, char *err,
                        size_t errlen);
/* Follows nextResultUri from token 0 to EOS. */
bool flinkgw_fetch_results(flinkgw *gw, const char *operation, flinkgw_result *out, char *err,
                           size_t errlen);

/* submit + wait + fetch.  out may be NULL. */
bool flinkgw_execute(flinkgw *gw, const char *statement, flinkgw_result *out, char *err,
                     size_t errlen);

/* Reads, renders (sqltmpl.h) and executes every statement of a file in the open session;
 * *job_id (may be NULL) receives the id of the last job submitted. */
bool flinkgw_run_file(flinkgw *gw, const char *path, const char *const *vars, char **job_id,
                      char *err, size_t errlen);

/* STOP JOB; with_savepoint: *savepoint_path receives the path (caller frees). */
bool flinkgw_stop_job(flinkgw *gw, const char *job_id, bool with_savepoint, bool drain,
                      char **savepoint_path, char *err, size_t errlen);
/* SET 'execution.state-recovery.path' in the session: the next INSERT resumes. */
bool flinkgw_resume_from(flinkgw *gw, const char *savepoint_path, char *err, size_t errlen);

/* JobManager REST: state of a job (RUNNING, FINISHED, CANCELED, FAILED, …). */
bool flinkgw_job_state(flinkgw *gw, const char *job_id, char *state, size_t slen, char *err,
                       size_t errlen);
/* JobManager REST /jobs/{id}: every task (vertex) RUNNING?  A savepoint can
 * only be taken then ("Not all required tasks are currently running"). */
bool flinkgw_job_all_tasks_running(flinkgw *gw, const char *job_id, bool *all, char *err,
                                   size_t errlen);
/* JobManager REST /jobs/{id}/exceptions: the cause of the last failure, or ""
 * when the job never failed. */
bool flinkgw_job_exception(flinkgw *gw, const char *job_id, char *out, size_t outlen, char *err,
                           size_t errlen);
/* JobManager REST /jobs/overview: the jobs as a JSON array (caller decrefs). */
json_t *flinkgw_jobs(flinkgw *gw, char *err, size_t errlen);

/* The message of an {"errors": [...]} body (also usable for other text). */
void flinkgw_error_message(const char *body, char *out, size_t outlen);
/* The causes of a Java stack trace (a JobManager's root exception), as
 * flinkgw_error_message words them. */
void flinkgw_trace_message(const char *trace, char *out, size_t outlen);

#endif

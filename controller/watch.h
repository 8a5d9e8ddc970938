/*
 * watch — informer-style list-then-watch of one resource.
 *
 *   list (paged)  -> every item delivered as WATCH_SYNC, remember the list's
 *                    resourceVersion
 *   watch from it -> ADDED / MODIFIED / DELETED delivered; BOOKMARK only moves
 *                    the resourceVersion (allowWatchBookmarks=true)
 *   stream ends   -> watch again from the last resourceVersion (the server
 *                    closes every watch after timeoutSeconds)
 *   410 Gone      -> the resourceVersion is too old (compacted): list again
 *                    (as an HTTP status or as an ERROR event in the stream)
 *   other errors  -> reconnect with backoff (API server restarts)
 *
 * The stream is newline-delimited JSON, and a line may arrive split across
 * any number of curl chunks (or several lines in one): frame_splitter joins
 * and splits them.  The watcher runs on its own thread with its own client.
 */
#ifndef FLINKPG_WATCH_H
#define FLINKPG_WATCH_H

#include "kubeclient.h"

#include "../common/strbuf.h"

#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

/* ---- frames ---- */

typedef bool (*frame_fn)(const char *line, size_t len, void *ctx);

typedef struct {
    strbuf partial;   /* bytes of an incomplete line */
    size_t max_frame; /* a line longer than this is an error */
    bool overflow;
} frame_splitter;

void frame_splitter_init(frame_splitter *fs, size_t max_frame);
void frame_splitter_free(frame_splitter *fs);
/* Feed bytes; calls fn once per complete non-empty line (without the
 * newline).  Returns false if fn did, or on overflow/out of memory. */
bool frame_splitter_feed(frame_splitter *fs, const char *data, size_t len, frame_fn fn, void *ctx);

/* ---- watcher ---- */

/* WATCH_LIST_DONE (obj NULL): every item of a complete list was delivered
 * as WATCH_SYNC; what was not is gone. */
typedef enum {
    WATCH_SYNC,
    WATCH_ADDED,
    WATCH_MODIFIED,
    WATCH_DELETED,
    WATCH_LIST_DONE
} watch_event;

typedef void (*watch_fn)(watch_event ev, json_t *obj, void *ctx);

typedef struct {
    const char *name;           /* for logs, e.g. "demoruns" */
    const char *path;           /* collection path, e.g. /apis/apps/v1/statefulsets */
    const char *label_selector; /* or NULL */
    watch_fn on_event;
    void *ctx;
    long timeout_s;       /* server-side watch timeout (jittered); default 300 */
    const char *start_rv; /* test hook: first watch from here, without a list */
    /* set by the watcher, read by others */
    atomic_int synced; /* a list has completed */
    atomic_ullong relists, reconnects, events;
    /* internal */
    const kube_config *cfg;
    volatile int *stop;
    pthread_t thread;
    bool started;
} watcher;

bool watcher_start(watcher *w, const kube_config *cfg, volatile int *stop, char *err,
                   size_t errlen);
void watcher_join(watcher *w);

/* Parses one watch line: returns the event type string, sets *obj (borrowed
 * from *root, which the caller frees).  "ERROR" with *code set for errors. */
const char *watch_parse_line(const char *line, size_t len, json_t **root, json_t **obj, int *code);

#endif

/*
 * podstatus — see podstatus.h.
 *
 * What a stuck pod looks like in its status (kubelet, containerd):
 *
 *   containerStatuses[i].state.waiting = {reason: ImagePullBackOff,
 *       message: 'Back-off pulling image "flinkpg/nope:dev"'}
 *   containerStatuses[i].lastState.terminated = {exitCode: 1, reason: Error}
 *       (alongside CrashLoopBackOff: why the last run ended)
 *
 * The image is taken from the pod's spec (what the user wrote); the status
 * carries the same string while waiting, but a resolved name
 * (docker.io/library/...) once running, so it is only the fallback.
 */
#define _POSIX_C_SOURCE 200809L
#include "podstatus.h"

#include "../common/strbuf.h"

#include <stdio.h>
#include <string.h>

static const char *const stuck_reasons[] = {
    "ErrImagePull",      "ImagePullBackOff",           "InvalidImageName",
    "ErrImageNeverPull", "CreateContainerConfigError", "CreateContainerError",
    "CrashLoopBackOff",
};

/* The table's own copy of reason (it outlives the pod list), or NULL. */
static const char *stuck_reason(const char *reason)
{
    if (!reason)
        return NULL;
    for (size_t i = 0; i < sizeof stuck_reasons / sizeof stuck_reasons[0]; i++)
        if (!strcmp(reason, stuck_reasons[i]))
            return stuck_reasons[i];
    return NULL;
}

bool pod_reason_stuck(const char *reason)
{
    return stuck_reason(reason) != NULL;
}

static bool image_pull(const char *r)
{
    return r && (!strcmp(r, "ErrImagePull") || !strcmp(r, "ImagePullBackOff"));
}

bool pod_reasons_same_problem(const char *a, const char *b)
{
    if (!a || !b)
        return false;
    return !strcmp(a, b) || (image_pull(a) && image_pull(b));
}

static const char *str_at(const json_t *o, const char *a, const char *b)
{
    return json_string_value(json_object_get(json_object_get(o, a), b));
}

/* The image of container `name` in spec[key] (containers or initContainers). */
static const char *spec_image(const json_t *pod, const char *key, const char *name)
{
    size_t i;
    json_t *c;
    json_array_foreach (json_object_get(json_object_get(pod, "spec"), key), i, c) {
        const char *n = json_string_value(json_object_get(c, "name"));
        if (n && name && !strcmp(n, name))
            return json_string_value(json_object_get(c, "image"));
    }
    return NULL;
}

/* Copy src into dst[n]: control characters (a multi-line kubelet message)
 * become spaces, and a cut lands on a UTF-8 character boundary and ends
 * "...", since jansson refuses a string with a broken character and the
 * condition would be lost. */
static void copy_cut(char *dst, size_t n, const char *src)
{
    size_t len = strlen(src);
    bool cut = len >= n;
    if (cut) {
        len = n > 4 ? n - 4 : 0;
        while (len > 0 && ((unsigned char)src[len] & 0xC0) == 0x80)
            len--; /* src[len] is a continuation byte: back up to the start */
    }
    for (size_t i = 0; i < len; i++)
        dst[i] = (unsigned char)src[i] < 0x20 || src[i] == 0x7f ? ' ' : src[i];
    if (cut && n > 4) {
        memcpy(dst + len, "...", 3);
        len += 3;
    }
    if (n)
        dst[len] = 0;
}

/* One container status: a stuck reason fills *out. */
static bool container_stuck(const json_t *pod, const char *pod_name, const char *spec_key,
                            const json_t *cs, pod_problem *out)
{
    const json_t *waiting = json_object_get(json_object_get(cs, "state"), "waiting");
    const char *reason = stuck_reason(json_string_value(json_object_get(waiting, "reason")));
    if (!reason)
        return false;
    const char *cname = json_string_value(json_object_get(cs, "name"));
    const char *image = spec_image(pod, spec_key, cname);
    if (!image)
        image = json_string_value(json_object_get(cs, "image"));
    const char *kmsg = json_string_value(json_object_get(waiting, "message"));
    strbuf sb;
    sb_init(&sb);
    sb_printf(&sb, "pod %s container %s image \"%s\": %s", pod_name, cname ? cname : "?",
              image ? image : "?", reason);
    if (kmsg && *kmsg)
        sb_printf(&sb, ": %s", kmsg);
    const json_t *term = json_object_get(json_object_get(cs, "lastState"), "terminated");
    if (!strcmp(reason, "CrashLoopBackOff") && json_is_integer(json_object_get(term, "exitCode"))) {
        const char *tr = json_string_value(json_object_get(term, "reason"));
        sb_printf(&sb, "; last exit code %lld%s%s%s",
                  (long long)json_integer_value(json_object_get(term, "exitCode")), tr ? " (" : "",
                  tr ? tr : "", tr ? ")" : "");
    }
    out->reason = reason;
    copy_cut(out->message, sizeof out->message, sb_str(&sb));
    sb_free(&sb);
    return true;
}

bool pod_problem_find(const json_t *pods, const char *component, pod_problem *out)
{
    size_t i;
    json_t *pod;
    json_array_foreach (json_object_get(pods, "items"), i, pod) {
        const json_t *meta = json_object_get(pod, "metadata");
        const char *comp = str_at(meta, "labels", "app.kubernetes.io/component");
        const char *name = json_string_value(json_object_get(meta, "name"));
        if (!comp || !component || strcmp(comp, component) || !name)
            continue;
        /* a pod on its way out (an old ReplicaSet's, a replaced Job's) is
         * not what the user is waiting for */
        if (json_object_get(meta, "deletionTimestamp"))
            continue;
        static const char *const lists[][2] = {{"initContainerStatuses", "initContainers"},
                                               {"containerStatuses", "containers"}};
        for (size_t l = 0; l < 2; l++) {
            size_t j;
            json_t *cs;
            json_array_foreach (json_object_get(json_object_get(pod, "status"), lists[l][0]), j, cs)
                if (container_stuck(pod, name, lists[l][1], cs, out))
                    return true;
        }
    }
    return false;
}

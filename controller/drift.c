/*
 * drift — see drift.h.
 */
#define _POSIX_C_SOURCE 200809L
#include "drift.h"

#include "kubeconfig.h"

#include <stdlib.h>
#include <string.h>

static bool empty(const json_t *v)
{
    return (json_is_object(v) && json_object_size(v) == 0) ||
           (json_is_array(v) && json_array_size(v) == 0);
}

static bool holds(const json_t *d, const json_t *l);

/* stringData {k: v} against data {k: base64(v)} */
static bool string_data_holds(const json_t *sd, const json_t *data)
{
    const char *k;
    json_t *v;
    json_object_foreach ((json_t *)sd, k, v) {
        const char *want = json_string_value(v);
        const char *b64 = json_string_value(json_object_get(data, k));
        if (!want || !b64)
            return false;
        kube_blob got = {0};
        bool same = base64_decode(b64, strlen(b64), &got) && got.len == strlen(want) &&
                    !memcmp(got.data, want, got.len);
        if (got.data)
            memset(got.data, 0, got.len);
        free(got.data);
        if (!same)
            return false;
    }
    return true;
}

static bool holds(const json_t *d, const json_t *l)
{
    if (json_is_object(d)) {
        if (!json_is_object(l))
            return !l && empty(d);
        const char *k;
        json_t *dv;
        json_object_foreach ((json_t *)d, k, dv) {
            json_t *lv = json_object_get(l, k);
            if (!strcmp(k, "stringData") && !lv) {
                if (!string_data_holds(dv, json_object_get(l, "data")))
                    return false;
                continue;
            }
            if (json_is_null(dv))
                continue;
            if (!lv) {
                if (empty(dv))
                    continue;
                return false;
            }
            if (!holds(dv, lv))
                return false;
        }
        return true;
    }
    if (json_is_array(d)) {
        if (!json_is_array(l))
            return !l && empty(d);
        if (json_array_size(d) != json_array_size(l))
            return false;
        for (size_t i = 0; i < json_array_size(d); i++)
            if (!holds(json_array_get(d, i), json_array_get(l, i)))
                return false;
        return true;
    }
    if (json_is_number(d) && json_is_number(l))
        return json_number_value(d) == json_number_value(l);
    return json_equal((json_t *)d, (json_t *)l);
}

bool desired_holds(const json_t *desired, const json_t *live)
{
    return holds(desired, live);
}

/* cafile — see cafile.h. */
#define _POSIX_C_SOURCE 200809L
#include "cafile.h"

#include "kubeconfig.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static pthread_once_t g_once = PTHREAD_ONCE_INIT;
static char g_dir[512];
static char g_dir_err[600];

static void remove_dir(void)
{
    if (*g_dir)
        (void)rmdir(g_dir); /* empty unless a copy is being used right now */
}

static void make_dir(void)
{
    const char *base = getenv("TMPDIR");
    if (!base || !*base)
        base = "/tmp";
    char tmpl[512];
    snprintf(tmpl, sizeof tmpl, "%s/flinkpg-controller-XXXXXX", base);
    /* mkdtemp makes it 0700: only the controller's user reads the copies */
    if (!mkdtemp(tmpl)) {
        snprintf(g_dir_err, sizeof g_dir_err, "no private directory for CA files under %s: %s",
                 base, strerror(errno));
        return;
    }
    snprintf(g_dir, sizeof g_dir, "%s", tmpl);
    atexit(remove_dir);
}

const char *ca_file_dir(void)
{
    pthread_once(&g_once, make_dir);
    return g_dir;
}

/* Writes all of data to a new file under the private directory. */
static bool write_private(const kube_blob *data, char *path, size_t pathlen, char *err,
                          size_t errlen)
{
    snprintf(path, pathlen, "%s/ca-XXXXXX", ca_file_dir());
    int fd = mkstemp(path); /* 0600, O_EXCL */
    if (fd < 0) {
        snprintf(err, errlen, "writing a CA file in %s: %s", ca_file_dir(), strerror(errno));
        path[0] = '\0';
        return false;
    }
    size_t off = 0;
    while (off < data->len) {
        ssize_t w = write(fd, data->data + off, data->len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            snprintf(err, errlen, "writing %s: %s", path, w < 0 ? strerror(errno) : "short write");
            close(fd);
            ca_file_remove(path);
            return false;
        }
        off += (size_t)w;
    }
    if (close(fd) != 0) {
        snprintf(err, errlen, "writing %s: %s", path, strerror(errno));
        ca_file_remove(path);
        return false;
    }
    return true;
}

bool ca_file_write(kube_client *kc, const char *ns, const char *secret, const char *key, char *path,
                   size_t pathlen, char *err, size_t errlen)
{
    path[0] = '\0';
    if (!*ca_file_dir()) {
        snprintf(err, errlen, "%s", g_dir_err);
        return false;
    }
    char api[600], kerr[512];
    snprintf(api, sizeof api, "/api/v1/namespaces/%s/secrets/%s", ns, secret);
    json_t *s = NULL;
    long st = kube_get(kc, api, &s, kerr, sizeof kerr);
    if (st != 200) {
        snprintf(err, errlen, "reading CA Secret %s: %s", secret, st == 404 ? "not found" : kerr);
        json_decref(s);
        return false;
    }
    const char *b64 = json_string_value(json_object_get(json_object_get(s, "data"), key));
    kube_blob pem = {0};
    bool ok = b64 && base64_decode(b64, strlen(b64), &pem) && pem.len > 0;
    json_decref(s);
    if (!ok)
        snprintf(err, errlen, "CA Secret %s has no usable key \"%s\"", secret, key);
    else
        ok = write_private(&pem, path, pathlen, err, errlen);
    free(pem.data);
    return ok;
}

void ca_file_remove(char *path)
{
    if (path && *path) {
        (void)unlink(path);
        path[0] = '\0';
    }
}

/* sqltmpl — see sqltmpl.h. */
#define _POSIX_C_SOURCE 200809L
#include "sqltmpl.h"

#include "strbuf.h"
#include "xalloc.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool is_comment_line(const char *line, size_t len)
{
    size_t i = 0;
    while (i < len && isspace((unsigned char)line[i]))
        i++;
    return i + 1 < len && line[i] == '-' && line[i + 1] == '-';
}

/* Comment lines are copied as they are: a placeholder named in a comment is
 * documentation, and a multi-line value substituted there would turn its
 * second line into SQL. */
char *sqltmpl_render(const char *text, const char *const *vars, char *err, size_t errlen)
{
    strbuf sb;
    sb_init(&sb);
    for (const char *line = text; *line;) {
        const char *eol = strchr(line, '\n');
        const char *next = eol ? eol + 1 : line + strlen(line);
        if (is_comment_line(line, (size_t)(next - line))) {
            sb_append(&sb, line, (size_t)(next - line));
            line = next;
            continue;
        }
        const char *p = line;
        for (;;) {
            const char *d = p; /* the next "${" of this line */
            while (d + 1 < next && !(d[0] == '$' && d[1] == '{'))
                d++;
            if (d + 1 >= next) {
                sb_append(&sb, p, (size_t)(next - p));
                break;
            }
            sb_append(&sb, p, (size_t)(d - p));
            const char *end = memchr(d + 2, '}', (size_t)(next - (d + 2)));
            if (!end) {
                snprintf(err, errlen, "unterminated placeholder at \"%.20s\"", d);
                sb_free(&sb);
                return NULL;
            }
            size_t nl = (size_t)(end - d - 2);
            const char *val = NULL;
            for (size_t i = 0; vars && vars[i] && vars[i + 1]; i += 2)
                if (strlen(vars[i]) == nl && strncmp(vars[i], d + 2, nl) == 0)
                    val = vars[i + 1];
            if (!val) {
                snprintf(err, errlen,
                         "unknown placeholder ${%.*s} (give it a value with --var %.*s=...)",
                         (int)nl, d + 2, (int)nl, d + 2);
                sb_free(&sb);
                return NULL;
            }
            sb_puts(&sb, val);
            p = end + 1;
        }
        line = next;
    }
    char *out = sb_steal(&sb);
    return out ? out : xstrdup(""); /* empty text */
}

static bool blank(const char *s)
{
    for (; *s; s++)
        if (!isspace((unsigned char)*s))
            return false;
    return true;
}

static bool push_statement(char ***list, size_t *n, strbuf *cur)
{
    const char *s = sb_str(cur);
    if (!blank(s)) {
        char **nl = realloc(*list, (*n + 2) * sizeof **list);
        if (!nl)
            return false;
        *list = nl;
        /* trim surrounding whitespace */
        while (isspace((unsigned char)*s))
            s++;
        size_t len = strlen(s);
        while (len && isspace((unsigned char)s[len - 1]))
            len--;
        (*list)[*n] = strndup(s, len);
        if (!(*list)[*n])
            return false;
        (*n)++;
        (*list)[*n] = NULL;
    }
    sb_reset(cur);
    return true;
}

char **sqltmpl_split(const char *text, size_t *count)
{
    char **list = calloc(1, sizeof *list);
    size_t n = 0;
    strbuf cur;
    sb_init(&cur);
    if (!list)
        return NULL;
    for (const char *p = text; *p;) {
        const char *eol = strchr(p, '\n');
        size_t len = eol ? (size_t)(eol - p) : strlen(p);
        if (!is_comment_line(p, len)) {
            size_t l = len;
            while (l && isspace((unsigned char)p[l - 1]))
                l--;
            if (l && p[l - 1] == ';') {
                sb_append(&cur, p, l - 1);
                if (!push_statement(&list, &n, &cur))
                    goto oom;
            } else {
                sb_append(&cur, p, len);
                sb_putc(&cur, '\n');
            }
        }
        p = eol ? eol + 1 : p + len;
    }
    if (!push_statement(&list, &n, &cur))
        goto oom;
    sb_free(&cur);
    *count = n;
    return list;
oom:
    sb_free(&cur);
    sqltmpl_free_list(list, n);
    return NULL;
}

void sqltmpl_free_list(char **list, size_t count)
{
    if (!list)
        return;
    for (size_t i = 0; i < count; i++) {
        if (list[i])
            memset(list[i], 0, strlen(list[i])); /* rendered values may be credentials */
        free(list[i]);
    }
    free(list);
}

char **sqltmpl_statements(const char *name, const char *text, const char *const *vars,
                          size_t *count, char *err, size_t errlen)
{
    char rerr[512];
    char *sql = sqltmpl_render(text, vars, rerr, sizeof rerr);
    if (!sql) {
        snprintf(err, errlen, "%s: %s", name, rerr);
        return NULL;
    }
    char **st = sqltmpl_split(sql, count);
    memset(sql, 0, strlen(sql)); /* rendered values may be credentials */
    free(sql);
    if (!st)
        snprintf(err, errlen, "%s: out of memory", name);
    return st;
}

char **sqltmpl_file(const char *path, const char *const *vars, size_t *count, char *err,
                    size_t errlen)
{
    char *text = sb_read_file(path, err, errlen);
    if (!text)
        return NULL;
    char **st = sqltmpl_statements(path, text, vars, count, err, errlen);
    free(text);
    return st;
}

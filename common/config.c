/*
 * config — see config.h.
 */
#define _POSIX_C_SOURCE 200809L
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* The variables the last .env file exported, with their file and line, so
 * that a value from it is said to come from there and not from the
 * environment. */
#define ENV_ORIGINS_MAX 256
static struct {
    char key[64];
    char where[128];
} g_env_origin[ENV_ORIGINS_MAX];
static size_t g_nenv_origin;

static const char *env_origin(const char *key)
{
    for (size_t i = 0; i < g_nenv_origin; i++)
        if (!strcmp(g_env_origin[i].key, key))
            return g_env_origin[i].where;
    return NULL;
}

static void note_origin(cfg_opt *o, const char *how, const char *where)
{
    if (!strcmp(how, "flag"))
        snprintf(o->origin, sizeof o->origin, "--%s", o->name);
    else if (!strcmp(how, "env") && where)
        snprintf(o->origin, sizeof o->origin, "%s (%s)", o->env, where);
    else if (!strcmp(how, "env"))
        snprintf(o->origin, sizeof o->origin, "%s (environment)", o->env);
    else
        snprintf(o->origin, sizeof o->origin, "--%s (default)", o->name);
}

const char *cfg_origin(cfg_spec *spec, const char *name)
{
    cfg_opt *o = cfg_find(spec, name);
    if (!o)
        return name;
    if (!o->origin[0])
        snprintf(o->origin, sizeof o->origin, "--%s", o->name);
    return o->origin;
}

const char *cfg_invalid(cfg_spec *spec, const char *name, const char *why, char *err, size_t errlen)
{
    cfg_opt *o = cfg_find(spec, name);
    const char *v = o && o->str ? o->str : "";
    snprintf(err, errlen, "%s: \"%s\" %s", cfg_origin(spec, name), o && o->secret ? "(secret)" : v,
             why);
    return err;
}

cfg_opt *cfg_find(cfg_spec *spec, const char *name)
{
    for (size_t i = 0; i < spec->nopts; i++)
        if (strcmp(spec->opts[i].name, name) == 0)
            return &spec->opts[i];
    return NULL;
}

const char *cfg_str(cfg_spec *spec, const char *name)
{
    cfg_opt *o = cfg_find(spec, name);
    return o ? o->str : NULL;
}

long long cfg_int(cfg_spec *spec, const char *name)
{
    cfg_opt *o = cfg_find(spec, name);
    return o ? o->num : 0;
}

bool cfg_bool(cfg_spec *spec, const char *name)
{
    cfg_opt *o = cfg_find(spec, name);
    return o && o->num != 0;
}

char **cfg_split(const char *text, char sep, size_t *count)
{
    *count = 0;
    if (!text)
        return NULL;
    size_t cap = 4;
    char **out = calloc(cap, sizeof *out);
    const char *p = text;
    while (out) {
        const char *end = strchr(p, sep);
        size_t len = end ? (size_t)(end - p) : strlen(p);
        const char *s = p;
        while (len && isspace((unsigned char)*s)) {
            s++;
            len--;
        }
        while (len && isspace((unsigned char)s[len - 1]))
            len--;
        if (len) {
            if (*count == cap) {
                cap *= 2;
                char **grown = realloc(out, cap * sizeof *out);
                if (!grown)
                    break;
                out = grown;
            }
            out[(*count)++] = strndup(s, len);
        }
        if (!end)
            break;
        p = end + 1;
    }
    return out;
}

void cfg_free_list(char **list, size_t count)
{
    for (size_t i = 0; i < count; i++)
        free(list[i]);
    free(list);
}

static bool parse_bool(const char *v, long long *out)
{
    if (!strcasecmp(v, "1") || !strcasecmp(v, "true") || !strcasecmp(v, "yes") ||
        !strcasecmp(v, "on")) {
        *out = 1;
        return true;
    }
    if (!strcasecmp(v, "0") || !strcasecmp(v, "false") || !strcasecmp(v, "no") ||
        !strcasecmp(v, "off") || !*v) {
        *out = 0;
        return true;
    }
    return false;
}

static bool parse_int(const char *v, long long *out)
{
    errno = 0;
    char *end;
    long long n = strtoll(v, &end, 10);
    if (errno || end == v || *end)
        return false;
    *out = n;
    return true;
}

/* Store one value; `source` names where it came from for error messages. */
static bool set_value(cfg_opt *o, const char *value, const char *source, char *err, size_t errlen)
{
    if (o->kind == OPT_LIST) {
        char **grown = realloc(o->list, (o->nlist + 1) * sizeof *grown);
        if (!grown)
            return false;
        o->list = grown;
        o->list[o->nlist++] = strdup(value);
        o->set = true;
        return true;
    }
    if (o->kind == OPT_INT && !parse_int(value, &o->num)) {
        snprintf(err, errlen, "%s: option --%s expects an integer, got \"%s\"", source, o->name,
                 value);
        return false;
    }
    if (o->kind == OPT_BOOL && !parse_bool(value, &o->num)) {
        snprintf(err, errlen, "%s: option --%s expects true or false, got \"%s\"", source, o->name,
                 value);
        return false;
    }
    o->str = value;
    o->set = true;
    return true;
}

static char *unquote(char *v, const char *path, int line, char *err, size_t errlen)
{
    size_t len = strlen(v);
    if (len && (v[0] == '"' || v[0] == '\'')) {
        char q = v[0];
        char *out = v, *p = v + 1;
        for (; *p && *p != q; p++) {
            if (q == '"' && *p == '\\' && p[1]) {
                p++;
                *out++ = *p == 'n' ? '\n' : *p;
            } else {
                *out++ = *p;
            }
        }
        if (*p != q) {
            snprintf(err, errlen, "%s:%d: unterminated %c quote", path, line, q);
            return NULL;
        }
        *out = '\0';
        return v;
    }
    /* unquoted: strip a trailing " # comment" */
    char *hash = strstr(v, " #");
    if (hash)
        *hash = '\0';
    len = strlen(v);
    while (len && isspace((unsigned char)v[len - 1]))
        v[--len] = '\0';
    return v;
}

bool cfg_load_env_file(const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, errlen, "cannot open env file %s: %s", path, strerror(errno));
        return false;
    }
    bool ok = cfg_load_env_stream(f, path, err, errlen);
    fclose(f);
    return ok;
}

bool cfg_load_env_stream(FILE *f, const char *path, char *err, size_t errlen)
{
    char *line = NULL;
    size_t cap = 0;
    int lineno = 0;
    bool ok = true;
    while (getline(&line, &cap, f) >= 0) {
        lineno++;
        char *p = line;
        size_t len = strlen(p);
        while (len && (p[len - 1] == '\n' || p[len - 1] == '\r'))
            p[--len] = '\0';
        while (isspace((unsigned char)*p))
            p++;
        if (!*p || *p == '#')
            continue;
        if (strncmp(p, "export ", 7) == 0)
            p += 7;
        char *eq = strchr(p, '=');
        if (!eq || eq == p) {
            snprintf(err, errlen, "%s:%d: expected KEY=VALUE", path, lineno);
            ok = false;
            break;
        }
        *eq = '\0';
        char *key = p;
        size_t klen = strlen(key);
        while (klen && isspace((unsigned char)key[klen - 1]))
            key[--klen] = '\0';
        for (char *k = key; *k; k++) {
            if (!isalnum((unsigned char)*k) && *k != '_') {
                snprintf(err, errlen, "%s:%d: invalid variable name \"%s\"", path, lineno, key);
                ok = false;
                break;
            }
        }
        if (!ok)
            break;
        char *val = eq + 1;
        while (isspace((unsigned char)*val))
            val++;
        val = unquote(val, path, lineno, err, errlen);
        if (!val) {
            ok = false;
            break;
        }
        if (!getenv(key) && g_nenv_origin < ENV_ORIGINS_MAX &&
            strlen(key) < sizeof g_env_origin[0].key) {
            snprintf(g_env_origin[g_nenv_origin].key, sizeof g_env_origin[0].key, "%s", key);
            snprintf(g_env_origin[g_nenv_origin].where, sizeof g_env_origin[0].where, "%s line %d",
                     path, lineno);
            g_nenv_origin++;
        }
        setenv(key, val, 0);
    }
    free(line);
    return ok;
}

static cfg_opt *find_flag(cfg_spec *spec, const char *arg, size_t len)
{
    for (size_t i = 0; i < spec->nopts; i++)
        if (strlen(spec->opts[i].name) == len && strncmp(spec->opts[i].name, arg, len) == 0)
            return &spec->opts[i];
    return NULL;
}

static cfg_opt *find_short(cfg_spec *spec, char c)
{
    for (size_t i = 0; i < spec->nopts; i++)
        if (spec->opts[i].short_name == c)
            return &spec->opts[i];
    return NULL;
}

/* 1. --help, --version, and the .env file first, so that getenv() in step 2
 * sees its values.  CFG_OK to go on. */
static cfg_result early_flags(cfg_spec *spec, int argc, char **argv, char *err, size_t errlen)
{
    const char *env_file = getenv("ENV_FILE");
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--env-file") == 0 && i + 1 < argc)
            env_file = argv[i + 1];
        else if (strncmp(argv[i], "--env-file=", 11) == 0)
            env_file = argv[i] + 11;
        else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            cfg_print_help(spec);
            return CFG_HELP;
        } else if (strcmp(argv[i], "--version") == 0) {
#ifndef FLINKPG_VERSION
#define FLINKPG_VERSION "dev"
#endif
            printf("%s %s\n", spec->prog, FLINKPG_VERSION);
            if (spec->versions)
                spec->versions();
            return CFG_HELP;
        }
    }
    if (env_file && *env_file && !cfg_load_env_file(env_file, err, errlen))
        return CFG_ERROR;

    return CFG_OK;
}

/* 2. the environment (including what the .env file exported) */
static cfg_result from_environment(cfg_spec *spec, char *err, size_t errlen)
{
    for (size_t i = 0; i < spec->nopts; i++) {
        cfg_opt *o = &spec->opts[i];
        const char *v = o->env ? getenv(o->env) : NULL;
        if (!v)
            continue;
        if (o->kind == OPT_LIST) {
            size_t n;
            char **parts = cfg_split(v, ',', &n);
            for (size_t j = 0; j < n; j++)
                set_value(o, parts[j], o->env, err, errlen);
            cfg_free_list(parts, n);
        } else {
            char source[192];
            const char *where = env_origin(o->env);
            if (where)
                snprintf(source, sizeof source, "%s (%s)", o->env, where);
            else
                snprintf(source, sizeof source, "environment variable %s", o->env);
            if (!set_value(o, v, source, err, errlen))
                return CFG_ERROR;
        }
        note_origin(o, "env", env_origin(o->env));
    }

    return CFG_OK;
}

/* 3. the command line: flags win over everything */
static cfg_result from_flags(cfg_spec *spec, int argc, char **argv, char *err, size_t errlen)
{
    for (int i = 1; i < argc; i++) {
        char *a = argv[i];
        if (strcmp(a, "--env-file") == 0) {
            i++;
            continue;
        }
        if (strncmp(a, "--env-file=", 11) == 0)
            continue;
        if (strcmp(a, "--") == 0) {
            while (++i < argc)
                spec->args[spec->nargs++] = argv[i];
            break;
        }
        cfg_opt *o = NULL;
        const char *value = NULL;
        if (a[0] == '-' && a[1] == '-') {
            const char *name = a + 2;
            const char *eq = strchr(name, '=');
            size_t len = eq ? (size_t)(eq - name) : strlen(name);
            o = find_flag(spec, name, len);
            if (!o && !eq && strncmp(name, "no-", 3) == 0) {
                o = find_flag(spec, name + 3, len - 3);
                if (o && o->kind == OPT_BOOL) {
                    o->num = 0;
                    o->str = "false";
                    o->set = true;
                    note_origin(o, "flag", NULL);
                    continue;
                }
                o = NULL;
            }
            if (!o) {
                snprintf(err, errlen, "unknown option --%.*s", (int)len, name);
                return CFG_ERROR;
            }
            if (eq)
                value = eq + 1;
        } else if (a[0] == '-' && a[1] && !a[2]) {
            o = find_short(spec, a[1]);
            if (!o) {
                snprintf(err, errlen, "unknown option %s", a);
                return CFG_ERROR;
            }
        } else {
            spec->args[spec->nargs++] = a;
            continue;
        }
        if (!value) {
            if (o->kind == OPT_BOOL) {
                value = "true";
            } else if (i + 1 < argc) {
                value = argv[++i];
            } else {
                snprintf(err, errlen, "option --%s needs a value", o->name);
                return CFG_ERROR;
            }
        }
        char source[160];
        snprintf(source, sizeof source, "flag --%s", o->name);
        if (!set_value(o, value, source, err, errlen))
            return CFG_ERROR;
        note_origin(o, "flag", NULL);
    }

    return CFG_OK;
}

/* 4. the defaults of what is still unset */
static cfg_result defaults(cfg_spec *spec, char *err, size_t errlen)
{
    for (size_t i = 0; i < spec->nopts; i++) {
        cfg_opt *o = &spec->opts[i];
        if (o->set || !o->def)
            continue;
        note_origin(o, "default", NULL);
        if (o->kind == OPT_LIST) {
            size_t n;
            char **parts = cfg_split(o->def, ',', &n);
            for (size_t j = 0; j < n; j++)
                set_value(o, parts[j], "default", err, errlen);
            cfg_free_list(parts, n);
            o->set = false;
        } else if (!set_value(o, o->def, "default", err, errlen)) {
            return CFG_ERROR;
        } else {
            o->set = false;
        }
    }
    return CFG_OK;
}

cfg_result cfg_parse(cfg_spec *spec, int argc, char **argv, char *err, size_t errlen)
{
    err[0] = '\0';
    spec->args = calloc((size_t)argc + 1, sizeof(char *));
    spec->nargs = 0;
    cfg_result r = early_flags(spec, argc, argv, err, errlen);
    if (r == CFG_OK)
        r = from_environment(spec, err, errlen);
    if (r == CFG_OK)
        r = from_flags(spec, argc, argv, err, errlen);
    if (r == CFG_OK)
        r = defaults(spec, err, errlen);
    return r;
}

void cfg_print_help(const cfg_spec *spec)
{
    printf("%s — %s\n\n", spec->prog, spec->summary);
    if (spec->usage)
        printf("Usage: %s\n", spec->usage);
    else
        printf("Usage: %s [options]\n", spec->prog);
    const char *group = NULL;
    for (size_t i = 0; i < spec->nopts; i++) {
        const cfg_opt *o = &spec->opts[i];
        if (o->group && (!group || strcmp(group, o->group) != 0)) {
            group = o->group;
            printf("\n%s:\n", group);
        }
        char flag[96];
        const char *arg = o->kind == OPT_BOOL ? "" : o->kind == OPT_INT ? " N" : " VALUE";
        if (o->short_name)
            snprintf(flag, sizeof flag, "-%c, --%s%s", o->short_name, o->name, arg);
        else
            snprintf(flag, sizeof flag, "    --%s%s", o->name, arg);
        printf("  %-34s %s", flag, o->help);
        if (o->env)
            printf(" [env %s]", o->env);
        if (o->def && *o->def && !o->secret)
            printf(" (default: %s)", o->def);
        printf("\n");
    }
    printf("\n  %-34s %s\n", "    --env-file PATH",
           "read KEY=VALUE lines into the environment first (existing variables win) [env "
           "ENV_FILE]");
    printf("  %-34s %s\n", "-h, --help", "show this help");
    printf("  %-34s %s\n", "    --version", "print the version and the libraries' versions");
    if (spec->usage_example)
        printf("\nExample:\n%s\n", spec->usage_example);
}

bool cfg_any_set(const cfg_spec *spec)
{
    for (size_t i = 0; i < spec->nopts; i++)
        if (spec->opts[i].set)
            return true;
    return false;
}

int cfg_usage_hint(const cfg_spec *spec)
{
    char prog[256];
    const char *u = spec->usage;
    if (!u) {
        snprintf(prog, sizeof prog, "%s [options]", spec->prog);
        u = prog;
    }
    int len = (int)strcspn(u, "\n");
    fprintf(stderr, "usage: %.*s  (%s --help: every option)\n", len, u, spec->prog);
    return 2;
}

void cfg_free(cfg_spec *spec)
{
    for (size_t i = 0; i < spec->nopts; i++) {
        cfg_opt *o = &spec->opts[i];
        for (size_t j = 0; j < o->nlist; j++)
            free(o->list[j]);
        free(o->list);
        o->list = NULL;
        o->nlist = 0;
    }
    free(spec->args);
    spec->args = NULL;
}

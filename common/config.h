/*
 * config — every option of a program as a flag, an environment variable and
 * a line of a .env file, from one table.
 *
 * Precedence, highest first: command-line flag, process environment, the
 * .env file named by --env-file (or ENV_FILE), the option's default.  Loading
 * a .env file exports its variables into the environment without overriding
 * ones already set, so libpq's PG* variables and librdkafka settings placed in
 * the file work too.  --help prints every option, its variable, its default and
 * an example, generated from the same table, so the two never drift apart.
 */
#ifndef FLINKPG_CONFIG_H
#define FLINKPG_CONFIG_H

#include <stdbool.h>
#include <stdio.h>
#include <stddef.h>

typedef enum { OPT_STR, OPT_INT, OPT_BOOL, OPT_LIST } cfg_kind;

typedef struct {
    const char *name; /* long flag without dashes, e.g. "bootstrap-servers" */
    const char *env;  /* environment variable, e.g. "KAFKA_BOOTSTRAP_SERVERS" */
    cfg_kind kind;
    const char *def;   /* default as text, NULL for none */
    const char *group; /* heading in --help */
    const char *help;
    bool secret;     /* never printed, never logged */
    char short_name; /* optional single-letter flag, 0 for none */

    /* filled by cfg_parse */
    const char *str;  /* final value as text, NULL if unset and no default */
    long long num;    /* OPT_INT and OPT_BOOL */
    bool set;         /* given by flag, environment or .env (not default) */
    char origin[192]; /* where the value came from: "--name", "NAME (environment)",
                       * "NAME (file.env line 3)", "--name (default)" */
    char **list;      /* OPT_LIST: every occurrence, in order */
    size_t nlist;
} cfg_opt;

typedef struct {
    const char *prog;
    const char *summary;
    const char *usage_example;
    /* the usage line(s) after "Usage: " (default "<prog> [options]"); the
     * first line is what a run without arguments prints */
    const char *usage;
    /* --version: prints the library versions the program runs with, one
     * "name version" per line, after "<prog> <FLINKPG_VERSION>" */
    void (*versions)(void);
    cfg_opt *opts;
    size_t nopts;
    /* positional arguments left after the options */
    char **args;
    int nargs;
} cfg_spec;

typedef enum { CFG_OK = 0, CFG_HELP = 1, CFG_ERROR = -1 } cfg_result;

/* Parse argv (argv[0] is skipped).  On CFG_ERROR, err holds a message that
 * names the offending flag, variable or file line. */
cfg_result cfg_parse(cfg_spec *spec, int argc, char **argv, char *err, size_t errlen);
void cfg_print_help(const cfg_spec *spec);
/* True when any option was given (flag, environment or .env). */
bool cfg_any_set(const cfg_spec *spec);
/* "usage: <first usage line>  (--help: every option)" on stderr; returns 2. */
int cfg_usage_hint(const cfg_spec *spec);
void cfg_free(cfg_spec *spec);

cfg_opt *cfg_find(cfg_spec *spec, const char *name);
/* Where option `name`'s value came from (cfg_opt.origin). */
const char *cfg_origin(cfg_spec *spec, const char *name);
/* err = "<origin>: \"<value>\" <why>", e.g.
 * SINK_ENCODING (environment): "bogus" is not one of upsert, retract, ...
 * Returns err. */
const char *cfg_invalid(cfg_spec *spec, const char *name, const char *why, char *err,
                        size_t errlen);
const char *cfg_str(cfg_spec *spec, const char *name);
long long cfg_int(cfg_spec *spec, const char *name);
bool cfg_bool(cfg_spec *spec, const char *name);

/* Load KEY=VALUE lines into the environment (existing variables win).
 * Supports comments, blank lines, `export KEY=...`, single and double quotes.
 * Returns false with err naming file:line on a malformed line. */
bool cfg_load_env_file(const char *path, char *err, size_t errlen);
/* The same from an open stream; path names it in messages. */
bool cfg_load_env_stream(FILE *f, const char *path, char *err, size_t errlen);

/* Split "a,b , c" into trimmed, non-empty parts.  Caller frees with
 * cfg_free_list. */
char **cfg_split(const char *text, char sep, size_t *count);
void cfg_free_list(char **list, size_t count);

#endif

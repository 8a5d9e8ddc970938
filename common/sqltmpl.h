/*
 * sqltmpl — the SQL templates of sql/flink and sql/confluent
 * (sql/flink/README.md), as the controller and flinkpg-statements use them:
 * substitute ${name} placeholders outside comment lines (first non-blank
 * characters "--"), drop the comment lines, split on a ';' that ends a line.
 * An unknown placeholder is an error, never sent to Flink.
 *
 * vars: NULL-terminated alternating names and values.  Rendered text may
 * hold credentials (${kafka_options}): what these functions free they wipe
 * first.
 */
#ifndef FLINKPG_SQLTMPL_H
#define FLINKPG_SQLTMPL_H

#include <stdbool.h>
#include <stddef.h>

char *sqltmpl_render(const char *text, const char *const *vars, char *err, size_t errlen);
/* Statements of rendered text (comment lines dropped, split on a line-ending
 * ';', the ';' removed, blank statements skipped).  Free with sqltmpl_free_list. */
char **sqltmpl_split(const char *text, size_t *count);
void sqltmpl_free_list(char **list, size_t count);
/* render + split; errors start with `name` (a file name, a ConfigMap key) */
char **sqltmpl_statements(const char *name, const char *text, const char *const *vars,
                          size_t *count, char *err, size_t errlen);
/* read + render + split */
char **sqltmpl_file(const char *path, const char *const *vars, size_t *count, char *err,
                    size_t errlen);

#endif

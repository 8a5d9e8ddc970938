/*
 * cafile — the controller's own copies of a run's CA bundles, for its own
 * connections: the validation connection to an existing PostgreSQL
 * (sslrootcert) and the topic deletion's Kafka client (ssl.ca.location).
 * Both libraries want a file; the controller's root filesystem is read-only,
 * so the bundle goes to a private directory (mode 0700) made once under
 * $TMPDIR (/tmp when unset; an emptyDir in the chart), one file (mode 0600)
 * per connection, removed as soon as the library has loaded it (libpq when
 * PQconnectdbParams returns, librdkafka when rd_kafka_new does).
 */
#ifndef FLINKPG_CAFILE_H
#define FLINKPG_CAFILE_H

#include "kubeclient.h"

#include <stdbool.h>
#include <stddef.h>

/* Writes key of Secret secret in namespace ns to a new private file whose
 * path goes to path; false with the reason in err (the Secret or the key
 * missing, no writable directory).  The bundle is never logged. */
bool ca_file_write(kube_client *kc, const char *ns, const char *secret, const char *key, char *path,
                   size_t pathlen, char *err, size_t errlen);

/* Removes the file ca_file_write made (nothing when path is empty) and
 * empties path. */
void ca_file_remove(char *path);

/* The private directory, made on first use ("" when it could not be). */
const char *ca_file_dir(void);

#endif

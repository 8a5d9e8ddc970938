/* options — flinkpg-controller's options (--help is generated from them). */
#include "options.h"

#include <stddef.h>

cfg_opt controller_options[] = {
    {.name = "kubeconfig", .env = "KUBECONFIG", .kind = OPT_STR, .group = "Kubernetes",
     .help = "kubeconfig file (empty: in-cluster service account)"},
    {.name = "context", .env = "KUBE_CONTEXT", .kind = OPT_STR, .group = "Kubernetes",
     .help = "kubeconfig context (default: current-context)"},
    {.name = "serviceaccount-dir", .env = "SERVICEACCOUNT_DIR", .kind = OPT_STR,
     .def = "/var/run/secrets/kubernetes.io/serviceaccount", .group = "Kubernetes",
     .help = "in-cluster token, ca.crt and namespace files"},
    {.name = "namespace", .env = "WATCH_NAMESPACE", .kind = OPT_STR, .def = "",
     .group = "Kubernetes", .help = "watch DemoRuns in this namespace only (empty: all)"},
    {.name = "leader-elect", .env = "LEADER_ELECT", .kind = OPT_BOOL, .def = "false",
     .group = "Leader election", .help = "hold a Lease before reconciling (for several replicas)"},
    {.name = "lease-namespace", .env = "POD_NAMESPACE", .kind = OPT_STR, .group = "Leader election",
     .help = "namespace of the Lease (default: the configuration's namespace)"},
    {.name = "lease-name", .env = "LEASE_NAME", .kind = OPT_STR, .def = "flinkpg-controller",
     .group = "Leader election", .help = "name of the Lease"},
    {.name = "lease-duration", .env = "LEASE_DURATION_SECONDS", .kind = OPT_INT, .def = "15",
     .group = "Leader election", .help = "seconds a standby waits on an unrenewed Lease"},
    {.name = "identity", .env = "POD_NAME", .kind = OPT_STR, .group = "Leader election",
     .help = "holder identity (default: hostname-pid)"},
    {.name = "postgres-image", .env = "POSTGRES_IMAGE", .kind = OPT_STR, .def = "docker.io/library/postgres:16",
     .group = "Images", .help = "PostgreSQL image when a DemoRun names none"},
    {.name = "generator-image", .env = "GENERATOR_IMAGE", .kind = OPT_STR,
     .def = "docker.io/flinkpg/flinkpg-generator:" FLINKPG_VERSION, .group = "Images",
     .help = "generator image when a DemoRun names none"},
    {.name = "sink-image", .env = "SINK_IMAGE", .kind = OPT_STR,
     .def = "docker.io/flinkpg/flinkpg-sink:" FLINKPG_VERSION, .group = "Images",
     .help = "sink image when a DemoRun names none"},
    {.name = "image-pull-policy", .env = "IMAGE_PULL_POLICY", .kind = OPT_STR, .def = "",
     .group = "Images", .help = "imagePullPolicy of the pods the controller creates: Always, "
                               "IfNotPresent or Never (empty: the cluster's default)"},
    {.name = "image-pull-secrets", .env = "IMAGE_PULL_SECRETS", .kind = OPT_STR, .def = "",
     .group = "Images", .help = "comma-separated Secret names put into imagePullSecrets of "
                               "those pods (each must exist in the DemoRun's namespace)"},
    {.name = "sql-dir", .env = "FLINKPG_SQL_DIR", .kind = OPT_STR, .def = "/usr/share/flinkpg/sql",
     .group = "Reconcile", .help = "folder with the SQL templates (flink/, confluent/)"},
    {.name = "confluent-url", .env = "CONFLUENT_FLINK_URL", .kind = OPT_STR, .group = "Flink",
     .help = "Confluent Cloud statements API base URL, instead of "
             "https://flink.<region>.<cloud>.confluent.cloud (tests: a stand-in)"},
    {.name = "workers", .env = "WORKERS", .kind = OPT_INT, .def = "4",
     .group = "Reconcile", .help = "DemoRuns reconciled at the same time (never one run twice)"},
    {.name = "backend-timeout", .env = "BACKEND_TIMEOUT_SECONDS", .kind = OPT_INT, .def = "10",
     .group = "Reconcile", .help = "bound of each request to a Flink SQL Gateway, JobManager or "
                                  "Confluent Cloud (a slow backend is retried later, not waited out)"},
    {.name = "cleanup-timeout", .env = "CLEANUP_TIMEOUT_SECONDS", .kind = OPT_INT, .def = "300",
     .group = "Reconcile", .help = "a deleted DemoRun whose statements cannot be stopped this long "
                                  "after the delete is let go, with a Warning event (0: never)"},
    {.name = "resync-seconds", .env = "RESYNC_SECONDS", .kind = OPT_INT, .def = "60",
     .group = "Reconcile", .help = "reconcile every known DemoRun this often"},
    {.name = "watch-timeout", .env = "WATCH_TIMEOUT_SECONDS", .kind = OPT_INT, .def = "300",
     .group = "Reconcile", .help = "server-side timeout of each watch request"},
    {.name = "debug-watch-from", .env = "DEBUG_WATCH_FROM", .kind = OPT_STR, .group = "Testing",
     .help = "start the DemoRun watch from this resourceVersion without a list (tests the "
             "410 Gone path)"},
    {.name = "http-listen", .env = "HTTP_LISTEN", .kind = OPT_STR, .def = "",
     .group = "Operations", .help = "serve /metrics, /healthz, /readyz on host:port (empty: off)"},
    {.name = "probe", .kind = OPT_STR, .group = "Operations",
     .help = "GET this URL (e.g. http://flinkpg-controller:8080/readyz), print the answer, exit 0 "
             "on 2xx and 1 otherwise; nothing else runs (`helm test`, exec probes)"},
    {.name = "log-level", .env = "LOG_LEVEL", .kind = OPT_STR, .def = "info",
     .group = "Operations", .help = "debug, info, warn or error"},
};

const size_t controller_noptions = sizeof controller_options / sizeof controller_options[0];

/*
 * libversions — the "name version" lines of --version, one per library a
 * program runs with (the versions of the shared objects loaded, not of the
 * headers it was built against).  Static inline: a program names only the
 * libraries it links, and the others are never referenced (-Wl,--as-needed
 * keeps its NEEDED list exact).
 */
#ifndef FLINKPG_LIBVERSIONS_H
#define FLINKPG_LIBVERSIONS_H

#include <stdio.h>

#ifdef FLINKPG_WITH_RDKAFKA
#include <librdkafka/rdkafka.h>
static inline void libversion_rdkafka(void)
{
    printf("librdkafka %s\n", rd_kafka_version_str());
}
#endif
#ifdef FLINKPG_WITH_PQ
#include <libpq-fe.h>
static inline void libversion_pq(void)
{
    int v = PQlibVersion();
    printf("libpq %d.%d\n", v / 10000, v % 10000);
}
#endif
#ifdef FLINKPG_WITH_JANSSON
#include <jansson.h>
static inline void libversion_jansson(void)
{
    printf("jansson %s\n", jansson_version_str());
}
#endif
#ifdef FLINKPG_WITH_CURL
#include <curl/curl.h>
static inline void libversion_curl(void)
{
    const curl_version_info_data *d = curl_version_info(CURLVERSION_NOW);
    printf("libcurl %s (%s)\n", d->version, d->ssl_version ? d->ssl_version : "no TLS");
}
#endif
#ifdef FLINKPG_WITH_YAML
#include <yaml.h>
static inline void libversion_yaml(void)
{
    printf("libyaml %s\n", yaml_get_version_string());
}
#endif
#ifdef FLINKPG_WITH_MHD
#include <microhttpd.h>
static inline void libversion_mhd(void)
{
    printf("libmicrohttpd %s\n", MHD_get_version());
}
#endif
#ifdef FLINKPG_WITH_ZLIB
#include <zlib.h>
static inline void libversion_zlib(void)
{
    printf("zlib %s\n", zlibVersion());
}
#endif

#endif

/* fuzz_kubeconfig — controller/kubeconfig.c's parser (libyaml underneath):
 * clusters, users, contexts, base64 certificate data, tokens.  Relative file
 * names resolve under a directory that does not exist. */
#include "../../controller/kubeconfig.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    memcpy(text, data, size);
    text[size] = 0;
    kube_config cfg;
    memset(&cfg, 0, sizeof cfg);
    char err[512];
    if (kubeconfig_parse(text, size, "/nonexistent-fuzz-dir", NULL, &cfg, err, sizeof err)) {
        if (!cfg.server || !cfg.namespace)
            abort(); /* a parsed config has a server and a namespace */
        kube_config copy;
        memset(&copy, 0, sizeof copy);
        if (kube_config_copy(&copy, &cfg))
            kube_config_free(&copy);
    } else if (!err[0]) {
        abort();
    }
    kube_config_free(&cfg);
    kube_blob b = {0};
    if (base64_decode(text, size, &b))
        free(b.data);
    free(text);
    return 0;
}

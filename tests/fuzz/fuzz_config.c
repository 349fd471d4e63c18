/* fuzz_config.c — libFuzzer target for the experiments.yaml parser and
 * validator (core/config.c). Plugins are not loaded: a fuzzer must not
 * dlopen paths it made up. */
#include <stdint.h>
#include <string.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    csg_config_set_plugin_loading(false);
    csg_config *cfg = NULL;
    csg_errlist errs = {0};
    int rc = csg_config_load_string("fuzz.yaml", (const char *)data, size, &cfg, &errs);
    /* Invariants: success ⇔ no errors; every error names the file. */
    if ((rc == 0) != (errs.count == 0) || (rc == 0) != (cfg != NULL))
        __builtin_trap();
    for (size_t i = 0; i < errs.count; i++)
        if (strncmp(errs.items[i], "fuzz.yaml:", 10) != 0)
            __builtin_trap();
    if (cfg) {
        double sum = 0;
        for (size_t i = 0; i < cfg->n_challengers; i++)
            sum += cfg->challengers[i].weight;
        if (!cfg->experiment_id || !cfg->champion.name || cfg->n_transports == 0 ||
            sum > 1.0 + 1e-9)
            __builtin_trap();
    }
    csg_config_unref(cfg);
    csg_errlist_free(&errs);
    return 0;
}

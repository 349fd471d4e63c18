/* fuzz_config.c — libFuzzer target for the experiments.yaml parser and
 * validator (core/config.c, the `application:` schema in schema_config.c).
 * Plugins are not loaded: a fuzzer must not dlopen paths it made up.
 * An accepted schema must be usable: the readiness probe's application
 * built for it parses under it, it may reload onto itself, and
 * config_version is 16 hex digits. */
#include <stdint.h>
#include <string.h>

#include "application.h"
#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    csg_config *cfg = NULL;
    csg_errlist errs = {0};
    /* No registry: a fuzzer must not dlopen the paths it makes up. */
    int rc = csg_config_load_string("fuzz.yaml", (const char *)data, size, NULL, &cfg, &errs);
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
        const csg_schema *sc = cfg->schema;
        char why[256];
        if (!sc || sc->n > CSG_MAX_FEATURES || strlen(cfg->version) != 16 ||
            strspn(cfg->version, "0123456789abcdef") != 16 ||
            !csg_schema_reload_compatible(sc, sc, why, sizeof why))
            __builtin_trap();
        csg_application *probe = csg_app_probe(sc), *again = NULL;
        size_t n;
        const char *json = probe ? csg_app_json(probe, &n) : NULL;
        if (!json || csg_app_parse(sc, json, n, &again, NULL, NULL) != CSG_PARSE_OK)
            __builtin_trap();
        csg_app_free(again);
        csg_app_free(probe);
    }
    csg_config_unref(cfg);
    csg_errlist_free(&errs);
    return 0;
}

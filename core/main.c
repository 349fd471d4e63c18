/*
 * main.c — csg-gateway command line: run, --check-config, --help.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "config_assign.h"
#include "fdlimit.h"
#include "gateway.h"
#include "log.h"
#include "plugin_loader.h"
#include "promote.h"
#include "rebalance.h"
#include "registry.h"

#define DEFAULT_CONFIG "config/experiments.yaml"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: csg-gateway [--config FILE] [--log-level LEVEL]\n"
            "       csg-gateway --check-config FILE\n"
            "       csg-gateway --help-plugin PLUGIN.so\n"
            "       csg-gateway rebalance --config FILE\n"
            "       csg-gateway promote --config FILE --challenger NAME [--pid-file F]\n"
            "       csg-gateway rollback --config FILE [--pid-file F]\n"
            "\n"
            "Credit Score Gateway: scores every loan application with the champion model\n"
            "and a weighted share with challenger models, replies with the champion's\n"
            "answer and publishes one MetricEvent per request.\n"
            "\n"
            "  -c, --config FILE        configuration (default " DEFAULT_CONFIG ");\n"
            "                           relative paths in it are resolved against the\n"
            "                           current directory\n"
            "  -t, --check-config FILE  validate FILE as a start or SIGHUP does (plugins\n"
            "                           loaded, their options checked, every model's\n"
            "                           adapter created once: model URLs resolved),\n"
            "                           print every error with its line, exit 1 on\n"
            "                           errors; binds no port, opens no event sink\n"
            "      --help-plugin FILE   list a plugin's configuration keys\n"
            "  -l, --log-level LEVEL    error | warn | info (default) | debug\n"
            "  -h, --help               this text\n"
            "  rebalance --config FILE  rewrite the challengers' ranges: after a weight\n"
            "                           edit so no applicant moves between challengers\n"
            "\n"
            "Signals: SIGHUP reloads the configuration (a bad file is rejected and the\n"
            "running one stays); SIGTERM/SIGINT stop accepting, finish in-flight requests,\n"
            "flush the event queue and exit 0.\n");
}

/* Every client connection is a descriptor: run with the hard open-file limit,
 * and say so at start when even that is short of limits.max_connections. */
static void raise_fd_limit(const csg_config *cfg)
{
    csg_fdlimit lim;
    csg_error err = {{0}};
    if (csg_fdlimit_raise(&lim, &err) != 0)
        csg_log(CSG_LOG_WARN, "core", "%s", err.message);
    else if (lim.soft > lim.before)
        csg_log(CSG_LOG_INFO, "core", "open-file limit raised from %llu to %llu (the hard limit)",
                (unsigned long long)lim.before, (unsigned long long)lim.soft);
    char msg[512];
    if (csg_fdlimit_short(&lim, cfg->n_transports, cfg->max_connections, msg, sizeof msg))
        csg_log(CSG_LOG_WARN, "core", "%s", msg);
}

static int help_plugin(const char *path)
{
    csg_plugin *p = NULL;
    csg_error err;
    if (csg_plugin_load(path, CSG_PLUGIN_ANY_KIND, &p, &err) != 0) {
        fprintf(stderr, "%s\n", err.message);
        return 1;
    }
    printf("%s %s (%s, ABI %u.%u)\n", p->header->name, p->header->version,
           csg_plugin_kind_name(p->kind), p->header->abi_major, p->header->abi_minor);
    static const char *types[] = {"?", "string", "integer", "number", "bool", "url"};
    for (const csg_option *o = p->options; o && o->name; o++) {
        printf("  %-20s %-8s %s%s%s\n", o->name, types[o->type <= 5 ? o->type : 0],
               o->required ? "(required) " : "", o->default_value ? "default " : "",
               o->default_value ? o->default_value : "");
        if (o->description)
            printf("  %-20s          %s\n", "", o->description);
    }
    csg_plugin_unload(p);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc > 1 && (!strcmp(argv[1], "promote") || !strcmp(argv[1], "rollback")))
        return csg_promote_main(argc - 1, argv + 1);
    const char *config = DEFAULT_CONFIG;
    const char *check = NULL;
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"check-config", required_argument, NULL, 't'},
        {"log-level", required_argument, NULL, 'l'},
        {"help-plugin", required_argument, NULL, 'P'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    if (argc > 1 && !strcmp(argv[1], "rebalance"))
        return csg_rebalance_main(argc - 1, argv + 1);
    int ch;
    while ((ch = getopt_long(argc, argv, "c:t:l:h", opts, NULL)) != -1) {
        switch (ch) {
        case 'c':
            config = optarg;
            break;
        case 't':
            check = optarg;
            break;
        case 'l': {
            csg_log_level lvl;
            if (!csg_log_parse_level(optarg, &lvl)) {
                fprintf(stderr, "csg-gateway: --log-level must be error, warn, info or debug\n");
                return 2;
            }
            csg_log_set_level(lvl);
            break;
        }
        case 'P':
            return help_plugin(optarg);
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "csg-gateway: unexpected argument \"%s\"\n", argv[optind]);
        usage(stderr);
        return 2;
    }

    csg_errlist errs = {0};
    csg_config *cfg = NULL;
    /* The gateway's plugins: each distinct file loaded once, for the start
     * and every reload (the config and then the gateway keep it). */
    csg_registry *reg = csg_registry_new();
    if (!reg) {
        fprintf(stderr, "csg-gateway: out of memory\n");
        return 1;
    }
    if (check) {
        int rc = csg_config_load(check, reg, &cfg, &errs);
        csg_registry_unref(reg);
        if (rc == 0)
            rc = csg_gateway_check(cfg, &errs);
        for (size_t i = 0; i < errs.count; i++)
            fprintf(stderr, "%s\n", errs.items[i]);
        if (rc == 0) {
            char how[300];
            csg_cfg_assign_describe(cfg, how, sizeof how);
            printf("%s: %s\n", check, how);
            printf("%s: configuration OK\n", check);
        } else {
            fprintf(stderr, "%s: %zu error(s); configuration test failed\n", check, errs.count);
        }
        csg_errlist_free(&errs);
        csg_config_unref(cfg);
        return rc == 0 ? 0 : 1;
    }

    int lrc = csg_config_load(config, reg, &cfg, &errs);
    csg_registry_unref(reg); /* cfg holds it now */
    if (lrc != 0) {
        for (size_t i = 0; i < errs.count; i++)
            csg_log(CSG_LOG_ERROR, "config", "%s", errs.items[i]);
        csg_log(CSG_LOG_ERROR, "core", "%s: %zu error(s); not starting", config, errs.count);
        csg_errlist_free(&errs);
        return 1;
    }
    csg_errlist_free(&errs);

    /* Before any thread exists: only the main loop takes these signals, and
     * every thread (workers, transports' own) inherits the mask. */
    signal(SIGPIPE, SIG_IGN);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGHUP);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);

    raise_fd_limit(cfg);
    csg_gateway *gw = NULL;
    csg_error err = {{0}};
    if (csg_gateway_start(cfg, config, &gw, &err) != 0) {
        csg_log(CSG_LOG_ERROR, "core", "cannot start: %s", err.message);
        csg_config_unref(cfg);
        return 1;
    }
    csg_config_unref(cfg);
    return csg_gateway_run(gw);
}

/*
 * main.c — csg-persist command line: run (consume + REST API), migrate, import.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "api.h"
#include "audit.h"
#include "baseline.h"
#include "csg_kafka_sec.h"
#include "db.h"
#include "ingest.h"
#include "retention.h"
#include "rollup.h"

#define DEFAULT_SQLITE "var/csg.sqlite"

static volatile sig_atomic_t g_stop;

static void on_signal(int sig)
{
    (void)sig;
    g_stop = 1;
}

/* The database hook while starting: a stop request abandons a connect in progress. */
static bool stop_requested(void *arg)
{
    (void)arg;
    return g_stop != 0;
}

/* Sleep up to ms, waking early on a stop request. Slices rather than pause()/one long
 * nanosleep: the signal may be delivered to another thread (the REST API's), which does
 * not interrupt this one. */
static void sleep_unless_stopped(int64_t ms)
{
    for (int64_t end = csg_now_ms_int() + ms; !g_stop;) {
        int64_t left = end - csg_now_ms_int();
        if (left <= 0)
            return;
        struct timespec ts = {0, (left > 100 ? 100 : left) * 1000000L};
        nanosleep(&ts, NULL);
    }
}

static void usage(FILE *f)
{
    fputs("usage: csg-persist [options]              consume MetricEvents and serve the REST API\n"
          "       csg-persist migrate --db URL        apply the schema migrations (as the owner)\n"
          "       csg-persist import --db URL FILE    load NDJSON MetricEvents (- = stdin)\n"
          "       csg-persist purge --db URL --before DATE\n"
          "                                           drop raw rows older than DATE (as the owner;\n"
          "                                           PostgreSQL drops whole day partitions), keep\n"
          "                                           the rollups; feature counts drop them\n"
          "       csg-persist partitions --db URL [--days-ahead N]\n"
          "                                           create the day partitions of yesterday …\n"
          "                                           today+N (default 7) and of the days in the\n"
          "                                           default partition (PostgreSQL, as the owner);\n"
          "                                           delete expired minute rollups (both)\n"
          "\n"
          "options:\n"
          "  --db URL                 postgresql://USER@HOST:PORT/DB (password from PGPASSFILE)\n"
          "                           or sqlite:PATH; default sqlite:" DEFAULT_SQLITE "\n"
          "  --brokers H:P[,H:P]      Kafka bootstrap servers (default 127.0.0.1:9092)\n"
          "  --topic T                topic (default credit_score_metrics)\n"
          "  --dlq-topic T            dead-letter topic (default <topic>.dlq)\n"
          "  --group G                consumer group (default csg-persist)\n"
          "  --listen HOST:PORT       REST API address (default 127.0.0.1:8090)\n"
          "  --session-timeout-ms N   consumer session timeout (default 10000)\n"
          "  --batch-max N            messages (or imported events) per DB transaction\n"
          "                           (default 20000)\n"
          "  --batch-ms N             gather a batch for at most N ms (default 20)\n"
          "  --backoff-max-ms N       longest retry wait while the DB is down (default 5000)\n"
          "  --baseline FILE          store a stability baseline (models/*.baseline.json) at\n"
          "                           start; repeatable (also POST /baselines)\n"
          "  --minute-window MIN      per-minute rollups for events of the last MIN minutes\n"
          "                           (default 2880 = 48 h; 0: none); queries starting inside\n"
          "                           it read them; give every csg-persist of a database the same\n"
          "  --no-consume             REST API only\n"
          "  --no-api                 consumer only\n"
          "  --log-level L            debug|info|warn|error (default info)\n"
          "  --token-file FILE        require bearer tokens: lines \"read <token>\" / \"write\n"
          "                           <token>\", mode 600; every endpoint needs read, POST\n"
          "                           needs write (docs/security.md)\n"
          "  --tls-cert FILE          serve the API over TLS with this certificate (PEM chain)\n"
          "  --tls-key FILE           … and this private key (mode 600)\n"
          "  --tls-min-version V      1.2 (default) or 1.3\n"
          "  --pseudonymize-key-file FILE\n"
          "                           the gateway's events.pseudonymize_applicant_id key: POST\n"
          "                           /outcomes ids and applicant_id filters are HMAC'ed with it\n"
          "  --kafka-conf KEY=VALUE   a librdkafka security setting (security.protocol, sasl.*,\n"
          "                           ssl.*; repeatable; secrets are never logged)\n"
          "  --help\n"
          "\n"
          "SQLite databases are migrated automatically; PostgreSQL ones by `csg-persist migrate`\n"
          "with the owner role (csg_owner), while the service runs as csg_app.\n",
          f);
}

static int ensure_parent_dir(const char *url)
{
    if (strncmp(url, "sqlite:", 7))
        return 0;
    char path[4096];
    snprintf(path, sizeof path, "%s", url + 7);
    char *slash = strrchr(path, '/');
    if (!slash || slash == path)
        return 0;
    *slash = 0;
    /* mkdir -p */
    for (char *p = path + 1; *p; p++) {
        if (*p == '/') {
            *p = 0;
            mkdir(path, 0755);
            *p = '/';
        }
    }
    mkdir(path, 0755);
    return 0;
}

static int int_opt(const char *name, const char *v, int lo, int hi, int *out)
{
    char *end;
    long x = strtol(v, &end, 10);
    if (*end || end == v || x < lo || x > hi) {
        fprintf(stderr, "csg-persist: %s must be an integer from %d to %d\n", name, lo, hi);
        return -1;
    }
    *out = (int)x;
    return 0;
}

/* `purge --before DATE` / `partitions [--days-ahead N]` (retention.h): 0, 1 or 2 (usage). */
static int retention_cmd(csgp_db *db, const char *mode, const char *before, int days_ahead,
                         csg_error *err)
{
    if (!strcmp(mode, "partitions")) {
        int created = 0;
        int64_t minutes = 0;
        if (csgp_partitions_upkeep(db, days_ahead, &created, &minutes, err) != 0) {
            fprintf(stderr, "csg-persist partitions: %s\n", err->message);
            return 1;
        }
        printf("csg-persist partitions: %d day partition(s) created, %lld expired minute "
               "rollup row(s) deleted\n", created, (long long)minutes);
        return 0;
    }
    int64_t ms;
    char day[32];
    if (before && strlen(before) == 10) { /* YYYY-MM-DD: that day's start, UTC */
        snprintf(day, sizeof day, "%sT00:00:00Z", before);
        before = day;
    }
    if (!before || csgp_parse_time_param(before, &ms)) {
        fprintf(stderr, "csg-persist purge: --before DATE is required (RFC 3339, YYYY-MM-DD or "
                        "epoch seconds)\n");
        return 2;
    }
    int64_t parts = 0, rows = 0;
    if (csgp_purge(db, ms, &parts, &rows, err) != 0) {
        fprintf(stderr, "csg-persist purge: %s\n", err->message);
        return 1;
    }
    char ts[CSGP_TS_SIZE];
    csgp_format_ms(ms, ts);
    printf("csg-persist purge: %lld row(s) before %s removed (%lld day partition(s) dropped); "
           "rollups kept\n", (long long)rows, ts, (long long)parts);
    return 0;
}

/* --baseline FILE…: validate and store each (replacing the model's earlier one). */
static int store_baselines(csgp_db *db, const char *const *files, int n, csg_error *err)
{
    for (int i = 0; i < n; i++) {
        csgp_baseline b;
        int rc = csgp_baseline_read_file(files[i], &b, err);
        if (rc == 0)
            rc = csgp_baseline_store(db, &b, err);
        if (rc == 0)
            csgp_log("info", "baseline of %s stored from %s", b.model, files[i]);
        csgp_baseline_free(&b);
        if (rc)
            return rc;
    }
    return 0;
}

int main(int argc, char **argv)
{
    const char *mode = "run";
    if (argc > 1 && (!strcmp(argv[1], "migrate") || !strcmp(argv[1], "import") ||
                     !strcmp(argv[1], "run") || !strcmp(argv[1], "purge") ||
                     !strcmp(argv[1], "partitions"))) {
        mode = argv[1];
        argv[1] = argv[0];
        argv++;
        argc--;
    }
    const char *db_url = NULL, *listen = "127.0.0.1:8090";
    char dlq_buf[300];
    csgp_ingest_cfg cfg = {.brokers = "127.0.0.1:9092",
                           .topic = "credit_score_metrics",
                           .group = "csg-persist",
                           .session_timeout_ms = 10000,
                           .batch_max = 20000,
                           .batch_ms = 20,
                           .backoff_max_ms = 5000};
    bool consume = true, api_on = true;
    enum { O_DB = 1, O_BROKERS, O_TOPIC, O_DLQ, O_GROUP, O_LISTEN, O_SESSION, O_BMAX, O_BMS,
           O_BACKOFF, O_NOCONSUME, O_NOAPI, O_LOG, O_HELP, O_BEFORE, O_AHEAD, O_BASELINE,
           O_TOKENS, O_TLS_CERT, O_TLS_KEY, O_TLS_MIN, O_PSEUDO, O_KAFKA_CONF, O_MINUTES };
    enum { MAX_BASELINE_FILES = 16 };
    const char *baseline_files[MAX_BASELINE_FILES];
    int nbaseline_files = 0;
    csgp_security_opts sopt = {0};
    const char *kafka_conf[2 * CSG_KAFKA_SEC_MAX];
    csg_error aerr = {{0}};
    const char *before = NULL;
    int days_ahead = 7;
    static const struct option opts[] = {
        {"db", required_argument, 0, O_DB},
        {"brokers", required_argument, 0, O_BROKERS},
        {"topic", required_argument, 0, O_TOPIC},
        {"dlq-topic", required_argument, 0, O_DLQ},
        {"group", required_argument, 0, O_GROUP},
        {"listen", required_argument, 0, O_LISTEN},
        {"session-timeout-ms", required_argument, 0, O_SESSION},
        {"batch-max", required_argument, 0, O_BMAX},
        {"batch-ms", required_argument, 0, O_BMS},
        {"backoff-max-ms", required_argument, 0, O_BACKOFF},
        {"no-consume", no_argument, 0, O_NOCONSUME},
        {"no-api", no_argument, 0, O_NOAPI},
        {"log-level", required_argument, 0, O_LOG},
        {"help", no_argument, 0, O_HELP},
        {"before", required_argument, 0, O_BEFORE},
        {"days-ahead", required_argument, 0, O_AHEAD},
        {"minute-window", required_argument, 0, O_MINUTES},
        {"baseline", required_argument, 0, O_BASELINE},
        {"token-file", required_argument, 0, O_TOKENS},
        {"tls-cert", required_argument, 0, O_TLS_CERT},
        {"tls-key", required_argument, 0, O_TLS_KEY},
        {"tls-min-version", required_argument, 0, O_TLS_MIN},
        {"pseudonymize-key-file", required_argument, 0, O_PSEUDO},
        {"kafka-conf", required_argument, 0, O_KAFKA_CONF},
        {0, 0, 0, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case O_DB: db_url = optarg; break;
        case O_BROKERS: cfg.brokers = optarg; break;
        case O_TOPIC: cfg.topic = optarg; break;
        case O_DLQ: cfg.dlq_topic = optarg; break;
        case O_GROUP: cfg.group = optarg; break;
        case O_LISTEN: listen = optarg; break;
        case O_SESSION:
            if (int_opt("--session-timeout-ms", optarg, 1000, 3600000, &cfg.session_timeout_ms))
                return 2;
            break;
        case O_BMAX:
            if (int_opt("--batch-max", optarg, 1, 100000, &cfg.batch_max))
                return 2;
            break;
        case O_BMS:
            if (int_opt("--batch-ms", optarg, 0, 60000, &cfg.batch_ms))
                return 2;
            break;
        case O_BACKOFF:
            if (int_opt("--backoff-max-ms", optarg, 100, 600000, &cfg.backoff_max_ms))
                return 2;
            break;
        case O_BEFORE: before = optarg; break;
        case O_AHEAD:
            if (int_opt("--days-ahead", optarg, 0, 366, &days_ahead))
                return 2;
            break;
        case O_MINUTES: {
            int minutes = 0; /* up to a year */
            if (int_opt("--minute-window", optarg, 0, 366 * 1440, &minutes))
                return 2;
            csgp_rollup_set_minute_window((int64_t)minutes * 60);
            break;
        }
        case O_BASELINE:
            if (nbaseline_files == MAX_BASELINE_FILES) {
                fprintf(stderr, "csg-persist: at most %d --baseline files\n", MAX_BASELINE_FILES);
                return 2;
            }
            baseline_files[nbaseline_files++] = optarg;
            break;
        case O_TOKENS: sopt.token_file = optarg; break;
        case O_TLS_CERT: sopt.tls_cert = optarg; break;
        case O_TLS_KEY: sopt.tls_key = optarg; break;
        case O_TLS_MIN: sopt.tls_min_version = optarg; break;
        case O_PSEUDO: sopt.pseudonym_key_file = optarg; break;
        case O_KAFKA_CONF:
            if (csgp_kafka_conf_add(optarg, kafka_conf, &cfg.n_kafka_conf, &aerr)) {
                fprintf(stderr, "csg-persist: %s\n", aerr.message);
                return 2;
            }
            cfg.kafka_conf = kafka_conf;
            break;
        case O_NOCONSUME: consume = false; break;
        case O_NOAPI: api_on = false; break;
        case O_LOG:
            csgp_log_set_level(!strcmp(optarg, "debug") ? 0
                               : !strcmp(optarg, "warn") ? 2
                               : !strcmp(optarg, "error") ? 3
                                                           : 1);
            break;
        case O_HELP:
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (!cfg.dlq_topic) {
        snprintf(dlq_buf, sizeof dlq_buf, "%s.dlq", cfg.topic);
        cfg.dlq_topic = dlq_buf;
    }
    if (!db_url) {
        if (strcmp(mode, "run")) {
            fprintf(stderr, "csg-persist %s: --db URL is required\n", mode);
            return 2;
        }
        db_url = "sqlite:" DEFAULT_SQLITE;
    }
    /* Token, TLS and key files are checked before anything starts (run only). */
    static csgp_security sec;
    if (!strcmp(mode, "run") && csgp_security_load(&sopt, &sec, &aerr)) {
        fprintf(stderr, "csg-persist: %s\n", aerr.message);
        return 2;
    }
    char shown[512];
    csgp_db_redact_url(db_url, shown, sizeof shown);
    ensure_parent_dir(db_url);

    if (!strcmp(mode, "run")) {
        /* Before anything can wait on the database, so a stop request is never lost. */
        struct sigaction sa = {0};
        sa.sa_handler = on_signal;
        sigaction(SIGINT, &sa, NULL);
        sigaction(SIGTERM, &sa, NULL);
        signal(SIGPIPE, SIG_IGN);
    }
    csg_error err = {{0}};
    csgp_db *db = NULL;
    if (csgp_db_open(db_url, "ingest", &db, &err)) {
        fprintf(stderr, "csg-persist: %s\n", err.message);
        return 1;
    }

    if (!strcmp(mode, "migrate")) {
        int applied = 0;
        int rc = csgp_db_migrate(db, &applied, &err);
        if (rc)
            fprintf(stderr, "csg-persist migrate: %s\n", err.message);
        else
            printf("csg-persist migrate: %d migration(s) applied, schema at version %d (%s)\n",
                   applied, csgp_db_latest_version(db), shown);
        csgp_db_close(db);
        return rc ? 1 : 0;
    }

    if (!strcmp(mode, "purge") || !strcmp(mode, "partitions")) {
        int rc = retention_cmd(db, mode, before, days_ahead, &err);
        csgp_db_close(db);
        return rc;
    }

    /* SQLite is embedded: bring its schema up to date ourselves. */
    if (csgp_db_kind_of(db) == CSGP_DB_SQLITE && csgp_db_migrate(db, NULL, &err)) {
        fprintf(stderr, "csg-persist: %s\n", err.message);
        csgp_db_close(db);
        return 1;
    }

    if (!strcmp(mode, "import")) {
        if (optind != argc - 1) {
            fprintf(stderr, "csg-persist import: give exactly one FILE (- for stdin)\n");
            csgp_db_close(db);
            return 2;
        }
        int rc = csgp_db_check_schema(db, &err);
        FILE *f = NULL;
        if (!rc) {
            f = strcmp(argv[optind], "-") ? fopen(argv[optind], "r") : stdin;
            struct stat sb;
            if (!f)
                rc = csg_fail(&err, CSG_EIO, "cannot open %s", argv[optind]);
            else if (fstat(fileno(f), &sb) == 0 && S_ISDIR(sb.st_mode))
                /* fopen(dir, "r") succeeds on Linux; reading then fails */
                rc = csg_fail(&err, CSG_EIO, "cannot read %s: is a directory", argv[optind]);
        }
        csgp_import_stats st = {0};
        if (!rc)
            rc = csgp_import(db, f, (size_t)cfg.batch_max, &st, &err);
        if (f && f != stdin)
            fclose(f);
        csgp_db_close(db);
        if (rc) {
            fprintf(stderr, "csg-persist import: %s\n", err.message);
            return 1;
        }
        printf("{\"lines\":%zu,\"inserted\":%zu,\"duplicates\":%zu,\"rejected\":%zu}\n", st.lines,
               st.inserted, st.duplicates, st.rejected);
        return st.rejected ? 3 : 0;
    }

    if (optind != argc) {
        fprintf(stderr, "csg-persist: unexpected argument %s\n", argv[optind]);
        usage(stderr);
        csgp_db_close(db);
        return 2;
    }
    /* The schema must be in place; wait for a database that is still starting. */
    csgp_db_set_interrupt(db, stop_requested, NULL);
    for (int64_t wait_ms = 100;;) {
        int rc = csgp_db_check_schema(db, &err);
        if (rc == 0)
            break;
        if (rc == -CSGP_EDB && g_stop) {
            /* Stopped before it ever ran: as clean a stop as any other (exit 0). */
            csgp_log("info", "csg-persist stopped while waiting for the database");
            csgp_db_close(db);
            return 0;
        }
        if (rc != -CSGP_EDB) {
            fprintf(stderr, "csg-persist: %s\n", err.message);
            csgp_db_close(db);
            return 1;
        }
        csgp_log("warn", "database not reachable yet (%s); retrying", err.message);
        sleep_unless_stopped(wait_ms);
        wait_ms = wait_ms * 2 > 5000 ? 5000 : wait_ms * 2;
    }
    csgp_db_set_interrupt(db, NULL, NULL);
    if (store_baselines(db, baseline_files, nbaseline_files, &err)) {
        fprintf(stderr, "csg-persist: %s\n", err.message);
        csgp_db_close(db);
        return 1;
    }

    static csgp_metrics metrics;
    csgp_api *api = NULL;
    if (api_on && csgp_api_start(listen, db_url, &metrics, &sec, &api, &err)) {
        fprintf(stderr, "csg-persist: %s\n", err.message);
        csgp_db_close(db);
        return 1;
    }
    csgp_log("info", "csg-persist up: db %s, api %s%s%s%s, consumer %s%s", shown,
             api_on ? listen : "off", sec.tls ? " (TLS)" : "", sec.tokens ? " (tokens)" : "",
             sec.pseudonym ? " (pseudonymised ids)" : "", consume ? cfg.topic : "off",
             cfg.n_kafka_conf ? " (Kafka security settings)" : "");
    int rc = 0;
    csgp_audit_consumer *audit = NULL;
    /* The audit trail (GET /experiments, SRM weights) comes on a topic of its own. */
    if (consume && csgp_audit_start(cfg.brokers, cfg.group, cfg.kafka_conf, cfg.n_kafka_conf, db_url,
                                 &audit, &err))
        csgp_log("error", "audit consumer: %s (GET /experiments stays empty)", err.message);
    if (consume) {
        rc = csgp_ingest_run(db, &cfg, &metrics, &g_stop, &err);
        if (rc)
            csgp_log("error", "ingest: %s", err.message);
    } else {
        while (!g_stop)
            sleep_unless_stopped(1000);
    }
    /* A REST request still waiting on the database gives up now, so joining the API
     * thread is quick even when the server hangs. */
    csgp_audit_stop(audit); /* its own interrupt hook: quick even on a hung server */
    csgp_db_interrupt_all();
    csgp_api_stop(api);
    csgp_db_close(db);
    csgp_security_free(&sec);
    csgp_log("info", "csg-persist stopped");
    return rc ? 1 : 0;
}

/*
 * csg/plugin.h — the public plugin ABI of csg-gateway.
 *
 * This is the only header a transport plugin or a model adapter includes from
 * the gateway. Every plugin is a shared object exporting one function,
 *
 *     const csg_plugin_header *csg_plugin_entry(void);
 *
 * which returns a pointer to a static, constant descriptor: a
 * csg_transport_plugin or a csg_model_adapter. Both begin with
 * csg_plugin_header, which the loader checks in this order before it reads
 * anything else: magic, struct_size (at least the size of the header), ABI
 * major (must equal the gateway's), ABI minor (may be older than the
 * gateway's: fields added later are then treated as absent), kind, then
 * struct_size against the kind's mandatory part. The header's layout is the
 * same in every major, so the loader can always name both versions.
 *
 * A descriptor may be smaller than the gateway's struct (a plugin built
 * against an older minor): the loader copies the struct_size bytes it has
 * into a zeroed descriptor of the gateway's size, so every field past the
 * plugin's end reads as NULL/0 — absent. Only the fields marked "optional
 * tail" below may be missing; the rest is the ABI 2.0 baseline.
 *
 * Compatibility rules:
 *  - Any incompatible change to a struct in this file bumps CSG_ABI_MAJOR.
 *  - Fields are only ever appended at the end of a struct, and enum values
 *    only at the end of an enum; that bumps CSG_ABI_MINOR. Structs carry
 *    their own size so both sides can tell which fields the other one knows.
 *    A value added in a minor version is only ever produced by plugins built
 *    against it (e.g. CSG_SCORE_OVERLOADED, 1.1); the core treats a value it
 *    does not know as CSG_SCORE_ERROR.
 *
 * Threads: the gateway runs N worker threads, each with its own libevent
 * event_base. Unless a comment says otherwise, a function pointer is called
 * on a worker thread and must never block (no DNS, no sleep, no synchronous
 * socket or file I/O).
 */
#ifndef CSG_PLUGIN_H
#define CSG_PLUGIN_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct event_base; /* libevent */

#define CSG_PLUGIN_MAGIC 0x31475343u /* "CSG1" little-endian */
#define CSG_ABI_MAJOR 2
#define CSG_ABI_MINOR 2 /* 2.0: feature schema, opaque csg_application, sized structs;
                           * 2.1: reasons and points in csg_score_result, reasons in csg_reply;
                           * 2.2: arm in csg_reply (live challengers); tls in
                           *      csg_transport_config, tls_reload in the transport */
#define CSG_PLUGIN_ENTRY_SYMBOL "csg_plugin_entry"

typedef enum csg_plugin_kind {
    CSG_PLUGIN_TRANSPORT = 1,
    CSG_PLUGIN_MODEL_ADAPTER = 2,
} csg_plugin_kind;

/* Start of every descriptor. struct_size = sizeof the whole descriptor.
 * Its layout never changes (also across majors). */
typedef struct csg_plugin_header {
    uint32_t magic;       /* CSG_PLUGIN_MAGIC */
    uint16_t abi_major;   /* CSG_ABI_MAJOR the plugin was built against */
    uint16_t abi_minor;   /* CSG_ABI_MINOR the plugin was built against */
    uint32_t struct_size; /* sizeof(csg_transport_plugin) or sizeof(csg_model_adapter) */
    uint32_t kind;        /* csg_plugin_kind */
    const char *name;     /* e.g. "http", "rest"; static storage */
    const char *version;  /* plugin's own version, e.g. "1.0.0"; static storage */
} csg_plugin_header;

typedef const csg_plugin_header *(*csg_plugin_entry_fn)(void);

/* Fill a header in a descriptor initialiser. */
#define CSG_PLUGIN_HEADER(kind_, type_, name_, version_)                                 \
    {                                                                                     \
        .magic = CSG_PLUGIN_MAGIC, .abi_major = CSG_ABI_MAJOR, .abi_minor = CSG_ABI_MINOR, \
        .struct_size = (uint32_t)sizeof(type_), .kind = (kind_), .name = (name_),         \
        .version = (version_)                                                             \
    }

/* ------------------------------------------------------------------------ */
/* Errors                                                                    */
/*
 * CSG_OK, CSG_EINVAL, CSG_ENOMEM, CSG_EIO, CSG_EPLUGIN and csg_error come from
 * lib/csg_error.h, the one error module every component shares (csg-persist
 * and csg-model too, without this header): functions that can fail return 0
 * or -CSG_E… and fill *err (if non-NULL) with a human-readable message; never
 * print from library code. Plugins may fill one with csg_fail (link lib/'s
 * csg_lib) or snprintf into err->message.
 */
#include "csg_error.h"

/* ------------------------------------------------------------------------ */
/* Plugin options                                                            */
/*
 * A plugin declares its YAML keys in a table terminated by a row with
 * name == NULL. The core validates the plugin's YAML block against it (unknown
 * keys, missing required keys, types, ranges — with file:line) before calling
 * create, so `csg-gateway --check-config` covers plugin options too. Keys the
 * core itself owns (plugin/adapter, listen, name, weight, timeout_ms) are never
 * passed to the table.
 *
 * The plugin receives an array of csg_option_value in the same order as its
 * table: values[i] is the value of table[i] (its default when the key was
 * absent; .is_set tells which).
 *
 * Or, as Fluent Bit's config_map does, let the core store each value in the
 * plugin's own struct: give a row a target, CSG_OPT_AT(struct, field), and
 * call api->options_apply(table, cfg->options, &my_struct) in create. The
 * field's C type follows the option's type: STRING and URL `const char *`
 * (owned by the core, valid until destroy), INT `int64_t`, DOUBLE `double`,
 * BOOL `bool`. Defaults then live only in the table.
 */
typedef enum csg_option_type {
    CSG_OPT_STRING = 1,
    CSG_OPT_INT = 2,    /* 64-bit integer, range [min, max] */
    CSG_OPT_DOUBLE = 3, /* finite double, range [min, max] */
    CSG_OPT_BOOL = 4,   /* true/false */
    CSG_OPT_URL = 5,    /* http[s]://host:port/path (string, checked by the core) */
} csg_option_type;

typedef struct csg_option {
    csg_option_type type;
    const char *name;
    const char *default_value; /* textual default, NULL = none */
    bool required;
    double min, max;           /* for INT and DOUBLE; min > max means unbounded */
    const char *description;   /* one line, shown by --help-plugin */
    uint32_t target;           /* CSG_OPT_AT(struct, field), or 0: none (options_apply) */
} csg_option;

/* A row's target: where options_apply stores the value (offset + 1, so 0 is "none"). */
#define CSG_OPT_AT(type, field) ((uint32_t)(offsetof(type, field) + 1))

typedef struct csg_option_value {
    bool is_set;     /* given in the YAML (false: default or absent) */
    const char *str; /* STRING, URL: NUL-terminated, owned by the core, valid until destroy */
    int64_t i;       /* INT; also BOOL as 0/1 */
    double d;        /* DOUBLE; INT converted */
    bool b;          /* BOOL */
} csg_option_value;

/* ------------------------------------------------------------------------ */
/* Sizes of structs that cross the boundary                                  */
/*
 * Every struct passed between the core and a plugin by pointer starts with
 * (or carries) `uint32_t size` = sizeof the struct as its writer was built.
 * Fields of the ABI 2.0 layout are always there; a field added in a later
 * minor is read only when the writer's size covers it:
 *
 *     if (CSG_STRUCT_HAS(res, csg_score_result, points)) …
 *
 * csg_core_api is the common case, with its own macro:
 *
 *     if (CSG_API_HAS(api, some_2_1_function)) api->some_2_1_function(…);
 *
 * Exceptions: csg_option and csg_option_value are array elements (the
 * reader must know the stride), so their layout is fixed for all of ABI 2.x
 * and any change to them bumps the major.
 */
#define CSG_STRUCT_HAS(p, type, field) \
    ((p)->size >= offsetof(type, field) + sizeof(((const type *)0)->field))
#define CSG_API_HAS(api, field) CSG_STRUCT_HAS(api, csg_core_api, field)

/* ------------------------------------------------------------------------ */
/* Requests and replies                                                      */

#define CSG_APPLICANT_ID_MAX 64
#define CSG_REQUEST_ID_MAX 64
#define CSG_FEATURE_NAME_MAX 32 /* [a-z][a-z0-9_]{0,31} */
#define CSG_MAX_FEATURES 64

/*
 * A validated loan application (DESIGN §4, §5): the applicant id, the
 * feature vector in the order of the configuration's schema (a present flag
 * and a typed value per feature) and its canonical compact JSON text
 * {"applicant_id":"…",<present features in schema order>}. Opaque: read it
 * only through the csg_core_api accessors (app_*). Created by
 * api->parse_application on the heap; owned by whoever holds it (see
 * parse_application and submit). Immutable once parsed.
 */
typedef struct csg_application csg_application;

/* The configuration's feature schema (`application:` in experiments.yaml).
 * Opaque and immutable; read it through csg_core_api (feature_*). A model
 * adapter gets the schema of the configuration that creates it in
 * csg_adapter_config.schema, and every application it is asked to score was
 * validated against (or mapped onto) that same schema, so feature indexes
 * looked up once in create stay valid for the instance's life. */
typedef struct csg_schema csg_schema;

typedef enum csg_feature_type {
    CSG_FEATURE_NUMBER = 1,   /* finite double */
    CSG_FEATURE_INTEGER = 2,  /* int64 */
    CSG_FEATURE_CATEGORY = 3, /* one of the schema's values (a string) */
    CSG_FEATURE_BOOLEAN = 4,  /* true/false */
} csg_feature_type;

/* csg_decision (CSG_DECISION_NONE/APPROVE/DECLINE/REVIEW), csg_reply_status
 * (CSG_REPLY_OK, _CHAMPION_ERROR, _CHAMPION_TIMEOUT, _OVERLOADED, _NOT_READY,
 * _DEADLINE) and their names (csg_decision_name, csg_reply_status_code, the
 * DESIGN §5 error codes CSG_CODE_…) come from lib/csg_vocab.h: the one
 * vocabulary the gateway, every transport and csg-persist share. Their values
 * are part of this ABI. */
#include "csg_vocab.h"

/* What a transport hands to core_api->submit. */
typedef struct csg_request {
    uint32_t size;        /* sizeof(csg_request) */
    csg_application *app; /* from parse_application; submit takes ownership */
    char request_id[CSG_REQUEST_ID_MAX + 1]; /* "" = let the core generate a UUIDv4 */
    const char *transport;                   /* "http", "tcp", "grpc": static storage */
    int64_t deadline_ms;                     /* client deadline, CLOCK_MONOTONIC ms; 0 = none */
} csg_request;

/* An adverse-action reason (DESIGN §5): why a model declined, most important
 * first. code is [A-Z0-9_]{1,16}; feature is a feature name
 * ([a-z][a-z0-9_]{0,31}) or NULL (none: the core's own FALLBACK reason);
 * text is 1-200 bytes of UTF-8 without control characters. The bounds are
 * CSG_REASON_* in lib/csg_event_schema.h. ABI 2.1. */
#define CSG_REASONS_MAX_ABI 4 /* = CSG_REASONS_MAX: at most this many per answer */
typedef struct csg_reason {
    const char *code;
    const char *feature; /* NULL = none */
    const char *text;
} csg_reason;

/* Handed to the transport's reply callback; valid only during the callback. */
typedef struct csg_reply {
    uint32_t size; /* sizeof(csg_reply) of the core */
    csg_reply_status status;
    const char *applicant_id;
    double score;                  /* full double precision, unchanged from the model */
    csg_decision decision;
    bool is_fallback;              /* decision is champion.fallback_decision; score is
                                    * NaN then (no model answer): JSON sends null,
                                    * gRPC 0 + x-csg-fallback metadata */
    const char *model;             /* the deciding model's name (arm says which) */
    const char *experiment_id;
    const char *request_id;        /* always set (client's or generated) */
    const char *error_message;     /* for status != OK */
    /* ABI 2.1 tail: test with CSG_STRUCT_HAS(reply, csg_reply, reasons).
     * For status OK: the deciding model's reasons (0 on approve), or the single
     * FALLBACK reason (feature NULL) with is_fallback. Valid only during the
     * callback, like the rest of the reply. */
    unsigned reason_count;
    const csg_reason *reasons;
    /* ABI 2.2 tail: test with CSG_STRUCT_HAS(reply, csg_reply, arm). For status OK:
     * "champion" or "challenger" (a live challenger decided; model then names it). */
    const char *arm;
} csg_reply;

/* Called exactly once per submitted request, always later from the same
 * worker's event loop, never from inside submit itself. */
typedef void (*csg_reply_cb)(void *ctx, const csg_reply *reply);

/* Result of parsing a JSON application (HTTP body, TCP line). */
typedef enum csg_parse_status {
    CSG_PARSE_OK = 0,
    CSG_PARSE_INVALID_JSON = 1,  /* error code "invalid_json" */
    CSG_PARSE_INVALID_FIELD = 2, /* error code "invalid_field", field named */
} csg_parse_status;

typedef struct csg_parse_error {
    csg_parse_status status;
    char field[48];     /* for INVALID_FIELD: "applicant_id", a feature name, or "request_id" */
    char message[192];  /* human-readable, e.g. "income must be a finite number >= 0" */
} csg_parse_error;

/* ------------------------------------------------------------------------ */
/* What the core gives plugins                                               */

typedef struct csg_worker csg_worker; /* opaque: one per worker thread */

typedef enum csg_log_level {
    CSG_LOG_ERROR = 0,
    CSG_LOG_WARN = 1,
    CSG_LOG_INFO = 2,
    CSG_LOG_DEBUG = 3,
} csg_log_level;

/*
 * The table of core functions handed to every plugin. It carries its own
 * size and only ever grows at the end: before using a field added after
 * ABI 2.0, test it with CSG_API_HAS(api, field).
 * All functions are thread-safe unless noted.
 */
typedef struct csg_core_api {
    uint32_t size; /* sizeof(csg_core_api) of the running gateway */
    uint16_t abi_major, abi_minor;

    /* Structured JSON log line to stderr. component = plugin name. */
    void (*log)(csg_log_level level, const char *component, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

    /* Worker accessors (any thread). */
    struct event_base *(*worker_base)(csg_worker *w);
    unsigned (*worker_index)(csg_worker *w);
    unsigned (*worker_count)(void);

    /* Submit a request on worker w (call on w's thread only). The core
     * copies *req and takes ownership of req->app (always, also when it
     * answers at once with an error): the caller must not touch the
     * application afterwards. on_reply(ctx, reply) is called exactly once,
     * later, on the same thread. */
    void (*submit)(csg_worker *w, const csg_request *req, csg_reply_cb on_reply, void *ctx);

    /* Parse and validate a JSON application (DESIGN §5) against the feature
     * schema worker w serves right now. Call on w's thread only. On
     * CSG_PARSE_OK, *app is a new application the caller owns: hand it to
     * submit or free it with application_free. On error *app is NULL and
     * *err says why. When the object has a valid "request_id" string (TCP
     * lines) it is copied to request_id (CSG_REQUEST_ID_MAX + 1 bytes; else
     * ""), also when another field is invalid, so the error can echo it.
     * request_id may be NULL. csg_gateway_overhead_seconds counts from this
     * call to the reply handed back: call it once the request is read, and
     * submit what it accepts right after. */
    csg_parse_status (*parse_application)(csg_worker *w, const char *json, size_t len,
                                          csg_application **app, char *request_id,
                                          csg_parse_error *err);
    /* Free an application that was not submitted; NULL is fine. */
    void (*application_free)(csg_application *app);

    /* Validate a client-provided request id (1–64 printable ASCII). */
    bool (*valid_request_id)(const char *id, size_t len);

    /* Write the JSON reply object (no newline) into buf; returns the length
     * it needs (snprintf semantics). */
    size_t (*format_reply)(const csg_reply *reply, char *buf, size_t cap);

    /* Write {"error":{"code","message"[,"field"]}} (no newline) into buf;
     * field may be NULL. snprintf semantics. */
    size_t (*format_error)(const char *code, const char *message, const char *field, char *buf,
                           size_t cap);

    /* Count one finished transport request for csg_requests_total{transport,status}.
     * status is the DESIGN §5 error code, the same for every transport:
     * "ok", "invalid_json", "invalid_field", "champion_error", "overloaded", …
     * (list in docs/architecture.md, metrics). */
    void (*count_request)(csg_worker *w, const char *transport, const char *status);

    /* Store values[i] into obj at table[i].target for every row that has
     * one (types: see "Plugin options"). Any thread; call it in create. */
    void (*options_apply)(const csg_option *table, const csg_option_value *values, void *obj);

    /* Render every csg_ metric in Prometheus text format into a malloc'd
     * string (caller frees). */
    char *(*render_metrics)(size_t *len);

    /* True when the champion model answered its last health probe. */
    bool (*is_ready)(void);

    /* Gateway-wide limits from `limits:` in the config. */
    size_t max_body_bytes;
    size_t max_line_bytes;
    unsigned max_connections;
    unsigned idle_timeout_ms;
    /* A request (HTTP head + body, TCP line) must arrive completely within
     * this many ms of its first byte. */
    unsigned read_timeout_ms;

    /* The feature schema (any thread; a schema never changes). Indexes run
     * from 0 to feature_count - 1 in the configuration's order. */
    unsigned (*feature_count)(const csg_schema *s);
    const char *(*feature_name)(const csg_schema *s, int i);        /* NULL out of range */
    int (*feature_index)(const csg_schema *s, const char *name);     /* -1 when unknown */
    csg_feature_type (*feature_type)(const csg_schema *s, int i);   /* 0 out of range */
    /* The k-th allowed value of category feature i (schema order); NULL past
     * the end or when i is not a category. */
    const char *(*category_value)(const csg_schema *s, int i, unsigned k);

    /* Reading an application (any thread; the app must stay alive). The
     * typed getters return true when feature i is present and has that
     * type, filling *out; false (and *out untouched) when it is absent, out
     * of range or of another type. app_number also reads integer features
     * (converted to double). */
    const csg_schema *(*app_schema)(const csg_application *app);
    const char *(*app_applicant_id)(const csg_application *app);
    /* The canonical compact JSON text, NUL-terminated (*len, when len is
     * non-NULL, excludes the NUL): what rest.so forwards as the body. */
    const char *(*app_json)(const csg_application *app, size_t *len);
    bool (*app_number)(const csg_application *app, int i, double *out);
    bool (*app_integer)(const csg_application *app, int i, int64_t *out);
    /* The category's value, or NULL when absent or not a category. */
    const char *(*app_category)(const csg_application *app, int i);
    bool (*app_flag)(const csg_application *app, int i, bool *out);

    /* Details for /readyz (any thread): a JSON array of the guarded
     * challengers' states, `[{"model","state":"active|suspended|trial",
     * "suspensions"}]`, written into buf with snprintf semantics. Test with
     * CSG_API_HAS(api, ready_details). */
    size_t (*ready_details)(char *buf, size_t cap);
} csg_core_api;

/* ------------------------------------------------------------------------ */
/* Transport plugins (http.so, tcp.so, grpc.so)                              */

/* A transport's `tls:` block (DESIGN §3), checked by the core (files
 * readable, key matches cert, key not world-readable) before create. */
typedef struct csg_tls_config {
    uint32_t size;           /* sizeof(csg_tls_config) */
    const char *cert;        /* PEM certificate chain, server certificate first */
    const char *key;         /* PEM private key of cert */
    const char *client_ca;   /* PEM CA bundle: clients must present a cert it signed; NULL = no mTLS */
    const char *min_version; /* "1.2" or "1.3" */
} csg_tls_config;

typedef struct csg_transport_config {
    uint32_t size;                   /* sizeof(csg_transport_config) */
    const char *listen;              /* "host:port", "[v6]:port" */
    const csg_option_value *options; /* one per row of the plugin's option table */
    const char *config_file;         /* for messages */
    /* ABI 2.2 tail (CSG_STRUCT_HAS): the `tls:` block, NULL = plaintext.
     * Valid until destroy. A plugin that cannot serve TLS must fail create
     * when it is set. */
    const csg_tls_config *tls;
} csg_transport_config;

typedef struct csg_transport_plugin {
    csg_plugin_header header; /* kind = CSG_PLUGIN_TRANSPORT */
    const csg_option *options; /* NULL-name terminated; may be NULL */

    /* Main thread, before workers start. Bind listening sockets here so a
     * bad address fails the start, but do not add events yet. */
    int (*create)(const csg_transport_config *cfg, const csg_core_api *api, void **instance,
                  csg_error *err);
    /* On worker w's thread, before its loop runs: add listeners/events. */
    int (*start_worker)(void *instance, csg_worker *w, csg_error *err);
    /* Main thread, after every start_worker succeeded (e.g. start the gRPC
     * completion-queue thread). May be NULL. */
    int (*start)(void *instance, csg_error *err);
    /* Main thread: stop accepting new connections/calls (SIGTERM). In-flight
     * requests still get their replies. May be NULL. */
    void (*stop)(void *instance);
    /* On worker w's thread during drain: close listeners, finish what is
     * in flight; return the number of requests still pending on w (the core
     * calls again until it returns 0 or the drain deadline passes). */
    unsigned (*drain_worker)(void *instance, csg_worker *w);
    /* Main thread, after all workers have exited. Frees everything. */
    void (*destroy)(void *instance);

    /* Optional tail (ABI 2.2; NULL or cut off: absent). */

    /* Main thread, on SIGHUP when the transport has `tls:`: read the cert,
     * key and client CA files again; new connections use them, open ones
     * keep theirs. On failure fill err and keep serving the old ones. */
    int (*tls_reload)(void *instance, csg_error *err);
} csg_transport_plugin;

/* ------------------------------------------------------------------------ */
/* Model adapters (rest.so, challenger-scorecard.so, …)                      */

typedef enum csg_score_status {
    CSG_SCORE_OK = 0,
    CSG_SCORE_ERROR = 1,   /* model unreachable, 5xx, malformed reply, … */
    CSG_SCORE_TIMEOUT = 2, /* adapter gave up at timeout_ms */
    /* ABI 1.1: the adapter shed the call because of load on this gateway
     * (its own queue was full, or the call expired while still queued for a
     * connection); the model itself was not asked. The core replies 503
     * `overloaded` (gRPC RESOURCE_EXHAUSTED) and does not count it against
     * the champion's readiness; the MetricEvent says CHAMPION_ERROR /
     * CHALLENGER_ERROR. Adapters built against ABI 1.0 never return it. */
    CSG_SCORE_OVERLOADED = 3,
} csg_score_status;

typedef struct csg_score_result {
    uint32_t size; /* sizeof(csg_score_result) of the adapter */
    csg_score_status status;
    double score;          /* [0,1], valid when OK */
    csg_decision decision; /* APPROVE/DECLINE, valid when OK */
    const char *error;     /* short reason when not OK; valid during the callback */
    /* ABI 2.1 tail. An adapter built against 2.0 passes a smaller struct:
     * the core reads it as "no points, no reasons" (CSG_STRUCT_HAS). Valid
     * when OK; everything pointed to is valid during the callback only (the
     * core copies what it keeps). The core checks the rules of csg_reason,
     * at most CSG_REASONS_MAX_ABI, no code twice, none on approve, points
     * finite; an answer that breaks one is a model error, never passed on. */
    double points;             /* the scorecard's points total, when has_points */
    bool has_points;
    unsigned reason_count;     /* 0..CSG_REASONS_MAX_ABI */
    const csg_reason *reasons; /* reason_count entries, most important first */
} csg_score_result;

/* Called exactly once per score_async, on the worker thread that called it,
 * never from inside score_async itself. */
typedef void (*csg_score_cb)(void *ctx, const csg_score_result *result);

typedef struct csg_adapter_config {
    uint32_t size;                   /* sizeof(csg_adapter_config) */
    const char *model_name;          /* `name:` from the YAML */
    unsigned timeout_ms;             /* `timeout_ms:`; the adapter must call back by then */
    const csg_option_value *options; /* one per row of the adapter's option table */
    const char *config_file;
    /* The configuration's feature schema: look feature indexes up here,
     * once, in create (api->feature_index). Valid until destroy. */
    const csg_schema *schema;
} csg_adapter_config;

typedef struct csg_model_adapter {
    csg_plugin_header header; /* kind = CSG_PLUGIN_MODEL_ADAPTER */
    const csg_option *options;

    /* One instance per worker and model. Called on the main thread (at start
     * and on SIGHUP reload) while the worker's loop may be running: allocate
     * and validate only; do not add events to base until the first
     * score_async (which runs on the worker thread). `csg-gateway
     * --check-config` also calls it once per model, with a base that never
     * runs, then destroy: what create refuses fails the check too. */
    int (*create)(const csg_adapter_config *cfg, const csg_core_api *api, struct event_base *base,
                  void **instance, csg_error *err);
    /* Worker thread. Score app; call cb exactly once (see csg_score_cb),
     * with CSG_SCORE_TIMEOUT no later than about timeout_ms from now.
     * app is valid only during this call: copy what you need. */
    void (*score_async)(void *instance, const csg_application *app, csg_score_cb cb, void *ctx);
    /* Worker thread, when no score_async is outstanding on this instance. */
    void (*destroy)(void *instance);

    /* Optional tail (may be cut off by a smaller struct_size: then NULL). */

    /* NULL-terminated names of the features the adapter reads; NULL = none
     * declared. The core checks each against the configuration's schema
     * before create: a name the schema does not define is a configuration
     * error with file:line (`--check-config` shows it). Whether a present
     * value is required per request is the schema's `required:`. */
    const char *const *required_features;
} csg_model_adapter;

#ifdef __cplusplus
}
#endif
#endif /* CSG_PLUGIN_H */

/*
 * application.c — JSON loan application validation (DESIGN §5): the one
 * place that decides what a valid application is.
 */
#include "application.h"
#include "csg_utf8.h"

#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static csg_parse_status fail(csg_parse_error *err, csg_parse_status status, const char *field,
                             const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static csg_parse_status fail(csg_parse_error *err, csg_parse_status status, const char *field,
                             const char *fmt, ...)
{
    if (err) {
        err->status = status;
        snprintf(err->field, sizeof err->field, "%s", field ? field : "");
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->message, sizeof err->message, fmt, ap);
        va_end(ap);
    }
    return status;
}

bool csg_valid_request_id(const char *id, size_t len)
{
    if (len == 0 || len > CSG_REQUEST_ID_MAX)
        return false;
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)id[i] < 0x21 || (unsigned char)id[i] > 0x7e)
            return false;
    return true;
}

/* Control characters in an applicant id would end up in logs and CSV exports. */
static bool valid_applicant_id(const char *s, size_t len)
{
    if (len == 0 || len > CSG_APPLICANT_ID_MAX)
        return false;
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return false;
    return true;
}

/* A JSON number (integer or real) that is finite; booleans and strings are not numbers. */
static bool get_number(const json_t *v, double *out)
{
    if (json_is_integer(v))
        *out = (double)json_integer_value(v);
    else if (json_is_real(v))
        *out = json_real_value(v);
    else
        return false;
    return isfinite(*out);
}

csg_parse_status csg_parse_application(const char *json, size_t len, csg_application *app,
                                       char *request_id, csg_parse_error *err)
{
    json_error_t jerr;
    /* JSON_ALLOW_NUL: "\u0000" in a string is valid JSON; the field checks
     * below refuse it by name (as grpc.so does a NUL in a proto string). */
    json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &jerr);
    csg_parse_status st = CSG_PARSE_OK;
    if (!root)
        return fail(err, CSG_PARSE_INVALID_JSON, NULL, "invalid JSON at position %d: %s",
                    jerr.position, jerr.text);
    if (!json_is_object(root)) {
        st = fail(err, CSG_PARSE_INVALID_JSON, NULL, "the application must be a JSON object");
        goto out;
    }

    /* A valid request_id is taken before the other fields are checked, so
     * an error reply for a bad field can still carry it (TCP error lines). */
    const json_t *rid = request_id ? json_object_get(root, "request_id") : NULL;
    if (request_id) {
        request_id[0] = '\0';
        if (rid && json_is_string(rid) &&
            csg_valid_request_id(json_string_value(rid), json_string_length(rid)))
            memcpy(request_id, json_string_value(rid), json_string_length(rid) + 1);
    }

    const json_t *v = json_object_get(root, "applicant_id");
    if (!v) {
        st = fail(err, CSG_PARSE_INVALID_FIELD, "applicant_id", "applicant_id is required");
        goto out;
    }
    if (!json_is_string(v) || !valid_applicant_id(json_string_value(v), json_string_length(v))) {
        st = fail(err, CSG_PARSE_INVALID_FIELD, "applicant_id",
                  "applicant_id must be a string of 1-%d bytes (UTF-8), no control characters",
                  CSG_APPLICANT_ID_MAX);
        goto out;
    }
    memcpy(app->applicant_id, json_string_value(v), json_string_length(v) + 1);

    v = json_object_get(root, "income");
    if (!v) {
        st = fail(err, CSG_PARSE_INVALID_FIELD, "income", "income is required");
        goto out;
    }
    if (!get_number(v, &app->income) || app->income < 0) {
        st = fail(err, CSG_PARSE_INVALID_FIELD, "income", "income must be a finite number >= 0");
        goto out;
    }

    v = json_object_get(root, "loan_amount");
    if (!v) {
        st = fail(err, CSG_PARSE_INVALID_FIELD, "loan_amount", "loan_amount is required");
        goto out;
    }
    if (!get_number(v, &app->loan_amount) || !(app->loan_amount > 0)) {
        st = fail(err, CSG_PARSE_INVALID_FIELD, "loan_amount",
                  "loan_amount must be a finite number > 0");
        goto out;
    }

    v = json_object_get(root, "credit_history");
    if (!v) {
        st = fail(err, CSG_PARSE_INVALID_FIELD, "credit_history", "credit_history is required");
        goto out;
    }
    /* gRPC carries it as int32: the same bound here keeps every transport
     * accepting exactly the same applications (DESIGN §5). */
    if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > INT32_MAX) {
        st = fail(err, CSG_PARSE_INVALID_FIELD, "credit_history",
                  "credit_history must be an integer in [0, 2147483647]");
        goto out;
    }
    app->credit_history = json_integer_value(v);

    if (rid && !request_id[0]) { /* present but not a valid id */
        st = fail(err, CSG_PARSE_INVALID_FIELD, "request_id",
                  "request_id must be 1-%d printable ASCII characters", CSG_REQUEST_ID_MAX);
        goto out;
    }
out:
    json_decref(root);
    return st;
}

static void put(char *buf, size_t cap, size_t *pos, char c)
{
    if (*pos + 1 < cap)
        buf[*pos] = c;
    (*pos)++;
}

static void put_str(const char *s, char *buf, size_t cap, size_t *pos)
{
    while (*s)
        put(buf, cap, pos, *s++);
}

void csg_json_escape(const char *s, size_t len, char *buf, size_t cap, size_t *pos)
{
    static const char hex[] = "0123456789abcdef";
    put(buf, cap, pos, '"');
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') {
            put(buf, cap, pos, '\\');
            put(buf, cap, pos, (char)c);
        } else if (c < 0x20) {
            put(buf, cap, pos, '\\');
            put(buf, cap, pos, 'u');
            put(buf, cap, pos, '0');
            put(buf, cap, pos, '0');
            put(buf, cap, pos, hex[c >> 4]);
            put(buf, cap, pos, hex[c & 15]);
        } else if (c < 0x80) {
            put(buf, cap, pos, (char)c);
        } else {
            /* Client bytes quoted in a message need not be UTF-8; the JSON
             * written here must be: a broken sequence becomes U+FFFD. */
            size_t k = csg_utf8_seq((const unsigned char *)s + i, len - i);
            if (k == 0) {
                put_str("\\ufffd", buf, cap, pos);
                continue;
            }
            for (size_t j = 0; j < k; j++)
                put(buf, cap, pos, s[i + j]);
            i += k - 1;
        }
    }
    put(buf, cap, pos, '"');
}

size_t csg_format_error(const char *code, const char *message, const char *field, char *buf,
                        size_t cap)
{
    size_t pos = 0;
    put_str("{\"error\":{\"code\":", buf, cap, &pos);
    csg_json_escape(code, strlen(code), buf, cap, &pos);
    put_str(",\"message\":", buf, cap, &pos);
    csg_json_escape(message, strlen(message), buf, cap, &pos);
    if (field && *field) {
        put_str(",\"field\":", buf, cap, &pos);
        csg_json_escape(field, strlen(field), buf, cap, &pos);
    }
    put_str("}}", buf, cap, &pos);
    if (cap)
        buf[pos < cap ? pos : cap - 1] = '\0';
    return pos;
}

const char *csg_parse_status_code(csg_parse_status status)
{
    switch (status) {
    case CSG_PARSE_INVALID_JSON:
        return "invalid_json";
    case CSG_PARSE_INVALID_FIELD:
        return "invalid_field";
    default:
        return NULL;
    }
}

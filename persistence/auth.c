/*
 * auth.c — see auth.h.
 */
#include "auth.h"

#include "csg_kafka_sec.h"

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct csgp_tokens {
    size_t n;
    struct {
        unsigned char digest[SHA256_DIGEST_LENGTH];
        csgp_scope scope;
    } t[CSGP_TOKENS_MAX];
};

static bool token_char(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           strchr("._~+/=-", c) != NULL;
}

/* One non-comment line "<scope> <token>" into t; 0 or -CSG_EINVAL naming the line. */
static int parse_line(csgp_tokens *t, char *line, const char *path, int lineno, csg_error *err)
{
    char *sp = line + strcspn(line, " \t");
    if (!*sp)
        return csg_fail(err, CSG_EINVAL,
                        "--token-file %s:%d: expected \"read <token>\" or \"write <token>\"",
                        path, lineno);
    *sp++ = '\0';
    sp += strspn(sp, " \t");
    size_t len = strlen(sp);
    while (len && (sp[len - 1] == ' ' || sp[len - 1] == '\t'))
        sp[--len] = '\0';
    csgp_scope scope = !strcmp(line, "read")    ? CSGP_SCOPE_READ
                       : !strcmp(line, "write") ? CSGP_SCOPE_WRITE
                                                : CSGP_SCOPE_NONE;
    if (scope == CSGP_SCOPE_NONE)
        return csg_fail(err, CSG_EINVAL,
                        "--token-file %s:%d: the scope must be read or write", path, lineno);
    bool ok = len >= CSGP_TOKEN_MIN && len <= CSGP_TOKEN_MAX;
    for (size_t i = 0; ok && i < len; i++)
        ok = token_char(sp[i]);
    if (!ok)
        return csg_fail(err, CSG_EINVAL,
                        "--token-file %s:%d: a token must be %d to %d characters of "
                        "A-Z a-z 0-9 . _ ~ + / = - (e.g. `openssl rand -hex 32`)",
                        path, lineno, CSGP_TOKEN_MIN, CSGP_TOKEN_MAX);
    if (t->n == CSGP_TOKENS_MAX)
        return csg_fail(err, CSG_EINVAL, "--token-file %s: more than %d tokens", path,
                        CSGP_TOKENS_MAX);
    unsigned char d[SHA256_DIGEST_LENGTH];
    SHA256((const unsigned char *)sp, len, d);
    for (size_t i = 0; i < t->n; i++)
        if (!CRYPTO_memcmp(t->t[i].digest, d, sizeof d))
            return csg_fail(err, CSG_EINVAL, "--token-file %s:%d: the same token appears twice",
                            path, lineno);
    memcpy(t->t[t->n].digest, d, sizeof d);
    t->t[t->n++].scope = scope;
    return 0;
}

int csgp_tokens_load(const char *path, csgp_tokens **out, csg_error *err)
{
    char *text;
    size_t len;
    int rc = csg_secret_file_read(path, "--token-file", &text, &len, err);
    if (rc)
        return rc;
    csgp_tokens *t = calloc(1, sizeof *t);
    if (!t) {
        OPENSSL_cleanse(text, len);
        free(text);
        return csg_fail(err, CSG_ENOMEM, "out of memory");
    }
    if (memchr(text, '\0', len))
        rc = csg_fail(err, CSG_EINVAL, "--token-file %s: contains a NUL byte", path);
    int lineno = 0;
    for (char *p = text, *next; !rc && p < text + len; p = next) {
        lineno++;
        char *nl = strchr(p, '\n');
        next = nl ? nl + 1 : text + len;
        if (nl)
            *nl = '\0';
        if (nl && nl > p && nl[-1] == '\r')
            nl[-1] = '\0';
        p += strspn(p, " \t");
        if (*p && *p != '#')
            rc = parse_line(t, p, path, lineno, err);
    }
    if (!rc && t->n == 0)
        rc = csg_fail(err, CSG_EINVAL, "--token-file %s: no tokens (lines \"read <token>\" or "
                                       "\"write <token>\")", path);
    OPENSSL_cleanse(text, len);
    free(text);
    if (rc) {
        csgp_tokens_free(t);
        return rc;
    }
    *out = t;
    return 0;
}

void csgp_tokens_free(csgp_tokens *t)
{
    if (t)
        OPENSSL_cleanse(t, sizeof *t);
    free(t);
}

csgp_scope csgp_tokens_scope(const csgp_tokens *t, const char *tok, size_t len)
{
    unsigned char d[SHA256_DIGEST_LENGTH];
    SHA256((const unsigned char *)tok, len, d);
    unsigned scope = CSGP_SCOPE_NONE;
    for (size_t i = 0; i < t->n; i++) {
        /* mask is all ones exactly when the digests match; no branch on the token */
        unsigned match = (unsigned)(CRYPTO_memcmp(t->t[i].digest, d, sizeof d) == 0);
        scope |= (unsigned)t->t[i].scope & (0u - match);
    }
    return scope & CSGP_SCOPE_WRITE ? CSGP_SCOPE_WRITE : (csgp_scope)scope;
}

static int tls_fail(csg_error *err, const char *what, const char *path)
{
    char buf[256];
    unsigned long e = ERR_get_error();
    ERR_error_string_n(e, buf, sizeof buf);
    ERR_clear_error();
    return csg_fail(err, CSG_EINVAL, "%s %s: %s", what, path, e ? buf : "unusable");
}

int csgp_tls_server_ctx(const char *cert, const char *key, const char *min_version,
                        SSL_CTX **out, csg_error *err)
{
    int minv = !min_version || !strcmp(min_version, "1.2") ? TLS1_2_VERSION
               : !strcmp(min_version, "1.3")               ? TLS1_3_VERSION
                                                           : 0;
    if (!minv)
        return csg_fail(err, CSG_EINVAL, "--tls-min-version must be 1.2 or 1.3, got \"%s\"",
                        min_version);
    /* The key is a secret file: same permission rule as the token file. */
    char *text;
    size_t len;
    int rc = csg_secret_file_read(key, "--tls-key", &text, &len, err);
    if (rc)
        return rc;
    OPENSSL_cleanse(text, len);
    free(text);
    if (access(cert, R_OK) != 0)
        return csg_fail(err, CSG_EIO, "--tls-cert %s: cannot read it", cert);
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (!ctx)
        return csg_fail(err, CSG_ENOMEM, "cannot create a TLS context");
    SSL_CTX_set_min_proto_version(ctx, minv);
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
    if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1)
        rc = tls_fail(err, "--tls-cert", cert);
    else if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1)
        rc = tls_fail(err, "--tls-key", key);
    else if (SSL_CTX_check_private_key(ctx) != 1)
        rc = csg_fail(err, CSG_EINVAL, "--tls-key %s does not match --tls-cert %s", key, cert);
    if (rc) {
        ERR_clear_error();
        SSL_CTX_free(ctx);
        return rc;
    }
    *out = ctx;
    return 0;
}

int csgp_security_load(const csgp_security_opts *o, csgp_security *out, csg_error *err)
{
    *out = (csgp_security){0};
    int rc = 0;
    if (o->token_file)
        rc = csgp_tokens_load(o->token_file, &out->tokens, err);
    if (!rc && (o->tls_cert || o->tls_key)) {
        if (!o->tls_cert || !o->tls_key)
            rc = csg_fail(err, CSG_EINVAL, "--tls-cert and --tls-key go together");
        else
            rc = csgp_tls_server_ctx(o->tls_cert, o->tls_key, o->tls_min_version, &out->tls,
                                     err);
    } else if (!rc && o->tls_min_version) {
        rc = csg_fail(err, CSG_EINVAL, "--tls-min-version needs --tls-cert and --tls-key");
    }
    if (!rc && o->pseudonym_key_file) {
        out->pseudonym = malloc(sizeof *out->pseudonym);
        rc = out->pseudonym ? csg_pseudonym_key_load(o->pseudonym_key_file,
                                                     "--pseudonymize-key-file", out->pseudonym,
                                                     err)
                            : csg_fail(err, CSG_ENOMEM, "out of memory");
    }
    if (rc)
        csgp_security_free(out);
    return rc;
}

void csgp_security_free(csgp_security *s)
{
    csgp_tokens_free(s->tokens);
    if (s->tls)
        SSL_CTX_free(s->tls);
    if (s->pseudonym)
        csg_pseudonym_key_clear(s->pseudonym);
    free(s->pseudonym);
    *s = (csgp_security){0};
}

int csgp_kafka_conf_add(char *arg, const char **pairs, size_t *n, csg_error *err)
{
    char *eq = strchr(arg, '=');
    if (!eq || eq == arg)
        return csg_fail(err, CSG_EINVAL, "--kafka-conf must be KEY=VALUE");
    *eq = '\0';
    char buf[400];
    const char *why = csg_kafka_sec_check(arg, eq + 1, buf, sizeof buf);
    if (why)
        return csg_fail(err, CSG_EINVAL, "--kafka-conf %s %s", arg, why);
    if (*n == CSG_KAFKA_SEC_MAX)
        return csg_fail(err, CSG_EINVAL, "at most %d --kafka-conf settings", CSG_KAFKA_SEC_MAX);
    pairs[2 * *n] = arg;
    pairs[2 * *n + 1] = eq + 1;
    (*n)++;
    return 0;
}

/*
 * auth.h — csg-persist's API security (DESIGN §7): bearer tokens with a scope, TLS, and
 * the applicant-id pseudonym key, loaded once at start and read-only afterwards.
 *
 * Token file (--token-file): one token per line as `read <token>` or `write <token>`
 * (a write token may also read); blank lines and lines starting with # are ignored;
 * a token is 16 to 256 characters of [A-Za-z0-9._~+/=-]; mode 600 (lib/csg_secret.h).
 * Only SHA-256 digests of the tokens are kept, and a presented token is compared with
 * every one of them in constant time (CRYPTO_memcmp over all entries, no early exit),
 * so neither the timing nor a core dump gives a token away. Tokens are never logged.
 */
#ifndef CSGP_AUTH_H
#define CSGP_AUTH_H

#include <stdbool.h>
#include <stddef.h>

#include <openssl/ssl.h>

#include "csg_secret.h"
#include "util.h"

#define CSGP_TOKEN_MIN 16
#define CSGP_TOKEN_MAX 256
#define CSGP_TOKENS_MAX 64

typedef enum { CSGP_SCOPE_NONE = 0, CSGP_SCOPE_READ = 1, CSGP_SCOPE_WRITE = 2 } csgp_scope;

typedef struct csgp_tokens csgp_tokens;

/* Parse and validate the token file at path. 0 and *out, or -CSG_E… with the line at
 * fault (never the token itself). */
int csgp_tokens_load(const char *path, csgp_tokens **out, csg_error *err);
void csgp_tokens_free(csgp_tokens *t);
/* The scope of the token tok[0..len) (NONE: unknown). Constant time in the token. */
csgp_scope csgp_tokens_scope(const csgp_tokens *t, const char *tok, size_t len);

/* A TLS server context for cert and key (PEM files; the key mode 600), TLS 1.2 at least
 * (min_version "1.2" or "1.3"). 0 and *out, or -CSG_E… and err. */
int csgp_tls_server_ctx(const char *cert, const char *key, const char *min_version,
                        SSL_CTX **out, csg_error *err);

/* What the API enforces; each part NULL when off. Owned by the caller (main.c), which
 * keeps it until the API has stopped. */
typedef struct csgp_security {
    csgp_tokens *tokens;          /* --token-file */
    SSL_CTX *tls;                 /* --tls-cert/--tls-key */
    csg_pseudonym_key *pseudonym; /* --pseudonymize-key-file */
} csgp_security;

/* The command line's security options (NULL: not given). */
typedef struct csgp_security_opts {
    const char *token_file, *tls_cert, *tls_key, *tls_min_version, *pseudonym_key_file;
} csgp_security_opts;

/* Load and check every file o names into *out (zeroed first). 0, or -CSG_E… and err
 * (nothing left to free). */
int csgp_security_load(const csgp_security_opts *o, csgp_security *out, csg_error *err);
void csgp_security_free(csgp_security *s);

/* One --kafka-conf KEY=VALUE (lib/csg_kafka_sec.h) appended to pairs[2 * *n] (arg is
 * split in place; room for CSG_KAFKA_SEC_MAX settings). 0, or -CSG_EINVAL and err
 * (a secret's value never appears in it). */
int csgp_kafka_conf_add(char *arg, const char **pairs, size_t *n, csg_error *err);

#endif /* CSGP_AUTH_H */

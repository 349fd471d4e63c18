/*
 * csg_secret.h — secret files and applicant-id pseudonymisation, shared by the gateway
 * (events.pseudonymize_applicant_id) and csg-persist (--pseudonymize-key-file,
 * --token-file), so both read a key the same way and compute the same HMAC.
 *
 * A secret file must be a regular file that neither its group nor others may read or
 * write (mode 600 or 400): a key anyone on the machine can read protects nothing.
 *
 * The pseudonym of an applicant id is HMAC-SHA256(key, id) in 64 lowercase hex digits
 * (OpenSSL). The key is the file's bytes without trailing white space, at least
 * CSG_PSEUDONYM_KEY_MIN bytes (e.g. `openssl rand -hex 32 > key`). Whoever holds the key
 * can recompute the pseudonym of any id they know, so it re-identifies: keep it as
 * secret as the ids themselves (docs/security.md).
 */
#ifndef CSG_SECRET_H
#define CSG_SECRET_H

#include <stddef.h>

#include "csg_error.h"

#define CSG_SECRET_FILE_MAX 65536 /* a token or key file larger than this is refused */
#define CSG_PSEUDONYM_KEY_MIN 32
#define CSG_PSEUDONYM_KEY_MAX 1024
#define CSG_PSEUDONYM_HEX 64 /* characters of a pseudonym, without the NUL */

/* Read the secret file path (what names it in messages, e.g. "--token-file") into a
 * NUL-terminated malloc'ed *out of *len bytes, after checking it is a regular file of
 * at most CSG_SECRET_FILE_MAX bytes with no group/other permission bits.
 * 0, or -CSG_E… with a message that says how to fix it. */
int csg_secret_file_read(const char *path, const char *what, char **out, size_t *len,
                         csg_error *err);

struct evp_md_ctx_st; /* OpenSSL's EVP_MD_CTX */

typedef struct csg_pseudonym_key {
    unsigned char key[CSG_PSEUDONYM_KEY_MAX];
    size_t len;
    /* SHA-256 after the key XOR ipad / opad (RFC 2104), computed once at load: OpenSSL 3's
     * one-shot HMAC() looks the digest up and keys it per call (~15 us; this: ~1 us). */
    struct evp_md_ctx_st *inner, *outer;
} csg_pseudonym_key;

/* Load a pseudonymisation key file (csg_secret_file_read, trailing white space dropped,
 * CSG_PSEUDONYM_KEY_MIN..MAX bytes) into *k (zeroed first). 0, or -CSG_E… and err
 * (nothing to free). */
int csg_pseudonym_key_load(const char *path, const char *what, csg_pseudonym_key *k,
                           csg_error *err);
/* Wipe and free what csg_pseudonym_key_load put into k (a zeroed k is fine). */
void csg_pseudonym_key_clear(csg_pseudonym_key *k);

/* out = HMAC-SHA256(k, id[0..len)) as 64 lowercase hex digits and a NUL (out may be id:
 * the id is read before out is written). Thread-safe: k is only read. */
void csg_pseudonym_hex(const csg_pseudonym_key *k, const char *id, size_t len,
                       char out[CSG_PSEUDONYM_HEX + 1]);

#endif /* CSG_SECRET_H */

/*
 * csg_secret.c — see csg_secret.h.
 */
#include "csg_secret.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The checks of csg_secret_file_read on the open file fd: 0 or -CSG_E…. */
static int check_file(int fd, const char *path, const char *what, struct stat *st,
                      csg_error *err)
{
    if (fstat(fd, st) != 0)
        return csg_fail(err, CSG_EIO, "%s %s: cannot stat: %s", what, path, strerror(errno));
    if (!S_ISREG(st->st_mode))
        return csg_fail(err, CSG_EINVAL, "%s %s: not a regular file", what, path);
    if (st->st_mode & 077)
        return csg_fail(err, CSG_EINVAL,
                        "%s %s: readable or writable by group or others (mode %03o); "
                        "chmod 600 it",
                        what, path, (unsigned)(st->st_mode & 0777));
    if (st->st_size > CSG_SECRET_FILE_MAX)
        return csg_fail(err, CSG_EINVAL, "%s %s: larger than %d bytes", what, path,
                        CSG_SECRET_FILE_MAX);
    return 0;
}

int csg_secret_file_read(const char *path, const char *what, char **out, size_t *len,
                         csg_error *err)
{
    *out = NULL;
    *len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return csg_fail(err, CSG_EIO, "%s %s: cannot open: %s", what, path, strerror(errno));
    struct stat st;
    int rc = check_file(fd, path, what, &st, err);
    if (rc) {
        close(fd);
        return rc;
    }
    size_t size = (size_t)st.st_size, n = 0;
    char *buf = malloc(size + 1);
    if (!buf) {
        close(fd);
        return csg_fail(err, CSG_ENOMEM, "out of memory");
    }
    while (n < size) {
        ssize_t r = read(fd, buf + n, size - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            close(fd);
            free(buf);
            return csg_fail(err, CSG_EIO, "%s %s: read error", what, path);
        }
        n += (size_t)r;
    }
    close(fd);
    buf[n] = '\0';
    *out = buf;
    *len = n;
    return 0;
}

/* The two keyed SHA-256 states of HMAC (RFC 2104) into k. */
static int precompute(csg_pseudonym_key *k)
{
    unsigned char block[64] = {0}, pad[64];
    if (k->len > sizeof block) {
        unsigned int n = 0;
        if (EVP_Digest(k->key, k->len, block, &n, EVP_sha256(), NULL) != 1)
            return -1;
    } else {
        memcpy(block, k->key, k->len);
    }
    k->inner = EVP_MD_CTX_new();
    k->outer = EVP_MD_CTX_new();
    int ok = k->inner && k->outer;
    for (int i = 0; ok && i < 64; i++)
        pad[i] = block[i] ^ 0x36;
    ok = ok && EVP_DigestInit_ex(k->inner, EVP_sha256(), NULL) == 1 &&
         EVP_DigestUpdate(k->inner, pad, sizeof pad) == 1;
    for (int i = 0; ok && i < 64; i++)
        pad[i] = block[i] ^ 0x5c;
    ok = ok && EVP_DigestInit_ex(k->outer, EVP_sha256(), NULL) == 1 &&
         EVP_DigestUpdate(k->outer, pad, sizeof pad) == 1;
    OPENSSL_cleanse(block, sizeof block);
    OPENSSL_cleanse(pad, sizeof pad);
    return ok ? 0 : -1;
}

int csg_pseudonym_key_load(const char *path, const char *what, csg_pseudonym_key *k,
                           csg_error *err)
{
    memset(k, 0, sizeof *k);
    char *text;
    size_t n;
    int rc = csg_secret_file_read(path, what, &text, &n, err);
    if (rc)
        return rc;
    while (n > 0 && (text[n - 1] == '\n' || text[n - 1] == '\r' || text[n - 1] == ' ' ||
                     text[n - 1] == '\t'))
        n--;
    if (n < CSG_PSEUDONYM_KEY_MIN || n > CSG_PSEUDONYM_KEY_MAX) {
        rc = csg_fail(err, CSG_EINVAL,
                      "%s %s: the key must be %d to %d bytes (e.g. `openssl rand -hex 32`), "
                      "got %zu",
                      what, path, CSG_PSEUDONYM_KEY_MIN, CSG_PSEUDONYM_KEY_MAX, n);
    } else {
        memcpy(k->key, text, n);
        k->len = n;
        if (precompute(k) != 0)
            rc = csg_fail(err, CSG_ENOMEM, "%s %s: OpenSSL could not set up HMAC-SHA256", what,
                          path);
    }
    OPENSSL_cleanse(text, n);
    free(text);
    if (rc)
        csg_pseudonym_key_clear(k);
    return rc;
}

void csg_pseudonym_key_clear(csg_pseudonym_key *k)
{
    EVP_MD_CTX_free(k->inner);
    EVP_MD_CTX_free(k->outer);
    OPENSSL_cleanse(k, sizeof *k);
}

void csg_pseudonym_hex(const csg_pseudonym_key *k, const char *id, size_t len,
                       char out[CSG_PSEUDONYM_HEX + 1])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int mlen = 0;
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    /* H(K ^ opad || H(K ^ ipad || id)) from the precomputed states */
    bool ok = c && EVP_MD_CTX_copy_ex(c, k->inner) == 1 && EVP_DigestUpdate(c, id, len) == 1 &&
              EVP_DigestFinal_ex(c, mac, &mlen) == 1 && EVP_MD_CTX_copy_ex(c, k->outer) == 1 &&
              EVP_DigestUpdate(c, mac, mlen) == 1 && EVP_DigestFinal_ex(c, mac, &mlen) == 1;
    EVP_MD_CTX_free(c);
    if (!ok) /* out of memory: never let the raw id through */
        memset(mac, 0, sizeof mac);
    for (unsigned i = 0; i < 32; i++) {
        out[2 * i] = hex[mac[i] >> 4];
        out[2 * i + 1] = hex[mac[i] & 15];
    }
    out[CSG_PSEUDONYM_HEX] = '\0';
}

/* SPDX-License-Identifier: MIT */
/*
 * Helpers for the PKI unit tests: a scratch folder, a software EC key that
 * plays the chip's key slot, and running the openssl command-line tool on
 * files as an independent check.
 */
#ifndef TEST_PKI_COMMON_H
#define TEST_PKI_COMMON_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "trustx/pki.h"

#define TEST_DATA(name) TRUSTX_SOURCE_DIR "/tests/data/" name
#define TEST_CMD_MAX 2048
#define TEST_OUTPUT_MAX (256 * 1024)

/* ---- scratch folder ---- */

/* Creates a fresh folder under /tmp and returns its path (static storage). */
static inline const char *test_tmpdir_create(void)
{
    static char dir[64];

    snprintf(dir, sizeof(dir), "/tmp/trustx-pki-XXXXXX");
    if (mkdtemp(dir) == NULL) {
        perror("mkdtemp");
        abort();
    }
    return dir;
}

static inline void test_tmpdir_remove(const char *dir)
{
    char cmd[128];

    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
}

/* Formats dir/name into a static rotating buffer (eight slots). */
static inline const char *test_path(const char *dir, const char *name)
{
    static char paths[8][256];
    static unsigned next;
    char *p = paths[next++ % 8];

    snprintf(p, sizeof(paths[0]), "%s/%s", dir, name);
    return p;
}

static inline void test_write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");

    if (f == NULL || fwrite(data, 1, len, f) != len) {
        perror(path);
        abort();
    }
    fclose(f);
}

/* ---- running the openssl tool ---- */

/* Runs a shell command and returns its exit status (-1 when it did not exit normally). */
static inline int test_run(const char *fmt, ...)
{
    char cmd[TEST_CMD_MAX];
    va_list ap;
    int status;

    va_start(ap, fmt);
    vsnprintf(cmd, sizeof(cmd), fmt, ap);
    va_end(ap);
    status = system(cmd);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/*
 * Runs a shell command with stderr joined to stdout and returns its output
 * (malloc, NUL-terminated); *status receives the exit status.
 */
static inline char *test_capture(int *status, const char *fmt, ...)
{
    char cmd[TEST_CMD_MAX];
    char *out = calloc(1, TEST_OUTPUT_MAX);
    size_t used = 0, got;
    FILE *pipe;
    va_list ap;
    int raw;

    va_start(ap, fmt);
    vsnprintf(cmd, sizeof(cmd) - 8, fmt, ap);
    va_end(ap);
    strcat(cmd, " 2>&1");

    pipe = popen(cmd, "r");
    if (pipe == NULL || out == NULL)
        abort();
    while ((got = fread(out + used, 1, TEST_OUTPUT_MAX - 1 - used, pipe)) > 0)
        used += got;
    raw = pclose(pipe);
    *status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
    return out;
}

/* ---- a software key in place of the chip ---- */

typedef struct test_key {
    EVP_PKEY *key;
    trustx_curve curve;
    uint8_t pub[TRUSTX_PUBKEY_MAX];
    size_t pub_len;
} test_key;

static inline void test_key_fill_point(test_key *k)
{
    size_t len = 0;

    if (EVP_PKEY_get_octet_string_param(k->key, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, k->pub,
                                        sizeof(k->pub), &len) != 1)
        abort();
    k->pub_len = len;
}

static inline void test_key_new(test_key *k, trustx_curve curve)
{
    k->curve = curve;
    k->key = EVP_EC_gen(curve == TRUSTX_CURVE_P384 ? "P-384" : "P-256");
    if (k->key == NULL)
        abort();
    test_key_fill_point(k);
}

static inline void test_key_free(test_key *k)
{
    EVP_PKEY_free(k->key);
    k->key = NULL;
}

/* Writes the private key as PKCS#8 PEM to path. */
static inline void test_key_save(const test_key *k, const char *path)
{
    FILE *f = fopen(path, "w");

    if (f == NULL || PEM_write_PrivateKey(f, k->key, NULL, NULL, 0, NULL, NULL) != 1)
        abort();
    fclose(f);
}

/* The trustx_pki_sign_fn of a test_key: ECDSA over the digest as given. */
static inline trustx_rc test_key_sign(void *user, const uint8_t *digest, size_t digest_len,
                                      uint8_t *sig, size_t cap, size_t *sig_len)
{
    test_key *k = user;
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, k->key, NULL);
    size_t len = cap;
    int ok = ctx != NULL && EVP_PKEY_sign_init(ctx) == 1 &&
             EVP_PKEY_sign(ctx, sig, &len, digest, digest_len) == 1;

    EVP_PKEY_CTX_free(ctx);
    if (!ok)
        return trustx_fail(TRUSTX_LAYER_APP, TRUSTX_E_CRYPTO, "test signer failed");
    *sig_len = len;
    return TRUSTX_OK;
}

/* Builds a DER request for k with the subject text (either DN form). */
static inline void test_make_csr(test_key *k, const char *subject_text, uint8_t **der,
                                 size_t *len)
{
    trustx_pki_subject subject;

    if (trustx_pki_subject_parse(subject_text, &subject) != TRUSTX_OK ||
        trustx_pki_csr_build(&subject, k->curve, k->pub, k->pub_len, test_key_sign, k, der,
                             len) != TRUSTX_OK) {
        fprintf(stderr, "test_make_csr: %s\n", trustx_error_last()->message);
        abort();
    }
}

/* Writes cert as PEM to path. */
static inline void test_save_cert_pem(const trustx_pki_cert *cert, const char *path)
{
    size_t der_len = 0, pem_len = 0;
    const uint8_t *der = trustx_pki_cert_der(cert, &der_len);
    char *pem = NULL;

    if (trustx_pki_pem_encode(TRUSTX_PKI_PEM_CERT, der, der_len, &pem, &pem_len) != TRUSTX_OK)
        abort();
    test_write_file(path, pem, pem_len);
    free(pem);
}

/* Asserts that the last error has code rc and that its message contains text. */
#define assert_failed_with(expr, rc, text)                                                 \
    do {                                                                                   \
        assert_int_equal((expr), (rc));                                                    \
        if (strstr(trustx_error_last()->message, (text)) == NULL)                          \
            fail_msg("message \"%s\" lacks \"%s\"", trustx_error_last()->message, (text)); \
        assert_int_equal(trustx_error_last()->layer, TRUSTX_LAYER_PKI);                    \
    } while (0)

#endif

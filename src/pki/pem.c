/* SPDX-License-Identifier: MIT */
/*
 * PEM encoding and decoding, and bounded, atomic file reads and writes for
 * requests, certificates and keys.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>

#include "pki/pki_internal.h"

/* First read size when a file's size is not known in advance, in bytes. */
#define READ_CHUNK 4096

int pki_is_pem(const uint8_t *data, size_t len)
{
    static const char header[] = "-----BEGIN ";

    /* Every DER structure used here is a SEQUENCE, so DER starts with 0x30 and PEM cannot. */
    if (len == 0 || data[0] == 0x30)
        return 0;
    for (size_t i = 0; i + sizeof(header) - 1 <= len; i++) {
        if (memcmp(data + i, header, sizeof(header) - 1) == 0)
            return 1;
    }
    return 0;
}

trustx_rc trustx_pki_pem_encode(const char *label, const uint8_t *der, size_t len, char **pem,
                                size_t *pem_len)
{
    BIO *bio = BIO_new(BIO_s_mem());
    char *text = NULL;
    long text_len;
    char *copy;

    if (bio == NULL || PEM_write_bio(bio, label, "", der, (long)len) <= 0) {
        BIO_free(bio);
        return pki_fail_ossl(TRUSTX_E_CRYPTO, "cannot encode %zu bytes as PEM %s", len, label);
    }

    text_len = BIO_get_mem_data(bio, &text);
    copy = malloc((size_t)text_len + 1);
    if (copy == NULL) {
        BIO_free(bio);
        return trustx_fail(TRUSTX_LAYER_PKI, TRUSTX_E_NOMEM, "cannot allocate %ld bytes for PEM",
                           text_len + 1);
    }
    memcpy(copy, text, (size_t)text_len);
    copy[text_len] = '\0';
    BIO_free(bio);

    *pem = copy;
    if (pem_len != NULL)
        *pem_len = (size_t)text_len;
    return TRUSTX_OK;
}

static int label_accepted(const char *label, const char *const *labels)
{
    for (; *labels != NULL; labels++) {
        if (strcmp(label, *labels) == 0)
            return 1;
    }
    return 0;
}

trustx_rc pki_pem_decode_one(const uint8_t *data, size_t len, const char *const *labels,
                             const char *source, uint8_t **der, size_t *der_len)
{
    BIO *bio = len <= INT32_MAX ? BIO_new_mem_buf(data, (int)len) : NULL;
    char *name = NULL, *header = NULL;
    unsigned char *body = NULL;
    long body_len = 0;
    trustx_rc rc = TRUSTX_OK;
    uint8_t *copy;

    if (bio == NULL)
        return pki_fail_ossl(TRUSTX_E_NOMEM, "cannot read %s of %zu bytes", source, len);
    if (PEM_read_bio(bio, &name, &header, &body, &body_len) != 1) {
        BIO_free(bio);
        return pki_fail_ossl(TRUSTX_E_INVALID_ARG, "%s: PEM data does not decode", source);
    }

    if (!label_accepted(name, labels)) {
        rc = trustx_fail(TRUSTX_LAYER_PKI, TRUSTX_E_INVALID_ARG,
                         "%s: PEM block is \"%s\", expected \"%s\"", source, name, labels[0]);
    } else if (header != NULL && header[0] != '\0') {
        rc = trustx_fail(TRUSTX_LAYER_PKI, TRUSTX_E_INVALID_ARG,
                         "%s: PEM block has headers (it may be encrypted); give plain PEM",
                         source);
    } else {
        char *extra_name = NULL, *extra_header = NULL;
        unsigned char *extra = NULL;
        long extra_len = 0;

        if (PEM_read_bio(bio, &extra_name, &extra_header, &extra, &extra_len) == 1)
            rc = trustx_fail(TRUSTX_LAYER_PKI, TRUSTX_E_INVALID_ARG,
                             "%s: holds more than one PEM block; give exactly one %s", source,
                             labels[0]);
        OPENSSL_free(extra_name);
        OPENSSL_free(extra_header);
        OPENSSL_free(extra);
        ERR_clear_error();
    }

    if (rc == TRUSTX_OK) {
        copy = malloc(body_len > 0 ? (size_t)body_len : 1);
        if (copy == NULL) {
            rc = trustx_fail(TRUSTX_LAYER_PKI, TRUSTX_E_NOMEM, "cannot allocate %ld bytes",
                             body_len);
        } else {
            memcpy(copy, body, (size_t)body_len);
            *der = copy;
            *der_len = (size_t)body_len;
        }
    }
    OPENSSL_free(name);
    OPENSSL_free(header);
    OPENSSL_free(body);
    BIO_free(bio);
    return rc;
}

static trustx_rc too_large(const char *path, size_t max)
{
    return trustx_fail(TRUSTX_LAYER_PKI, TRUSTX_E_OVERFLOW,
                       "%s is larger than %zu bytes; give a smaller file", path, max);
}

/* Reads fd to its end into a new buffer. Reading max + 1 bytes shows that the file is too large. */
static trustx_rc read_all(int fd, const char *path, size_t max, uint8_t **data, size_t *len)
{
    size_t cap = READ_CHUNK < max + 1 ? READ_CHUNK : max + 1;
    size_t used = 0;
    uint8_t *buf = malloc(cap + 1);

    if (buf == NULL)
        return trustx_fail(TRUSTX_LAYER_PKI, TRUSTX_E_NOMEM, "cannot allocate %zu bytes", cap);

    for (;;) {
        ssize_t got;

        if (used == cap) {
            size_t bigger = cap * 2 < max + 1 ? cap * 2 : max + 1;
            uint8_t *grown;

            if (cap > max) {
                free(buf);
                return too_large(path, max);
            }
            grown = realloc(buf, bigger + 1);
            if (grown == NULL) {
                free(buf);
                return trustx_fail(TRUSTX_LAYER_PKI, TRUSTX_E_NOMEM,
                                   "cannot allocate %zu bytes", bigger);
            }
            buf = grown;
            cap = bigger;
        }

        got = read(fd, buf + used, cap - used);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            int err = errno;

            free(buf);
            return trustx_fail_errno(TRUSTX_LAYER_PKI, TRUSTX_E_INVALID_ARG, err,
                                     "cannot read %s: %s", path, strerror(err));
        }
        if (got == 0)
            break;
        used += (size_t)got;
    }

    if (used > max) {
        free(buf);
        return too_large(path, max);
    }
    buf[used] = 0;
    *data = buf;
    *len = used;
    return TRUSTX_OK;
}

trustx_rc trustx_pki_file_read(const char *path, size_t max, uint8_t **data, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    trustx_rc rc;

    if (fd < 0) {
        int err = errno;

        /* An input file that cannot be opened is invalid input (exit status 1), not a device fault. */
        return trustx_fail_errno(TRUSTX_LAYER_PKI, TRUSTX_E_INVALID_ARG, err, "cannot open %s: %s", path,
                                 strerror(err));
    }
    rc = read_all(fd, path, max, data, len);
    close(fd);
    return rc;
}

static trustx_rc write_fully(int fd, const char *path, const uint8_t *data, size_t len)
{
    while (len > 0) {
        ssize_t put = write(fd, data, len);

        if (put < 0 && errno == EINTR)
            continue;
        if (put < 0) {
            int err = errno;

            return trustx_fail_errno(TRUSTX_LAYER_PKI, TRUSTX_E_IO, err, "cannot write %s: %s",
                                     path, strerror(err));
        }
        data += put;
        len -= (size_t)put;
    }
    if (fsync(fd) != 0) {
        int err = errno;

        return trustx_fail_errno(TRUSTX_LAYER_PKI, TRUSTX_E_IO, err, "cannot flush %s: %s",
                                 path, strerror(err));
    }
    return TRUSTX_OK;
}

/* Flushes the folder that contains path, so that a rename or link survives a power loss. */
static void sync_folder(const char *path)
{
    char *copy = strdup(path);
    int fd;

    if (copy == NULL)
        return;
    fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
    free(copy);
}

/* Moves the finished temporary file to path, by rename or by link when nothing may be replaced. */
static trustx_rc publish(const char *tmp, const char *path, int replace)
{
    int err;

    if (replace) {
        if (rename(tmp, path) == 0)
            return TRUSTX_OK;
        err = errno;
        unlink(tmp);
        return trustx_fail_errno(TRUSTX_LAYER_PKI, TRUSTX_E_IO, err, "cannot rename %s to %s: %s",
                                 tmp, path, strerror(err));
    }

    if (link(tmp, path) == 0) {
        unlink(tmp);
        return TRUSTX_OK;
    }
    err = errno;
    unlink(tmp);
    if (err == EEXIST)
        return trustx_fail(TRUSTX_LAYER_PKI, TRUSTX_E_INVALID_ARG,
                           "%s already exists; remove it or choose another path", path);
    return trustx_fail_errno(TRUSTX_LAYER_PKI, TRUSTX_E_IO, err, "cannot create %s: %s", path,
                             strerror(err));
}

trustx_rc trustx_pki_file_write(const char *path, const void *data, size_t len, unsigned mode,
                                int replace)
{
    size_t path_len = strlen(path);
    char *tmp = malloc(path_len + sizeof(".tmp.XXXXXX"));
    trustx_rc rc;
    int fd;

    if (tmp == NULL)
        return trustx_fail(TRUSTX_LAYER_PKI, TRUSTX_E_NOMEM, "cannot allocate a file name");
    memcpy(tmp, path, path_len);
    memcpy(tmp + path_len, ".tmp.XXXXXX", sizeof(".tmp.XXXXXX"));

    fd = mkstemp(tmp);
    if (fd < 0) {
        int err = errno;

        free(tmp);
        return trustx_fail_errno(TRUSTX_LAYER_PKI, TRUSTX_E_IO, err,
                                 "cannot create a file next to %s: %s", path, strerror(err));
    }
    if (fchmod(fd, (mode_t)mode) != 0) {
        int err = errno;

        rc = trustx_fail_errno(TRUSTX_LAYER_PKI, TRUSTX_E_IO, err, "cannot set mode %o on %s: %s",
                               mode, tmp, strerror(err));
    } else {
        rc = write_fully(fd, path, data, len);
    }
    close(fd);

    if (rc == TRUSTX_OK) {
        rc = publish(tmp, path, replace);
        if (rc == TRUSTX_OK)
            sync_folder(path);
    } else {
        unlink(tmp);
    }
    free(tmp);
    return rc;
}

/* SPDX-License-Identifier: MIT */
/*
 * AWS Signature Version 4, header form, with OpenSSL's HMAC-SHA256 and
 * SHA-256: canonical request, string to sign, signing key and the
 * Authorization header value.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include "aws/aws_internal.h"

/* Headers that proxies and HTTP stacks add or rewrite, so they are never signed. */
static const char *const unsigned_headers[] = {
    "connection", "expect", "keep-alive", "proxy-authenticate", "proxy-authorization",
    "te", "trailer", "transfer-encoding", "upgrade", "user-agent", "x-amzn-trace-id",
    "authorization",
};

typedef struct strbuf {
    char *data;
    size_t len;
    size_t cap;
    int failed;
} strbuf;

static void sb_append(strbuf *sb, const char *s, size_t n)
{
    if (sb->failed)
        return;
    if (sb->len + n + 1 > sb->cap) {
        size_t cap = sb->cap ? sb->cap : 256;
        char *grown;

        while (sb->len + n + 1 > cap)
            cap *= 2;
        grown = realloc(sb->data, cap);
        if (grown == NULL) {
            sb->failed = 1;
            return;
        }
        sb->data = grown;
        sb->cap = cap;
    }
    memcpy(sb->data + sb->len, s, n);
    sb->len += n;
    sb->data[sb->len] = '\0';
}

static void sb_puts(strbuf *sb, const char *s)
{
    sb_append(sb, s, strlen(s));
}

static int is_unreserved(unsigned char ch)
{
    return isalnum(ch) || ch == '-' || ch == '_' || ch == '.' || ch == '~';
}

char *trustx_aws_uri_encode(const char *in, size_t len, int keep_slash)
{
    static const char hex[] = "0123456789ABCDEF";
    char *out = malloc(len * 3 + 1);
    size_t o = 0;

    if (out == NULL)
        return NULL;
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)in[i];

        if (is_unreserved(ch) || (keep_slash && ch == '/')) {
            out[o++] = (char)ch;
        } else {
            out[o++] = '%';
            out[o++] = hex[ch >> 4];
            out[o++] = hex[ch & 0x0F];
        }
    }
    out[o] = '\0';
    return out;
}

char *trustx_aws_path_label(const char *value)
{
    return trustx_aws_uri_encode(value, strlen(value), 0);
}

static int hex_value(char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

/* Decodes %XX escapes of in[0..len) into out (at least len + 1 bytes); '+' stays '+'. */
static size_t percent_decode(const char *in, size_t len, char *out)
{
    size_t o = 0;

    for (size_t i = 0; i < len; i++) {
        if (in[i] == '%' && i + 2 < len && hex_value(in[i + 1]) >= 0 &&
            hex_value(in[i + 2]) >= 0) {
            out[o++] = (char)(hex_value(in[i + 1]) * 16 + hex_value(in[i + 2]));
            i += 2;
        } else {
            out[o++] = in[i];
        }
    }
    out[o] = '\0';
    return o;
}

static void hex_encode(const uint8_t *in, size_t len, char *out)
{
    static const char hex[] = "0123456789abcdef";

    for (size_t i = 0; i < len; i++) {
        out[2 * i] = hex[in[i] >> 4];
        out[2 * i + 1] = hex[in[i] & 0x0F];
    }
    out[2 * len] = '\0';
}

static void sha256_hex(const void *data, size_t len, char out[65])
{
    uint8_t digest[SHA256_DIGEST_LENGTH];

    SHA256(data, len, digest);
    hex_encode(digest, sizeof(digest), out);
}

static int hmac_sha256(const uint8_t *key, size_t key_len, const char *msg, uint8_t out[32])
{
    unsigned int out_len = 0;

    if (HMAC(EVP_sha256(), key, (int)key_len, (const unsigned char *)msg, strlen(msg), out,
             &out_len) == NULL || out_len != 32)
        return -1;
    return 0;
}

void trustx_sigv4_format_date(time_t t, char out[TRUSTX_SIGV4_DATE_LEN + 1])
{
    struct tm tm;

    gmtime_r(&t, &tm);
    strftime(out, TRUSTX_SIGV4_DATE_LEN + 1, "%Y%m%dT%H%M%SZ", &tm);
}

/* ---- canonical URI ---- */

/* Removes empty, "." and ".." segments; keeps a trailing slash. Result is malloc'd. */
static char *normalize_path(const char *path)
{
    size_t len = strlen(path);
    char *work = strdup(path);
    char **segs = calloc(len + 1, sizeof(*segs));
    size_t nseg = 0;
    strbuf sb = {0};
    int trailing = len > 0 && path[len - 1] == '/';

    if (work == NULL || segs == NULL) {
        free(work);
        free(segs);
        return NULL;
    }

    for (char *save = NULL, *tok = strtok_r(work, "/", &save); tok != NULL;
         tok = strtok_r(NULL, "/", &save)) {
        if (strcmp(tok, ".") == 0)
            continue;
        if (strcmp(tok, "..") == 0) {
            if (nseg > 0)
                nseg--;
            continue;
        }
        segs[nseg++] = tok;
    }

    for (size_t i = 0; i < nseg; i++) {
        sb_puts(&sb, "/");
        sb_puts(&sb, segs[i]);
    }
    if (nseg == 0 || trailing)
        sb_puts(&sb, "/");

    free(segs);
    free(work);
    if (sb.failed) {
        free(sb.data);
        return NULL;
    }
    return sb.data;
}

static char *canonical_uri(const char *path, int normalize)
{
    char *normalized;
    char *encoded;

    if (path == NULL || path[0] == '\0')
        path = "/";
    normalized = normalize ? normalize_path(path) : strdup(path);
    if (normalized == NULL)
        return NULL;
    encoded = trustx_aws_uri_encode(normalized, strlen(normalized), 1);
    free(normalized);
    return encoded;
}

/* ---- canonical query ---- */

typedef struct query_param {
    char *name;
    char *value;
} query_param;

static int compare_params(const void *a, const void *b)
{
    const query_param *pa = a;
    const query_param *pb = b;
    int c = strcmp(pa->name, pb->name);

    return c != 0 ? c : strcmp(pa->value, pb->value);
}

static char *encode_component(const char *in, size_t len)
{
    char *decoded = malloc(len + 1);
    char *encoded;
    size_t n;

    if (decoded == NULL)
        return NULL;
    n = percent_decode(in, len, decoded);
    encoded = trustx_aws_uri_encode(decoded, n, 0);
    free(decoded);
    return encoded;
}

static void free_params(query_param *params, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        free(params[i].name);
        free(params[i].value);
    }
    free(params);
}

static char *canonical_query(const char *query)
{
    size_t max = 1;
    size_t count = 0;
    query_param *params;
    strbuf sb = {0};
    const char *p = query;

    if (query == NULL || query[0] == '\0')
        return strdup("");
    for (const char *q = query; *q; q++)
        max += *q == '&';
    params = calloc(max, sizeof(*params));
    if (params == NULL)
        return NULL;

    while (*p) {
        const char *end = strchr(p, '&');
        const char *eq;
        size_t len = end ? (size_t)(end - p) : strlen(p);

        if (len > 0) {
            eq = memchr(p, '=', len);
            size_t name_len = eq ? (size_t)(eq - p) : len;
            params[count].name = encode_component(p, name_len);
            params[count].value = eq ? encode_component(eq + 1, len - name_len - 1) : strdup("");
            if (params[count].name == NULL || params[count].value == NULL) {
                free_params(params, count + 1);
                return NULL;
            }
            count++;
        }
        p += len;
        if (*p == '&')
            p++;
    }

    qsort(params, count, sizeof(*params), compare_params);
    sb_puts(&sb, "");
    for (size_t i = 0; i < count; i++) {
        if (i > 0)
            sb_puts(&sb, "&");
        sb_puts(&sb, params[i].name);
        sb_puts(&sb, "=");
        sb_puts(&sb, params[i].value);
    }
    free_params(params, count);
    if (sb.failed) {
        free(sb.data);
        return NULL;
    }
    return sb.data;
}

/* ---- canonical headers ---- */

typedef struct canon_header {
    char name[64];
    char *value;                 /* trimmed, blank runs collapsed */
} canon_header;

static int is_unsigned_header(const char *lower)
{
    for (size_t i = 0; i < sizeof(unsigned_headers) / sizeof(unsigned_headers[0]); i++) {
        if (strcmp(lower, unsigned_headers[i]) == 0)
            return 1;
    }
    return 0;
}

/* Trims value and collapses runs of blanks into one space; NULL on a CR/LF or NUL byte. */
static char *trim_all(const char *value)
{
    size_t len = strlen(value);
    char *out = malloc(len + 1);
    size_t o = 0;
    int pending_space = 0;

    if (out == NULL)
        return NULL;
    for (size_t i = 0; i < len; i++) {
        char ch = value[i];

        if (ch == '\r' || ch == '\n') {
            free(out);
            return NULL;
        }
        if (ch == ' ' || ch == '\t') {
            pending_space = o > 0;
            continue;
        }
        if (pending_space)
            out[o++] = ' ';
        pending_space = 0;
        out[o++] = ch;
    }
    out[o] = '\0';
    return out;
}

static trustx_rc add_header(canon_header *list, size_t *count, const char *name,
                            const char *value)
{
    canon_header *h;
    size_t n = strlen(name);

    if (*count >= TRUSTX_SIGV4_HEADERS_MAX)
        return trustx_fail(TRUSTX_LAYER_AWS, TRUSTX_E_OVERFLOW,
                           "request has more than %d headers to sign", TRUSTX_SIGV4_HEADERS_MAX);
    if (n == 0 || n >= sizeof(list[0].name))
        return trustx_fail(TRUSTX_LAYER_AWS, TRUSTX_E_INVALID_ARG,
                           "header name of %zu characters cannot be signed", n);

    h = &list[*count];
    for (size_t i = 0; i <= n; i++)
        h->name[i] = (char)tolower((unsigned char)name[i]);
    h->value = trim_all(value);
    if (h->value == NULL)
        return trustx_fail(TRUSTX_LAYER_AWS, TRUSTX_E_INVALID_ARG,
                           "value of header %s contains a line break", name);
    (*count)++;
    return TRUSTX_OK;
}

/* Stable insertion sort by name, so repeated headers keep their order. */
static void sort_headers(canon_header *list, size_t count)
{
    for (size_t i = 1; i < count; i++) {
        canon_header key = list[i];
        size_t j = i;

        while (j > 0 && strcmp(list[j - 1].name, key.name) > 0) {
            list[j] = list[j - 1];
            j--;
        }
        list[j] = key;
    }
}

static void free_headers(canon_header *list, size_t count)
{
    for (size_t i = 0; i < count; i++)
        free(list[i].value);
}

static trustx_rc collect_headers(const trustx_sigv4_request *req, const char *amz_date,
                                 const char *token, canon_header *list, size_t *count)
{
    int have_host = 0;
    trustx_rc rc;

    *count = 0;
    for (size_t i = 0; i < req->header_count; i++) {
        char lower[64];
        size_t n = strlen(req->headers[i].name);

        if (n >= sizeof(lower))
            return trustx_fail(TRUSTX_LAYER_AWS, TRUSTX_E_INVALID_ARG,
                               "header name %.32s... is too long to sign", req->headers[i].name);
        for (size_t k = 0; k <= n; k++)
            lower[k] = (char)tolower((unsigned char)req->headers[i].name[k]);
        if (is_unsigned_header(lower))
            continue;
        if (strcmp(lower, "x-amz-date") == 0 || strcmp(lower, "x-amz-security-token") == 0)
            return trustx_fail(TRUSTX_LAYER_AWS, TRUSTX_E_INVALID_ARG,
                               "header %s is set by the signer, not by the caller", lower);
        have_host |= strcmp(lower, "host") == 0;
        rc = add_header(list, count, lower, req->headers[i].value);
        if (rc != TRUSTX_OK)
            return rc;
    }
    if (!have_host)
        return trustx_fail(TRUSTX_LAYER_AWS, TRUSTX_E_INVALID_ARG,
                           "request to sign has no Host header");

    rc = add_header(list, count, "x-amz-date", amz_date);
    if (rc == TRUSTX_OK && token != NULL && token[0] != '\0')
        rc = add_header(list, count, "x-amz-security-token", token);
    if (rc != TRUSTX_OK)
        return rc;

    sort_headers(list, *count);
    return TRUSTX_OK;
}

/* Appends "name:v1,v2\n" lines to canon and "name;name" to signed_list. */
static void format_headers(const canon_header *list, size_t count, strbuf *canon,
                           strbuf *signed_list)
{
    for (size_t i = 0; i < count; i++) {
        int first_of_name = i == 0 || strcmp(list[i - 1].name, list[i].name) != 0;

        if (first_of_name) {
            if (i > 0)
                sb_puts(canon, "\n");
            if (signed_list->len > 0)
                sb_puts(signed_list, ";");
            sb_puts(signed_list, list[i].name);
            sb_puts(canon, list[i].name);
            sb_puts(canon, ":");
        } else {
            sb_puts(canon, ",");
        }
        sb_puts(canon, list[i].value);
    }
    if (count > 0)
        sb_puts(canon, "\n");
}

/* ---- signing ---- */

static trustx_rc build_canonical_request(const trustx_sigv4_request *req, const char *amz_date,
                                         const char *token, char **creq, char **signed_names)
{
    canon_header headers[TRUSTX_SIGV4_HEADERS_MAX];
    size_t count = 0;
    strbuf canon_h = {0};
    strbuf names = {0};
    strbuf sb = {0};
    char payload_hash[65];
    char *uri = NULL;
    char *query = NULL;
    trustx_rc rc;

    rc = collect_headers(req, amz_date, token, headers, &count);
    if (rc != TRUSTX_OK) {
        free_headers(headers, count);
        return rc;
    }
    format_headers(headers, count, &canon_h, &names);
    free_headers(headers, count);

    uri = canonical_uri(req->path, req->normalize_path);
    query = canonical_query(req->query);
    sha256_hex(req->body ? (const void *)req->body : "", req->body_len, payload_hash);

    sb_puts(&sb, req->method);
    sb_puts(&sb, "\n");
    sb_puts(&sb, uri ? uri : "");
    sb_puts(&sb, "\n");
    sb_puts(&sb, query ? query : "");
    sb_puts(&sb, "\n");
    sb_append(&sb, canon_h.data ? canon_h.data : "", canon_h.len);
    sb_puts(&sb, "\n");
    sb_append(&sb, names.data ? names.data : "", names.len);
    sb_puts(&sb, "\n");
    sb_puts(&sb, payload_hash);

    free(uri);
    free(canon_h.data);
    if (uri == NULL || query == NULL || sb.failed || canon_h.failed || names.failed) {
        free(query);
        free(sb.data);
        free(names.data);
        return trustx_fail(TRUSTX_LAYER_AWS, TRUSTX_E_NOMEM,
                           "out of memory while building the canonical request");
    }
    free(query);
    *creq = sb.data;
    *signed_names = names.data;
    return TRUSTX_OK;
}

static trustx_rc derive_signing_key(const char *secret, const char *date8, const char *region,
                                    const char *service, uint8_t key[32])
{
    char seed[TRUSTX_AWS_SECRET_MAX + 8];
    uint8_t k_date[32], k_region[32], k_service[32];
    int failed;
    int n = snprintf(seed, sizeof(seed), "AWS4%s", secret);

    if (n < 0 || (size_t)n >= sizeof(seed))
        return trustx_fail(TRUSTX_LAYER_AWS, TRUSTX_E_OVERFLOW,
                           "secret access key is longer than %d characters",
                           TRUSTX_AWS_SECRET_MAX - 1);

    failed = hmac_sha256((const uint8_t *)seed, (size_t)n, date8, k_date) ||
             hmac_sha256(k_date, 32, region, k_region) ||
             hmac_sha256(k_region, 32, service, k_service) ||
             hmac_sha256(k_service, 32, "aws4_request", key);

    OPENSSL_cleanse(seed, sizeof(seed));
    OPENSSL_cleanse(k_date, sizeof(k_date));
    OPENSSL_cleanse(k_region, sizeof(k_region));
    OPENSSL_cleanse(k_service, sizeof(k_service));
    if (failed)
        return trustx_fail(TRUSTX_LAYER_AWS, TRUSTX_E_CRYPTO, "HMAC-SHA256 failed in OpenSSL");
    return TRUSTX_OK;
}

trustx_rc trustx_sigv4_sign(const trustx_sigv4_request *req,
                            const trustx_sigv4_credentials *cred, const char *region,
                            const char *service, time_t now, trustx_sigv4_result *out)
{
    char date8[9];
    char creq_hash[65];
    char *signed_names = NULL;
    uint8_t key[32], sig[32];
    strbuf sts = {0};
    trustx_rc rc;
    int n;

    memset(out, 0, sizeof(*out));
    if (req->method == NULL || cred->access_key_id == NULL || cred->secret_access_key == NULL)
        return trustx_fail(TRUSTX_LAYER_AWS, TRUSTX_E_INVALID_ARG,
                           "SigV4 needs a method, an access key id and a secret key");

    trustx_sigv4_format_date(now, out->amz_date);
    memcpy(date8, out->amz_date, 8);
    date8[8] = '\0';

    rc = build_canonical_request(req, out->amz_date, cred->session_token,
                                 &out->canonical_request, &signed_names);
    if (rc != TRUSTX_OK)
        return rc;
    sha256_hex(out->canonical_request, strlen(out->canonical_request), creq_hash);

    sb_puts(&sts, TRUSTX_SIGV4_ALGORITHM "\n");
    sb_puts(&sts, out->amz_date);
    sb_puts(&sts, "\n");
    sb_puts(&sts, date8);
    sb_puts(&sts, "/");
    sb_puts(&sts, region);
    sb_puts(&sts, "/");
    sb_puts(&sts, service);
    sb_puts(&sts, "/aws4_request\n");
    sb_puts(&sts, creq_hash);
    if (sts.failed) {
        free(signed_names);
        trustx_sigv4_result_clear(out);
        return trustx_fail(TRUSTX_LAYER_AWS, TRUSTX_E_NOMEM, "out of memory while signing");
    }
    out->string_to_sign = sts.data;

    rc = derive_signing_key(cred->secret_access_key, date8, region, service, key);
    if (rc == TRUSTX_OK && hmac_sha256(key, sizeof(key), out->string_to_sign, sig) != 0)
        rc = trustx_fail(TRUSTX_LAYER_AWS, TRUSTX_E_CRYPTO, "HMAC-SHA256 failed in OpenSSL");
    OPENSSL_cleanse(key, sizeof(key));
    if (rc != TRUSTX_OK) {
        free(signed_names);
        trustx_sigv4_result_clear(out);
        return rc;
    }
    hex_encode(sig, sizeof(sig), out->signature);

    n = snprintf(out->authorization, sizeof(out->authorization),
                 TRUSTX_SIGV4_ALGORITHM " Credential=%s/%s/%s/%s/aws4_request, "
                 "SignedHeaders=%s, Signature=%s",
                 cred->access_key_id, date8, region, service, signed_names, out->signature);
    free(signed_names);
    if (n < 0 || (size_t)n >= sizeof(out->authorization)) {
        trustx_sigv4_result_clear(out);
        return trustx_fail(TRUSTX_LAYER_AWS, TRUSTX_E_OVERFLOW,
                           "Authorization header exceeds %d bytes", TRUSTX_SIGV4_AUTH_MAX);
    }
    return TRUSTX_OK;
}

void trustx_sigv4_result_clear(trustx_sigv4_result *r)
{
    if (r == NULL)
        return;
    free(r->canonical_request);
    free(r->string_to_sign);
    memset(r, 0, sizeof(*r));
}

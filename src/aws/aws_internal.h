/* SPDX-License-Identifier: MIT */
/*
 * Interfaces shared by the files of the AWS layer and its unit tests:
 * SigV4 signing, INI parsing, error decoding, retry decisions and the
 * signed HTTP call. Not installed; callers outside src/aws use trustx/aws.h.
 */
#ifndef TRUSTX_AWS_INTERNAL_H
#define TRUSTX_AWS_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "trustx/aws.h"

/* ---- SigV4 ---- */

#define TRUSTX_SIGV4_ALGORITHM "AWS4-HMAC-SHA256"
#define TRUSTX_SIGV4_DATE_LEN 16           /* YYYYMMDDTHHMMSSZ */
#define TRUSTX_SIGV4_HEADERS_MAX 32        /* headers per request, signed or not */
#define TRUSTX_SIGV4_AUTH_MAX 1024         /* Authorization header value */

typedef struct trustx_sigv4_header {
    const char *name;                      /* any case */
    const char *value;
} trustx_sigv4_header;

/*
 * One request as it goes on the wire. path is the wire path, which the
 * signer percent-encodes once more because every service but S3 expects
 * that. query is the wire query without '?', NULL or "" for none. headers
 * must contain Host. The signer adds X-Amz-Date and X-Amz-Security-Token.
 * Headers that proxies may change (User-Agent, Expect, Connection and the
 * like) are never signed.
 */
typedef struct trustx_sigv4_request {
    const char *method;
    const char *path;
    const char *query;
    const trustx_sigv4_header *headers;
    size_t header_count;
    const uint8_t *body;
    size_t body_len;
    int normalize_path;                    /* remove "." and ".." segments and empty segments */
} trustx_sigv4_request;

typedef struct trustx_sigv4_credentials {
    const char *access_key_id;
    const char *secret_access_key;
    const char *session_token;             /* NULL or "" for none */
} trustx_sigv4_credentials;

/* Output of one signature. The two texts are malloc'd; free with trustx_sigv4_result_clear. */
typedef struct trustx_sigv4_result {
    char amz_date[TRUSTX_SIGV4_DATE_LEN + 1];
    char signature[65];
    char authorization[TRUSTX_SIGV4_AUTH_MAX];
    char *canonical_request;
    char *string_to_sign;
} trustx_sigv4_result;

/* Formats t (UTC) as YYYYMMDDTHHMMSSZ. */
void trustx_sigv4_format_date(time_t t, char out[TRUSTX_SIGV4_DATE_LEN + 1]);

/*
 * Signs req for region and service at time now. TRUSTX_E_INVALID_ARG when
 * Host is missing or a value contains a control character,
 * TRUSTX_E_OVERFLOW when a limit above is exceeded.
 */
trustx_rc trustx_sigv4_sign(const trustx_sigv4_request *req,
                            const trustx_sigv4_credentials *cred, const char *region,
                            const char *service, time_t now, trustx_sigv4_result *out);

void trustx_sigv4_result_clear(trustx_sigv4_result *r);

/*
 * Percent-encodes len bytes of in the way SigV4 and the AWS rest-json
 * serializers do: A-Z a-z 0-9 - _ . ~ stay, every other byte becomes %XX
 * (uppercase hex); '/' stays too when keep_slash. Returns a malloc'd string
 * or NULL when out of memory.
 */
char *trustx_aws_uri_encode(const char *in, size_t len, int keep_slash);

/* ---- INI files (the shared credentials and config files) ---- */

/*
 * Looks up key in section of the INI file at path; with subkey, looks up
 * subkey among the indented lines that follow "key =" (the nested form of
 * [services] sections). Section names compare after trimming and collapsing
 * blank runs, keys after trimming; lines starting with '#' or ';' are
 * comments. Returns TRUSTX_OK with the trimmed value in out,
 * TRUSTX_E_NOT_FOUND when the file, the section or the key is absent,
 * TRUSTX_E_OVERFLOW when the value does not fit cap.
 */
trustx_rc trustx_aws_ini_get(const char *path, const char *section, const char *key,
                             const char *subkey, char *out, size_t cap);

/* Returns nonzero when section exists in the file at path. */
int trustx_aws_ini_has_section(const char *path, const char *section);

/* ---- Errors and retries ---- */

/*
 * Extracts the AWS error code and message from a response: the code from
 * x-amzn-ErrorType (text after ':' dropped), else the body's "__type" or
 * "code" (text up to '#' dropped), else "HTTP <status>"; the message from
 * the body's "message" or "Message". error_type and body may be NULL.
 */
void trustx_aws_decode_error(long http_status, const char *error_type, const char *body,
                             size_t body_len, char *code, size_t code_cap, char *message,
                             size_t message_cap);

/* Why an attempt failed, as far as retrying is concerned. */
typedef enum trustx_aws_failure {
    TRUSTX_AWS_FAIL_NONE = 0,
    TRUSTX_AWS_FAIL_CONNECT,      /* no connection was made: AWS did not see the request */
    TRUSTX_AWS_FAIL_TRANSFER,     /* connected, then the transfer failed or timed out */
    TRUSTX_AWS_FAIL_HTTP          /* a response with a non-200 status arrived */
} trustx_aws_failure;

/*
 * Decides whether an attempt may be repeated: throttling (code
 * ThrottlingException, TooManyRequestsException or RequestLimitExceeded,
 * or HTTP 429) and connection failures always; 5xx responses and broken
 * transfers only when idempotent; every other 4xx never.
 */
int trustx_aws_should_retry(trustx_aws_failure failure, long http_status, const char *code,
                            int idempotent);

/*
 * Returns the delay before retry number retry (1 for the first retry):
 * random01 * min(cap_ms, base_ms * 2^(retry-1)), random01 in [0, 1).
 */
unsigned trustx_aws_backoff_ms(unsigned retry, unsigned base_ms, unsigned cap_ms,
                               double random01);

/* ---- Signed HTTP calls ---- */

typedef struct trustx_aws_call {
    const char *operation;        /* for messages, such as "CreateThing" */
    const char *method;
    const char *path;             /* wire path, labels already encoded */
    const char *query;            /* wire query, NULL for none */
    const char *principal_header; /* "x-amzn-principal: ..." value, or NULL */
    const char *body;             /* JSON text, NULL for none */
    int idempotent;
    int not_found_ok;             /* 404 ResourceNotFoundException is returned as NOT_FOUND */
} trustx_aws_call;

/*
 * Runs call with retries. On HTTP 200 returns TRUSTX_OK with the body in
 * *response (malloc'd, NUL-terminated, caller frees) when response is not
 * NULL. With not_found_ok, ResourceNotFoundException returns
 * TRUSTX_E_NOT_FOUND without recording an error. Everything else is
 * TRUSTX_E_CLOUD with the client's last error filled in.
 */
trustx_rc trustx_aws_http_call(trustx_aws_client *c, const trustx_aws_call *call,
                               char **response);

/* Percent-encodes one path label (nothing but unreserved characters kept). */
char *trustx_aws_path_label(const char *value);

/* Replaces secret with "<redacted>" everywhere in text (in place, shrinking it). */
void trustx_aws_redact(char *text, const char *secret);

/*
 * Compares the public keys of a PEM certificate and a PEM CSR: TRUSTX_OK when
 * equal, TRUSTX_E_VERIFY when not, TRUSTX_E_CLOUD when the certificate does
 * not parse, TRUSTX_E_INVALID_ARG when the CSR does not.
 */
trustx_rc trustx_aws_cert_matches_csr(const char *cert_pem, const char *csr_pem);

#endif

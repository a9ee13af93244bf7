/* SPDX-License-Identifier: MIT */
/*
 * AWS IoT control-plane client: credential, region and endpoint resolution,
 * SigV4-signed HTTPS calls with bounded retries, the IoT operations that
 * personalization needs, and an idempotent registration flow that never
 * activates a certificate before the chip holds it.
 */
#ifndef TRUSTX_AWS_H
#define TRUSTX_AWS_H

#include <stddef.h>
#include <stdint.h>

#include "trustx/cmd.h"
#include "trustx/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Limits and defaults ---- */

#define TRUSTX_AWS_KEY_ID_MAX 128         /* access key id, bytes with NUL */
#define TRUSTX_AWS_SECRET_MAX 128         /* secret access key, bytes with NUL */
#define TRUSTX_AWS_TOKEN_MAX 4096         /* session token, bytes with NUL */
#define TRUSTX_AWS_REGION_MAX 64
#define TRUSTX_AWS_URL_MAX 512
#define TRUSTX_AWS_NAME_MAX 129           /* thing and policy names: 1..128 characters */
#define TRUSTX_AWS_ARN_MAX 2048
#define TRUSTX_AWS_CERT_ID_LEN 64         /* lowercase hex SHA-256 of the certificate's DER */
#define TRUSTX_AWS_SOURCE_MAX 1024        /* "where a setting came from" descriptions */
#define TRUSTX_AWS_CODE_MAX 128           /* AWS error code, such as "ThrottlingException" */
#define TRUSTX_AWS_ERRMSG_MAX 512         /* AWS error message as returned */

#define TRUSTX_AWS_SIGNING_NAME "iot"     /* SigV4 service name of the IoT control plane */
#define TRUSTX_AWS_DEFAULT_POLICY "trustx-device"

/* Retry policy: attempts include the first call; delays are full-jitter exponential. */
#define TRUSTX_AWS_MAX_ATTEMPTS_DEFAULT 5
#define TRUSTX_AWS_MAX_ATTEMPTS_LIMIT 20
#define TRUSTX_AWS_RETRY_BASE_MS_DEFAULT 1000u
#define TRUSTX_AWS_RETRY_CAP_MS 20000u

/* libcurl deadlines per attempt, in milliseconds. */
#define TRUSTX_AWS_CONNECT_TIMEOUT_MS 10000L
#define TRUSTX_AWS_TRANSFER_TIMEOUT_MS 30000L

/* Largest response body accepted, in bytes (a certificate PEM is at most 65536 characters). */
#define TRUSTX_AWS_RESPONSE_MAX (1024u * 1024u)

/* ---- Settings ---- */

/*
 * What the caller chose explicitly (command-line options). NULL or 0 fields
 * fall back to the environment, the shared files, then the defaults:
 *
 *   credentials: AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY (+ AWS_SESSION_TOKEN)
 *                unless profile is set here; then the credentials file
 *                (AWS_SHARED_CREDENTIALS_FILE, default ~/.aws/credentials), then
 *                the config file (AWS_CONFIG_FILE, default ~/.aws/config).
 *   profile:     this field, AWS_PROFILE, AWS_DEFAULT_PROFILE, "default".
 *   region:      this field, AWS_REGION, AWS_DEFAULT_REGION, the profile's region.
 *   endpoint:    this field, AWS_ENDPOINT_URL_IOT, AWS_ENDPOINT_URL, the profile's
 *                endpoint_url, https://iot.<region>.amazonaws.com[.cn]. The
 *                environment and file entries are ignored when
 *                AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true.
 *
 * Instance metadata (IMDS), container, SSO, assume-role and credential_process
 * credentials are not supported.
 */
typedef struct trustx_aws_options {
    const char *profile;
    const char *region;
    const char *endpoint_url;      /* scheme://host[:port], no path */
    const char *signing_name;      /* NULL: TRUSTX_AWS_SIGNING_NAME */
    const char *ca_bundle;         /* NULL: AWS_CA_BUNDLE, then libcurl's default */
    unsigned max_attempts;         /* 0: AWS_MAX_ATTEMPTS, then TRUSTX_AWS_MAX_ATTEMPTS_DEFAULT */
    unsigned retry_base_ms;        /* 0: TRUSTX_AWS_RETRY_BASE_MS, then the default */
} trustx_aws_options;

/*
 * Resolved settings. The secret and the token are secrets: never print them,
 * and wipe the structure with trustx_aws_settings_wipe() when done.
 */
typedef struct trustx_aws_settings {
    char access_key_id[TRUSTX_AWS_KEY_ID_MAX];
    char secret_access_key[TRUSTX_AWS_SECRET_MAX];
    char session_token[TRUSTX_AWS_TOKEN_MAX];     /* "" when none */
    char profile[TRUSTX_AWS_NAME_MAX];
    char region[TRUSTX_AWS_REGION_MAX];
    char endpoint[TRUSTX_AWS_URL_MAX];
    int endpoint_overridden;                      /* 1 unless the regional default is used */
    char credentials_source[TRUSTX_AWS_SOURCE_MAX];
    char region_source[TRUSTX_AWS_SOURCE_MAX];
    char endpoint_source[TRUSTX_AWS_SOURCE_MAX];
} trustx_aws_settings;

/*
 * Resolves credentials, region and endpoint as described above. Fails with
 * TRUSTX_E_CLOUD naming what is missing and every place it looked; with
 * TRUSTX_E_INVALID_ARG for malformed values (an endpoint that is not http or
 * https, a region with characters other than [a-z0-9-]).
 *
 * When the environment variable TRUSTX_AWS_REQUIRE_ENDPOINT=1 is set (tests
 * set it), it also fails unless an endpoint override on a loopback host
 * (127.0.0.1, ::1 or localhost) was found, so a test can never reach AWS.
 * opt may be NULL.
 */
trustx_rc trustx_aws_resolve_settings(const trustx_aws_options *opt, trustx_aws_settings *out);

/* Overwrites every field with zeros (also the secrets). Accepts NULL. */
void trustx_aws_settings_wipe(trustx_aws_settings *s);

/* ---- Client ---- */

typedef struct trustx_aws_client trustx_aws_client;

/*
 * Resolves the settings (see trustx_aws_resolve_settings) and prepares a
 * libcurl handle. The client is not thread-safe; use one per thread.
 * opt may be NULL.
 */
trustx_rc trustx_aws_client_new(const trustx_aws_options *opt, trustx_aws_client **out);

/* Releases the client and wipes its credentials. Accepts NULL. */
void trustx_aws_client_free(trustx_aws_client *c);

/* Returns the resolved settings (the secrets included); never NULL. */
const trustx_aws_settings *trustx_aws_client_settings(const trustx_aws_client *c);

/*
 * The AWS side of the client's most recent failed call. http_status is 0
 * when no response arrived; code and message are "" when the response named
 * none.
 */
typedef struct trustx_aws_error {
    const char *operation;                    /* such as "CreateThing"; "" before any call */
    long http_status;
    char code[TRUSTX_AWS_CODE_MAX];
    char message[TRUSTX_AWS_ERRMSG_MAX];
    char request_id[TRUSTX_AWS_CODE_MAX];
    unsigned attempts;
} trustx_aws_error;

/* Returns the client's last AWS error detail; never NULL. */
const trustx_aws_error *trustx_aws_last_error(const trustx_aws_client *c);

/* ---- Operations ----
 *
 * Every operation returns TRUSTX_OK on HTTP 200, TRUSTX_E_CLOUD for a
 * failure that AWS reported or a response that could not be decoded (the
 * message names the operation, the AWS error code and message), and
 * TRUSTX_E_CLOUD also when the endpoint could not be reached. Throttling,
 * HTTP 429 and 5xx responses are retried within the attempt budget, other
 * 4xx never. CreateCertificateFromCsr is not idempotent, so it is retried
 * only when AWS certainly did not act on it (throttling, connection refused).
 */

typedef struct trustx_aws_certificate {
    char id[TRUSTX_AWS_CERT_ID_LEN + 1];
    char arn[TRUSTX_AWS_ARN_MAX];
    char status[32];               /* ACTIVE, INACTIVE, REVOKED, ...; "" when not reported */
    double creation_date;          /* epoch seconds; 0 when not reported */
    char *pem;                     /* malloc'd, NULL when not reported */
} trustx_aws_certificate;

/* Frees cert->pem and zeroes the structure. Accepts NULL. */
void trustx_aws_certificate_clear(trustx_aws_certificate *cert);

/* A list of malloc'd strings. */
typedef struct trustx_aws_strings {
    char **items;
    size_t count;
} trustx_aws_strings;

/* Frees every item and the array, and zeroes the structure. Accepts NULL. */
void trustx_aws_strings_clear(trustx_aws_strings *list);

/*
 * CreateCertificateFromCsr. csr_pem is a PEM CERTIFICATE REQUEST of at most
 * 4096 characters. The returned certificate is checked before it is handed
 * out: its PEM must parse, its public key must equal the CSR's and its ARN
 * must end with cert/<id>. A certificate for another key is revoked at once
 * (UpdateCertificate REVOKED) and TRUSTX_E_VERIFY is returned; out then
 * holds its id and ARN but no PEM. out is cleared first and owned by the
 * caller (trustx_aws_certificate_clear).
 */
trustx_rc trustx_aws_create_certificate_from_csr(trustx_aws_client *c, const char *csr_pem,
                                                 int set_active, trustx_aws_certificate *out);

/* UpdateCertificate; new_status is "ACTIVE", "INACTIVE" or "REVOKED". */
trustx_rc trustx_aws_update_certificate(trustx_aws_client *c, const char *cert_id,
                                        const char *new_status);

/* DescribeCertificate. *found = 0 (and TRUSTX_OK) on ResourceNotFoundException. */
trustx_rc trustx_aws_describe_certificate(trustx_aws_client *c, const char *cert_id, int *found,
                                          trustx_aws_certificate *out);

/* DeleteCertificate; force sets forceDelete=true. */
trustx_rc trustx_aws_delete_certificate(trustx_aws_client *c, const char *cert_id, int force);

/*
 * ListCertificates, newest first, one page of at most page_size (1..250)
 * entries without PEM. marker is NULL for the first page; next_marker
 * (capacity marker_cap) receives "" after the last page. out->pem stays NULL.
 */
trustx_rc trustx_aws_list_certificates(trustx_aws_client *c, unsigned page_size,
                                       const char *marker, trustx_aws_certificate **certs,
                                       size_t *count, char *next_marker, size_t marker_cap);

/* Frees an array returned by trustx_aws_list_certificates. Accepts NULL. */
void trustx_aws_certificates_free(trustx_aws_certificate *certs, size_t count);

/* CreateThing without attributes; thing_arn (capacity cap) receives its ARN. */
trustx_rc trustx_aws_create_thing(trustx_aws_client *c, const char *thing, char *thing_arn,
                                  size_t cap);

/* DescribeThing. *found = 0 (and TRUSTX_OK) when the thing does not exist. */
trustx_rc trustx_aws_describe_thing(trustx_aws_client *c, const char *thing, int *found,
                                    char *thing_arn, size_t cap);

/* ListThingPrincipals, all pages (at most TRUSTX_AWS_LIST_MAX entries). */
trustx_rc trustx_aws_list_thing_principals(trustx_aws_client *c, const char *thing,
                                           trustx_aws_strings *out);

/* AttachThingPrincipal; principal is a certificate ARN. */
trustx_rc trustx_aws_attach_thing_principal(trustx_aws_client *c, const char *thing,
                                            const char *principal);

/* CreatePolicy with document (a JSON text); the document is sent as a JSON string. */
trustx_rc trustx_aws_create_policy(trustx_aws_client *c, const char *policy,
                                   const char *document);

/*
 * GetPolicy. *found = 0 (and TRUSTX_OK) when it does not exist; otherwise
 * *document receives the default version's text (malloc'd, caller frees).
 */
trustx_rc trustx_aws_get_policy(trustx_aws_client *c, const char *policy, int *found,
                                char **document);

/* AttachPolicy with target = a certificate ARN. */
trustx_rc trustx_aws_attach_policy(trustx_aws_client *c, const char *policy, const char *target);

/* ListAttachedPolicies of target, all pages (at most TRUSTX_AWS_LIST_MAX names). */
trustx_rc trustx_aws_list_attached_policies(trustx_aws_client *c, const char *target,
                                            trustx_aws_strings *names);

/* DescribeEndpoint; type NULL means "iot:Data-ATS". */
trustx_rc trustx_aws_describe_endpoint(trustx_aws_client *c, const char *type, char *address,
                                       size_t cap);

#define TRUSTX_AWS_LIST_MAX 1000          /* entries read from paginated lists */
#define TRUSTX_AWS_LIST_PAGE 250          /* maxResults / pageSize requested per page */

/* ---- Policy and key checks (no network) ---- */

/* Checks a thing name against AWS IoT's rule: 1 to 128 of a-z A-Z 0-9 : _ - . */
trustx_rc trustx_aws_check_thing_name(const char *thing);

/*
 * Sets *found when thing exists and has an ACTIVE certificate attached, and
 * copies that certificate's id into cert_id. Used before a new device's key
 * is generated: such a thing already belongs to a device.
 */
trustx_rc trustx_aws_thing_active_certificate(trustx_aws_client *c, const char *thing,
                                              char *cert_id, size_t cap, int *found);

/* Checks a policy name against AWS IoT's rule (TRUSTX_E_INVALID_ARG naming it). */
trustx_rc trustx_aws_check_policy_name(const char *policy);

/*
 * Writes the least-privilege device policy for region and account (12
 * digits) into out: iot:Connect only as client id = thing name with the
 * certificate attached to that thing, and Publish/Receive on topic
 * things/<thing>/... and $aws/things/<thing>/shadow/..., Subscribe on the
 * same topic filters. thing NULL gives the fleet form that uses the policy
 * variable ${iot:Connection.Thing.ThingName}, so one policy serves every
 * device; a thing name gives the same rules with that name written out.
 * TRUSTX_E_OVERFLOW when cap is too small.
 */
trustx_rc trustx_aws_policy_document(const char *region, const char *account,
                                     const char *thing, char *out, size_t cap);

/*
 * Checks a policy document before it is attached: TRUSTX_E_CLOUD when an
 * Allow statement names an action with a wildcard ('*' anywhere, any case)
 * or uses NotAction, TRUSTX_E_INVALID_ARG when it is not JSON with a
 * Statement list.
 */
trustx_rc trustx_aws_policy_check(const char *document);

/*
 * Compares the public key of a PEM certificate (or CSR when is_csr != 0)
 * with the uncompressed EC point pub (04||X||Y) on curve. TRUSTX_OK when
 * equal, TRUSTX_E_VERIFY when not, TRUSTX_E_INVALID_ARG when pem does not
 * parse.
 */
trustx_rc trustx_aws_pem_matches_key(const char *pem, int is_csr, trustx_curve curve,
                                     const uint8_t *pub, size_t pub_len);

/*
 * Writes the lowercase hex SHA-256 of a PEM certificate's DER encoding (the
 * form AWS IoT uses for certificate ids) into id (65 bytes).
 */
trustx_rc trustx_aws_certificate_id(const char *cert_pem, char id[TRUSTX_AWS_CERT_ID_LEN + 1]);

/* ---- Registration flow ---- */

/*
 * Writes cert_pem into the chip's certificate slot, reads it back and proves
 * that it pairs with the chip's key. Returns TRUSTX_OK only after all three
 * succeeded. It is called for a new certificate and again for a reused one,
 * so it should do nothing when the slot already holds exactly cert_pem.
 */
typedef trustx_rc (*trustx_aws_install_fn)(void *user, const char *cert_pem);

typedef struct trustx_aws_register_req {
    const char *thing_name;        /* required: [a-zA-Z0-9:_-]{1,128} */
    const char *policy_name;       /* NULL: TRUSTX_AWS_DEFAULT_POLICY (fleet form) */
    const char *csr_pem;           /* required: CSR signed by the chip's key */
    trustx_curve curve;            /* the chip key's curve */
    const uint8_t *public_key;     /* required: uncompressed point 04||X||Y */
    size_t public_key_len;
    /*
     * 0: fail with TRUSTX_E_CLOUD when the thing already has an ACTIVE
     * certificate for another key, since two devices would then share one
     * identity. Nonzero: go on and attach this chip's certificate as well.
     */
    int allow_other_active;
} trustx_aws_register_req;

typedef enum trustx_aws_step {
    TRUSTX_AWS_STEP_NOT_RUN = 0,   /* the flow stopped before this step */
    TRUSTX_AWS_STEP_DONE,          /* this run changed AWS (or the chip) */
    TRUSTX_AWS_STEP_REUSED         /* already in place; nothing changed */
} trustx_aws_step;

typedef struct trustx_aws_register_result {
    char thing_arn[TRUSTX_AWS_ARN_MAX];
    char account[16];
    char certificate_id[TRUSTX_AWS_CERT_ID_LEN + 1];
    char certificate_arn[TRUSTX_AWS_ARN_MAX];
    char *certificate_pem;         /* malloc'd; free with trustx_aws_register_result_clear */
    char policy_name[TRUSTX_AWS_NAME_MAX];
    char endpoint[TRUSTX_AWS_URL_MAX];  /* iot:Data-ATS host name for the device */

    trustx_aws_step thing;         /* CreateThing */
    trustx_aws_step certificate;   /* CreateCertificateFromCsr */
    trustx_aws_step thing_attach;  /* AttachThingPrincipal */
    trustx_aws_step install;       /* the install callback (DONE whenever it returned OK) */
    trustx_aws_step activation;    /* UpdateCertificate ACTIVE */
    trustx_aws_step policy;        /* CreatePolicy */
    trustx_aws_step policy_attach; /* AttachPolicy */
} trustx_aws_register_result;

/* Frees certificate_pem and zeroes the result. Accepts NULL. */
void trustx_aws_register_result_clear(trustx_aws_register_result *res);

/* Returns "not run", "done" or "reused". */
const char *trustx_aws_step_name(trustx_aws_step step);

/*
 * Registers one device, idempotently:
 *  1. checks that the CSR's key is the chip's key;
 *  2. DescribeThing, CreateThing when absent (the account comes from its ARN);
 *  3. looks for a certificate of the chip's key among the thing's principals
 *     (DescribeCertificate, public keys compared) and reuses it unless REVOKED;
 *  4. otherwise CreateCertificateFromCsr with setAsActive=false; a certificate
 *     for another key is revoked, never installed, and TRUSTX_E_VERIFY is
 *     returned. If the call fails in a way that leaves open whether AWS issued
 *     a certificate, the newest certificates are searched for the chip's key;
 *  5. AttachThingPrincipal, so that a re-run finds the certificate;
 *  6. install(user, pem); on failure the certificate stays INACTIVE (attached
 *     to the thing, reused by the next run) and install's error is returned;
 *  7. UpdateCertificate ACTIVE unless it is already;
 *  8. GetPolicy, CreatePolicy when absent (an existing policy is used as it
 *     is, unless it allows "*" or "iot:*": then TRUSTX_E_VERIFY);
 *  9. AttachPolicy unless ListAttachedPolicies shows it;
 * 10. DescribeEndpoint iot:Data-ATS.
 * A re-run with everything in place makes no change and issues no
 * certificate. res is cleared first and filled as far as the flow got, also
 * on failure. Progress is logged at TRUSTX_LOG_INFO.
 */
trustx_rc trustx_aws_register(trustx_aws_client *c, const trustx_aws_register_req *req,
                              trustx_aws_install_fn install, void *user,
                              trustx_aws_register_result *res);

#ifdef __cplusplus
}
#endif

#endif

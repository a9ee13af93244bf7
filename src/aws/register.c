/* SPDX-License-Identifier: MIT */
/*
 * The idempotent registration of one device in AWS IoT: thing, certificate
 * of the chip's key, install into the chip, activation, policy and
 * attachments. Every step first looks for what is already there, so a
 * re-run after a failure continues where the last run stopped.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "aws/aws_internal.h"
#include "trustx/log.h"

/* Recovery after an ambiguous CreateCertificateFromCsr failure (see find_recent_issue). */
#define RECOVER_SCAN_MAX 50u           /* newest certificates examined */
#define RECOVER_CLOCK_SKEW_S 300.0     /* tolerated clock difference to AWS, in seconds */
#define POLICY_TEXT_MAX 4096

static const char *const component = "aws";

const char *trustx_aws_step_name(trustx_aws_step step)
{
    switch (step) {
    case TRUSTX_AWS_STEP_NOT_RUN: return "not run";
    case TRUSTX_AWS_STEP_DONE: return "done";
    case TRUSTX_AWS_STEP_REUSED: return "reused";
    }
    return "unknown";
}

void trustx_aws_register_result_clear(trustx_aws_register_result *res)
{
    if (res == NULL)
        return;
    free(res->certificate_pem);
    memset(res, 0, sizeof(*res));
}

/* Copies field number index (0-based, ':'-separated) of arn into out. */
static int arn_field(const char *arn, int index, char *out, size_t cap)
{
    const char *p = arn;
    size_t n;

    for (int i = 0; i < index; i++) {
        p = strchr(p, ':');
        if (p == NULL)
            return 0;
        p++;
    }
    n = strcspn(p, ":");
    if (n == 0 || n >= cap)
        return 0;
    memcpy(out, p, n);
    out[n] = '\0';
    return 1;
}

static trustx_rc check_request(const trustx_aws_register_req *req, trustx_aws_install_fn install)
{
    if (req == NULL || req->thing_name == NULL || req->csr_pem == NULL ||
        req->public_key == NULL || install == NULL)
        return trustx_fail(TRUSTX_LAYER_AWS, TRUSTX_E_INVALID_ARG,
                           "registration needs a thing name, a CSR, the chip's public key and "
                           "an install callback");
    return trustx_aws_pem_matches_key(req->csr_pem, 1, req->curve, req->public_key,
                                      req->public_key_len);
}

/* ---- thing ---- */

static trustx_rc ensure_thing(trustx_aws_client *c, const trustx_aws_register_req *req,
                              trustx_aws_register_result *res)
{
    int found = 0;
    trustx_rc rc;

    rc = trustx_aws_describe_thing(c, req->thing_name, &found, res->thing_arn,
                                   sizeof(res->thing_arn));
    if (rc != TRUSTX_OK)
        return rc;
    if (found) {
        res->thing = TRUSTX_AWS_STEP_REUSED;
        trustx_log(TRUSTX_LOG_INFO, component, "thing %s exists: %s", req->thing_name,
                   res->thing_arn);
    } else {
        rc = trustx_aws_create_thing(c, req->thing_name, res->thing_arn, sizeof(res->thing_arn));
        if (rc != TRUSTX_OK)
            return rc;
        res->thing = TRUSTX_AWS_STEP_DONE;
        trustx_log(TRUSTX_LOG_INFO, component, "created thing %s: %s", req->thing_name,
                   res->thing_arn);
    }

    if (!arn_field(res->thing_arn, 4, res->account, sizeof(res->account)))
        return trustx_fail(TRUSTX_LAYER_AWS, TRUSTX_E_CLOUD,
                           "thing ARN '%s' has no account field", res->thing_arn);
    return TRUSTX_OK;
}

/* ---- certificate ---- */

/* Returns the certificate id in a certificate ARN, or NULL for other principals. */
static const char *cert_id_of(const char *arn)
{
    const char *p = strstr(arn, ":cert/");

    if (p == NULL || strlen(p + 6) != TRUSTX_AWS_CERT_ID_LEN)
        return NULL;
    return p + 6;
}

/*
 * Looks among principals for a certificate of the chip's key that is not
 * REVOKED, preferring an ACTIVE one. *found is 1 when one was taken.
 */
static trustx_rc find_attached(trustx_aws_client *c, const trustx_aws_register_req *req,
                               const trustx_aws_strings *principals,
                               trustx_aws_certificate *out, int *found, char *other_active,
                               size_t other_cap)
{
    *found = 0;
    other_active[0] = '\0';
    for (size_t i = 0; i < principals->count; i++) {
        const char *id = cert_id_of(principals->items[i]);
        trustx_aws_certificate cert;
        int exists = 0;
        trustx_rc rc;

        if (id == NULL)
            continue;
        rc = trustx_aws_describe_certificate(c, id, &exists, &cert);
        if (rc != TRUSTX_OK)
            return rc;
        if (!exists) {
            trustx_aws_certificate_clear(&cert);
            continue;
        }
        if (trustx_aws_pem_matches_key(cert.pem, 0, req->curve, req->public_key,
                                       req->public_key_len) != TRUSTX_OK) {
            if (strcmp(cert.status, "ACTIVE") == 0)
                snprintf(other_active, other_cap, "%s", cert.id);
            trustx_aws_certificate_clear(&cert);
            continue;
        }
        if (strcmp(cert.status, "REVOKED") == 0) {
            trustx_log(TRUSTX_LOG_INFO, component,
                       "certificate %s is for the chip's key but REVOKED; not reused", cert.id);
            trustx_aws_certificate_clear(&cert);
            continue;
        }
        if (*found && strcmp(out->status, "ACTIVE") == 0) {
            trustx_aws_certificate_clear(&cert);
            continue;
        }
        trustx_aws_certificate_clear(out);
        *out = cert;
        *found = 1;
    }
    trustx_error_clear();
    return TRUSTX_OK;
}

/* True when a failed call may have been carried out by AWS all the same. */
static int outcome_unknown(const trustx_aws_client *c)
{
    const trustx_aws_error *e = trustx_aws_last_error(c);

    return e->http_status >= 500 || (e->http_status == 0 && e->message[0] != '\0' &&
                                     e->attempts > 0);
}

/*
 * After a CreateCertificateFromCsr whose outcome is unknown, looks for an
 * INACTIVE certificate of the chip's key issued since started (epoch
 * seconds) among the newest RECOVER_SCAN_MAX certificates of the account.
 */
static trustx_rc find_recent_issue(trustx_aws_client *c, const trustx_aws_register_req *req,
                                   double started, trustx_aws_certificate *out, int *found)
{
    trustx_aws_certificate *page = NULL;
    size_t count = 0;
    char marker[1024];
    trustx_rc rc;

    *found = 0;
    rc = trustx_aws_list_certificates(c, RECOVER_SCAN_MAX, NULL, &page, &count, marker,
                                      sizeof(marker));
    for (size_t i = 0; rc == TRUSTX_OK && !*found && i < count; i++) {
        int exists = 0;

        if (strcmp(page[i].status, "INACTIVE") != 0 ||
            (page[i].creation_date > 0 && page[i].creation_date < started - RECOVER_CLOCK_SKEW_S))
            continue;
        rc = trustx_aws_describe_certificate(c, page[i].id, &exists, out);
        if (rc == TRUSTX_OK && exists &&
            trustx_aws_pem_matches_key(out->pem, 0, req->curve, req->public_key,
                                       req->public_key_len) == TRUSTX_OK)
            *found = 1;
        else
            trustx_aws_certificate_clear(out);
    }
    trustx_aws_certificates_free(page, count);
    if (rc == TRUSTX_OK)
        trustx_error_clear();
    return rc;
}

static trustx_rc issue_certificate(trustx_aws_client *c, const trustx_aws_register_req *req,
                                   trustx_aws_certificate *cert, trustx_aws_register_result *res)
{
    double started = (double)time(NULL);
    trustx_error first;
    int found = 0;
    trustx_rc rc;

    rc = trustx_aws_create_certificate_from_csr(c, req->csr_pem, 0, cert);
    if (rc == TRUSTX_E_VERIFY) {
        snprintf(res->certificate_id, sizeof(res->certificate_id), "%s", cert->id);
        snprintf(res->certificate_arn, sizeof(res->certificate_arn), "%s", cert->arn);
        return rc;
    }
    if (rc == TRUSTX_OK) {
        trustx_log(TRUSTX_LOG_INFO, component, "AWS issued certificate %s (INACTIVE)", cert->id);
        res->certificate = TRUSTX_AWS_STEP_DONE;
        return TRUSTX_OK;
    }
    if (rc != TRUSTX_E_CLOUD || !outcome_unknown(c))
        return rc;

    first = *trustx_error_last();
    trustx_log(TRUSTX_LOG_WARN, component, "%s; looking for a certificate that AWS may have "
               "issued all the same", first.message);
    if (find_recent_issue(c, req, started, cert, &found) == TRUSTX_OK && found) {
        trustx_log(TRUSTX_LOG_INFO, component, "found certificate %s issued by the failed call",
                   cert->id);
        res->certificate = TRUSTX_AWS_STEP_DONE;
        return TRUSTX_OK;
    }
    return trustx_fail(first.layer, first.rc, "%s", first.message);
}

/* Finds or issues the certificate, then makes sure it is attached to the thing. */
static trustx_rc ensure_certificate(trustx_aws_client *c, const trustx_aws_register_req *req,
                                    trustx_aws_certificate *cert,
                                    trustx_aws_register_result *res)
{
    trustx_aws_strings principals;
    char other_active[TRUSTX_AWS_CERT_ID_LEN + 1];
    int found = 0;
    int attached = 0;
    trustx_rc rc;

    rc = trustx_aws_list_thing_principals(c, req->thing_name, &principals);
    if (rc == TRUSTX_OK)
        rc = find_attached(c, req, &principals, cert, &found, other_active,
                           sizeof(other_active));
    if (rc == TRUSTX_OK && !found && other_active[0] != '\0' && !req->allow_other_active)
        rc = trustx_fail(TRUSTX_LAYER_AWS, TRUSTX_E_CLOUD,
                         "thing %s already has ACTIVE certificate %s for another key, so "
                         "another device may be using this thing; give each device its own "
                         "--thing, or deactivate that certificate (--force attaches this "
                         "chip's certificate as well)",
                         req->thing_name, other_active);
    if (rc == TRUSTX_OK && found) {
        res->certificate = TRUSTX_AWS_STEP_REUSED;
        attached = 1;
        trustx_log(TRUSTX_LOG_INFO, component, "reusing certificate %s (%s) of the chip's key",
                   cert->id, cert->status);
    } else if (rc == TRUSTX_OK) {
        rc = issue_certificate(c, req, cert, res);
        for (size_t i = 0; rc == TRUSTX_OK && i < principals.count; i++)
            attached |= strcmp(principals.items[i], cert->arn) == 0;
    }
    trustx_aws_strings_clear(&principals);
    if (rc != TRUSTX_OK)
        return rc;

    snprintf(res->certificate_id, sizeof(res->certificate_id), "%s", cert->id);
    snprintf(res->certificate_arn, sizeof(res->certificate_arn), "%s", cert->arn);
    res->certificate_pem = strdup(cert->pem);
    if (res->certificate_pem == NULL)
        return trustx_fail(TRUSTX_LAYER_AWS, TRUSTX_E_NOMEM, "out of memory");

    /* A certificate for another key must never reach the chip, even if a check above missed it. */
    rc = trustx_aws_pem_matches_key(cert->pem, 0, req->curve, req->public_key,
                                    req->public_key_len);
    if (rc != TRUSTX_OK)
        return rc;

    if (attached) {
        res->thing_attach = TRUSTX_AWS_STEP_REUSED;
        return TRUSTX_OK;
    }
    rc = trustx_aws_attach_thing_principal(c, req->thing_name, cert->arn);
    if (rc != TRUSTX_OK)
        return rc;
    res->thing_attach = TRUSTX_AWS_STEP_DONE;
    trustx_log(TRUSTX_LOG_INFO, component, "attached certificate %s to thing %s", cert->id,
               req->thing_name);
    return TRUSTX_OK;
}

static trustx_rc install_and_activate(trustx_aws_client *c, const trustx_aws_certificate *cert,
                                      trustx_aws_install_fn install, void *user,
                                      trustx_aws_register_result *res)
{
    int active = strcmp(cert->status, "ACTIVE") == 0;
    trustx_rc rc;

    trustx_log(TRUSTX_LOG_INFO, component, "installing certificate %s in the chip", cert->id);
    rc = install(user, cert->pem);
    if (rc != TRUSTX_OK) {
        trustx_error_prefix("installing certificate %s failed; it stays %s in AWS", cert->id,
                            active ? "ACTIVE" : "INACTIVE");
        return rc;
    }
    res->install = TRUSTX_AWS_STEP_DONE;

    if (active) {
        res->activation = TRUSTX_AWS_STEP_REUSED;
        return TRUSTX_OK;
    }
    rc = trustx_aws_update_certificate(c, cert->id, "ACTIVE");
    if (rc != TRUSTX_OK)
        return rc;
    res->activation = TRUSTX_AWS_STEP_DONE;
    trustx_log(TRUSTX_LOG_INFO, component, "activated certificate %s", cert->id);
    return TRUSTX_OK;
}

/* ---- policy ---- */

static int same_document(const char *a, const char *b)
{
    cJSON *ja = cJSON_Parse(a);
    cJSON *jb = cJSON_Parse(b);
    int same = ja != NULL && jb != NULL && cJSON_Compare(ja, jb, 1);

    cJSON_Delete(ja);
    cJSON_Delete(jb);
    return same;
}

static trustx_rc check_existing_policy(const char *name, const char *existing,
                                       const char *wanted)
{
    trustx_rc rc = trustx_aws_policy_check(existing);

    if (rc == TRUSTX_E_CLOUD) {
        trustx_error_prefix("existing policy %s was not attached", name);
        return rc;
    }
    if (same_document(existing, wanted))
        trustx_log(TRUSTX_LOG_INFO, component, "policy %s exists with the expected document",
                   name);
    else
        trustx_log(TRUSTX_LOG_WARN, component, "policy %s exists with another document; "
                   "using it as it is", name);
    return TRUSTX_OK;
}

static trustx_rc ensure_policy(trustx_aws_client *c, const trustx_aws_register_req *req,
                               trustx_aws_register_result *res)
{
    char region[TRUSTX_AWS_REGION_MAX];
    char wanted[POLICY_TEXT_MAX];
    char *existing = NULL;
    int found = 0;
    trustx_rc rc;

    snprintf(res->policy_name, sizeof(res->policy_name), "%s",
             req->policy_name ? req->policy_name : TRUSTX_AWS_DEFAULT_POLICY);
    if (!arn_field(res->thing_arn, 3, region, sizeof(region)))
        snprintf(region, sizeof(region), "%s", trustx_aws_client_settings(c)->region);
    rc = trustx_aws_policy_document(region, res->account, NULL, wanted, sizeof(wanted));
    if (rc == TRUSTX_OK)
        rc = trustx_aws_get_policy(c, res->policy_name, &found, &existing);
    if (rc != TRUSTX_OK)
        return rc;

    if (found) {
        rc = check_existing_policy(res->policy_name, existing, wanted);
        free(existing);
        if (rc == TRUSTX_OK)
            res->policy = TRUSTX_AWS_STEP_REUSED;
        return rc;
    }

    rc = trustx_aws_create_policy(c, res->policy_name, wanted);
    if (rc == TRUSTX_E_CLOUD &&
        strcmp(trustx_aws_last_error(c)->code, "ResourceAlreadyExistsException") == 0) {
        /* Another station created it between GetPolicy and CreatePolicy. */
        trustx_error_clear();
        res->policy = TRUSTX_AWS_STEP_REUSED;
        return TRUSTX_OK;
    }
    if (rc != TRUSTX_OK)
        return rc;
    res->policy = TRUSTX_AWS_STEP_DONE;
    trustx_log(TRUSTX_LOG_INFO, component, "created policy %s", res->policy_name);
    return TRUSTX_OK;
}

static trustx_rc ensure_policy_attached(trustx_aws_client *c, trustx_aws_register_result *res)
{
    trustx_aws_strings names;
    int attached = 0;
    trustx_rc rc;

    rc = trustx_aws_list_attached_policies(c, res->certificate_arn, &names);
    if (rc != TRUSTX_OK)
        return rc;
    for (size_t i = 0; i < names.count; i++)
        attached |= strcmp(names.items[i], res->policy_name) == 0;
    trustx_aws_strings_clear(&names);

    if (attached) {
        res->policy_attach = TRUSTX_AWS_STEP_REUSED;
        return TRUSTX_OK;
    }
    rc = trustx_aws_attach_policy(c, res->policy_name, res->certificate_arn);
    if (rc != TRUSTX_OK)
        return rc;
    res->policy_attach = TRUSTX_AWS_STEP_DONE;
    trustx_log(TRUSTX_LOG_INFO, component, "attached policy %s to certificate %s",
               res->policy_name, res->certificate_id);
    return TRUSTX_OK;
}

/* ---- the flow ---- */

trustx_rc trustx_aws_register(trustx_aws_client *c, const trustx_aws_register_req *req,
                              trustx_aws_install_fn install, void *user,
                              trustx_aws_register_result *res)
{
    trustx_aws_certificate cert;
    trustx_rc rc;

    memset(res, 0, sizeof(*res));
    memset(&cert, 0, sizeof(cert));

    rc = check_request(req, install);
    if (rc != TRUSTX_OK) {
        trustx_error_prefix("certificate request for thing %s",
                            req && req->thing_name ? req->thing_name : "(none)");
        return rc;
    }
    trustx_log(TRUSTX_LOG_INFO, component, "registering thing %s in %s", req->thing_name,
               trustx_aws_client_settings(c)->region);

    /*
     * The policy is settled before the certificate and attached before the
     * install: a refused policy stops the flow before the chip is written, and
     * a certificate is never ACTIVE without its policy.
     */
    rc = ensure_thing(c, req, res);
    if (rc == TRUSTX_OK)
        rc = ensure_policy(c, req, res);
    if (rc == TRUSTX_OK)
        rc = ensure_certificate(c, req, &cert, res);
    if (rc == TRUSTX_OK)
        rc = ensure_policy_attached(c, res);
    if (rc == TRUSTX_OK)
        rc = install_and_activate(c, &cert, install, user, res);
    if (rc == TRUSTX_OK)
        rc = trustx_aws_describe_endpoint(c, "iot:Data-ATS", res->endpoint,
                                          sizeof(res->endpoint));
    trustx_aws_certificate_clear(&cert);
    if (rc != TRUSTX_OK)
        return rc;

    trustx_log(TRUSTX_LOG_INFO, component,
               "thing %s registered: certificate %s %s, policy %s %s, endpoint %s",
               req->thing_name, res->certificate_id, trustx_aws_step_name(res->certificate),
               res->policy_name, trustx_aws_step_name(res->policy), res->endpoint);
    return TRUSTX_OK;
}

trustx_rc trustx_aws_thing_active_certificate(trustx_aws_client *c, const char *thing,
                                              char *cert_id, size_t cap, int *found)
{
    trustx_aws_strings principals;
    char arn[TRUSTX_AWS_ARN_MAX];
    int exists = 0;
    trustx_rc rc = trustx_aws_describe_thing(c, thing, &exists, arn, sizeof(arn));

    *found = 0;
    if (rc != TRUSTX_OK || !exists)
        return rc;
    rc = trustx_aws_list_thing_principals(c, thing, &principals);
    for (size_t i = 0; rc == TRUSTX_OK && !*found && i < principals.count; i++) {
        const char *id = cert_id_of(principals.items[i]);
        trustx_aws_certificate cert;
        int known = 0;

        if (id == NULL)
            continue;
        memset(&cert, 0, sizeof(cert));
        rc = trustx_aws_describe_certificate(c, id, &known, &cert);
        if (rc == TRUSTX_OK && known && strcmp(cert.status, "ACTIVE") == 0) {
            snprintf(cert_id, cap, "%s", cert.id);
            *found = 1;
        }
        trustx_aws_certificate_clear(&cert);
    }
    trustx_aws_strings_clear(&principals);
    return rc;
}

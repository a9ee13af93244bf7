/* SPDX-License-Identifier: MIT */
/*
 * AWS IoT control-plane operations (rest-json, API version 2015-05-28):
 * each builds the wire path, query and JSON body the way the AWS SDKs
 * serialize them, runs the signed call and decodes the JSON response.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>

#include "aws/aws_internal.h"
#include "trustx/log.h"

#define LIST_PAGES_MAX 100            /* pages read from one paginated list */
#define PATH_MAX_LEN 4096
#define QUERY_MAX_LEN 4096

/* ---- input checks ---- */

static int all_chars(const char *s, const char *extra, int allow_word)
{
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;

        if (isalnum(ch) || (allow_word && ch == '_') || strchr(extra, ch) != NULL)
            continue;
        return 0;
    }
    return 1;
}

trustx_rc trustx_aws_check_thing_name(const char *thing)
{
    size_t n = thing ? strlen(thing) : 0;

    if (n == 0 || n > 128 || !all_chars(thing, ":_-", 0))
        return trustx_fail(TRUSTX_LAYER_AWS, TRUSTX_E_INVALID_ARG,
                           "thing name '%s' is invalid; use 1 to 128 characters from "
                           "a-z A-Z 0-9 : _ -", thing ? thing : "");
    return TRUSTX_OK;
}

trustx_rc trustx_aws_check_policy_name(const char *policy)
{
    size_t n = policy ? strlen(policy) : 0;

    if (n == 0 || n > 128 || !all_chars(policy, "+=,.@-", 1))
        return trustx_fail(TRUSTX_LAYER_AWS, TRUSTX_E_INVALID_ARG,
                           "policy name '%s' is invalid; use 1 to 128 characters from "
                           "a-z A-Z 0-9 _ + = , . @ -", policy ? policy : "");
    return TRUSTX_OK;
}

static trustx_rc check_cert_id(const char *id)
{
    size_t n = id ? strlen(id) : 0;

    if (n != TRUSTX_AWS_CERT_ID_LEN || !all_chars(id, "", 0) ||
        strspn(id, "0123456789abcdefABCDEF") != n)
        return trustx_fail(TRUSTX_LAYER_AWS, TRUSTX_E_INVALID_ARG,
                           "certificate id '%s' is invalid; expected 64 hex digits",
                           id ? id : "");
    return TRUSTX_OK;
}

static trustx_rc check_text(const char *value, const char *what, size_t max)
{
    size_t n = value ? strlen(value) : 0;

    if (n == 0 || n > max)
        return trustx_fail(TRUSTX_LAYER_AWS, TRUSTX_E_INVALID_ARG,
                           "%s must be 1 to %zu characters, got %zu", what, max, n);
    return TRUSTX_OK;
}

/* ---- request helpers ---- */

/* Builds prefix + encoded label + suffix into path (PATH_MAX_LEN bytes). */
static trustx_rc build_path(char *path, const char *prefix, const char *label,
                            const char *suffix)
{
    char *encoded = trustx_aws_path_label(label);
    int n;

    if (encoded == NULL)
        return trustx_fail(TRUSTX_LAYER_AWS, TRUSTX_E_NOMEM, "out of memory for a path");
    n = snprintf(path, PATH_MAX_LEN, "%s%s%s", prefix, encoded, suffix ? suffix : "");
    free(encoded);
    if (n < 0 || n >= PATH_MAX_LEN)
        return trustx_fail(TRUSTX_LAYER_AWS, TRUSTX_E_OVERFLOW, "request path is too long");
    return TRUSTX_OK;
}

/* Appends "&name=value" (value percent-encoded; no '&' before the first) to query. */
static trustx_rc add_query(char *query, const char *name, const char *value)
{
    char *encoded = trustx_aws_uri_encode(value, strlen(value), 0);
    size_t used = strlen(query);
    int n;

    if (encoded == NULL)
        return trustx_fail(TRUSTX_LAYER_AWS, TRUSTX_E_NOMEM, "out of memory for a query");
    n = snprintf(query + used, QUERY_MAX_LEN - used, "%s%s=%s", used ? "&" : "", name, encoded);
    free(encoded);
    if (n < 0 || (size_t)n >= QUERY_MAX_LEN - used)
        return trustx_fail(TRUSTX_LAYER_AWS, TRUSTX_E_OVERFLOW, "request query is too long");
    return TRUSTX_OK;
}

/* Serializes {"name": value} (value a string) as compact JSON; NULL when out of memory. */
static char *json_one_string(const char *name, const char *value)
{
    cJSON *obj = cJSON_CreateObject();
    char *text = NULL;

    if (obj != NULL && cJSON_AddStringToObject(obj, name, value) != NULL)
        text = cJSON_PrintUnformatted(obj);
    cJSON_Delete(obj);
    return text;
}

static trustx_rc parse_response(const char *operation, const char *body, cJSON **json)
{
    *json = cJSON_Parse(body);
    if (*json == NULL || !cJSON_IsObject(*json)) {
        cJSON_Delete(*json);
        *json = NULL;
        return trustx_fail(TRUSTX_LAYER_AWS, TRUSTX_E_CLOUD,
                           "%s returned a body that is not a JSON object", operation);
    }
    return TRUSTX_OK;
}

/* Copies string member name of obj into out; TRUSTX_E_CLOUD when absent or too long. */
static trustx_rc take_string(const char *operation, const cJSON *obj, const char *name,
                             char *out, size_t cap)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, name);
    size_t n;

    if (!cJSON_IsString(item))
        return trustx_fail(TRUSTX_LAYER_AWS, TRUSTX_E_CLOUD, "%s response has no %s", operation,
                           name);
    n = strlen(item->valuestring);
    if (n >= cap)
        return trustx_fail(TRUSTX_LAYER_AWS, TRUSTX_E_CLOUD,
                           "%s response member %s is %zu characters long; at most %zu expected",
                           operation, name, n, cap - 1);
    memcpy(out, item->valuestring, n + 1);
    return TRUSTX_OK;
}

/* Like take_string, leaving out "" when the member is absent. */
static trustx_rc take_optional(const char *operation, const cJSON *obj, const char *name,
                               char *out, size_t cap)
{
    out[0] = '\0';
    if (cJSON_GetObjectItemCaseSensitive(obj, name) == NULL)
        return TRUSTX_OK;
    return take_string(operation, obj, name, out, cap);
}

static trustx_rc take_pem(const char *operation, const cJSON *obj, const char *name,
                          char **out)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, name);

    *out = NULL;
    if (!cJSON_IsString(item))
        return trustx_fail(TRUSTX_LAYER_AWS, TRUSTX_E_CLOUD, "%s response has no %s", operation,
                           name);
    *out = strdup(item->valuestring);
    if (*out == NULL)
        return trustx_fail(TRUSTX_LAYER_AWS, TRUSTX_E_NOMEM, "out of memory for a certificate");
    return TRUSTX_OK;
}

static trustx_rc strings_push(trustx_aws_strings *list, const char *value)
{
    char **grown;
    char *copy;

    if (list->count >= TRUSTX_AWS_LIST_MAX)
        return trustx_fail(TRUSTX_LAYER_AWS, TRUSTX_E_OVERFLOW,
                           "list has more than %d entries", TRUSTX_AWS_LIST_MAX);
    grown = realloc(list->items, (list->count + 1) * sizeof(*grown));
    if (grown == NULL)
        return trustx_fail(TRUSTX_LAYER_AWS, TRUSTX_E_NOMEM, "out of memory for a list");
    list->items = grown;
    copy = strdup(value);
    if (copy == NULL)
        return trustx_fail(TRUSTX_LAYER_AWS, TRUSTX_E_NOMEM, "out of memory for a list");
    list->items[list->count++] = copy;
    return TRUSTX_OK;
}

void trustx_aws_strings_clear(trustx_aws_strings *list)
{
    if (list == NULL)
        return;
    for (size_t i = 0; i < list->count; i++)
        free(list->items[i]);
    free(list->items);
    list->items = NULL;
    list->count = 0;
}

void trustx_aws_certificate_clear(trustx_aws_certificate *cert)
{
    if (cert == NULL)
        return;
    free(cert->pem);
    memset(cert, 0, sizeof(*cert));
}

void trustx_aws_certificates_free(trustx_aws_certificate *certs, size_t count)
{
    for (size_t i = 0; certs != NULL && i < count; i++)
        trustx_aws_certificate_clear(&certs[i]);
    free(certs);
}

/* ---- certificates ---- */

/* Checks that arn ends with "cert/<id>" and id is 64 hex digits. */
static trustx_rc check_cert_reply(const char *operation, const trustx_aws_certificate *cert)
{
    size_t n = strlen(cert->arn);

    if (check_cert_id(cert->id) != TRUSTX_OK || n < TRUSTX_AWS_CERT_ID_LEN + 5 ||
        strcmp(cert->arn + n - TRUSTX_AWS_CERT_ID_LEN, cert->id) != 0 ||
        strncmp(cert->arn + n - TRUSTX_AWS_CERT_ID_LEN - 5, "cert/", 5) != 0)
        return trustx_fail(TRUSTX_LAYER_AWS, TRUSTX_E_CLOUD,
                           "%s returned certificate id '%s' and ARN '%s', which do not match",
                           operation, cert->id, cert->arn);
    return TRUSTX_OK;
}

/* Revokes a certificate that must never be used; keeps the first error for the caller. */
static void revoke_quietly(trustx_aws_client *c, const char *cert_id)
{
    trustx_error saved = *trustx_error_last();

    if (trustx_aws_update_certificate(c, cert_id, "REVOKED") == TRUSTX_OK)
        trustx_log(TRUSTX_LOG_WARN, "aws", "revoked certificate %s", cert_id);
    else
        trustx_log(TRUSTX_LOG_ERROR, "aws", "could not revoke certificate %s: %s; revoke it "
                   "by hand", cert_id, trustx_error_last()->message);
    trustx_fail(saved.layer, saved.rc, "%s", saved.message);
}

/* Checks an issued certificate against the request; revokes it when its key differs. */
static trustx_rc vet_issued(trustx_aws_client *c, const char *csr_pem,
                            trustx_aws_certificate *out)
{
    char local_id[TRUSTX_AWS_CERT_ID_LEN + 1];
    trustx_rc rc = check_cert_reply("CreateCertificateFromCsr", out);

    if (rc == TRUSTX_OK)
        rc = trustx_aws_cert_matches_csr(out->pem, csr_pem);
    if (rc == TRUSTX_E_VERIFY) {
        trustx_fail(TRUSTX_LAYER_AWS, TRUSTX_E_VERIFY,
                    "AWS issued certificate %s for a public key that is not the key of the "
                    "request; it was revoked and must not be installed", out->id);
        revoke_quietly(c, out->id);
        free(out->pem);
        out->pem = NULL;
        return TRUSTX_E_VERIFY;
    }
    if (rc != TRUSTX_OK)
        return rc;

    /* NOTE: id = SHA-256(DER) matches AWS examples but is not documented, so only a warning. */
    if (trustx_aws_certificate_id(out->pem, local_id) == TRUSTX_OK &&
        strcasecmp(local_id, out->id) != 0)
        trustx_log(TRUSTX_LOG_WARN, "aws", "certificate id %s is not the SHA-256 of its DER (%s)",
                   out->id, local_id);
    return TRUSTX_OK;
}

trustx_rc trustx_aws_create_certificate_from_csr(trustx_aws_client *c, const char *csr_pem,
                                                 int set_active, trustx_aws_certificate *out)
{
    trustx_aws_call call = {0};
    char *body;
    char *resp = NULL;
    cJSON *json = NULL;
    trustx_rc rc;

    memset(out, 0, sizeof(*out));
    rc = check_text(csr_pem, "certificate request PEM", 4096);
    if (rc != TRUSTX_OK)
        return rc;
    body = json_one_string("certificateSigningRequest", csr_pem);
    if (body == NULL)
        return trustx_fail(TRUSTX_LAYER_AWS, TRUSTX_E_NOMEM, "out of memory for a request");

    call.operation = "CreateCertificateFromCsr";
    call.method = "POST";
    call.path = "/certificates";
    call.query = set_active ? "setAsActive=true" : "setAsActive=false";
    call.body = body;
    call.idempotent = 0;
    rc = trustx_aws_http_call(c, &call, &resp);
    cJSON_free(body);

    if (rc == TRUSTX_OK)
        rc = parse_response(call.operation, resp, &json);
    if (rc == TRUSTX_OK)
        rc = take_string(call.operation, json, "certificateId", out->id, sizeof(out->id));
    if (rc == TRUSTX_OK)
        rc = take_string(call.operation, json, "certificateArn", out->arn, sizeof(out->arn));
    if (rc == TRUSTX_OK)
        rc = take_pem(call.operation, json, "certificatePem", &out->pem);
    cJSON_Delete(json);
    free(resp);
    if (rc != TRUSTX_OK)
        return rc;

    snprintf(out->status, sizeof(out->status), "%s", set_active ? "ACTIVE" : "INACTIVE");
    return vet_issued(c, csr_pem, out);
}

trustx_rc trustx_aws_update_certificate(trustx_aws_client *c, const char *cert_id,
                                        const char *new_status)
{
    trustx_aws_call call = {0};
    char path[PATH_MAX_LEN];
    char query[QUERY_MAX_LEN] = "";
    trustx_rc rc = check_cert_id(cert_id);

    if (rc != TRUSTX_OK)
        return rc;
    if (new_status == NULL || (strcmp(new_status, "ACTIVE") != 0 &&
                               strcmp(new_status, "INACTIVE") != 0 &&
                               strcmp(new_status, "REVOKED") != 0))
        return trustx_fail(TRUSTX_LAYER_AWS, TRUSTX_E_INVALID_ARG,
                           "certificate status '%s' is invalid; use ACTIVE, INACTIVE or REVOKED",
                           new_status ? new_status : "");
    rc = build_path(path, "/certificates/", cert_id, NULL);
    if (rc == TRUSTX_OK)
        rc = add_query(query, "newStatus", new_status);
    if (rc != TRUSTX_OK)
        return rc;

    call.operation = "UpdateCertificate";
    call.method = "PUT";
    call.path = path;
    call.query = query;
    call.idempotent = 1;
    return trustx_aws_http_call(c, &call, NULL);
}

static trustx_rc decode_description(const char *operation, const cJSON *json,
                                    trustx_aws_certificate *out)
{
    const cJSON *desc = cJSON_GetObjectItemCaseSensitive(json, "certificateDescription");
    const cJSON *created;
    trustx_rc rc;

    if (!cJSON_IsObject(desc))
        return trustx_fail(TRUSTX_LAYER_AWS, TRUSTX_E_CLOUD,
                           "%s response has no certificateDescription", operation);
    rc = take_string(operation, desc, "certificateId", out->id, sizeof(out->id));
    if (rc == TRUSTX_OK)
        rc = take_string(operation, desc, "certificateArn", out->arn, sizeof(out->arn));
    if (rc == TRUSTX_OK)
        rc = take_optional(operation, desc, "status", out->status, sizeof(out->status));
    if (rc == TRUSTX_OK)
        rc = take_pem(operation, desc, "certificatePem", &out->pem);
    created = cJSON_GetObjectItemCaseSensitive(desc, "creationDate");
    if (cJSON_IsNumber(created))
        out->creation_date = created->valuedouble;
    return rc;
}

trustx_rc trustx_aws_describe_certificate(trustx_aws_client *c, const char *cert_id, int *found,
                                          trustx_aws_certificate *out)
{
    trustx_aws_call call = {0};
    char path[PATH_MAX_LEN];
    char *resp = NULL;
    cJSON *json = NULL;
    trustx_rc rc;

    memset(out, 0, sizeof(*out));
    *found = 0;
    rc = check_cert_id(cert_id);
    if (rc == TRUSTX_OK)
        rc = build_path(path, "/certificates/", cert_id, NULL);
    if (rc != TRUSTX_OK)
        return rc;

    call.operation = "DescribeCertificate";
    call.method = "GET";
    call.path = path;
    call.idempotent = 1;
    call.not_found_ok = 1;
    rc = trustx_aws_http_call(c, &call, &resp);
    if (rc == TRUSTX_E_NOT_FOUND)
        return TRUSTX_OK;

    if (rc == TRUSTX_OK)
        rc = parse_response(call.operation, resp, &json);
    if (rc == TRUSTX_OK)
        rc = decode_description(call.operation, json, out);
    cJSON_Delete(json);
    free(resp);
    if (rc != TRUSTX_OK) {
        trustx_aws_certificate_clear(out);
        return rc;
    }
    *found = 1;
    return TRUSTX_OK;
}

trustx_rc trustx_aws_delete_certificate(trustx_aws_client *c, const char *cert_id, int force)
{
    trustx_aws_call call = {0};
    char path[PATH_MAX_LEN];
    trustx_rc rc = check_cert_id(cert_id);

    if (rc == TRUSTX_OK)
        rc = build_path(path, "/certificates/", cert_id, NULL);
    if (rc != TRUSTX_OK)
        return rc;

    call.operation = "DeleteCertificate";
    call.method = "DELETE";
    call.path = path;
    call.query = force ? "forceDelete=true" : NULL;
    call.idempotent = 1;
    return trustx_aws_http_call(c, &call, NULL);
}

static trustx_rc decode_certificate_list(const char *operation, const cJSON *json,
                                         trustx_aws_certificate **certs, size_t *count)
{
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(json, "certificates");
    const cJSON *item;
    size_t n = (size_t)cJSON_GetArraySize(list);
    size_t i = 0;
    trustx_rc rc = TRUSTX_OK;

    if (!cJSON_IsArray(list))
        return trustx_fail(TRUSTX_LAYER_AWS, TRUSTX_E_CLOUD, "%s response has no certificates",
                           operation);
    *certs = calloc(n ? n : 1, sizeof(**certs));
    if (*certs == NULL)
        return trustx_fail(TRUSTX_LAYER_AWS, TRUSTX_E_NOMEM, "out of memory for a list");

    cJSON_ArrayForEach(item, list) {
        trustx_aws_certificate *cert = &(*certs)[i++];
        const cJSON *created = cJSON_GetObjectItemCaseSensitive(item, "creationDate");

        rc = take_string(operation, item, "certificateId", cert->id, sizeof(cert->id));
        if (rc == TRUSTX_OK)
            rc = take_string(operation, item, "certificateArn", cert->arn, sizeof(cert->arn));
        if (rc == TRUSTX_OK)
            rc = take_optional(operation, item, "status", cert->status, sizeof(cert->status));
        if (rc != TRUSTX_OK)
            break;
        if (cJSON_IsNumber(created))
            cert->creation_date = created->valuedouble;
    }
    *count = i;
    return rc;
}

trustx_rc trustx_aws_list_certificates(trustx_aws_client *c, unsigned page_size,
                                       const char *marker, trustx_aws_certificate **certs,
                                       size_t *count, char *next_marker, size_t marker_cap)
{
    trustx_aws_call call = {0};
    char query[QUERY_MAX_LEN] = "";
    char size_text[16];
    char *resp = NULL;
    cJSON *json = NULL;
    trustx_rc rc;

    *certs = NULL;
    *count = 0;
    if (page_size < 1 || page_size > 250)
        return trustx_fail(TRUSTX_LAYER_AWS, TRUSTX_E_INVALID_ARG,
                           "page size %u is invalid; use 1 to 250", page_size);
    snprintf(size_text, sizeof(size_text), "%u", page_size);
    rc = add_query(query, "pageSize", size_text);
    if (rc == TRUSTX_OK)
        rc = add_query(query, "isAscendingOrder", "false");
    if (rc == TRUSTX_OK && marker != NULL && marker[0] != '\0')
        rc = add_query(query, "marker", marker);
    if (rc != TRUSTX_OK)
        return rc;

    call.operation = "ListCertificates";
    call.method = "GET";
    call.path = "/certificates";
    call.query = query;
    call.idempotent = 1;
    rc = trustx_aws_http_call(c, &call, &resp);
    if (rc == TRUSTX_OK)
        rc = parse_response(call.operation, resp, &json);
    if (rc == TRUSTX_OK)
        rc = decode_certificate_list(call.operation, json, certs, count);
    if (rc == TRUSTX_OK)
        rc = take_optional(call.operation, json, "nextMarker", next_marker, marker_cap);
    cJSON_Delete(json);
    free(resp);
    if (rc != TRUSTX_OK) {
        trustx_aws_certificates_free(*certs, *count);
        *certs = NULL;
        *count = 0;
    }
    return rc;
}

/* ---- things ---- */

trustx_rc trustx_aws_create_thing(trustx_aws_client *c, const char *thing, char *thing_arn,
                                  size_t cap)
{
    trustx_aws_call call = {0};
    char path[PATH_MAX_LEN];
    char *resp = NULL;
    cJSON *json = NULL;
    trustx_rc rc = trustx_aws_check_thing_name(thing);

    if (rc == TRUSTX_OK)
        rc = build_path(path, "/things/", thing, NULL);
    if (rc != TRUSTX_OK)
        return rc;

    call.operation = "CreateThing";
    call.method = "POST";
    call.path = path;
    call.body = "{}";
    call.idempotent = 1;
    rc = trustx_aws_http_call(c, &call, &resp);
    if (rc == TRUSTX_OK)
        rc = parse_response(call.operation, resp, &json);
    if (rc == TRUSTX_OK)
        rc = take_string(call.operation, json, "thingArn", thing_arn, cap);
    cJSON_Delete(json);
    free(resp);
    return rc;
}

trustx_rc trustx_aws_describe_thing(trustx_aws_client *c, const char *thing, int *found,
                                    char *thing_arn, size_t cap)
{
    trustx_aws_call call = {0};
    char path[PATH_MAX_LEN];
    char *resp = NULL;
    cJSON *json = NULL;
    trustx_rc rc = trustx_aws_check_thing_name(thing);

    *found = 0;
    if (rc == TRUSTX_OK)
        rc = build_path(path, "/things/", thing, NULL);
    if (rc != TRUSTX_OK)
        return rc;

    call.operation = "DescribeThing";
    call.method = "GET";
    call.path = path;
    call.idempotent = 1;
    call.not_found_ok = 1;
    rc = trustx_aws_http_call(c, &call, &resp);
    if (rc == TRUSTX_E_NOT_FOUND)
        return TRUSTX_OK;
    if (rc == TRUSTX_OK)
        rc = parse_response(call.operation, resp, &json);
    if (rc == TRUSTX_OK)
        rc = take_string(call.operation, json, "thingArn", thing_arn, cap);
    cJSON_Delete(json);
    free(resp);
    if (rc == TRUSTX_OK)
        *found = 1;
    return rc;
}

/*
 * Describes a paginated list. member is the array's name and token_name the
 * response member with the next page's token. query_token is the query
 * parameter that sends the token back. field selects a member of each
 * element, or is NULL for lists of plain strings.
 */
typedef struct list_call {
    trustx_aws_call call;
    const char *first_query;
    const char *member;
    const char *field;
    const char *token_name;
    const char *query_token;
} list_call;

static trustx_rc decode_page(const list_call *lc, const char *resp, trustx_aws_strings *out,
                             char *token, size_t token_cap)
{
    cJSON *json = NULL;
    const cJSON *list, *item;
    trustx_rc rc = parse_response(lc->call.operation, resp, &json);

    if (rc != TRUSTX_OK)
        return rc;
    list = cJSON_GetObjectItemCaseSensitive(json, lc->member);
    if (list != NULL && !cJSON_IsArray(list))
        rc = trustx_fail(TRUSTX_LAYER_AWS, TRUSTX_E_CLOUD, "%s response member %s is not a list",
                         lc->call.operation, lc->member);
    cJSON_ArrayForEach(item, list) {
        const cJSON *value = lc->field ? cJSON_GetObjectItemCaseSensitive(item, lc->field) : item;

        if (rc != TRUSTX_OK)
            break;
        if (!cJSON_IsString(value))
            rc = trustx_fail(TRUSTX_LAYER_AWS, TRUSTX_E_CLOUD,
                             "%s response has a %s entry that is not a string",
                             lc->call.operation, lc->member);
        else
            rc = strings_push(out, value->valuestring);
    }
    if (rc == TRUSTX_OK)
        rc = take_optional(lc->call.operation, json, lc->token_name, token, token_cap);
    cJSON_Delete(json);
    return rc;
}

static trustx_rc read_all_pages(trustx_aws_client *c, list_call *lc, trustx_aws_strings *out)
{
    char query[QUERY_MAX_LEN];
    char token[2048] = "";
    trustx_rc rc = TRUSTX_OK;
    int page;

    memset(out, 0, sizeof(*out));
    for (page = 0; page < LIST_PAGES_MAX; page++) {
        char *resp = NULL;

        snprintf(query, sizeof(query), "%s", lc->first_query);
        if (token[0] != '\0')
            rc = add_query(query, lc->query_token, token);
        if (rc != TRUSTX_OK)
            break;
        lc->call.query = query;
        rc = trustx_aws_http_call(c, &lc->call, &resp);
        if (rc == TRUSTX_OK)
            rc = decode_page(lc, resp, out, token, sizeof(token));
        free(resp);
        if (rc != TRUSTX_OK || token[0] == '\0')
            break;
    }
    if (rc == TRUSTX_OK && page == LIST_PAGES_MAX)
        rc = trustx_fail(TRUSTX_LAYER_AWS, TRUSTX_E_CLOUD, "%s returned more than %d pages",
                         lc->call.operation, LIST_PAGES_MAX);
    if (rc != TRUSTX_OK)
        trustx_aws_strings_clear(out);
    return rc;
}

trustx_rc trustx_aws_list_thing_principals(trustx_aws_client *c, const char *thing,
                                           trustx_aws_strings *out)
{
    char path[PATH_MAX_LEN];
    list_call lc;
    trustx_rc rc = trustx_aws_check_thing_name(thing);

    memset(out, 0, sizeof(*out));
    if (rc == TRUSTX_OK)
        rc = build_path(path, "/things/", thing, "/principals");
    if (rc != TRUSTX_OK)
        return rc;

    memset(&lc, 0, sizeof(lc));
    lc.call.operation = "ListThingPrincipals";
    lc.call.method = "GET";
    lc.call.path = path;
    lc.call.idempotent = 1;
    lc.first_query = "maxResults=250";
    lc.member = "principals";
    lc.token_name = "nextToken";
    lc.query_token = "nextToken";
    return read_all_pages(c, &lc, out);
}

trustx_rc trustx_aws_attach_thing_principal(trustx_aws_client *c, const char *thing,
                                            const char *principal)
{
    trustx_aws_call call = {0};
    char path[PATH_MAX_LEN];
    trustx_rc rc = trustx_aws_check_thing_name(thing);

    if (rc == TRUSTX_OK)
        rc = check_text(principal, "principal ARN", TRUSTX_AWS_ARN_MAX - 1);
    if (rc == TRUSTX_OK)
        rc = build_path(path, "/things/", thing, "/principals");
    if (rc != TRUSTX_OK)
        return rc;

    call.operation = "AttachThingPrincipal";
    call.method = "PUT";
    call.path = path;
    call.principal_header = principal;
    call.idempotent = 1;
    return trustx_aws_http_call(c, &call, NULL);
}

/* ---- policies ---- */

trustx_rc trustx_aws_create_policy(trustx_aws_client *c, const char *policy,
                                   const char *document)
{
    trustx_aws_call call = {0};
    char path[PATH_MAX_LEN];
    char *body;
    trustx_rc rc = trustx_aws_check_policy_name(policy);

    if (rc == TRUSTX_OK)
        rc = check_text(document, "policy document", 404600);
    if (rc == TRUSTX_OK)
        rc = build_path(path, "/policies/", policy, NULL);
    if (rc != TRUSTX_OK)
        return rc;
    body = json_one_string("policyDocument", document);
    if (body == NULL)
        return trustx_fail(TRUSTX_LAYER_AWS, TRUSTX_E_NOMEM, "out of memory for a request");

    call.operation = "CreatePolicy";
    call.method = "POST";
    call.path = path;
    call.body = body;
    /* A repeat fails with ResourceAlreadyExistsException; it never creates a duplicate. */
    call.idempotent = 1;
    rc = trustx_aws_http_call(c, &call, NULL);
    cJSON_free(body);
    return rc;
}

trustx_rc trustx_aws_get_policy(trustx_aws_client *c, const char *policy, int *found,
                                char **document)
{
    trustx_aws_call call = {0};
    char path[PATH_MAX_LEN];
    char *resp = NULL;
    cJSON *json = NULL;
    trustx_rc rc = trustx_aws_check_policy_name(policy);

    *found = 0;
    *document = NULL;
    if (rc == TRUSTX_OK)
        rc = build_path(path, "/policies/", policy, NULL);
    if (rc != TRUSTX_OK)
        return rc;

    call.operation = "GetPolicy";
    call.method = "GET";
    call.path = path;
    call.idempotent = 1;
    call.not_found_ok = 1;
    rc = trustx_aws_http_call(c, &call, &resp);
    if (rc == TRUSTX_E_NOT_FOUND)
        return TRUSTX_OK;
    if (rc == TRUSTX_OK)
        rc = parse_response(call.operation, resp, &json);
    if (rc == TRUSTX_OK)
        rc = take_pem(call.operation, json, "policyDocument", document);
    cJSON_Delete(json);
    free(resp);
    if (rc == TRUSTX_OK)
        *found = 1;
    return rc;
}

trustx_rc trustx_aws_attach_policy(trustx_aws_client *c, const char *policy, const char *target)
{
    trustx_aws_call call = {0};
    char path[PATH_MAX_LEN];
    char *body;
    trustx_rc rc = trustx_aws_check_policy_name(policy);

    if (rc == TRUSTX_OK)
        rc = check_text(target, "policy target ARN", TRUSTX_AWS_ARN_MAX - 1);
    if (rc == TRUSTX_OK)
        rc = build_path(path, "/target-policies/", policy, NULL);
    if (rc != TRUSTX_OK)
        return rc;
    body = json_one_string("target", target);
    if (body == NULL)
        return trustx_fail(TRUSTX_LAYER_AWS, TRUSTX_E_NOMEM, "out of memory for a request");

    call.operation = "AttachPolicy";
    call.method = "PUT";
    call.path = path;
    call.body = body;
    call.idempotent = 1;
    rc = trustx_aws_http_call(c, &call, NULL);
    cJSON_free(body);
    return rc;
}

trustx_rc trustx_aws_list_attached_policies(trustx_aws_client *c, const char *target,
                                            trustx_aws_strings *names)
{
    char path[PATH_MAX_LEN];
    list_call lc;
    trustx_rc rc = check_text(target, "policy target ARN", TRUSTX_AWS_ARN_MAX - 1);

    memset(names, 0, sizeof(*names));
    if (rc == TRUSTX_OK)
        rc = build_path(path, "/attached-policies/", target, NULL);
    if (rc != TRUSTX_OK)
        return rc;

    memset(&lc, 0, sizeof(lc));
    lc.call.operation = "ListAttachedPolicies";
    lc.call.method = "POST";
    lc.call.path = path;
    lc.call.idempotent = 1;
    lc.first_query = "pageSize=250";
    lc.member = "policies";
    lc.field = "policyName";
    lc.token_name = "nextMarker";
    lc.query_token = "marker";
    return read_all_pages(c, &lc, names);
}

/* ---- endpoint ---- */

trustx_rc trustx_aws_describe_endpoint(trustx_aws_client *c, const char *type, char *address,
                                       size_t cap)
{
    trustx_aws_call call = {0};
    char query[QUERY_MAX_LEN] = "";
    char *resp = NULL;
    cJSON *json = NULL;
    trustx_rc rc = add_query(query, "endpointType", type ? type : "iot:Data-ATS");

    if (rc != TRUSTX_OK)
        return rc;
    call.operation = "DescribeEndpoint";
    call.method = "GET";
    call.path = "/endpoint";
    call.query = query;
    call.idempotent = 1;
    rc = trustx_aws_http_call(c, &call, &resp);
    if (rc == TRUSTX_OK)
        rc = parse_response(call.operation, resp, &json);
    if (rc == TRUSTX_OK)
        rc = take_string(call.operation, json, "endpointAddress", address, cap);
    cJSON_Delete(json);
    free(resp);
    return rc;
}

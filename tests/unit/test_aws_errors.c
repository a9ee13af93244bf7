/* SPDX-License-Identifier: MIT */
/*
 * Pure parts of the AWS layer: error decoding, retry decisions, backoff
 * bounds, redaction, the device policy and its check, and the public-key
 * and certificate-id checks (cross-checked with the openssl command).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <cjson/cJSON.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "aws/aws_internal.h"

/* ---- error decoding ---- */

static void test_decode_header_code(void **state)
{
    char code[64], message[128];
    const char body[] = "{\"message\":\"Rate exceeded\"}";

    (void)state;
    trustx_aws_decode_error(400, "ThrottlingException:http://internal.amazon.com/coral/x/", body,
                            strlen(body), code, sizeof(code), message, sizeof(message));
    assert_string_equal(code, "ThrottlingException");
    assert_string_equal(message, "Rate exceeded");
}

static void test_decode_body_type(void **state)
{
    char code[64], message[128];
    const char body[] = "{\"__type\":\"com.amazonaws.iot#ResourceNotFoundException\","
                        "\"Message\":\"Thing x cannot be found.\"}";

    (void)state;
    trustx_aws_decode_error(404, NULL, body, strlen(body), code, sizeof(code), message,
                            sizeof(message));
    assert_string_equal(code, "ResourceNotFoundException");
    assert_string_equal(message, "Thing x cannot be found.");
}

static void test_decode_body_code(void **state)
{
    char code[64], message[128];
    const char body[] = "{\"code\":\"InvalidRequestException\",\"message\":\"bad\"}";

    (void)state;
    trustx_aws_decode_error(400, "", body, strlen(body), code, sizeof(code), message,
                            sizeof(message));
    assert_string_equal(code, "InvalidRequestException");
}

static void test_decode_status_only(void **state)
{
    char code[64], message[128];
    const char body[] = "<html>Bad gateway</html>";

    (void)state;
    trustx_aws_decode_error(502, NULL, body, strlen(body), code, sizeof(code), message,
                            sizeof(message));
    assert_string_equal(code, "HTTP 502");
    assert_string_equal(message, "");
}

static void test_decode_truncates(void **state)
{
    char code[8], message[6];
    const char body[] = "{\"message\":\"a long message\"}";

    (void)state;
    trustx_aws_decode_error(400, "VeryLongErrorCodeException", body, strlen(body), code,
                            sizeof(code), message, sizeof(message));
    assert_string_equal(code, "VeryLon");
    assert_string_equal(message, "a lon");
}

/* ---- retries ---- */

static void test_retry_decisions(void **state)
{
    (void)state;
    assert_true(trustx_aws_should_retry(TRUSTX_AWS_FAIL_HTTP, 400, "ThrottlingException", 0));
    assert_true(trustx_aws_should_retry(TRUSTX_AWS_FAIL_HTTP, 429, "HTTP 429", 0));
    assert_true(trustx_aws_should_retry(TRUSTX_AWS_FAIL_HTTP, 503, "ServiceUnavailableException",
                                        1));
    assert_true(trustx_aws_should_retry(TRUSTX_AWS_FAIL_HTTP, 500, "InternalFailureException", 1));
    assert_true(trustx_aws_should_retry(TRUSTX_AWS_FAIL_CONNECT, 0, "", 0));
    assert_true(trustx_aws_should_retry(TRUSTX_AWS_FAIL_TRANSFER, 0, "", 1));

    /* A non-idempotent call may have been carried out: no blind repeat. */
    assert_false(trustx_aws_should_retry(TRUSTX_AWS_FAIL_HTTP, 500, "InternalFailureException",
                                         0));
    assert_false(trustx_aws_should_retry(TRUSTX_AWS_FAIL_TRANSFER, 0, "", 0));

    assert_false(trustx_aws_should_retry(TRUSTX_AWS_FAIL_HTTP, 400, "InvalidRequestException", 1));
    assert_false(trustx_aws_should_retry(TRUSTX_AWS_FAIL_HTTP, 403, "InvalidSignatureException",
                                         1));
    assert_false(trustx_aws_should_retry(TRUSTX_AWS_FAIL_HTTP, 404, "ResourceNotFoundException",
                                         1));
    assert_false(trustx_aws_should_retry(TRUSTX_AWS_FAIL_HTTP, 409,
                                         "ResourceAlreadyExistsException", 1));
    assert_false(trustx_aws_should_retry(TRUSTX_AWS_FAIL_HTTP, 410, "LimitExceededException", 1));
    assert_false(trustx_aws_should_retry(TRUSTX_AWS_FAIL_NONE, 200, "", 1));
}

static void test_backoff_bounds(void **state)
{
    (void)state;
    for (unsigned retry = 1; retry <= 30; retry++) {
        unsigned ceiling = retry >= 16 ? 20000u : 1000u << (retry - 1);

        if (ceiling > 20000u)
            ceiling = 20000u;
        assert_int_equal(trustx_aws_backoff_ms(retry, 1000, 20000, 0.0), 0);
        assert_true(trustx_aws_backoff_ms(retry, 1000, 20000, 0.999999) < ceiling);
        assert_true(trustx_aws_backoff_ms(retry, 1000, 20000, 0.999999) >= ceiling - 1);
        assert_int_equal(trustx_aws_backoff_ms(retry, 1000, 20000, 0.5), ceiling / 2);
    }
    assert_int_equal(trustx_aws_backoff_ms(3, 10, 20000, 0.5), 20);
    assert_true(trustx_aws_backoff_ms(1, 1000, 20000, 7.0) < 1000);
    assert_int_equal(trustx_aws_backoff_ms(1, 1000, 20000, -1.0), 0);
}

static void test_redact(void **state)
{
    char text[] = "secret=abcSECRETVALUE123 and again abcSECRETVALUE123.";

    (void)state;
    trustx_aws_redact(text, "abcSECRETVALUE123");
    assert_string_equal(text, "secret=<redacted> and again <redacted>.");
    trustx_aws_redact(text, "");
    assert_string_equal(text, "secret=<redacted> and again <redacted>.");
}

/* ---- policy ---- */

static const cJSON *statement_for(const cJSON *doc, const char *action)
{
    const cJSON *st;

    cJSON_ArrayForEach(st, cJSON_GetObjectItemCaseSensitive(doc, "Statement")) {
        const cJSON *a = cJSON_GetObjectItemCaseSensitive(st, "Action");

        if (cJSON_IsString(a) && strcmp(a->valuestring, action) == 0)
            return st;
    }
    return NULL;
}

static void test_policy_fleet_form(void **state)
{
    char text[4096];
    cJSON *doc;
    const cJSON *connect, *publish, *resource;

    (void)state;
    assert_int_equal(trustx_aws_policy_document("eu-west-1", "123456789012", NULL, text,
                                                sizeof(text)), TRUSTX_OK);
    doc = cJSON_Parse(text);
    assert_non_null(doc);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(doc, "Statement")), 4);
    connect = statement_for(doc, "iot:Connect");
    assert_non_null(connect);
    resource = cJSON_GetObjectItemCaseSensitive(connect, "Resource");
    assert_string_equal(resource->valuestring,
                        "arn:aws:iot:eu-west-1:123456789012:client/"
                        "${iot:Connection.Thing.ThingName}");
    assert_non_null(strstr(text, "\"iot:Connection.Thing.IsAttached\":\t\"true\""));
    publish = statement_for(doc, "iot:Publish");
    assert_non_null(publish);
    resource = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(publish, "Resource"), 0);
    assert_string_equal(resource->valuestring,
                        "arn:aws:iot:eu-west-1:123456789012:topic/things/"
                        "${iot:Connection.Thing.ThingName}/*");
    assert_non_null(statement_for(doc, "iot:Subscribe"));
    assert_non_null(statement_for(doc, "iot:Receive"));
    assert_null(strstr(text, "iot:*"));
    assert_int_equal(trustx_aws_policy_check(text), TRUSTX_OK);
    cJSON_Delete(doc);
}

static void test_policy_thing_form(void **state)
{
    char text[4096];

    (void)state;
    assert_int_equal(trustx_aws_policy_document("cn-north-1", "123456789012", "dev-7", text,
                                                sizeof(text)), TRUSTX_OK);
    assert_non_null(strstr(text, "arn:aws-cn:iot:cn-north-1:123456789012:client/dev-7\""));
    assert_non_null(strstr(text, "topicfilter/$aws/things/dev-7/shadow/*"));
    assert_null(strstr(text, "${"));
}

static void test_policy_rejects_bad_input(void **state)
{
    char text[64];

    (void)state;
    assert_int_equal(trustx_aws_policy_document("eu-west-1", "12345", NULL, text, sizeof(text)),
                     TRUSTX_E_INVALID_ARG);
    assert_int_equal(trustx_aws_policy_document("eu-west-1", "123456789012", NULL, text,
                                                sizeof(text)), TRUSTX_E_OVERFLOW);
}

static void test_policy_check_broad(void **state)
{
    (void)state;
    assert_int_equal(trustx_aws_policy_check(
                         "{\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"iot:*\","
                         "\"Resource\":\"*\"}]}"), TRUSTX_E_CLOUD);
    assert_int_equal(trustx_aws_policy_check(
                         "{\"Statement\":{\"Effect\":\"Allow\",\"Action\":[\"iot:Publish\",\"*\"],"
                         "\"Resource\":\"*\"}}"), TRUSTX_E_CLOUD);
    /* Wildcards in any case and position, and NotAction, grant more than they name. */
    assert_int_equal(trustx_aws_policy_check(
                         "{\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"IOT:*\","
                         "\"Resource\":\"*\"}]}"), TRUSTX_E_CLOUD);
    assert_int_equal(trustx_aws_policy_check(
                         "{\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"*:*\","
                         "\"Resource\":\"*\"}]}"), TRUSTX_E_CLOUD);
    assert_int_equal(trustx_aws_policy_check(
                         "{\"Statement\":[{\"Effect\":\"Allow\",\"NotAction\":\"iot:Connect\","
                         "\"Resource\":\"*\"}]}"), TRUSTX_E_CLOUD);
    assert_int_equal(trustx_aws_policy_check(
                         "{\"Statement\":[{\"Effect\":\"Deny\",\"Action\":\"iot:*\","
                         "\"Resource\":\"*\"}]}"), TRUSTX_OK);
    assert_int_equal(trustx_aws_policy_check("not json"), TRUSTX_E_INVALID_ARG);
}

/* ---- keys and certificates ---- */

typedef struct key_material {
    EVP_PKEY *key;
    uint8_t point[TRUSTX_PUBKEY_MAX];
    size_t point_len;
    char *csr_pem;
    char *cert_pem;
} key_material;

static char *bio_text(BIO *bio)
{
    char *data;
    long n = BIO_get_mem_data(bio, &data);
    char *copy = malloc((size_t)n + 1);

    memcpy(copy, data, (size_t)n);
    copy[n] = '\0';
    return copy;
}

static void make_key(key_material *km, const char *curve)
{
    X509_REQ *req = X509_REQ_new();
    X509 *cert = X509_new();
    X509_NAME *name = X509_NAME_new();
    BIO *bio;

    km->key = EVP_EC_gen(curve);
    assert_non_null(km->key);
    assert_int_equal(EVP_PKEY_get_octet_string_param(km->key, OSSL_PKEY_PARAM_PUB_KEY, km->point,
                                                     sizeof(km->point), &km->point_len), 1);

    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"dev", -1, -1, 0);
    X509_REQ_set_subject_name(req, name);
    X509_REQ_set_pubkey(req, km->key);
    assert_true(X509_REQ_sign(req, km->key, EVP_sha256()) > 0);
    bio = BIO_new(BIO_s_mem());
    PEM_write_bio_X509_REQ(bio, req);
    km->csr_pem = bio_text(bio);
    BIO_free(bio);

    ASN1_INTEGER_set(X509_get_serialNumber(cert), 7);
    X509_set_subject_name(cert, name);
    X509_set_issuer_name(cert, name);
    X509_gmtime_adj(X509_getm_notBefore(cert), 0);
    X509_gmtime_adj(X509_getm_notAfter(cert), 3600);
    X509_set_pubkey(cert, km->key);
    assert_true(X509_sign(cert, km->key, EVP_sha256()) > 0);
    bio = BIO_new(BIO_s_mem());
    PEM_write_bio_X509(bio, cert);
    km->cert_pem = bio_text(bio);
    BIO_free(bio);

    X509_NAME_free(name);
    X509_REQ_free(req);
    X509_free(cert);
}

static void free_key(key_material *km)
{
    EVP_PKEY_free(km->key);
    free(km->csr_pem);
    free(km->cert_pem);
}

static void test_pem_matches_key(void **state)
{
    key_material a, b, c;

    (void)state;
    make_key(&a, "P-256");
    make_key(&b, "P-256");
    make_key(&c, "P-384");
    assert_int_equal(trustx_aws_pem_matches_key(a.cert_pem, 0, TRUSTX_CURVE_P256, a.point,
                                                a.point_len), TRUSTX_OK);
    assert_int_equal(trustx_aws_pem_matches_key(a.csr_pem, 1, TRUSTX_CURVE_P256, a.point,
                                                a.point_len), TRUSTX_OK);
    assert_int_equal(trustx_aws_pem_matches_key(b.cert_pem, 0, TRUSTX_CURVE_P256, a.point,
                                                a.point_len), TRUSTX_E_VERIFY);
    assert_int_equal(trustx_aws_pem_matches_key(c.cert_pem, 0, TRUSTX_CURVE_P384, c.point,
                                                c.point_len), TRUSTX_OK);
    assert_int_equal(trustx_aws_pem_matches_key(c.cert_pem, 0, TRUSTX_CURVE_P256, a.point,
                                                a.point_len), TRUSTX_E_VERIFY);
    /* A P-384 point given as P-256 is rejected before any comparison. */
    assert_int_equal(trustx_aws_pem_matches_key(c.cert_pem, 0, TRUSTX_CURVE_P256, c.point,
                                                c.point_len), TRUSTX_E_INVALID_ARG);
    assert_int_equal(trustx_aws_pem_matches_key("garbage", 0, TRUSTX_CURVE_P256, a.point,
                                                a.point_len), TRUSTX_E_INVALID_ARG);
    assert_int_equal(trustx_aws_cert_matches_csr(a.cert_pem, a.csr_pem), TRUSTX_OK);
    assert_int_equal(trustx_aws_cert_matches_csr(b.cert_pem, a.csr_pem), TRUSTX_E_VERIFY);
    free_key(&a);
    free_key(&b);
    free_key(&c);
}

/* The certificate id must equal what the openssl command computes from the DER. */
static void test_certificate_id_matches_openssl(void **state)
{
    key_material a;
    char path[] = "/tmp/trustx-aws-cert-XXXXXX";
    char command[256];
    char expected[80] = "";
    char id[TRUSTX_AWS_CERT_ID_LEN + 1];
    FILE *f, *p;
    int fd;

    (void)state;
    make_key(&a, "P-256");
    fd = mkstemp(path);
    assert_true(fd >= 0);
    f = fdopen(fd, "w");
    fputs(a.cert_pem, f);
    fclose(f);

    snprintf(command, sizeof(command),
             "openssl x509 -in %s -outform DER | openssl dgst -sha256 -r | cut -c1-64", path);
    p = popen(command, "r");
    assert_non_null(p);
    assert_non_null(fgets(expected, sizeof(expected), p));
    assert_int_equal(pclose(p), 0);
    expected[strcspn(expected, "\n")] = '\0';

    assert_int_equal(trustx_aws_certificate_id(a.cert_pem, id), TRUSTX_OK);
    assert_string_equal(id, expected);
    unlink(path);
    free_key(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decode_header_code),
        cmocka_unit_test(test_decode_body_type),
        cmocka_unit_test(test_decode_body_code),
        cmocka_unit_test(test_decode_status_only),
        cmocka_unit_test(test_decode_truncates),
        cmocka_unit_test(test_retry_decisions),
        cmocka_unit_test(test_backoff_bounds),
        cmocka_unit_test(test_redact),
        cmocka_unit_test(test_policy_fleet_form),
        cmocka_unit_test(test_policy_thing_form),
        cmocka_unit_test(test_policy_rejects_bad_input),
        cmocka_unit_test(test_policy_check_broad),
        cmocka_unit_test(test_pem_matches_key),
        cmocka_unit_test(test_certificate_id_matches_openssl),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* SPDX-License-Identifier: MIT */
/*
 * The registration flow and the HTTP client against two peers on 127.0.0.1:
 * the strict fake IoT server (signatures verified with botocore, faults
 * injected through its control endpoints) and moto's server. The test starts
 * both itself and points the client at them only.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "aws/aws_internal.h"
#include "trustx/log.h"

#define FAKE_KEY_ID "AKIDTRUSTXUNITTEST01"
#define FAKE_SECRET "unit/Test+Secret/Key0000000000000000000001"
#define FAKE_TOKEN "FQoGZXIvYXdzEPT//unit+test/session=token"
#define FAKE_REGION "eu-west-1"
#define FAKE_ACCOUNT "210987654321"
#define START_POLLS 300                 /* port-file polls, 100 ms apart */
#define THING "trustx-unit-dev_01"

typedef struct peer {
    pid_t pid;
    char url[64];
    char port_file[256];
} peer;

static peer fake;
static peer moto;

/* ---- peers ---- */

static int start_peer(peer *p, char *const argv[])
{
    pid_t pid;
    FILE *f;

    unlink(p->port_file);
    pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        execvp(argv[0], argv);
        _exit(127);
    }
    p->pid = pid;
    for (int i = 0; i < START_POLLS; i++) {
        int port = 0;

        f = fopen(p->port_file, "r");
        if (f != NULL && fscanf(f, "%d", &port) == 1 && port > 0) {
            fclose(f);
            snprintf(p->url, sizeof(p->url), "http://127.0.0.1:%d", port);
            return 0;
        }
        if (f != NULL)
            fclose(f);
        if (waitpid(pid, NULL, WNOHANG) == pid) {
            p->pid = 0;
            return -1;
        }
        usleep(100000);
    }
    return -1;
}

static void stop_peer(peer *p)
{
    if (p->pid > 0) {
        kill(p->pid, SIGTERM);
        waitpid(p->pid, NULL, 0);
        p->pid = 0;
    }
    unlink(p->port_file);
}

static void set_client_env(const char *url)
{
    setenv("AWS_ACCESS_KEY_ID", FAKE_KEY_ID, 1);
    setenv("AWS_SECRET_ACCESS_KEY", FAKE_SECRET, 1);
    setenv("AWS_SESSION_TOKEN", FAKE_TOKEN, 1);
    setenv("AWS_REGION", FAKE_REGION, 1);
    setenv("AWS_ENDPOINT_URL", url, 1);
    setenv("TRUSTX_AWS_REQUIRE_ENDPOINT", "1", 1);
    setenv("TRUSTX_AWS_RETRY_BASE_MS", "1", 1);
    setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/credentials", 1);
    setenv("AWS_CONFIG_FILE", "/nonexistent/config", 1);
    unsetenv("AWS_PROFILE");
    unsetenv("AWS_ENDPOINT_URL_IOT");
    unsetenv("AWS_MAX_ATTEMPTS");
}

static int setup_fake(void **state)
{
    char script[512];
    char *argv[] = {"python3", script, "--port-file", fake.port_file, "--region", FAKE_REGION,
                    "--account", FAKE_ACCOUNT, "--access-key", FAKE_KEY_ID, "--secret-key",
                    FAKE_SECRET, "--session-token", FAKE_TOKEN, NULL};

    (void)state;
    snprintf(script, sizeof(script), "%s/tests/fakeaws/fake_iot.py", TRUSTX_SOURCE_DIR);
    snprintf(fake.port_file, sizeof(fake.port_file), "/tmp/trustx-fake-iot-%d.port",
             (int)getpid());
    if (start_peer(&fake, argv) != 0) {
        fprintf(stderr, "could not start %s (python3 with botocore and cryptography needed)\n",
                script);
        return -1;
    }
    set_client_env(fake.url);
    return 0;
}

static int teardown_fake(void **state)
{
    (void)state;
    stop_peer(&fake);
    return 0;
}

static int setup_moto(void **state)
{
    char script[512];
    char *argv[] = {"python3", script, "--port-file", moto.port_file, NULL};

    (void)state;
    snprintf(script, sizeof(script), "%s/tests/fakeaws/run_moto.py", TRUSTX_SOURCE_DIR);
    snprintf(moto.port_file, sizeof(moto.port_file), "/tmp/trustx-moto-%d.port", (int)getpid());
    if (start_peer(&moto, argv) != 0) {
        fprintf(stderr, "could not start %s (python3 with moto needed)\n", script);
        return -1;
    }
    set_client_env(moto.url);
    return 0;
}

static int teardown_moto(void **state)
{
    (void)state;
    stop_peer(&moto);
    return 0;
}

/* ---- control endpoint of the fake ---- */

static size_t collect(char *data, size_t size, size_t nmemb, void *user)
{
    char **buf = user;
    size_t old = *buf ? strlen(*buf) : 0;
    char *grown = realloc(*buf, old + size * nmemb + 1);

    if (grown == NULL)
        return 0;
    memcpy(grown + old, data, size * nmemb);
    grown[old + size * nmemb] = '\0';
    *buf = grown;
    return size * nmemb;
}

static cJSON *control(const char *method, const char *action, const char *body)
{
    CURL *h = curl_easy_init();
    char url[128];
    char *out = NULL;
    cJSON *json;
    long status = 0;

    snprintf(url, sizeof(url), "%s/_fake/%s", fake.url, action);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_NOPROXY, "*");
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &out);
    if (strcmp(method, "POST") == 0)
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body ? body : "{}");
    assert_int_equal(curl_easy_perform(h), CURLE_OK);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(h);
    assert_int_equal(status, 200);
    json = cJSON_Parse(out);
    free(out);
    assert_non_null(json);
    return json;
}

static void fake_reset(void)
{
    cJSON_Delete(control("POST", "reset", NULL));
}

static void fake_faults(const char *spec)
{
    cJSON_Delete(control("POST", "faults", spec));
}

static int count_of(const cJSON *state, const char *name)
{
    const cJSON *counts = cJSON_GetObjectItemCaseSensitive(state, "counts");

    return cJSON_GetObjectItemCaseSensitive(counts, name)->valueint;
}

static int requests_of(const cJSON *state, const char *op)
{
    const cJSON *counts = cJSON_GetObjectItemCaseSensitive(state, "counts");
    const cJSON *n = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(counts, "requests"), op);

    return cJSON_IsNumber(n) ? n->valueint : 0;
}

static int count_status(const cJSON *state, const char *status)
{
    const cJSON *cert;
    int n = 0;

    cJSON_ArrayForEach(cert, cJSON_GetObjectItemCaseSensitive(state, "certificates")) {
        n += strcmp(cJSON_GetObjectItemCaseSensitive(cert, "status")->valuestring, status) == 0;
    }
    return n;
}

static const char *cert_status(const cJSON *state, const char *id)
{
    const cJSON *cert = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(state, "certificates"), id);

    return cert ? cJSON_GetObjectItemCaseSensitive(cert, "status")->valuestring : "(absent)";
}

/* ---- chip stand-in: a software key and the install callback ---- */

typedef struct chip {
    EVP_PKEY *key;
    uint8_t point[TRUSTX_PUBKEY_MAX];
    size_t point_len;
    char *csr_pem;
    int installs;
    trustx_rc install_rc;
    char *installed_pem;
} chip;

static char *csr_for(EVP_PKEY *key)
{
    X509_REQ *req = X509_REQ_new();
    X509_NAME *name = X509_NAME_new();
    BIO *bio = BIO_new(BIO_s_mem());
    char *data;
    long n;
    char *pem;

    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)THING, -1, -1,
                               0);
    X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, (const unsigned char *)"trustx test",
                               -1, -1, 0);
    X509_REQ_set_subject_name(req, name);
    X509_REQ_set_pubkey(req, key);
    assert_true(X509_REQ_sign(req, key, EVP_sha256()) > 0);
    PEM_write_bio_X509_REQ(bio, req);
    n = BIO_get_mem_data(bio, &data);
    pem = calloc(1, (size_t)n + 1);
    memcpy(pem, data, (size_t)n);
    BIO_free(bio);
    X509_NAME_free(name);
    X509_REQ_free(req);
    return pem;
}

static void chip_init(chip *c)
{
    memset(c, 0, sizeof(*c));
    c->key = EVP_EC_gen("P-256");
    assert_non_null(c->key);
    assert_int_equal(EVP_PKEY_get_octet_string_param(c->key, OSSL_PKEY_PARAM_PUB_KEY, c->point,
                                                     sizeof(c->point), &c->point_len), 1);
    c->csr_pem = csr_for(c->key);
}

static void chip_free(chip *c)
{
    EVP_PKEY_free(c->key);
    free(c->csr_pem);
    free(c->installed_pem);
}

static trustx_rc install_cb(void *user, const char *cert_pem)
{
    chip *c = user;

    c->installs++;
    if (c->install_rc != TRUSTX_OK)
        return trustx_fail(TRUSTX_LAYER_PROVISION, c->install_rc,
                           "read-back of the certificate slot differs");
    free(c->installed_pem);
    c->installed_pem = strdup(cert_pem);
    return TRUSTX_OK;
}

static void make_request(const chip *c, trustx_aws_register_req *req)
{
    memset(req, 0, sizeof(*req));
    req->thing_name = THING;
    req->csr_pem = c->csr_pem;
    req->curve = TRUSTX_CURVE_P256;
    req->public_key = c->point;
    req->public_key_len = c->point_len;
}

static trustx_aws_client *new_client(void)
{
    trustx_aws_client *client = NULL;

    if (trustx_aws_client_new(NULL, &client) != TRUSTX_OK)
        fail_msg("client: %s", trustx_error_last()->message);
    return client;
}

/* Checks with plain OpenSSL (not our helpers) that pem carries key. */
static int pem_has_key(const char *pem, EVP_PKEY *key)
{
    BIO *bio = BIO_new_mem_buf(pem, -1);
    X509 *cert = PEM_read_bio_X509(bio, NULL, NULL, NULL);
    int same = cert != NULL && EVP_PKEY_eq(X509_get0_pubkey(cert), key) == 1;

    X509_free(cert);
    BIO_free(bio);
    return same;
}

/* Checks the fake CA's signature and AWS's fixed notAfter on an issued certificate. */
static void assert_issued_like_aws(const char *pem, const cJSON *state)
{
    const char *ca_pem = cJSON_GetObjectItemCaseSensitive(state, "ca_pem")->valuestring;
    BIO *b1 = BIO_new_mem_buf(pem, -1);
    BIO *b2 = BIO_new_mem_buf(ca_pem, -1);
    X509 *cert = PEM_read_bio_X509(b1, NULL, NULL, NULL);
    X509 *ca = PEM_read_bio_X509(b2, NULL, NULL, NULL);
    ASN1_TIME *expected = ASN1_TIME_new();
    char cn[128] = "";

    assert_non_null(cert);
    assert_int_equal(X509_verify(cert, X509_get0_pubkey(ca)), 1);
    assert_int_equal(ASN1_TIME_set_string_X509(expected, "20491231235959Z"), 1);
    assert_int_equal(ASN1_TIME_compare(X509_get0_notAfter(cert), expected), 0);
    X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, cn, sizeof(cn));
    assert_string_equal(cn, THING);
    ASN1_TIME_free(expected);
    X509_free(cert);
    X509_free(ca);
    BIO_free(b1);
    BIO_free(b2);
}

/* ---- flow against the fake ---- */

static void test_register_then_rerun(void **state)
{
    trustx_aws_client *client = new_client();
    trustx_aws_register_req req;
    trustx_aws_register_result res;
    chip c;
    cJSON *st;
    char *things;
    int mutations;

    (void)state;
    fake_reset();
    chip_init(&c);
    make_request(&c, &req);

    if (trustx_aws_register(client, &req, install_cb, &c, &res) != TRUSTX_OK)
        fail_msg("register: %s", trustx_error_last()->message);
    assert_int_equal(res.thing, TRUSTX_AWS_STEP_DONE);
    assert_int_equal(res.certificate, TRUSTX_AWS_STEP_DONE);
    assert_int_equal(res.thing_attach, TRUSTX_AWS_STEP_DONE);
    assert_int_equal(res.install, TRUSTX_AWS_STEP_DONE);
    assert_int_equal(res.activation, TRUSTX_AWS_STEP_DONE);
    assert_int_equal(res.policy, TRUSTX_AWS_STEP_DONE);
    assert_int_equal(res.policy_attach, TRUSTX_AWS_STEP_DONE);
    assert_int_equal(c.installs, 1);
    assert_string_equal(c.installed_pem, res.certificate_pem);
    assert_true(pem_has_key(res.certificate_pem, c.key));
    assert_string_equal(res.account, FAKE_ACCOUNT);
    assert_string_equal(res.policy_name, TRUSTX_AWS_DEFAULT_POLICY);
    assert_non_null(strstr(res.endpoint, "-ats.iot." FAKE_REGION ".amazonaws.com"));

    st = control("GET", "state", NULL);
    assert_string_equal(cert_status(st, res.certificate_id), "ACTIVE");
    assert_int_equal(count_of(st, "certificates_issued"), 1);
    assert_int_equal(count_of(st, "rejected_signatures"), 0);
    assert_issued_like_aws(res.certificate_pem, st);
    things = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(st, "things"));
    assert_non_null(strstr(things, res.certificate_arn));
    cJSON_free(things);
    mutations = count_of(st, "mutations");
    cJSON_Delete(st);
    trustx_aws_register_result_clear(&res);

    /* Second run: everything is in place, so nothing changes and no certificate is issued. */
    assert_int_equal(trustx_aws_register(client, &req, install_cb, &c, &res), TRUSTX_OK);
    assert_int_equal(res.thing, TRUSTX_AWS_STEP_REUSED);
    assert_int_equal(res.certificate, TRUSTX_AWS_STEP_REUSED);
    assert_int_equal(res.thing_attach, TRUSTX_AWS_STEP_REUSED);
    assert_int_equal(res.activation, TRUSTX_AWS_STEP_REUSED);
    assert_int_equal(res.policy, TRUSTX_AWS_STEP_REUSED);
    assert_int_equal(res.policy_attach, TRUSTX_AWS_STEP_REUSED);
    st = control("GET", "state", NULL);
    assert_int_equal(count_of(st, "certificates_issued"), 1);
    assert_int_equal(count_of(st, "mutations"), mutations);
    cJSON_Delete(st);

    trustx_aws_register_result_clear(&res);
    trustx_aws_client_free(client);
    chip_free(&c);
}

static void test_register_survives_throttling(void **state)
{
    trustx_aws_client *client = new_client();
    trustx_aws_register_req req;
    trustx_aws_register_result res;
    chip c;
    cJSON *st;

    (void)state;
    fake_reset();
    fake_faults("{\"throttle\": {\"*\": 2}}");
    chip_init(&c);
    make_request(&c, &req);

    if (trustx_aws_register(client, &req, install_cb, &c, &res) != TRUSTX_OK)
        fail_msg("register: %s", trustx_error_last()->message);
    st = control("GET", "state", NULL);
    assert_int_equal(requests_of(st, "CreateCertificateFromCsr"), 3);
    assert_int_equal(requests_of(st, "UpdateCertificate"), 3);
    assert_int_equal(requests_of(st, "AttachPolicy"), 3);
    assert_int_equal(count_of(st, "certificates_issued"), 1);
    assert_int_equal(count_status(st, "ACTIVE"), 1);
    cJSON_Delete(st);
    trustx_aws_register_result_clear(&res);
    trustx_aws_client_free(client);
    chip_free(&c);
}

static void test_server_errors_are_retried(void **state)
{
    trustx_aws_client *client = new_client();
    char address[256];
    cJSON *st;

    (void)state;
    fake_reset();
    fake_faults("{\"server_error\": {\"DescribeEndpoint\": 3}}");
    assert_int_equal(trustx_aws_describe_endpoint(client, NULL, address, sizeof(address)),
                     TRUSTX_OK);
    st = control("GET", "state", NULL);
    assert_int_equal(requests_of(st, "DescribeEndpoint"), 4);
    cJSON_Delete(st);

    /* More failures than attempts: the error names the operation and the code. */
    fake_faults("{\"server_error\": {\"DescribeEndpoint\": 9}}");
    assert_int_equal(trustx_aws_describe_endpoint(client, NULL, address, sizeof(address)),
                     TRUSTX_E_CLOUD);
    assert_non_null(strstr(trustx_error_last()->message, "DescribeEndpoint"));
    assert_non_null(strstr(trustx_error_last()->message, "InternalFailureException"));
    assert_int_equal(trustx_aws_last_error(client)->attempts, TRUSTX_AWS_MAX_ATTEMPTS_DEFAULT);
    trustx_aws_client_free(client);
}

static void test_client_errors_not_retried(void **state)
{
    trustx_aws_client *client = new_client();
    trustx_aws_register_req req;
    trustx_aws_register_result res;
    chip c;
    cJSON *st;

    (void)state;
    fake_reset();
    fake_faults("{\"conflict\": {\"CreateThing\": 1}}");
    chip_init(&c);
    make_request(&c, &req);
    assert_int_equal(trustx_aws_register(client, &req, install_cb, &c, &res), TRUSTX_E_CLOUD);
    assert_non_null(strstr(trustx_error_last()->message, "CreateThing"));
    assert_non_null(strstr(trustx_error_last()->message, "ResourceAlreadyExistsException"));
    assert_non_null(strstr(trustx_error_last()->message, "injected conflict"));
    st = control("GET", "state", NULL);
    assert_int_equal(requests_of(st, "CreateThing"), 1);
    assert_int_equal(count_of(st, "certificates_issued"), 0);
    cJSON_Delete(st);
    assert_int_equal(c.installs, 0);
    trustx_aws_register_result_clear(&res);
    trustx_aws_client_free(client);
    chip_free(&c);
}

static void test_wrong_key_revoked_not_installed(void **state)
{
    trustx_aws_client *client = new_client();
    trustx_aws_register_req req;
    trustx_aws_register_result res;
    chip c;
    cJSON *st;

    (void)state;
    fake_reset();
    fake_faults("{\"wrong_key\": 1}");
    chip_init(&c);
    make_request(&c, &req);
    assert_int_equal(trustx_aws_register(client, &req, install_cb, &c, &res), TRUSTX_E_VERIFY);
    assert_int_equal(c.installs, 0);
    assert_int_equal(strlen(res.certificate_id), TRUSTX_AWS_CERT_ID_LEN);
    st = control("GET", "state", NULL);
    assert_string_equal(cert_status(st, res.certificate_id), "REVOKED");
    assert_int_equal(count_status(st, "ACTIVE"), 0);
    cJSON_Delete(st);
    trustx_aws_register_result_clear(&res);
    trustx_aws_client_free(client);
    chip_free(&c);
}

static void test_install_failure_leaves_inactive(void **state)
{
    trustx_aws_client *client = new_client();
    trustx_aws_register_req req;
    trustx_aws_register_result res;
    char first_id[TRUSTX_AWS_CERT_ID_LEN + 1];
    chip c;
    cJSON *st;

    (void)state;
    fake_reset();
    chip_init(&c);
    c.install_rc = TRUSTX_E_VERIFY;
    make_request(&c, &req);
    assert_int_equal(trustx_aws_register(client, &req, install_cb, &c, &res), TRUSTX_E_VERIFY);
    assert_non_null(strstr(trustx_error_last()->message, "stays INACTIVE"));
    assert_int_equal(c.installs, 1);
    snprintf(first_id, sizeof(first_id), "%s", res.certificate_id);
    st = control("GET", "state", NULL);
    assert_int_equal(count_status(st, "ACTIVE"), 0);
    assert_string_equal(cert_status(st, first_id), "INACTIVE");
    cJSON_Delete(st);
    trustx_aws_register_result_clear(&res);

    /* The next run reuses that certificate instead of issuing another. */
    c.install_rc = TRUSTX_OK;
    assert_int_equal(trustx_aws_register(client, &req, install_cb, &c, &res), TRUSTX_OK);
    assert_string_equal(res.certificate_id, first_id);
    assert_int_equal(res.certificate, TRUSTX_AWS_STEP_REUSED);
    assert_int_equal(res.activation, TRUSTX_AWS_STEP_DONE);
    st = control("GET", "state", NULL);
    assert_int_equal(count_of(st, "certificates_issued"), 1);
    assert_string_equal(cert_status(st, first_id), "ACTIVE");
    cJSON_Delete(st);
    trustx_aws_register_result_clear(&res);
    trustx_aws_client_free(client);
    chip_free(&c);
}

static void test_ambiguous_create_recovered(void **state)
{
    trustx_aws_client *client = new_client();
    trustx_aws_register_req req;
    trustx_aws_register_result res;
    chip c;
    cJSON *st;

    (void)state;
    fake_reset();
    fake_faults("{\"fail_after\": {\"CreateCertificateFromCsr\": 1}}");
    chip_init(&c);
    make_request(&c, &req);
    if (trustx_aws_register(client, &req, install_cb, &c, &res) != TRUSTX_OK)
        fail_msg("register: %s", trustx_error_last()->message);
    st = control("GET", "state", NULL);
    assert_int_equal(requests_of(st, "CreateCertificateFromCsr"), 1);
    assert_int_equal(count_of(st, "certificates_issued"), 1);
    assert_string_equal(cert_status(st, res.certificate_id), "ACTIVE");
    cJSON_Delete(st);
    trustx_aws_register_result_clear(&res);
    trustx_aws_client_free(client);
    chip_free(&c);
}

static void test_csr_of_other_key_rejected(void **state)
{
    trustx_aws_client *client = new_client();
    trustx_aws_register_req req;
    trustx_aws_register_result res;
    chip c, other;
    cJSON *st;

    (void)state;
    fake_reset();
    chip_init(&c);
    chip_init(&other);
    make_request(&c, &req);
    req.csr_pem = other.csr_pem;
    assert_int_equal(trustx_aws_register(client, &req, install_cb, &c, &res), TRUSTX_E_VERIFY);
    st = control("GET", "state", NULL);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(
                         cJSON_GetObjectItemCaseSensitive(st, "counts"), "requests")), 0);
    cJSON_Delete(st);
    trustx_aws_register_result_clear(&res);
    trustx_aws_client_free(client);
    chip_free(&c);
    chip_free(&other);
}

static void test_broad_policy_refused(void **state)
{
    trustx_aws_client *client = new_client();
    trustx_aws_register_req req;
    trustx_aws_register_result res;
    chip c;
    cJSON *st;

    (void)state;
    fake_reset();
    assert_int_equal(trustx_aws_create_policy(client, "wide-open",
                                              "{\"Version\":\"2012-10-17\",\"Statement\":[{"
                                              "\"Effect\":\"Allow\",\"Action\":\"iot:*\","
                                              "\"Resource\":\"*\"}]}"), TRUSTX_OK);
    chip_init(&c);
    make_request(&c, &req);
    req.policy_name = "wide-open";
    assert_int_equal(trustx_aws_register(client, &req, install_cb, &c, &res), TRUSTX_E_CLOUD);
    assert_non_null(strstr(trustx_error_last()->message, "wide-open"));
    /* The policy is refused before any certificate exists or the chip is written. */
    assert_int_equal(c.installs, 0);
    st = control("GET", "state", NULL);
    assert_int_equal(requests_of(st, "AttachPolicy"), 0);
    cJSON_Delete(st);
    trustx_aws_register_result_clear(&res);
    trustx_aws_client_free(client);
    chip_free(&c);
}

static void test_bad_secret_rejected_once(void **state)
{
    trustx_aws_client *client;
    char address[256];

    (void)state;
    fake_reset();
    setenv("AWS_SECRET_ACCESS_KEY", "not-the-right-secret-key-at-all-000000000", 1);
    client = new_client();
    setenv("AWS_SECRET_ACCESS_KEY", FAKE_SECRET, 1);
    assert_int_equal(trustx_aws_describe_endpoint(client, NULL, address, sizeof(address)),
                     TRUSTX_E_CLOUD);
    assert_non_null(strstr(trustx_error_last()->message, "InvalidSignatureException"));
    assert_int_equal(trustx_aws_last_error(client)->attempts, 1);
    assert_int_equal(trustx_aws_last_error(client)->http_status, 403);
    trustx_aws_client_free(client);
}

/* Returns a 127.0.0.1 port that nothing listens on (bound, then closed). */
static int closed_port(void)
{
    struct sockaddr_in addr;
    socklen_t len = sizeof(addr);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    int port;

    memset(&addr, 0, sizeof(addr));
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&addr, &len), 0);
    port = ntohs(addr.sin_port);
    close(fd);
    return port;
}

static void test_unreachable_endpoint(void **state)
{
    trustx_aws_options opt = {.max_attempts = 2, .retry_base_ms = 1};
    trustx_aws_client *client = NULL;
    char url[64];
    char address[256];

    (void)state;
    snprintf(url, sizeof(url), "http://127.0.0.1:%d", closed_port());
    opt.endpoint_url = url;
    assert_int_equal(trustx_aws_client_new(&opt, &client), TRUSTX_OK);
    assert_int_equal(trustx_aws_describe_endpoint(client, NULL, address, sizeof(address)),
                     TRUSTX_E_CLOUD);
    assert_non_null(strstr(trustx_error_last()->message, url));
    assert_non_null(strstr(trustx_error_last()->message, "2 attempts"));
    trustx_aws_client_free(client);
}

/* ---- the trace never shows a secret ---- */

typedef struct trace_log {
    char *text;
    size_t len;
} trace_log;

static void capture(void *user, trustx_log_level level, const char *comp, const char *message)
{
    trace_log *log = user;
    size_t n = strlen(message);
    char *grown = realloc(log->text, log->len + n + 2);

    (void)level;
    (void)comp;
    if (grown == NULL)
        return;
    memcpy(grown + log->len, message, n);
    grown[log->len + n] = '\n';
    grown[log->len + n + 1] = '\0';
    log->text = grown;
    log->len += n + 1;
}

static void test_trace_redacts_secrets(void **state)
{
    trace_log log = {NULL, 0};
    trustx_aws_client *client = new_client();
    char address[256];

    (void)state;
    fake_reset();
    trustx_log_set(capture, &log, TRUSTX_LOG_TRACE);
    assert_int_equal(trustx_aws_describe_endpoint(client, NULL, address, sizeof(address)),
                     TRUSTX_OK);
    trustx_log_set(NULL, NULL, TRUSTX_LOG_WARN);
    assert_non_null(log.text);
    assert_non_null(strstr(log.text, "> GET "));
    assert_non_null(strstr(log.text, "Signature=<redacted>"));
    assert_non_null(strstr(log.text, "X-Amz-Security-Token: <redacted>"));
    assert_null(strstr(log.text, FAKE_SECRET));
    assert_null(strstr(log.text, FAKE_TOKEN));
    free(log.text);
    trustx_aws_client_free(client);
}

/* ---- moto as an independent peer ---- */

static void test_moto_operations(void **state)
{
    trustx_aws_client *client = new_client();
    char arn[TRUSTX_AWS_ARN_MAX];
    char address[256];
    char *doc = NULL;
    int found = 1;

    (void)state;
    assert_int_equal(trustx_aws_describe_thing(client, "moto-thing:1", &found, arn, sizeof(arn)),
                     TRUSTX_OK);
    assert_int_equal(found, 0);
    assert_int_equal(trustx_aws_create_thing(client, "moto-thing:1", arn, sizeof(arn)),
                     TRUSTX_OK);
    assert_non_null(strstr(arn, ":thing/moto-thing:1"));
    assert_int_equal(trustx_aws_describe_thing(client, "moto-thing:1", &found, arn, sizeof(arn)),
                     TRUSTX_OK);
    assert_int_equal(found, 1);
    assert_int_equal(trustx_aws_get_policy(client, "moto-policy", &found, &doc), TRUSTX_OK);
    assert_int_equal(found, 0);
    assert_int_equal(trustx_aws_describe_endpoint(client, NULL, address, sizeof(address)),
                     TRUSTX_OK);
    assert_true(strlen(address) > 0);
    trustx_aws_client_free(client);
}

static void test_moto_other_key_refused(void **state)
{
    trustx_aws_client *client = new_client();
    trustx_aws_register_req req;
    trustx_aws_register_result res;
    trustx_aws_certificate cert;
    int found = 0;
    chip c;

    (void)state;
    chip_init(&c);
    make_request(&c, &req);
    req.thing_name = "moto-device-2";

    /* moto issues certificates for a key of its own, so the flow must refuse to install it. */
    assert_int_equal(trustx_aws_register(client, &req, install_cb, &c, &res), TRUSTX_E_VERIFY);
    assert_int_equal(c.installs, 0);
    assert_int_equal(res.thing, TRUSTX_AWS_STEP_DONE);
    assert_int_equal(strlen(res.certificate_id), TRUSTX_AWS_CERT_ID_LEN);
    assert_int_equal(trustx_aws_describe_certificate(client, res.certificate_id, &found, &cert),
                     TRUSTX_OK);
    assert_int_equal(found, 1);
    assert_string_equal(cert.status, "REVOKED");
    assert_false(pem_has_key(cert.pem, c.key));
    trustx_aws_certificate_clear(&cert);
    trustx_aws_register_result_clear(&res);
    trustx_aws_client_free(client);
    chip_free(&c);
}

int main(void)
{
    const struct CMUnitTest fake_tests[] = {
        cmocka_unit_test(test_register_then_rerun),
        cmocka_unit_test(test_register_survives_throttling),
        cmocka_unit_test(test_server_errors_are_retried),
        cmocka_unit_test(test_client_errors_not_retried),
        cmocka_unit_test(test_wrong_key_revoked_not_installed),
        cmocka_unit_test(test_install_failure_leaves_inactive),
        cmocka_unit_test(test_ambiguous_create_recovered),
        cmocka_unit_test(test_csr_of_other_key_rejected),
        cmocka_unit_test(test_broad_policy_refused),
        cmocka_unit_test(test_bad_secret_rejected_once),
        cmocka_unit_test(test_unreachable_endpoint),
        cmocka_unit_test(test_trace_redacts_secrets),
    };
    const struct CMUnitTest moto_tests[] = {
        cmocka_unit_test(test_moto_operations),
        cmocka_unit_test(test_moto_other_key_refused),
    };
    int failed;

    signal(SIGPIPE, SIG_IGN);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    failed = cmocka_run_group_tests_name("fake_iot", fake_tests, setup_fake, teardown_fake);
    failed += cmocka_run_group_tests_name("moto", moto_tests, setup_moto, teardown_moto);
    curl_global_cleanup();
    return failed;
}

/* SPDX-License-Identifier: MIT */
/*
 * SigV4 signer tests: every case of the aws-c-auth v4 test suite (header
 * form), the AWS IoT vectors (double-encoded paths, principal header,
 * session token), and a cross-check of fresh requests against botocore.
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <cmocka.h>
#include <cjson/cJSON.h>
#include <openssl/sha.h>

#include "aws/aws_internal.h"

#define IOT_SECRET "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
#define VECTOR_TIME 1440938160   /* 2015-08-30T12:36:00Z */
#define SUITE_CASES 38           /* directories in the aws-c-auth v4 suite copy */
#define FILE_MAX (64 * 1024)

static const char *suite_dir(char *buf, size_t cap)
{
    const char *shared = getenv("TRUSTX_SHARED_DIR");

    snprintf(buf, cap, "%s/vectors/aws-sigv4-test-suite", shared ? shared : TRUSTX_SHARED_DIR);
    return buf;
}

/* Reads a whole file; returns a malloc'd NUL-terminated buffer or NULL. */
static char *read_text(const char *dir, const char *name)
{
    char path[1024];
    FILE *f;
    char *buf;
    size_t n;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    buf = malloc(FILE_MAX + 1);
    n = buf ? fread(buf, 1, FILE_MAX, f) : 0;
    fclose(f);
    if (buf != NULL)
        buf[n] = '\0';
    return buf;
}

static void chomp(char *s)
{
    size_t n = strlen(s);

    while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r'))
        s[--n] = '\0';
}

/* ---- request.txt parsing ---- */

typedef struct parsed_request {
    char method[16];
    char path[1024];
    char query[1024];
    char names[TRUSTX_SIGV4_HEADERS_MAX][64];
    char values[TRUSTX_SIGV4_HEADERS_MAX][1024];
    size_t count;
    const char *body;
    size_t body_len;
} parsed_request;

/* Splits "METHOD PATH HTTP/1.1"; the path may contain spaces. */
static int parse_request_line(const char *line, size_t len, parsed_request *r)
{
    const char *sp = memchr(line, ' ', len);
    const char *proto = NULL;
    char target[1024];
    char *q;

    for (const char *p = line; p + 6 <= line + len; p++) {
        if (memcmp(p, " HTTP/", 6) == 0)
            proto = p;
    }
    if (sp == NULL || proto == NULL || proto <= sp || (size_t)(sp - line) >= sizeof(r->method))
        return -1;
    memcpy(r->method, line, (size_t)(sp - line));
    r->method[sp - line] = '\0';
    snprintf(target, sizeof(target), "%.*s", (int)(proto - sp - 1), sp + 1);
    q = strchr(target, '?');
    if (q != NULL) {
        *q = '\0';
        snprintf(r->query, sizeof(r->query), "%s", q + 1);
    }
    snprintf(r->path, sizeof(r->path), "%s", target);
    return 0;
}

static int parse_request(const char *text, parsed_request *r)
{
    const char *p = text;
    const char *nl = strchr(p, '\n');

    memset(r, 0, sizeof(*r));
    if (nl == NULL || parse_request_line(p, (size_t)(nl - p), r) != 0)
        return -1;
    p = nl + 1;

    while (*p != '\0') {
        size_t len;
        const char *colon;

        nl = strchr(p, '\n');
        len = nl ? (size_t)(nl - p) : strlen(p);
        if (len == 0) {
            r->body = nl + 1;
            r->body_len = strlen(nl + 1);
            return 0;
        }
        if ((p[0] == ' ' || p[0] == '\t') && r->count > 0) {
            /* Folded continuation line: joined to the previous value with one space. */
            char *v = r->values[r->count - 1];
            const char *start = p;

            while (start < p + len && (*start == ' ' || *start == '\t'))
                start++;
            snprintf(v + strlen(v), sizeof(r->values[0]) - strlen(v), " %.*s",
                     (int)(p + len - start), start);
        } else {
            colon = memchr(p, ':', len);
            if (colon == NULL || r->count >= TRUSTX_SIGV4_HEADERS_MAX)
                return -1;
            snprintf(r->names[r->count], sizeof(r->names[0]), "%.*s", (int)(colon - p), p);
            snprintf(r->values[r->count], sizeof(r->values[0]), "%.*s",
                     (int)(p + len - colon - 1), colon + 1);
            r->count++;
        }
        if (nl == NULL)
            break;
        p = nl + 1;
    }
    r->body = "";
    r->body_len = 0;
    return 0;
}

static time_t parse_timestamp(const char *text)
{
    struct tm tm;

    memset(&tm, 0, sizeof(tm));
    if (text == NULL || sscanf(text, "%d-%d-%dT%d:%d:%dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                               &tm.tm_hour, &tm.tm_min, &tm.tm_sec) != 6)
        return (time_t)-1;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    return timegm(&tm);
}

static const char *json_string(const cJSON *obj, const char *name)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, name);

    return cJSON_IsString(item) ? item->valuestring : NULL;
}

/* Runs one suite case; returns 0 when canonical request, string to sign and signature match. */
static int run_suite_case(const char *dir)
{
    char *context_text = read_text(dir, "context.json");
    char *request_text = read_text(dir, "request.txt");
    char *creq = read_text(dir, "header-canonical-request.txt");
    char *sts = read_text(dir, "header-string-to-sign.txt");
    char *sig = read_text(dir, "header-signature.txt");
    cJSON *context = context_text ? cJSON_Parse(context_text) : NULL;
    const cJSON *cred_json = cJSON_GetObjectItemCaseSensitive(context, "credentials");
    parsed_request r;
    trustx_sigv4_header headers[TRUSTX_SIGV4_HEADERS_MAX + 1];
    trustx_sigv4_request req;
    trustx_sigv4_credentials cred;
    trustx_sigv4_result out;
    char body_hash[65];
    uint8_t digest[SHA256_DIGEST_LENGTH];
    int failed = 1;

    if (context == NULL || request_text == NULL || creq == NULL || sts == NULL || sig == NULL ||
        parse_request(request_text, &r) != 0) {
        print_error("case %s: cannot read or parse its files\n", dir);
        goto done;
    }
    chomp(sig);

    memset(&req, 0, sizeof(req));
    for (size_t i = 0; i < r.count; i++)
        headers[i] = (trustx_sigv4_header){r.names[i], r.values[i]};
    req.header_count = r.count;
    if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(context, "sign_body"))) {
        /* The suite's sign_body flag means the caller adds x-amz-content-sha256. */
        SHA256((const uint8_t *)r.body, r.body_len, digest);
        for (size_t i = 0; i < sizeof(digest); i++)
            snprintf(body_hash + 2 * i, 3, "%02x", digest[i]);
        headers[req.header_count++] = (trustx_sigv4_header){"X-Amz-Content-Sha256", body_hash};
    }
    req.method = r.method;
    req.path = r.path;
    req.query = r.query;
    req.headers = headers;
    req.body = (const uint8_t *)r.body;
    req.body_len = r.body_len;
    req.normalize_path = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(context, "normalize"));

    cred.access_key_id = json_string(cred_json, "access_key_id");
    cred.secret_access_key = json_string(cred_json, "secret_access_key");
    cred.session_token = json_string(cred_json, "token");
    if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(context, "omit_session_token")))
        cred.session_token = NULL;   /* the token is added after signing, so it is not signed */

    if (trustx_sigv4_sign(&req, &cred, json_string(context, "region"),
                          json_string(context, "service"),
                          parse_timestamp(json_string(context, "timestamp")), &out) != TRUSTX_OK) {
        print_error("case %s: sign failed: %s\n", dir, trustx_error_last()->message);
        goto done;
    }
    if (strcmp(out.canonical_request, creq) != 0)
        print_error("case %s: canonical request differs\nexpected:\n%s\ngot:\n%s\n", dir, creq,
                    out.canonical_request);
    else if (strcmp(out.string_to_sign, sts) != 0)
        print_error("case %s: string to sign differs\n", dir);
    else if (strcmp(out.signature, sig) != 0)
        print_error("case %s: signature %s, expected %s\n", dir, out.signature, sig);
    else
        failed = 0;
    trustx_sigv4_result_clear(&out);

done:
    cJSON_Delete(context);
    free(context_text);
    free(request_text);
    free(creq);
    free(sts);
    free(sig);
    return failed;
}

static void test_suite_all_cases(void **state)
{
    char root[1024];
    DIR *d;
    struct dirent *e;
    int cases = 0;
    int failures = 0;

    (void)state;
    d = opendir(suite_dir(root, sizeof(root)));
    if (d == NULL)
        fail_msg("SigV4 suite not found at %s; set TRUSTX_SHARED_DIR", root);
    while ((e = readdir(d)) != NULL) {
        char dir[1400];
        struct stat st;

        if (e->d_name[0] == '.')
            continue;
        snprintf(dir, sizeof(dir), "%s/%s", root, e->d_name);
        if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
            continue;
        cases++;
        failures += run_suite_case(dir);
    }
    closedir(d);

    assert_int_equal(cases, SUITE_CASES);
    assert_int_equal(failures, 0);
}

/* ---- IoT vectors: botocore and aws-c-auth agreed on these signatures ---- */

typedef struct iot_vector {
    const char *name;
    const char *method;
    const char *path;
    const char *query;
    const char *token;
    const char *extra_name;
    const char *extra_value;
    const char *body;
    const char *signed_headers;
    const char *signature;
} iot_vector;

#define CERT_ARN "arn:aws:iot:us-east-1:123456789012:cert/" \
    "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static const iot_vector iot_vectors[] = {
    {"describe-thing", "GET", "/things/my-thing-01", NULL, NULL, NULL, NULL, NULL,
     "host;x-amz-date", "d6aa0d4591fe6d67500f3bdb72921983131f67c86f356806a5e60b7b6ca22630"},
    {"describe-thing-colon-token", "GET", "/things/line1%3Adev-7", NULL, "FQoGZXIvYXdzEXAMPLE",
     NULL, NULL, NULL, "host;x-amz-date;x-amz-security-token",
     "044f43c8bf19a5129518a79632540089542ba9a3e676d682c57260eee47ca229"},
    {"create-thing", "POST", "/things/my-thing-01", NULL, NULL, "content-type",
     "application/json", "{\"attributePayload\":{\"attributes\":{\"model\":\"x1\"}}}",
     "content-type;host;x-amz-date",
     "c02d0d67736ea0a442d0ea5a734bfcd8ff73072de682b49ec4ba02b170780417"},
    {"attach-thing-principal", "PUT", "/things/my-thing-01/principals", NULL, NULL,
     "x-amzn-principal", CERT_ARN, NULL, "host;x-amz-date;x-amzn-principal",
     "cd5c80f136b934bfe5f46f65e27f9cb077b710925b901b138664931bf823e95c"},
    {"describe-endpoint", "GET", "/endpoint", "endpointType=iot%3AData-ATS", NULL, NULL, NULL,
     NULL, "host;x-amz-date", "4cbb1ecc454eef276f80bacdf9d8e85e7b2eec69048bebf22976fecb1754b02e"},
    {"describe-endpoint-unencoded", "GET", "/endpoint", "endpointType=iot:Data-ATS", NULL, NULL,
     NULL, NULL, "host;x-amz-date",
     "4cbb1ecc454eef276f80bacdf9d8e85e7b2eec69048bebf22976fecb1754b02e"},
    {"update-certificate", "PUT",
     "/certificates/0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
     "newStatus=INACTIVE", NULL, NULL, NULL, NULL, "host;x-amz-date",
     "e91f8163d5b0cf909d8da4cacbd13a17730ea02aa66a84b4fbabb9866368f9c6"},
    {"attach-policy", "PUT", "/target-policies/dev-policy", NULL, NULL, "content-type",
     "application/json", "{\"target\":\"" CERT_ARN "\"}", "content-type;host;x-amz-date",
     "66bd2df9bd1a3b9541bfe219da6ad83fe7e296461165d4f8dd44f58be27fe637"},
};

static void sign_iot(const iot_vector *v, trustx_sigv4_result *out)
{
    trustx_sigv4_header headers[2] = {{"Host", "iot.us-east-1.amazonaws.com"}, {NULL, NULL}};
    trustx_sigv4_request req;
    trustx_sigv4_credentials cred = {"AKIDEXAMPLE", IOT_SECRET, v->token};

    memset(&req, 0, sizeof(req));
    req.method = v->method;
    req.path = v->path;
    req.query = v->query;
    req.headers = headers;
    req.header_count = 1;
    if (v->extra_name != NULL) {
        headers[1] = (trustx_sigv4_header){v->extra_name, v->extra_value};
        req.header_count = 2;
    }
    req.body = (const uint8_t *)v->body;
    req.body_len = v->body ? strlen(v->body) : 0;
    assert_int_equal(trustx_sigv4_sign(&req, &cred, "us-east-1", "iot", VECTOR_TIME, out),
                     TRUSTX_OK);
}

static void test_iot_vectors(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(iot_vectors) / sizeof(iot_vectors[0]); i++) {
        const iot_vector *v = &iot_vectors[i];
        trustx_sigv4_result out;
        char expected_auth[512];

        sign_iot(v, &out);
        snprintf(expected_auth, sizeof(expected_auth),
                 "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iot/aws4_request, "
                 "SignedHeaders=%s, Signature=%s", v->signed_headers, v->signature);
        if (strcmp(out.authorization, expected_auth) != 0)
            fail_msg("vector %s: got %s", v->name, out.authorization);
        trustx_sigv4_result_clear(&out);
    }
}

static void test_iot_colon_double_encoded(void **state)
{
    trustx_sigv4_result out;

    (void)state;
    sign_iot(&iot_vectors[1], &out);
    assert_non_null(strstr(out.canonical_request, "\n/things/line1%253Adev-7\n"));
    assert_string_equal(out.string_to_sign + strlen(out.string_to_sign) - 64,
                        "5df77957ffd1be4c003b04210e5811a9c3bc2b360bad130ddd5bb766056aab5a");
    trustx_sigv4_result_clear(&out);
}

static void test_query_encoding_is_normalized(void **state)
{
    trustx_sigv4_result out;

    (void)state;
    sign_iot(&iot_vectors[4], &out);
    assert_non_null(strstr(out.canonical_request, "\nendpointType=iot%3AData-ATS\n"));
    trustx_sigv4_result_clear(&out);
}

static void test_rejects_line_break_in_header(void **state)
{
    trustx_sigv4_header headers[2] = {{"Host", "example.com"}, {"x-amzn-principal", "a\r\nb: c"}};
    trustx_sigv4_request req = {"GET", "/", NULL, headers, 2, NULL, 0, 0};
    trustx_sigv4_credentials cred = {"AKIDEXAMPLE", IOT_SECRET, NULL};
    trustx_sigv4_result out;

    (void)state;
    assert_int_equal(trustx_sigv4_sign(&req, &cred, "us-east-1", "iot", VECTOR_TIME, &out),
                     TRUSTX_E_INVALID_ARG);
}

static void test_rejects_missing_host(void **state)
{
    trustx_sigv4_header headers[1] = {{"Content-Type", "application/json"}};
    trustx_sigv4_request req = {"GET", "/", NULL, headers, 1, NULL, 0, 0};
    trustx_sigv4_credentials cred = {"AKIDEXAMPLE", IOT_SECRET, NULL};
    trustx_sigv4_result out;

    (void)state;
    assert_int_equal(trustx_sigv4_sign(&req, &cred, "us-east-1", "iot", VECTOR_TIME, &out),
                     TRUSTX_E_INVALID_ARG);
    assert_non_null(strstr(trustx_error_last()->message, "Host"));
}

static void test_uri_encode(void **state)
{
    char *a = trustx_aws_uri_encode("a+b=c,d@e.f", 11, 0);
    char *b = trustx_aws_uri_encode("arn:aws/x y~", 12, 1);

    (void)state;
    assert_string_equal(a, "a%2Bb%3Dc%2Cd%40e.f");
    assert_string_equal(b, "arn%3Aaws/x%20y~");
    free(a);
    free(b);
}

/* ---- cross-check against botocore ---- */

/*
 * Signs method/url/headers/body given in the environment with botocore's
 * SigV4Auth at the fixed time and prints the Authorization header.
 */
static const char botocore_script[] =
    "import os, sys, datetime, json\n"
    "import botocore.auth\n"
    "from botocore.auth import SigV4Auth\n"
    "from botocore.awsrequest import AWSRequest\n"
    "from botocore.credentials import Credentials\n"
    "e = os.environ\n"
    "t = datetime.datetime(2015, 8, 30, 12, 36, 0)\n"
    "botocore.auth.get_current_datetime = lambda *a, **k: t\n"
    "body = e['XC_BODY'].encode() if e.get('XC_BODY') else b''\n"
    "r = AWSRequest(method=e['XC_METHOD'], url=e['XC_URL'], data=body)\n"
    "for k, v in json.loads(e['XC_HEADERS']):\n"
    "    r.headers[k] = v\n"
    "SigV4Auth(Credentials('AKIDEXAMPLE', e['XC_SECRET'], e.get('XC_TOKEN') or None),\n"
    "          'iot', 'eu-west-1').add_auth(r)\n"
    "sys.stdout.write(r.headers['Authorization'])\n";

typedef struct cross_case {
    const char *method;
    const char *path;
    const char *query;
    const char *principal;
    const char *body;
    const char *token;
} cross_case;

static const cross_case cross_cases[] = {
    {"GET", "/things/line%3A7_a-b", NULL, NULL, NULL, NULL},
    {"POST", "/policies/a%2Bb%3Dc%2Cd%40e.f", NULL, NULL,
     "{\"policyDocument\":\"{\\\"Version\\\":\\\"2012-10-17\\\"}\"}", "SESSIONTOKEN/with+chars="},
    {"POST", "/attached-policies/arn%3Aaws%3Aiot%3Aeu-west-1%3A123456789012%3Acert%2Fab",
     "pageSize=250&marker=QUJD%2B%2F%3D", NULL, NULL, NULL},
    {"PUT", "/things/t1/principals", NULL, CERT_ARN, NULL, "tok"},
    {"GET", "/certificates", "pageSize=50&isAscendingOrder=false", NULL, NULL, NULL},
    {"POST", "/certificates", "setAsActive=false", NULL,
     "{\"certificateSigningRequest\":\"-----BEGIN CERTIFICATE REQUEST-----\\nMIIB\\n\"}", NULL},
};

static void run_botocore(const cross_case *cc, const char *headers_json, char *out, size_t cap)
{
    char url[1024];
    FILE *p;
    size_t n;

    snprintf(url, sizeof(url), "https://iot.eu-west-1.amazonaws.com%s%s%s", cc->path,
             cc->query ? "?" : "", cc->query ? cc->query : "");
    setenv("XC_METHOD", cc->method, 1);
    setenv("XC_URL", url, 1);
    setenv("XC_HEADERS", headers_json, 1);
    setenv("XC_BODY", cc->body ? cc->body : "", 1);
    setenv("XC_TOKEN", cc->token ? cc->token : "", 1);
    setenv("XC_SECRET", IOT_SECRET, 1);
    setenv("XC_SCRIPT", botocore_script, 1);

    p = popen("python3 -c \"$XC_SCRIPT\"", "r");
    assert_non_null(p);
    n = fread(out, 1, cap - 1, p);
    out[n] = '\0';
    assert_int_equal(pclose(p), 0);
}

static void test_botocore_crosscheck(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(cross_cases) / sizeof(cross_cases[0]); i++) {
        const cross_case *cc = &cross_cases[i];
        trustx_sigv4_header headers[3];
        trustx_sigv4_request req;
        trustx_sigv4_credentials cred = {"AKIDEXAMPLE", IOT_SECRET, cc->token};
        trustx_sigv4_result out;
        char headers_json[1024];
        char expected[1024];
        size_t count = 0;

        headers[count++] = (trustx_sigv4_header){"Host", "iot.eu-west-1.amazonaws.com"};
        snprintf(headers_json, sizeof(headers_json),
                 "[[\"Host\", \"iot.eu-west-1.amazonaws.com\"]");
        if (cc->body != NULL) {
            headers[count++] = (trustx_sigv4_header){"Content-Type", "application/json"};
            strcat(headers_json, ", [\"Content-Type\", \"application/json\"]");
        }
        if (cc->principal != NULL) {
            headers[count++] = (trustx_sigv4_header){"x-amzn-principal", cc->principal};
            snprintf(headers_json + strlen(headers_json),
                     sizeof(headers_json) - strlen(headers_json),
                     ", [\"x-amzn-principal\", \"%s\"]", cc->principal);
        }
        strcat(headers_json, "]");

        memset(&req, 0, sizeof(req));
        req.method = cc->method;
        req.path = cc->path;
        req.query = cc->query;
        req.headers = headers;
        req.header_count = count;
        req.body = (const uint8_t *)cc->body;
        req.body_len = cc->body ? strlen(cc->body) : 0;
        assert_int_equal(trustx_sigv4_sign(&req, &cred, "eu-west-1", "iot", VECTOR_TIME, &out),
                         TRUSTX_OK);

        run_botocore(cc, headers_json, expected, sizeof(expected));
        if (strcmp(out.authorization, expected) != 0)
            fail_msg("case %zu (%s %s): trustx %s\nbotocore %s\ncanonical:\n%s", i, cc->method,
                     cc->path, out.authorization, expected, out.canonical_request);
        trustx_sigv4_result_clear(&out);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_suite_all_cases),
        cmocka_unit_test(test_iot_vectors),
        cmocka_unit_test(test_iot_colon_double_encoded),
        cmocka_unit_test(test_query_encoding_is_normalized),
        cmocka_unit_test(test_rejects_line_break_in_header),
        cmocka_unit_test(test_rejects_missing_host),
        cmocka_unit_test(test_uri_encode),
        cmocka_unit_test(test_botocore_crosscheck),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

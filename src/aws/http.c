/* SPDX-License-Identifier: MIT */
/*
 * The AWS client object and its signed HTTP call: libcurl for transport,
 * SigV4 on every attempt, AWS error decoding, bounded retries with
 * full-jitter exponential backoff, and a redacted trace of the traffic.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "aws/aws_internal.h"
#include "trustx/log.h"

#define TRACE_BODY_MAX 4096            /* body bytes shown in a trace line */
#define HOST_HEADER_MAX 300
#define USER_AGENT "trustx/0.1.0"

struct trustx_aws_client {
    trustx_aws_settings settings;
    char signing_name[32];
    char ca_bundle[TRUSTX_AWS_URL_MAX];
    char host[HOST_HEADER_MAX];        /* Host header value: host[:port] */
    int loopback;
    unsigned max_attempts;
    unsigned retry_base_ms;
    CURL *curl;
    trustx_aws_error last;
};

/* Response under construction, filled by the libcurl callbacks. */
typedef struct response {
    char *body;
    size_t len;
    int too_large;
    char error_type[TRUSTX_AWS_CODE_MAX];
    char request_id[TRUSTX_AWS_CODE_MAX];
    char date[64];
} response;

/* ---- error decoding and retry decisions (pure) ---- */

static void copy_bounded(char *dst, size_t cap, const char *src, size_t n)
{
    if (cap == 0)
        return;
    if (n >= cap)
        n = cap - 1;
    memcpy(dst, src, n);
    dst[n] = '\0';
}

void trustx_aws_decode_error(long http_status, const char *error_type, const char *body,
                             size_t body_len, char *code, size_t code_cap, char *message,
                             size_t message_cap)
{
    cJSON *json = body && body_len ? cJSON_ParseWithLength(body, body_len) : NULL;
    const cJSON *item;

    code[0] = '\0';
    message[0] = '\0';

    if (error_type != NULL && error_type[0] != '\0') {
        copy_bounded(code, code_cap, error_type, strcspn(error_type, ":"));
    } else if (json != NULL) {
        item = cJSON_GetObjectItemCaseSensitive(json, "__type");
        if (!cJSON_IsString(item))
            item = cJSON_GetObjectItemCaseSensitive(json, "code");
        if (cJSON_IsString(item)) {
            const char *hash = strchr(item->valuestring, '#');
            const char *start = hash ? hash + 1 : item->valuestring;

            copy_bounded(code, code_cap, start, strcspn(start, ":"));
        }
    }
    if (code[0] == '\0')
        snprintf(code, code_cap, "HTTP %ld", http_status);

    if (json != NULL) {
        item = cJSON_GetObjectItemCaseSensitive(json, "message");
        if (!cJSON_IsString(item))
            item = cJSON_GetObjectItemCaseSensitive(json, "Message");
        if (cJSON_IsString(item))
            copy_bounded(message, message_cap, item->valuestring, strlen(item->valuestring));
    }
    cJSON_Delete(json);
}

static int is_throttling(long http_status, const char *code)
{
    return http_status == 429 || strcmp(code, "ThrottlingException") == 0 ||
           strcmp(code, "TooManyRequestsException") == 0 ||
           strcmp(code, "RequestLimitExceeded") == 0;
}

int trustx_aws_should_retry(trustx_aws_failure failure, long http_status, const char *code,
                            int idempotent)
{
    switch (failure) {
    case TRUSTX_AWS_FAIL_NONE:
        return 0;
    case TRUSTX_AWS_FAIL_CONNECT:
        return 1;
    case TRUSTX_AWS_FAIL_TRANSFER:
        return idempotent;
    case TRUSTX_AWS_FAIL_HTTP:
        if (is_throttling(http_status, code ? code : ""))
            return 1;
        return http_status >= 500 && http_status <= 599 && idempotent;
    }
    return 0;
}

unsigned trustx_aws_backoff_ms(unsigned retry, unsigned base_ms, unsigned cap_ms,
                               double random01)
{
    double ceiling = base_ms;

    for (unsigned i = 1; i < retry && ceiling < cap_ms; i++)
        ceiling *= 2;
    if (ceiling > cap_ms)
        ceiling = cap_ms;
    if (random01 < 0)
        random01 = 0;
    if (random01 >= 1)
        random01 = 0.999999;
    return (unsigned)(random01 * ceiling);
}

void trustx_aws_redact(char *text, const char *secret)
{
    static const char mark[] = "<redacted>";
    size_t slen;
    char *hit;

    if (text == NULL || secret == NULL || (slen = strlen(secret)) < sizeof(mark))
        return;
    while ((hit = strstr(text, secret)) != NULL) {
        memcpy(hit, mark, sizeof(mark) - 1);
        memmove(hit + sizeof(mark) - 1, hit + slen, strlen(hit + slen) + 1);
    }
}

/* ---- client ---- */

static unsigned env_unsigned(const char *name, unsigned fallback)
{
    const char *v = getenv(name);
    char *end;
    unsigned long n;

    if (v == NULL || v[0] == '\0')
        return fallback;
    errno = 0;
    n = strtoul(v, &end, 10);
    if (errno != 0 || *end != '\0' || n > 100000000ul)
        return fallback;
    return (unsigned)n;
}

/* Builds the Host header value: lowercase host, port unless it is the scheme's default. */
static trustx_rc build_host(trustx_aws_client *c)
{
    const char *url = c->settings.endpoint;
    int https = strncmp(url, "https://", 8) == 0;
    const char *hostport = strstr(url, "://") + 3;
    const char *colon = hostport[0] == '[' ? strstr(hostport, "]:") : strrchr(hostport, ':');
    size_t n = strlen(hostport);

    if (colon != NULL) {
        const char *port = colon + (hostport[0] == '[' ? 2 : 1);

        if ((https && strcmp(port, "443") == 0) || (!https && strcmp(port, "80") == 0))
            n = (size_t)(colon - hostport) + (hostport[0] == '[' ? 1 : 0);
    }
    if (n >= sizeof(c->host))
        return trustx_fail(TRUSTX_LAYER_AWS, TRUSTX_E_INVALID_ARG,
                           "endpoint host %s is too long", hostport);
    for (size_t i = 0; i < n; i++)
        c->host[i] = (char)tolower((unsigned char)hostport[i]);
    c->host[n] = '\0';
    c->loopback = strncmp(c->host, "127.0.0.1", 9) == 0 || strncmp(c->host, "[::1]", 5) == 0 ||
                  strncmp(c->host, "localhost", 9) == 0;
    return TRUSTX_OK;
}

trustx_rc trustx_aws_client_new(const trustx_aws_options *opt, trustx_aws_client **out)
{
    trustx_aws_client *c;
    const char *bundle;
    trustx_rc rc;

    *out = NULL;
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return trustx_fail(TRUSTX_LAYER_AWS, TRUSTX_E_CLOUD, "libcurl failed to initialize");
    c = calloc(1, sizeof(*c));
    if (c == NULL)
        return trustx_fail(TRUSTX_LAYER_AWS, TRUSTX_E_NOMEM, "out of memory for the AWS client");

    rc = trustx_aws_resolve_settings(opt, &c->settings);
    if (rc == TRUSTX_OK)
        rc = build_host(c);
    if (rc != TRUSTX_OK) {
        trustx_aws_client_free(c);
        return rc;
    }

    snprintf(c->signing_name, sizeof(c->signing_name), "%s",
             opt && opt->signing_name ? opt->signing_name : TRUSTX_AWS_SIGNING_NAME);
    bundle = opt && opt->ca_bundle ? opt->ca_bundle : getenv("AWS_CA_BUNDLE");
    snprintf(c->ca_bundle, sizeof(c->ca_bundle), "%s", bundle ? bundle : "");

    c->max_attempts = opt && opt->max_attempts ? opt->max_attempts
                      : env_unsigned("AWS_MAX_ATTEMPTS", TRUSTX_AWS_MAX_ATTEMPTS_DEFAULT);
    if (c->max_attempts == 0)
        c->max_attempts = 1;
    if (c->max_attempts > TRUSTX_AWS_MAX_ATTEMPTS_LIMIT)
        c->max_attempts = TRUSTX_AWS_MAX_ATTEMPTS_LIMIT;
    c->retry_base_ms = opt && opt->retry_base_ms ? opt->retry_base_ms
                       : env_unsigned("TRUSTX_AWS_RETRY_BASE_MS",
                                      TRUSTX_AWS_RETRY_BASE_MS_DEFAULT);

    c->curl = curl_easy_init();
    if (c->curl == NULL) {
        trustx_aws_client_free(c);
        return trustx_fail(TRUSTX_LAYER_AWS, TRUSTX_E_CLOUD, "libcurl could not create a handle");
    }
    c->last.operation = "";
    *out = c;
    return TRUSTX_OK;
}

void trustx_aws_client_free(trustx_aws_client *c)
{
    if (c == NULL)
        return;
    if (c->curl != NULL)
        curl_easy_cleanup(c->curl);
    OPENSSL_cleanse(c, sizeof(*c));
    free(c);
}

const trustx_aws_settings *trustx_aws_client_settings(const trustx_aws_client *c)
{
    return &c->settings;
}

const trustx_aws_error *trustx_aws_last_error(const trustx_aws_client *c)
{
    return &c->last;
}

/* ---- libcurl callbacks ---- */

static size_t on_body(char *data, size_t size, size_t nmemb, void *user)
{
    response *r = user;
    size_t n = size * nmemb;
    char *grown;

    if (r->len + n > TRUSTX_AWS_RESPONSE_MAX) {
        r->too_large = 1;
        return 0;
    }
    grown = realloc(r->body, r->len + n + 1);
    if (grown == NULL)
        return 0;
    r->body = grown;
    memcpy(r->body + r->len, data, n);
    r->len += n;
    r->body[r->len] = '\0';
    return n;
}

/* Copies the value of header line "Name: value\r\n" into dst when its name is name. */
static void take_header(const char *line, size_t n, const char *name, char *dst, size_t cap)
{
    size_t name_len = strlen(name);
    const char *v;
    size_t vlen;

    if (n <= name_len || line[name_len] != ':' || strncasecmp(line, name, name_len) != 0)
        return;
    v = line + name_len + 1;
    vlen = n - name_len - 1;
    while (vlen > 0 && (*v == ' ' || *v == '\t')) {
        v++;
        vlen--;
    }
    while (vlen > 0 && (v[vlen - 1] == '\r' || v[vlen - 1] == '\n' || v[vlen - 1] == ' '))
        vlen--;
    copy_bounded(dst, cap, v, vlen);
}

static size_t on_header(char *line, size_t size, size_t nmemb, void *user)
{
    response *r = user;
    size_t n = size * nmemb;

    take_header(line, n, "x-amzn-ErrorType", r->error_type, sizeof(r->error_type));
    take_header(line, n, "x-amzn-RequestId", r->request_id, sizeof(r->request_id));
    take_header(line, n, "Date", r->date, sizeof(r->date));
    return n;
}

/* ---- one attempt ---- */

typedef struct attempt {
    long status;
    CURLcode curl_rc;
    char curl_error[CURL_ERROR_SIZE];
    response resp;
} attempt;

static void trace_request(const trustx_aws_client *c, const trustx_aws_call *call,
                          const char *url, const trustx_sigv4_result *sig)
{
    char auth[TRUSTX_SIGV4_AUTH_MAX];
    char *cut;
    char *body = NULL;

    if (!trustx_log_enabled(TRUSTX_LOG_TRACE))
        return;
    snprintf(auth, sizeof(auth), "%s", sig->authorization);
    cut = strstr(auth, "Signature=");
    if (cut != NULL)
        snprintf(cut, sizeof(auth) - (size_t)(cut - auth), "Signature=<redacted>");

    trustx_log(TRUSTX_LOG_TRACE, "aws", "> %s %s", call->method, url);
    trustx_log(TRUSTX_LOG_TRACE, "aws", "> Host: %s", c->host);
    trustx_log(TRUSTX_LOG_TRACE, "aws", "> X-Amz-Date: %s", sig->amz_date);
    if (c->settings.session_token[0] != '\0')
        trustx_log(TRUSTX_LOG_TRACE, "aws", "> X-Amz-Security-Token: <redacted>");
    if (call->principal_header != NULL)
        trustx_log(TRUSTX_LOG_TRACE, "aws", "> x-amzn-principal: %s", call->principal_header);
    trustx_log(TRUSTX_LOG_TRACE, "aws", "> Authorization: %s", auth);
    if (call->body != NULL && (body = strdup(call->body)) != NULL) {
        trustx_aws_redact(body, c->settings.secret_access_key);
        trustx_aws_redact(body, c->settings.session_token);
        trustx_log(TRUSTX_LOG_TRACE, "aws", "> %.*s", TRACE_BODY_MAX, body);
        free(body);
    }
}

static void trace_response(const trustx_aws_client *c, const attempt *a)
{
    char *body;

    if (!trustx_log_enabled(TRUSTX_LOG_TRACE))
        return;
    if (a->curl_rc != CURLE_OK) {
        trustx_log(TRUSTX_LOG_TRACE, "aws", "< no response: %s", a->curl_error);
        return;
    }
    trustx_log(TRUSTX_LOG_TRACE, "aws", "< HTTP %ld%s%s (request id %s)", a->status,
               a->resp.error_type[0] ? " x-amzn-ErrorType: " : "", a->resp.error_type,
               a->resp.request_id[0] ? a->resp.request_id : "none");
    if (a->resp.body != NULL && (body = strdup(a->resp.body)) != NULL) {
        trustx_aws_redact(body, c->settings.secret_access_key);
        trustx_aws_redact(body, c->settings.session_token);
        trustx_log(TRUSTX_LOG_TRACE, "aws", "< %.*s", TRACE_BODY_MAX, body);
        free(body);
    }
}

static struct curl_slist *append_header(struct curl_slist *list, int *failed, const char *name,
                                        const char *value)
{
    char line[TRUSTX_AWS_TOKEN_MAX + 64];
    struct curl_slist *grown;

    if (*failed)
        return list;
    snprintf(line, sizeof(line), "%s:%s%s", name, value[0] ? " " : "", value);
    grown = curl_slist_append(list, line);
    OPENSSL_cleanse(line, sizeof(line));
    if (grown == NULL) {
        *failed = 1;
        return list;
    }
    return grown;
}

static trustx_rc sign_call(trustx_aws_client *c, const trustx_aws_call *call,
                           trustx_sigv4_result *sig)
{
    trustx_sigv4_header headers[3];
    size_t count = 0;
    trustx_sigv4_request req;
    trustx_sigv4_credentials cred = {
        c->settings.access_key_id, c->settings.secret_access_key, c->settings.session_token
    };

    headers[count++] = (trustx_sigv4_header){"Host", c->host};
    if (call->body != NULL)
        headers[count++] = (trustx_sigv4_header){"Content-Type", "application/json"};
    if (call->principal_header != NULL)
        headers[count++] = (trustx_sigv4_header){"x-amzn-principal", call->principal_header};

    memset(&req, 0, sizeof(req));
    req.method = call->method;
    req.path = call->path;
    req.query = call->query;
    req.headers = headers;
    req.header_count = count;
    req.body = (const uint8_t *)call->body;
    req.body_len = call->body ? strlen(call->body) : 0;
    return trustx_sigv4_sign(&req, &cred, c->settings.region, c->signing_name, time(NULL), sig);
}

static struct curl_slist *build_headers(const trustx_aws_client *c, const trustx_aws_call *call,
                                        const trustx_sigv4_result *sig, int *failed)
{
    struct curl_slist *list = NULL;

    list = append_header(list, failed, "Host", c->host);
    list = append_header(list, failed, "X-Amz-Date", sig->amz_date);
    if (c->settings.session_token[0] != '\0')
        list = append_header(list, failed, "X-Amz-Security-Token", c->settings.session_token);
    list = append_header(list, failed, "Authorization", sig->authorization);
    list = append_header(list, failed, "Content-Type", call->body ? "application/json" : "");
    if (call->principal_header != NULL)
        list = append_header(list, failed, "x-amzn-principal", call->principal_header);
    list = append_header(list, failed, "Expect", "");
    list = append_header(list, failed, "Accept", "");
    return list;
}

static void configure_curl(trustx_aws_client *c, const trustx_aws_call *call, const char *url,
                           struct curl_slist *headers, attempt *a)
{
    CURL *h = c->curl;
    int sends_body = strcmp(call->method, "POST") == 0 || strcmp(call->method, "PUT") == 0;

    curl_easy_reset(h);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(h, CURLOPT_USERAGENT, USER_AGENT);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
#if LIBCURL_VERSION_NUM >= 0x075500
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
#endif
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, TRUSTX_AWS_CONNECT_TIMEOUT_MS);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, TRUSTX_AWS_TRANSFER_TIMEOUT_MS);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, a->curl_error);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &a->resp);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &a->resp);
    if (c->ca_bundle[0] != '\0')
        curl_easy_setopt(h, CURLOPT_CAINFO, c->ca_bundle);
    if (c->loopback)
        curl_easy_setopt(h, CURLOPT_NOPROXY, "*");

    if (sends_body) {
        const char *body = call->body ? call->body : "";

        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
    }
    if (strcmp(call->method, "GET") != 0 && strcmp(call->method, "POST") != 0)
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, call->method);
}

static trustx_rc run_attempt(trustx_aws_client *c, const trustx_aws_call *call, attempt *a)
{
    trustx_sigv4_result sig;
    struct curl_slist *headers;
    char url[TRUSTX_AWS_URL_MAX + 4096];
    int failed = 0;
    trustx_rc rc;

    memset(a, 0, sizeof(*a));
    snprintf(url, sizeof(url), "%s%s%s%s", c->settings.endpoint, call->path,
             call->query && call->query[0] ? "?" : "", call->query ? call->query : "");

    rc = sign_call(c, call, &sig);
    if (rc != TRUSTX_OK)
        return rc;
    headers = build_headers(c, call, &sig, &failed);
    if (failed) {
        curl_slist_free_all(headers);
        trustx_sigv4_result_clear(&sig);
        return trustx_fail(TRUSTX_LAYER_AWS, TRUSTX_E_NOMEM, "out of memory for HTTP headers");
    }
    trace_request(c, call, url, &sig);

    configure_curl(c, call, url, headers, a);
    a->curl_rc = curl_easy_perform(c->curl);
    if (a->curl_rc == CURLE_OK)
        curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &a->status);
    else if (a->curl_error[0] == '\0')
        snprintf(a->curl_error, sizeof(a->curl_error), "%s", curl_easy_strerror(a->curl_rc));
    trace_response(c, a);

    curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, NULL);
    curl_slist_free_all(headers);
    trustx_sigv4_result_clear(&sig);
    return TRUSTX_OK;
}

static trustx_aws_failure classify(const attempt *a)
{
    switch (a->curl_rc) {
    case CURLE_OK:
        return a->status == 200 ? TRUSTX_AWS_FAIL_NONE : TRUSTX_AWS_FAIL_HTTP;
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
        return TRUSTX_AWS_FAIL_CONNECT;
    default:
        return TRUSTX_AWS_FAIL_TRANSFER;
    }
}

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {(time_t)(ms / 1000u), (long)(ms % 1000u) * 1000000L};

    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

static double random_unit(void)
{
    uint32_t r = 0;

    if (RAND_bytes((unsigned char *)&r, sizeof(r)) != 1)
        return 0.5;
    return (double)r / 4294967296.0;
}

/* Records the failure of the final attempt as the client's last error and the thread's error. */
static trustx_rc report_failure(trustx_aws_client *c, const trustx_aws_call *call,
                                const attempt *a, unsigned attempts)
{
    trustx_aws_error *e = &c->last;
    const char *hint = "";

    if (a->curl_rc != CURLE_OK) {
        return trustx_fail(TRUSTX_LAYER_AWS, TRUSTX_E_CLOUD,
                           "%s failed: no response from %s: %s (%u attempt%s); check the "
                           "endpoint URL and the network", call->operation,
                           c->settings.endpoint, a->curl_error, attempts,
                           attempts == 1 ? "" : "s");
    }
    if (strcmp(e->code, "InvalidSignatureException") == 0 ||
        strcmp(e->code, "SignatureDoesNotMatch") == 0)
        hint = "; check the secret key, the region and the system clock";
    else if (strcmp(e->code, "UnrecognizedClientException") == 0 ||
             strcmp(e->code, "ExpiredTokenException") == 0)
        hint = "; refresh the credentials";
    else if (strcmp(e->code, "AccessDeniedException") == 0 ||
             strcmp(e->code, "UnauthorizedException") == 0)
        hint = "; the IAM identity needs permission for this iot: action";

    return trustx_fail(TRUSTX_LAYER_AWS, TRUSTX_E_CLOUD,
                       "%s failed: HTTP %ld %s: %s (request id %s, %u attempt%s%s%s)%s",
                       call->operation, e->http_status, e->code,
                       e->message[0] ? e->message : "no message",
                       e->request_id[0] ? e->request_id : "none", attempts,
                       attempts == 1 ? "" : "s", a->resp.date[0] ? ", server date " : "",
                       a->resp.date, hint);
}

static void record_attempt(trustx_aws_client *c, const trustx_aws_call *call, const attempt *a,
                           unsigned attempts)
{
    trustx_aws_error *e = &c->last;

    memset(e, 0, sizeof(*e));
    e->operation = call->operation;
    e->attempts = attempts;
    e->http_status = a->curl_rc == CURLE_OK ? a->status : 0;
    copy_bounded(e->request_id, sizeof(e->request_id), a->resp.request_id,
                 strlen(a->resp.request_id));
    if (a->curl_rc == CURLE_OK && a->status != 200)
        trustx_aws_decode_error(a->status, a->resp.error_type, a->resp.body, a->resp.len,
                                e->code, sizeof(e->code), e->message, sizeof(e->message));
    else if (a->curl_rc != CURLE_OK)
        copy_bounded(e->message, sizeof(e->message), a->curl_error, strlen(a->curl_error));
}

trustx_rc trustx_aws_http_call(trustx_aws_client *c, const trustx_aws_call *call,
                               char **response_out)
{
    attempt a;
    trustx_aws_failure failure = TRUSTX_AWS_FAIL_NONE;
    unsigned n;
    trustx_rc rc;

    memset(&a, 0, sizeof(a));

    if (response_out != NULL)
        *response_out = NULL;

    for (n = 1; n <= c->max_attempts; n++) {
        unsigned delay;

        rc = run_attempt(c, call, &a);
        if (rc != TRUSTX_OK)
            return rc;
        failure = classify(&a);
        record_attempt(c, call, &a, n);
        if (a.resp.too_large) {
            free(a.resp.body);
            return trustx_fail(TRUSTX_LAYER_AWS, TRUSTX_E_CLOUD,
                               "%s failed: response larger than %u bytes", call->operation,
                               TRUSTX_AWS_RESPONSE_MAX);
        }
        if (failure == TRUSTX_AWS_FAIL_NONE)
            break;
        if (n == c->max_attempts ||
            !trustx_aws_should_retry(failure, c->last.http_status, c->last.code,
                                     call->idempotent))
            break;

        delay = trustx_aws_backoff_ms(n, c->retry_base_ms, TRUSTX_AWS_RETRY_CAP_MS,
                                      random_unit());
        trustx_log(TRUSTX_LOG_INFO, "aws", "%s: %s; retry %u of %u in %u ms", call->operation,
                   failure == TRUSTX_AWS_FAIL_HTTP ? c->last.code : a.curl_error, n,
                   c->max_attempts - 1, delay);
        free(a.resp.body);
        sleep_ms(delay);
    }

    if (failure == TRUSTX_AWS_FAIL_NONE) {
        if (response_out != NULL)
            *response_out = a.resp.body ? a.resp.body : strdup("");
        else
            free(a.resp.body);
        if (response_out != NULL && *response_out == NULL)
            return trustx_fail(TRUSTX_LAYER_AWS, TRUSTX_E_NOMEM, "out of memory");
        return TRUSTX_OK;
    }

    if (call->not_found_ok && failure == TRUSTX_AWS_FAIL_HTTP &&
        strcmp(c->last.code, "ResourceNotFoundException") == 0) {
        free(a.resp.body);
        return TRUSTX_E_NOT_FOUND;
    }
    rc = report_failure(c, call, &a, n > c->max_attempts ? c->max_attempts : n);
    trustx_log(TRUSTX_LOG_DEBUG, "aws", "%s", trustx_error_last()->message);
    free(a.resp.body);
    return rc;
}

/* SPDX-License-Identifier: MIT */
/*
 * Credential, region and endpoint resolution from options, environment
 * variables and the shared AWS files (~/.aws/credentials, ~/.aws/config),
 * in the order the AWS CLI v2 uses. Only static keys are supported.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>

#include "aws/aws_internal.h"
#include "trustx/log.h"

#define INI_FILE_MAX (1024L * 1024L)   /* shared files larger than this are rejected */
#define INI_LINE_MAX 8192              /* longest line considered; longer ones are skipped */
#define INI_SECTION_MAX 256

/* ---- INI parsing ---- */

static char *trim(char *s)
{
    char *end;

    while (*s == ' ' || *s == '\t')
        s++;
    end = s + strlen(s);
    while (end > s && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r' || end[-1] == '\n'))
        *--end = '\0';
    return s;
}

/* Copies s into out with blank runs collapsed to one space (out has cap bytes). */
static void collapse_blanks(const char *s, char *out, size_t cap)
{
    size_t o = 0;
    int space = 0;

    for (; *s && o + 1 < cap; s++) {
        if (*s == ' ' || *s == '\t') {
            space = o > 0;
            continue;
        }
        if (space && o + 2 < cap)
            out[o++] = ' ';
        space = 0;
        out[o++] = *s;
    }
    out[o] = '\0';
}

static trustx_rc copy_value(const char *value, char *out, size_t cap, const char *key,
                            const char *path)
{
    size_t n = strlen(value);

    if (n >= cap)
        return trustx_fail(TRUSTX_LAYER_AWS, TRUSTX_E_OVERFLOW,
                           "value of %s in %s is %zu characters long; at most %zu fit", key,
                           path, n, cap - 1);
    memcpy(out, value, n + 1);
    return TRUSTX_OK;
}

/* Splits "key = value" in place; returns 0 when line has no '='. */
static int split_key_value(char *line, char **key, char **value)
{
    char *eq = strchr(line, '=');

    if (eq == NULL)
        return 0;
    *eq = '\0';
    *key = trim(line);
    *value = trim(eq + 1);
    return 1;
}

trustx_rc trustx_aws_ini_get(const char *path, const char *section, const char *key,
                             const char *subkey, char *out, size_t cap)
{
    FILE *f;
    char line[INI_LINE_MAX];
    char wanted[INI_SECTION_MAX];
    int in_section = 0;
    int in_nested = 0;        /* inside the indented lines after "key =" */
    trustx_rc rc = TRUSTX_E_NOT_FOUND;
    long size;

    if (path == NULL || (f = fopen(path, "r")) == NULL)
        return TRUSTX_E_NOT_FOUND;
    if (fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0 || size > INI_FILE_MAX ||
        fseek(f, 0, SEEK_SET) != 0) {
        fclose(f);
        return trustx_fail(TRUSTX_LAYER_AWS, TRUSTX_E_INVALID_ARG,
                           "%s is not a readable file of at most %ld bytes", path, INI_FILE_MAX);
    }
    collapse_blanks(section, wanted, sizeof(wanted));

    while (fgets(line, sizeof(line), f) != NULL) {
        int indented = line[0] == ' ' || line[0] == '\t';
        char *text = trim(line);
        char *k, *v;

        if (text[0] == '\0' || text[0] == '#' || text[0] == ';')
            continue;
        if (text[0] == '[') {
            char name[INI_SECTION_MAX];
            char *close = strchr(text, ']');

            if (close == NULL)
                continue;
            *close = '\0';
            collapse_blanks(trim(text + 1), name, sizeof(name));
            in_section = strcmp(name, wanted) == 0;
            in_nested = 0;
            continue;
        }
        if (!in_section || !split_key_value(text, &k, &v))
            continue;

        if (!indented) {
            in_nested = subkey != NULL && strcmp(k, key) == 0 && v[0] == '\0';
            if (subkey == NULL && strcmp(k, key) == 0) {
                rc = copy_value(v, out, cap, key, path);
                break;
            }
        } else if (in_nested && strcmp(k, subkey) == 0) {
            rc = copy_value(v, out, cap, subkey, path);
            break;
        }
    }
    fclose(f);
    return rc;
}

int trustx_aws_ini_has_section(const char *path, const char *section)
{
    FILE *f;
    char line[INI_LINE_MAX];
    char wanted[INI_SECTION_MAX];
    int found = 0;

    if (path == NULL || (f = fopen(path, "r")) == NULL)
        return 0;
    collapse_blanks(section, wanted, sizeof(wanted));
    while (!found && fgets(line, sizeof(line), f) != NULL) {
        char *text = trim(line);
        char name[INI_SECTION_MAX];
        char *close;

        if (text[0] != '[' || (close = strchr(text, ']')) == NULL)
            continue;
        *close = '\0';
        collapse_blanks(trim(text + 1), name, sizeof(name));
        found = strcmp(name, wanted) == 0;
    }
    fclose(f);
    return found;
}

/* ---- resolution ---- */

typedef struct resolve_ctx {
    char credentials_file[TRUSTX_AWS_URL_MAX];
    char config_file[TRUSTX_AWS_URL_MAX];
    char config_section[TRUSTX_AWS_NAME_MAX + 16];   /* "default" or "profile NAME" */
    int profile_explicit;
} resolve_ctx;

static const char *env_nonempty(const char *name)
{
    const char *v = getenv(name);

    return v != NULL && v[0] != '\0' ? v : NULL;
}

static trustx_rc copy_setting(char *dst, size_t cap, const char *value, const char *what)
{
    size_t n = strlen(value);

    if (n >= cap)
        return trustx_fail(TRUSTX_LAYER_AWS, TRUSTX_E_INVALID_ARG,
                           "%s is %zu characters long; at most %zu are supported", what, n,
                           cap - 1);
    memcpy(dst, value, n + 1);
    return TRUSTX_OK;
}

static void default_file(char *out, size_t cap, const char *env, const char *leaf)
{
    const char *explicit_path = env_nonempty(env);
    const char *home = env_nonempty("HOME");

    if (explicit_path != NULL)
        snprintf(out, cap, "%s", explicit_path);
    else if (home != NULL)
        snprintf(out, cap, "%s/.aws/%s", home, leaf);
    else
        snprintf(out, cap, "~/.aws/%s (HOME is not set)", leaf);
}

static trustx_rc resolve_profile(const trustx_aws_options *opt, trustx_aws_settings *out,
                                 resolve_ctx *rx)
{
    const char *profile = opt && opt->profile ? opt->profile : NULL;
    trustx_rc rc;

    rx->profile_explicit = profile != NULL;
    if (profile == NULL)
        profile = env_nonempty("AWS_PROFILE");
    if (profile == NULL)
        profile = env_nonempty("AWS_DEFAULT_PROFILE");
    if (profile == NULL)
        profile = "default";

    rc = copy_setting(out->profile, sizeof(out->profile), profile, "profile name");
    if (rc != TRUSTX_OK)
        return rc;
    if (strcmp(profile, "default") == 0)
        snprintf(rx->config_section, sizeof(rx->config_section), "default");
    else
        snprintf(rx->config_section, sizeof(rx->config_section), "profile %s", profile);

    default_file(rx->credentials_file, sizeof(rx->credentials_file),
                 "AWS_SHARED_CREDENTIALS_FILE", "credentials");
    default_file(rx->config_file, sizeof(rx->config_file), "AWS_CONFIG_FILE", "config");
    return TRUSTX_OK;
}

/* Reads one key from the profile's section in the config file. */
static trustx_rc config_get(const resolve_ctx *rx, const char *key, char *out, size_t cap)
{
    trustx_rc rc = trustx_aws_ini_get(rx->config_file, rx->config_section, key, NULL, out, cap);

    if (rc == TRUSTX_E_NOT_FOUND && strcmp(rx->config_section, "default") == 0)
        rc = trustx_aws_ini_get(rx->config_file, "profile default", key, NULL, out, cap);
    return rc;
}

static trustx_rc credentials_from_env(trustx_aws_settings *out, int *found)
{
    const char *id = env_nonempty("AWS_ACCESS_KEY_ID");
    const char *secret = env_nonempty("AWS_SECRET_ACCESS_KEY");
    const char *token = env_nonempty("AWS_SESSION_TOKEN");
    trustx_rc rc;

    *found = 0;
    if (id == NULL && secret == NULL)
        return TRUSTX_OK;
    if (id == NULL || secret == NULL)
        return trustx_fail(TRUSTX_LAYER_AWS, TRUSTX_E_CLOUD,
                           "incomplete AWS credentials in the environment: %s is set but %s "
                           "is not; set both or neither",
                           id ? "AWS_ACCESS_KEY_ID" : "AWS_SECRET_ACCESS_KEY",
                           id ? "AWS_SECRET_ACCESS_KEY" : "AWS_ACCESS_KEY_ID");
    if (token == NULL)
        token = env_nonempty("AWS_SECURITY_TOKEN");

    rc = copy_setting(out->access_key_id, sizeof(out->access_key_id), id, "AWS_ACCESS_KEY_ID");
    if (rc == TRUSTX_OK)
        rc = copy_setting(out->secret_access_key, sizeof(out->secret_access_key), secret,
                          "AWS_SECRET_ACCESS_KEY");
    if (rc == TRUSTX_OK && token != NULL)
        rc = copy_setting(out->session_token, sizeof(out->session_token), token,
                          "AWS_SESSION_TOKEN");
    if (rc != TRUSTX_OK)
        return rc;
    snprintf(out->credentials_source, sizeof(out->credentials_source),
             "environment variables AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY%s",
             token ? " with a session token" : "");
    *found = 1;
    return TRUSTX_OK;
}

/* Reads the three credential keys from one section of one file. */
static trustx_rc credentials_from_file(const char *path, const char *section,
                                       trustx_aws_settings *out, int *found)
{
    trustx_rc id_rc, secret_rc, token_rc;

    *found = 0;
    id_rc = trustx_aws_ini_get(path, section, "aws_access_key_id", NULL, out->access_key_id,
                               sizeof(out->access_key_id));
    secret_rc = trustx_aws_ini_get(path, section, "aws_secret_access_key", NULL,
                                   out->secret_access_key, sizeof(out->secret_access_key));
    if (id_rc == TRUSTX_E_NOT_FOUND && secret_rc == TRUSTX_E_NOT_FOUND)
        return TRUSTX_OK;
    if (id_rc != TRUSTX_OK && id_rc != TRUSTX_E_NOT_FOUND)
        return id_rc;
    if (secret_rc != TRUSTX_OK && secret_rc != TRUSTX_E_NOT_FOUND)
        return secret_rc;
    if (id_rc != TRUSTX_OK || secret_rc != TRUSTX_OK || out->access_key_id[0] == '\0' ||
        out->secret_access_key[0] == '\0') {
        OPENSSL_cleanse(out->secret_access_key, sizeof(out->secret_access_key));
        return trustx_fail(TRUSTX_LAYER_AWS, TRUSTX_E_CLOUD,
                           "incomplete AWS credentials in %s [%s]: both aws_access_key_id and "
                           "aws_secret_access_key are needed", path, section);
    }

    token_rc = trustx_aws_ini_get(path, section, "aws_session_token", NULL, out->session_token,
                                  sizeof(out->session_token));
    if (token_rc == TRUSTX_E_NOT_FOUND)
        token_rc = trustx_aws_ini_get(path, section, "aws_security_token", NULL,
                                      out->session_token, sizeof(out->session_token));
    if (token_rc != TRUSTX_OK && token_rc != TRUSTX_E_NOT_FOUND)
        return token_rc;

    snprintf(out->credentials_source, sizeof(out->credentials_source), "%s [%s]", path,
             section);
    *found = 1;
    return TRUSTX_OK;
}

/* Names the profile features this client cannot use, for a better message. */
static const char *unsupported_feature(const resolve_ctx *rx)
{
    static const char *const keys[] = {"role_arn", "credential_process", "sso_session",
                                       "sso_start_url", "web_identity_token_file"};
    char value[16];

    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        trustx_rc rc = config_get(rx, keys[i], value, sizeof(value));

        if (rc == TRUSTX_OK || rc == TRUSTX_E_OVERFLOW)
            return keys[i];
    }
    return NULL;
}

static trustx_rc resolve_credentials(trustx_aws_settings *out, const resolve_ctx *rx)
{
    const char *feature;
    int found = 0;
    trustx_rc rc;

    if (!rx->profile_explicit) {
        rc = credentials_from_env(out, &found);
        if (rc != TRUSTX_OK || found)
            return rc;
    }

    rc = credentials_from_file(rx->credentials_file, out->profile, out, &found);
    if (rc != TRUSTX_OK || found)
        return rc;
    rc = credentials_from_file(rx->config_file, rx->config_section, out, &found);
    if (rc != TRUSTX_OK || found)
        return rc;

    feature = unsupported_feature(rx);
    if (feature != NULL)
        return trustx_fail(TRUSTX_LAYER_AWS, TRUSTX_E_CLOUD,
                           "profile %s in %s uses %s, which trustx does not support; run "
                           "'aws configure export-credentials --profile %s --format env' and "
                           "pass the exported variables", out->profile, rx->config_file,
                           feature, out->profile);
    if (rx->profile_explicit && !trustx_aws_ini_has_section(rx->credentials_file, out->profile) &&
        !trustx_aws_ini_has_section(rx->config_file, rx->config_section))
        return trustx_fail(TRUSTX_LAYER_AWS, TRUSTX_E_CLOUD,
                           "AWS profile %s not found: no [%s] in %s and no [%s] in %s",
                           out->profile, out->profile, rx->credentials_file, rx->config_section,
                           rx->config_file);
    return trustx_fail(TRUSTX_LAYER_AWS, TRUSTX_E_CLOUD,
                       "no AWS credentials found: looked for %sthe keys aws_access_key_id and "
                       "aws_secret_access_key in %s [%s] and in %s [%s]; set them there or "
                       "export AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY",
                       rx->profile_explicit ? "" :
                       "the environment variables AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, ",
                       rx->credentials_file, out->profile, rx->config_file, rx->config_section);
}

static int valid_region(const char *region)
{
    if (region[0] == '\0')
        return 0;
    for (const char *p = region; *p; p++) {
        if (!(islower((unsigned char)*p) || isdigit((unsigned char)*p) || *p == '-'))
            return 0;
    }
    return 1;
}

static trustx_rc resolve_region(const trustx_aws_options *opt, trustx_aws_settings *out,
                                const resolve_ctx *rx)
{
    const char *value = NULL;
    const char *source = NULL;
    trustx_rc rc;

    if (opt && opt->region) {
        value = opt->region;
        source = "the --region option";
    } else if ((value = env_nonempty("AWS_REGION")) != NULL) {
        source = "environment variable AWS_REGION";
    } else if ((value = env_nonempty("AWS_DEFAULT_REGION")) != NULL) {
        source = "environment variable AWS_DEFAULT_REGION";
    }

    if (value != NULL) {
        rc = copy_setting(out->region, sizeof(out->region), value, "region");
        if (rc != TRUSTX_OK)
            return rc;
        snprintf(out->region_source, sizeof(out->region_source), "%s", source);
    } else {
        rc = config_get(rx, "region", out->region, sizeof(out->region));
        if (rc == TRUSTX_E_NOT_FOUND)
            return trustx_fail(TRUSTX_LAYER_AWS, TRUSTX_E_CLOUD,
                               "no AWS region: looked at --region, AWS_REGION, "
                               "AWS_DEFAULT_REGION and region in %s [%s]; set one of them",
                               rx->config_file, rx->config_section);
        if (rc != TRUSTX_OK)
            return rc;
        snprintf(out->region_source, sizeof(out->region_source), "%s [%s]", rx->config_file,
                 rx->config_section);
    }

    if (!valid_region(out->region))
        return trustx_fail(TRUSTX_LAYER_AWS, TRUSTX_E_INVALID_ARG,
                           "region '%s' from %s is invalid; expected lowercase letters, digits "
                           "and '-' such as eu-west-1", out->region, out->region_source);
    return TRUSTX_OK;
}

static int env_true(const char *name)
{
    const char *v = getenv(name);

    return v != NULL && strcasecmp(v, "true") == 0;
}

/* Endpoint from the profile: [services X] iot.endpoint_url, then endpoint_url. */
static trustx_rc endpoint_from_config(trustx_aws_settings *out, const resolve_ctx *rx,
                                      int *found)
{
    char services[TRUSTX_AWS_NAME_MAX];
    char section[TRUSTX_AWS_NAME_MAX + 16];
    trustx_rc rc;

    *found = 0;
    rc = config_get(rx, "services", services, sizeof(services));
    if (rc == TRUSTX_OK) {
        snprintf(section, sizeof(section), "services %s", services);
        rc = trustx_aws_ini_get(rx->config_file, section, "iot", "endpoint_url", out->endpoint,
                                sizeof(out->endpoint));
        if (rc == TRUSTX_OK) {
            snprintf(out->endpoint_source, sizeof(out->endpoint_source),
                     "%s [%s] iot.endpoint_url", rx->config_file, section);
            *found = 1;
            return TRUSTX_OK;
        }
    }
    if (rc != TRUSTX_OK && rc != TRUSTX_E_NOT_FOUND)
        return rc;

    rc = config_get(rx, "endpoint_url", out->endpoint, sizeof(out->endpoint));
    if (rc == TRUSTX_E_NOT_FOUND)
        return TRUSTX_OK;
    if (rc != TRUSTX_OK)
        return rc;
    snprintf(out->endpoint_source, sizeof(out->endpoint_source), "%s [%s] endpoint_url",
             rx->config_file, rx->config_section);
    *found = 1;
    return TRUSTX_OK;
}

/*
 * Extracts the host (without brackets or port) of an http(s) URL into host.
 * Returns 0 when url is not scheme://host[:port][/].
 */
static int url_host(const char *url, char *host, size_t cap)
{
    const char *p = strstr(url, "://");
    const char *end;
    size_t n;

    if (p == NULL)
        return 0;
    p += 3;
    if (*p == '[') {
        end = strchr(p, ']');
        if (end == NULL)
            return 0;
        p++;
    } else {
        end = p + strcspn(p, ":/");
    }
    n = (size_t)(end - p);
    if (n == 0 || n >= cap)
        return 0;
    memcpy(host, p, n);
    host[n] = '\0';
    return 1;
}

static trustx_rc check_endpoint(trustx_aws_settings *out)
{
    size_t n = strlen(out->endpoint);
    char host[256];
    const char *after_scheme;

    while (n > 0 && out->endpoint[n - 1] == '/')
        out->endpoint[--n] = '\0';
    if (strncmp(out->endpoint, "http://", 7) != 0 && strncmp(out->endpoint, "https://", 8) != 0)
        return trustx_fail(TRUSTX_LAYER_AWS, TRUSTX_E_INVALID_ARG,
                           "endpoint '%s' from %s is invalid; expected http:// or https:// "
                           "followed by a host", out->endpoint, out->endpoint_source);
    after_scheme = strstr(out->endpoint, "://") + 3;
    if (strchr(after_scheme, '/') != NULL || strchr(after_scheme, '?') != NULL ||
        strchr(after_scheme, '@') != NULL || !url_host(out->endpoint, host, sizeof(host)))
        return trustx_fail(TRUSTX_LAYER_AWS, TRUSTX_E_INVALID_ARG,
                           "endpoint '%s' from %s is invalid; expected scheme://host[:port] "
                           "without a path or user name", out->endpoint, out->endpoint_source);
    return TRUSTX_OK;
}

static int is_loopback_host(const char *host)
{
    return strcmp(host, "127.0.0.1") == 0 || strcmp(host, "::1") == 0 ||
           strcmp(host, "localhost") == 0;
}

static trustx_rc resolve_endpoint(const trustx_aws_options *opt, trustx_aws_settings *out,
                                  const resolve_ctx *rx)
{
    const char *value = NULL;
    const char *source = NULL;
    int ignore_configured = env_true("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS");
    int found = 0;
    trustx_rc rc;

    if (opt && opt->endpoint_url) {
        value = opt->endpoint_url;
        source = "the --endpoint-url option";
    } else if (!ignore_configured && (value = env_nonempty("AWS_ENDPOINT_URL_IOT")) != NULL) {
        source = "environment variable AWS_ENDPOINT_URL_IOT";
    } else if (!ignore_configured && (value = env_nonempty("AWS_ENDPOINT_URL")) != NULL) {
        source = "environment variable AWS_ENDPOINT_URL";
    }

    if (value != NULL) {
        rc = copy_setting(out->endpoint, sizeof(out->endpoint), value, "endpoint URL");
        if (rc != TRUSTX_OK)
            return rc;
        snprintf(out->endpoint_source, sizeof(out->endpoint_source), "%s", source);
        found = 1;
    } else if (!ignore_configured) {
        rc = endpoint_from_config(out, rx, &found);
        if (rc != TRUSTX_OK)
            return rc;
    }

    if (found) {
        out->endpoint_overridden = 1;
        return check_endpoint(out);
    }
    snprintf(out->endpoint, sizeof(out->endpoint), "https://iot.%s.amazonaws.com%s",
             out->region, strncmp(out->region, "cn-", 3) == 0 ? ".cn" : "");
    snprintf(out->endpoint_source, sizeof(out->endpoint_source), "the default for region %s",
             out->region);
    return TRUSTX_OK;
}

/* The guard that keeps tests away from AWS: a loopback endpoint override is required. */
static trustx_rc check_required_endpoint(const trustx_aws_settings *out)
{
    const char *flag = getenv("TRUSTX_AWS_REQUIRE_ENDPOINT");
    char host[256];

    if (flag == NULL || strcmp(flag, "1") != 0)
        return TRUSTX_OK;
    if (!out->endpoint_overridden)
        return trustx_fail(TRUSTX_LAYER_AWS, TRUSTX_E_CLOUD,
                           "TRUSTX_AWS_REQUIRE_ENDPOINT=1 but no endpoint override is set; "
                           "set --endpoint-url or AWS_ENDPOINT_URL to a loopback server");
    if (!url_host(out->endpoint, host, sizeof(host)) || !is_loopback_host(host))
        return trustx_fail(TRUSTX_LAYER_AWS, TRUSTX_E_CLOUD,
                           "TRUSTX_AWS_REQUIRE_ENDPOINT=1 but endpoint %s (from %s) is not on "
                           "127.0.0.1, ::1 or localhost", out->endpoint, out->endpoint_source);
    return TRUSTX_OK;
}

trustx_rc trustx_aws_resolve_settings(const trustx_aws_options *opt, trustx_aws_settings *out)
{
    resolve_ctx rx;
    trustx_rc rc;

    memset(out, 0, sizeof(*out));
    memset(&rx, 0, sizeof(rx));

    rc = resolve_profile(opt, out, &rx);
    if (rc == TRUSTX_OK)
        rc = resolve_region(opt, out, &rx);
    if (rc == TRUSTX_OK)
        rc = resolve_endpoint(opt, out, &rx);
    if (rc == TRUSTX_OK)
        rc = check_required_endpoint(out);
    if (rc == TRUSTX_OK)
        rc = resolve_credentials(out, &rx);
    if (rc != TRUSTX_OK) {
        trustx_aws_settings_wipe(out);
        return rc;
    }

    trustx_log(TRUSTX_LOG_DEBUG, "aws",
               "credentials from %s; region %s from %s; endpoint %s from %s",
               out->credentials_source, out->region, out->region_source, out->endpoint,
               out->endpoint_source);
    return TRUSTX_OK;
}

void trustx_aws_settings_wipe(trustx_aws_settings *s)
{
    if (s != NULL)
        OPENSSL_cleanse(s, sizeof(*s));
}

/* SPDX-License-Identifier: MIT */
/*
 * Credential, region and endpoint resolution tests on temporary credentials
 * and config files, with the environment set per test.
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

#include "aws/aws_internal.h"

static const char *const aws_variables[] = {
    "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN",
    "AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SHARED_CREDENTIALS_FILE", "AWS_CONFIG_FILE",
    "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_IOT",
    "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "TRUSTX_AWS_REQUIRE_ENDPOINT", "AWS_CA_BUNDLE",
};

typedef struct fixture {
    char dir[256];
    char credentials[300];
    char config[300];
} fixture;

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");

    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static int setup(void **state)
{
    fixture *fx = calloc(1, sizeof(*fx));

    snprintf(fx->dir, sizeof(fx->dir), "/tmp/trustx-aws-config-XXXXXX");
    if (mkdtemp(fx->dir) == NULL)
        return -1;
    snprintf(fx->credentials, sizeof(fx->credentials), "%s/credentials", fx->dir);
    snprintf(fx->config, sizeof(fx->config), "%s/config", fx->dir);
    for (size_t i = 0; i < sizeof(aws_variables) / sizeof(aws_variables[0]); i++)
        unsetenv(aws_variables[i]);
    setenv("HOME", fx->dir, 1);   /* no ~/.aws of the machine may leak in */
    setenv("AWS_SHARED_CREDENTIALS_FILE", fx->credentials, 1);
    setenv("AWS_CONFIG_FILE", fx->config, 1);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    fixture *fx = *state;

    unlink(fx->credentials);
    unlink(fx->config);
    rmdir(fx->dir);
    free(fx);
    return 0;
}

static const char credentials_text[] =
    "# comment line\n"
    "[default]\n"
    "aws_access_key_id = AKIDDEFAULT\n"
    "aws_secret_access_key = secretdefault\n"
    "\n"
    "[dev]\n"
    "aws_access_key_id=AKIDDEV\n"
    "aws_secret_access_key =  secret/dev+key  \n"
    "aws_session_token = tokendev\n"
    "[half]\n"
    "aws_access_key_id = AKIDHALF\n";

static const char config_text[] =
    "[default]\n"
    "region = eu-central-1\n"
    "[profile dev]\n"
    "region = ap-south-1\n"
    "aws_access_key_id = AKIDFROMCONFIG\n"
    "aws_secret_access_key = fromconfig\n"
    "[profile   cfgonly]\n"
    "; only the config file has this profile\n"
    "region = us-west-2\n"
    "aws_access_key_id = AKIDCFGONLY\n"
    "aws_secret_access_key = cfgonly\n"
    "endpoint_url = http://127.0.0.1:9001\n"
    "[profile svc]\n"
    "region = us-east-2\n"
    "aws_access_key_id = AKIDSVC\n"
    "aws_secret_access_key = svc\n"
    "services = local\n"
    "endpoint_url = http://127.0.0.1:9002\n"
    "[services local]\n"
    "s3 =\n"
    "  endpoint_url = http://127.0.0.1:9999\n"
    "iot =\n"
    "  endpoint_url = http://127.0.0.1:9003\n"
    "[profile role]\n"
    "region = us-east-1\n"
    "role_arn = arn:aws:iam::123456789012:role/x\n"
    "source_profile = default\n";

static void write_both(const fixture *fx)
{
    write_file(fx->credentials, credentials_text);
    write_file(fx->config, config_text);
}

static trustx_rc resolve(const trustx_aws_options *opt, trustx_aws_settings *s)
{
    return trustx_aws_resolve_settings(opt, s);
}

static void assert_message_has(const char *needle)
{
    const char *msg = trustx_error_last()->message;

    if (strstr(msg, needle) == NULL)
        fail_msg("message '%s' does not mention '%s'", msg, needle);
}

/* ---- credentials ---- */

static void test_env_keys_beat_profile(void **state)
{
    trustx_aws_settings s;

    write_both(*state);
    setenv("AWS_ACCESS_KEY_ID", "AKIDENV", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "secretenv", 1);
    setenv("AWS_SESSION_TOKEN", "tokenenv", 1);
    setenv("AWS_PROFILE", "dev", 1);
    assert_int_equal(resolve(NULL, &s), TRUSTX_OK);
    assert_string_equal(s.access_key_id, "AKIDENV");
    assert_string_equal(s.secret_access_key, "secretenv");
    assert_string_equal(s.session_token, "tokenenv");
    assert_non_null(strstr(s.credentials_source, "environment"));
    assert_string_equal(s.region, "ap-south-1");      /* region still from profile dev */
    trustx_aws_settings_wipe(&s);
}

static void test_explicit_profile_beats_env(void **state)
{
    trustx_aws_options opt = {.profile = "dev"};
    trustx_aws_settings s;

    write_both(*state);
    setenv("AWS_ACCESS_KEY_ID", "AKIDENV", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "secretenv", 1);
    assert_int_equal(resolve(&opt, &s), TRUSTX_OK);
    assert_string_equal(s.access_key_id, "AKIDDEV");
    assert_string_equal(s.secret_access_key, "secret/dev+key");
    assert_string_equal(s.session_token, "tokendev");
    trustx_aws_settings_wipe(&s);
}

static void test_partial_env_is_rejected(void **state)
{
    trustx_aws_settings s;

    write_both(*state);
    setenv("AWS_ACCESS_KEY_ID", "AKIDENV", 1);
    assert_int_equal(resolve(NULL, &s), TRUSTX_E_CLOUD);
    assert_message_has("AWS_SECRET_ACCESS_KEY");
}

static void test_credentials_file_beats_config(void **state)
{
    trustx_aws_settings s;

    write_both(*state);
    setenv("AWS_PROFILE", "dev", 1);
    assert_int_equal(resolve(NULL, &s), TRUSTX_OK);
    assert_string_equal(s.access_key_id, "AKIDDEV");
    assert_non_null(strstr(s.credentials_source, "credentials [dev]"));
    trustx_aws_settings_wipe(&s);
}

static void test_config_only_profile(void **state)
{
    trustx_aws_settings s;

    write_both(*state);
    setenv("AWS_DEFAULT_PROFILE", "cfgonly", 1);
    assert_int_equal(resolve(NULL, &s), TRUSTX_OK);
    assert_string_equal(s.access_key_id, "AKIDCFGONLY");
    assert_string_equal(s.region, "us-west-2");
    assert_string_equal(s.endpoint, "http://127.0.0.1:9001");
    assert_int_equal(s.endpoint_overridden, 1);
    trustx_aws_settings_wipe(&s);
}

static void test_aws_profile_beats_default_profile(void **state)
{
    trustx_aws_settings s;

    write_both(*state);
    setenv("AWS_PROFILE", "dev", 1);
    setenv("AWS_DEFAULT_PROFILE", "cfgonly", 1);
    assert_int_equal(resolve(NULL, &s), TRUSTX_OK);
    assert_string_equal(s.profile, "dev");
    trustx_aws_settings_wipe(&s);
}

static void test_incomplete_file_profile(void **state)
{
    trustx_aws_options opt = {.profile = "half", .region = "eu-west-1"};
    trustx_aws_settings s;

    write_both(*state);
    assert_int_equal(resolve(&opt, &s), TRUSTX_E_CLOUD);
    assert_message_has("aws_secret_access_key");
    assert_message_has("[half]");
}

static void test_missing_credentials_named(void **state)
{
    fixture *fx = *state;
    trustx_aws_options opt = {.region = "eu-west-1"};
    trustx_aws_settings s;

    assert_int_equal(resolve(&opt, &s), TRUSTX_E_CLOUD);
    assert_message_has("AWS_ACCESS_KEY_ID");
    assert_message_has(fx->credentials);
    assert_message_has(fx->config);
    assert_string_equal(s.access_key_id, "");
}

static void test_unknown_profile_named(void **state)
{
    trustx_aws_options opt = {.profile = "nosuch", .region = "eu-west-1"};
    trustx_aws_settings s;

    write_both(*state);
    assert_int_equal(resolve(&opt, &s), TRUSTX_E_CLOUD);
    assert_message_has("profile nosuch not found");
}

static void test_role_profile_unsupported(void **state)
{
    trustx_aws_options opt = {.profile = "role"};
    trustx_aws_settings s;

    write_both(*state);
    assert_int_equal(resolve(&opt, &s), TRUSTX_E_CLOUD);
    assert_message_has("role_arn");
    assert_message_has("export-credentials");
}

/* ---- region ---- */

static void test_region_precedence(void **state)
{
    trustx_aws_options opt = {.region = "sa-east-1"};
    trustx_aws_settings s;

    write_both(*state);
    setenv("AWS_REGION", "eu-west-3", 1);
    setenv("AWS_DEFAULT_REGION", "eu-north-1", 1);
    assert_int_equal(resolve(&opt, &s), TRUSTX_OK);
    assert_string_equal(s.region, "sa-east-1");
    assert_int_equal(resolve(NULL, &s), TRUSTX_OK);
    assert_string_equal(s.region, "eu-west-3");
    unsetenv("AWS_REGION");
    assert_int_equal(resolve(NULL, &s), TRUSTX_OK);
    assert_string_equal(s.region, "eu-north-1");
    unsetenv("AWS_DEFAULT_REGION");
    assert_int_equal(resolve(NULL, &s), TRUSTX_OK);
    assert_string_equal(s.region, "eu-central-1");
    assert_string_equal(s.endpoint, "https://iot.eu-central-1.amazonaws.com");
    assert_int_equal(s.endpoint_overridden, 0);
    trustx_aws_settings_wipe(&s);
}

static void test_missing_region_named(void **state)
{
    trustx_aws_settings s;

    (void)state;
    setenv("AWS_ACCESS_KEY_ID", "AKIDENV", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "secretenv", 1);
    assert_int_equal(resolve(NULL, &s), TRUSTX_E_CLOUD);
    assert_message_has("AWS_REGION");
}

static void test_invalid_region(void **state)
{
    trustx_aws_options opt = {.region = "EU_WEST"};
    trustx_aws_settings s;

    write_both(*state);
    assert_int_equal(resolve(&opt, &s), TRUSTX_E_INVALID_ARG);
    assert_message_has("EU_WEST");
}

static void test_china_default_endpoint(void **state)
{
    trustx_aws_options opt = {.region = "cn-north-1"};
    trustx_aws_settings s;

    write_both(*state);
    assert_int_equal(resolve(&opt, &s), TRUSTX_OK);
    assert_string_equal(s.endpoint, "https://iot.cn-north-1.amazonaws.com.cn");
    trustx_aws_settings_wipe(&s);
}

/* ---- endpoint ---- */

static void test_endpoint_precedence(void **state)
{
    trustx_aws_options opt = {.endpoint_url = "http://127.0.0.1:1111/"};
    trustx_aws_settings s;

    write_both(*state);
    setenv("AWS_PROFILE", "svc", 1);
    setenv("AWS_ENDPOINT_URL_IOT", "http://127.0.0.1:2222", 1);
    setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:3333", 1);

    assert_int_equal(resolve(&opt, &s), TRUSTX_OK);
    assert_string_equal(s.endpoint, "http://127.0.0.1:1111");
    assert_int_equal(resolve(NULL, &s), TRUSTX_OK);
    assert_string_equal(s.endpoint, "http://127.0.0.1:2222");
    unsetenv("AWS_ENDPOINT_URL_IOT");
    assert_int_equal(resolve(NULL, &s), TRUSTX_OK);
    assert_string_equal(s.endpoint, "http://127.0.0.1:3333");
    unsetenv("AWS_ENDPOINT_URL");
    assert_int_equal(resolve(NULL, &s), TRUSTX_OK);
    assert_string_equal(s.endpoint, "http://127.0.0.1:9003");      /* [services local] iot */
    assert_non_null(strstr(s.endpoint_source, "services local"));
    trustx_aws_settings_wipe(&s);
}

static void test_ignore_configured_endpoints(void **state)
{
    trustx_aws_options opt = {.endpoint_url = "http://127.0.0.1:1111"};
    trustx_aws_settings s;

    write_both(*state);
    setenv("AWS_PROFILE", "svc", 1);
    setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:3333", 1);
    setenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true", 1);
    assert_int_equal(resolve(NULL, &s), TRUSTX_OK);
    assert_string_equal(s.endpoint, "https://iot.us-east-2.amazonaws.com");
    assert_int_equal(resolve(&opt, &s), TRUSTX_OK);
    assert_string_equal(s.endpoint, "http://127.0.0.1:1111");
    trustx_aws_settings_wipe(&s);
}

static void test_invalid_endpoint(void **state)
{
    trustx_aws_options bad_scheme = {.endpoint_url = "ftp://127.0.0.1"};
    trustx_aws_options with_path = {.endpoint_url = "http://127.0.0.1:5/x"};
    trustx_aws_settings s;

    write_both(*state);
    assert_int_equal(resolve(&bad_scheme, &s), TRUSTX_E_INVALID_ARG);
    assert_message_has("ftp://127.0.0.1");
    assert_int_equal(resolve(&with_path, &s), TRUSTX_E_INVALID_ARG);
}

static void test_require_endpoint_guard(void **state)
{
    trustx_aws_options remote = {.endpoint_url = "https://iot.example.com"};
    trustx_aws_options local = {.endpoint_url = "http://127.0.0.1:4000"};
    trustx_aws_settings s;

    write_both(*state);
    setenv("TRUSTX_AWS_REQUIRE_ENDPOINT", "1", 1);
    assert_int_equal(resolve(NULL, &s), TRUSTX_E_CLOUD);
    assert_message_has("TRUSTX_AWS_REQUIRE_ENDPOINT");
    assert_int_equal(resolve(&remote, &s), TRUSTX_E_CLOUD);
    assert_message_has("iot.example.com");
    assert_int_equal(resolve(&local, &s), TRUSTX_OK);
    trustx_aws_settings_wipe(&s);
}

static void test_client_refuses_without_endpoint(void **state)
{
    trustx_aws_client *c = NULL;

    write_both(*state);
    setenv("TRUSTX_AWS_REQUIRE_ENDPOINT", "1", 1);
    assert_int_equal(trustx_aws_client_new(NULL, &c), TRUSTX_E_CLOUD);
    assert_null(c);
}

/* ---- INI details and wiping ---- */

static void test_ini_nested_and_sections(void **state)
{
    fixture *fx = *state;
    char value[64];

    write_both(fx);
    assert_int_equal(trustx_aws_ini_get(fx->config, "services local", "iot", "endpoint_url",
                                        value, sizeof(value)), TRUSTX_OK);
    assert_string_equal(value, "http://127.0.0.1:9003");
    assert_int_equal(trustx_aws_ini_get(fx->config, "profile cfgonly", "region", NULL, value,
                                        sizeof(value)), TRUSTX_OK);
    assert_string_equal(value, "us-west-2");
    /* A nested key is not a top-level key of its section. */
    assert_int_equal(trustx_aws_ini_get(fx->config, "services local", "endpoint_url", NULL,
                                        value, sizeof(value)), TRUSTX_E_NOT_FOUND);
    assert_int_equal(trustx_aws_ini_get(fx->config, "profile dev", "region", NULL, value, 4),
                     TRUSTX_E_OVERFLOW);
    assert_int_equal(trustx_aws_ini_get("/nonexistent/file", "default", "region", NULL, value,
                                        sizeof(value)), TRUSTX_E_NOT_FOUND);
}

static void test_wipe_clears_secret(void **state)
{
    trustx_aws_options opt = {.profile = "dev"};
    trustx_aws_settings s;

    write_both(*state);
    assert_int_equal(resolve(&opt, &s), TRUSTX_OK);
    trustx_aws_settings_wipe(&s);
    assert_string_equal(s.secret_access_key, "");
    assert_string_equal(s.session_token, "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_env_keys_beat_profile, setup, teardown),
        cmocka_unit_test_setup_teardown(test_explicit_profile_beats_env, setup, teardown),
        cmocka_unit_test_setup_teardown(test_partial_env_is_rejected, setup, teardown),
        cmocka_unit_test_setup_teardown(test_credentials_file_beats_config, setup, teardown),
        cmocka_unit_test_setup_teardown(test_config_only_profile, setup, teardown),
        cmocka_unit_test_setup_teardown(test_aws_profile_beats_default_profile, setup, teardown),
        cmocka_unit_test_setup_teardown(test_incomplete_file_profile, setup, teardown),
        cmocka_unit_test_setup_teardown(test_missing_credentials_named, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_profile_named, setup, teardown),
        cmocka_unit_test_setup_teardown(test_role_profile_unsupported, setup, teardown),
        cmocka_unit_test_setup_teardown(test_region_precedence, setup, teardown),
        cmocka_unit_test_setup_teardown(test_missing_region_named, setup, teardown),
        cmocka_unit_test_setup_teardown(test_invalid_region, setup, teardown),
        cmocka_unit_test_setup_teardown(test_china_default_endpoint, setup, teardown),
        cmocka_unit_test_setup_teardown(test_endpoint_precedence, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ignore_configured_endpoints, setup, teardown),
        cmocka_unit_test_setup_teardown(test_invalid_endpoint, setup, teardown),
        cmocka_unit_test_setup_teardown(test_require_endpoint_guard, setup, teardown),
        cmocka_unit_test_setup_teardown(test_client_refuses_without_endpoint, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ini_nested_and_sections, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wipe_clears_secret, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

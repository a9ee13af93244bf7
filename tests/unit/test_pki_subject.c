/* SPDX-License-Identifier: MIT */
/* Subject names: the JSON config format, DN strings in both forms and the value rules. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "test_pki_common.h"

static trustx_rc from_json(const char *json, trustx_pki_subject *s)
{
    return trustx_pki_subject_from_json(json, strlen(json), "test.jsn", s);
}

static void assert_attr(const trustx_pki_subject *s, size_t i, const char *name,
                        const char *value)
{
    assert_true(i < s->count);
    assert_string_equal(s->attrs[i].name, name);
    assert_string_equal(s->attrs[i].value, value);
}

static void config_vendor_example_in_order(void **state)
{
    trustx_pki_subject s;

    assert_int_equal(trustx_pki_subject_load(TEST_DATA("vendor-example-config.jsn"), &s), TRUSTX_OK);
    assert_int_equal(s.count, 4);
    assert_attr(&s, 0, "CN", "AWS IoT Certificate");
    assert_attr(&s, 1, "O", "Infineon Technologies AG");
    assert_attr(&s, 2, "C", "DE");
    assert_attr(&s, 3, "ST", "Germany");
}

static void config_keeps_file_order(void **state)
{
    trustx_pki_subject s;

    assert_int_equal(from_json("{\"C\": \"US\", \"L\": \"Seattle\", \"serialNumber\": \"A-1\", "
                               "\"emailAddress\": \"ops@example.com\", \"OU\": \"Line 3\", "
                               "\"CN\": \"dev-1\"}",
                               &s),
                     TRUSTX_OK);
    assert_int_equal(s.count, 6);
    assert_attr(&s, 0, "C", "US");
    assert_attr(&s, 1, "L", "Seattle");
    assert_attr(&s, 2, "serialNumber", "A-1");
    assert_attr(&s, 3, "emailAddress", "ops@example.com");
    assert_attr(&s, 4, "OU", "Line 3");
    assert_attr(&s, 5, "CN", "dev-1");
}

static void config_accepts_utf8_bom(void **state)
{
    trustx_pki_subject s;

    assert_int_equal(from_json("\xEF\xBB\xBF{\"CN\": \"dev-1\"}\n", &s), TRUSTX_OK);
    assert_int_equal(s.count, 1);
    assert_attr(&s, 0, "CN", "dev-1");
}

static void config_missing_cn(void **state)
{
    trustx_pki_subject s;

    assert_failed_with(from_json("{\"O\": \"Acme\"}", &s), TRUSTX_E_INVALID_ARG,
                       "key \"CN\" is missing");
    assert_non_null(strstr(trustx_error_last()->message, "test.jsn"));
}

static void config_unknown_key_lists_accepted(void **state)
{
    trustx_pki_subject s;

    assert_failed_with(from_json("{\"CN\": \"a\", \"ThingName\": \"t1\"}", &s),
                       TRUSTX_E_INVALID_ARG, "unknown key \"ThingName\"");
    assert_non_null(strstr(trustx_error_last()->message, "emailAddress"));
    assert_non_null(strstr(trustx_error_last()->message, "serialNumber"));
}

static void config_misspelled_key_hint(void **state)
{
    trustx_pki_subject s;

    assert_failed_with(from_json("{\"cn\": \"a\"}", &s), TRUSTX_E_INVALID_ARG,
                       "key \"cn\" is not accepted; write it as \"CN\"");
    assert_failed_with(from_json("{\"CN\": \"a\", \"commonName\": \"b\"}", &s),
                       TRUSTX_E_INVALID_ARG, "write it as \"CN\"");
}

static void config_non_string_value(void **state)
{
    trustx_pki_subject s;

    assert_failed_with(from_json("{\"CN\": 5}", &s), TRUSTX_E_INVALID_ARG,
                       "key \"CN\" has a number value");
    assert_failed_with(from_json("{\"CN\": \"a\", \"O\": {\"x\": 1}}", &s),
                       TRUSTX_E_INVALID_ARG, "key \"O\" has a object value");
    assert_failed_with(from_json("{\"CN\": \"a\", \"OU\": null}", &s), TRUSTX_E_INVALID_ARG,
                       "key \"OU\" has a null value");
}

static void config_duplicate_key(void **state)
{
    trustx_pki_subject s;

    assert_failed_with(from_json("{\"CN\": \"a\", \"CN\": \"b\"}", &s), TRUSTX_E_INVALID_ARG,
                       "key \"CN\" appears more than once");
}

static void config_value_too_long(void **state)
{
    char json[512];
    char value[80];
    trustx_pki_subject s;

    memset(value, 'x', 64);
    value[64] = '\0';
    snprintf(json, sizeof(json), "{\"CN\": \"%s\"}", value);
    assert_int_equal(from_json(json, &s), TRUSTX_OK);

    value[64] = 'x';
    value[65] = '\0';
    snprintf(json, sizeof(json), "{\"CN\": \"%s\"}", value);
    assert_failed_with(from_json(json, &s), TRUSTX_E_INVALID_ARG, "key \"CN\"");
    assert_non_null(strstr(trustx_error_last()->message, "65 characters"));
    assert_non_null(strstr(trustx_error_last()->message, "maximum of 64"));
}

static void config_limit_counts_characters(void **state)
{
    char value[2 * 65 + 1] = "";
    trustx_pki_subject s;

    trustx_pki_subject_init(&s);
    for (int i = 0; i < 64; i++)
        strcat(value, "\xC3\xA4");   /* U+00E4, two bytes */
    assert_int_equal(trustx_pki_subject_add(&s, "CN", value), TRUSTX_OK);
    strcat(value, "\xC3\xA4");
    assert_failed_with(trustx_pki_subject_add(&s, "CN", value), TRUSTX_E_INVALID_ARG,
                       "65 characters");
}

static void config_bad_country(void **state)
{
    static const char *const bad[] = {"DEU", "de", "D1", "D", "\xC3\x84T"};
    char json[128];
    trustx_pki_subject s;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        snprintf(json, sizeof(json), "{\"CN\": \"a\", \"C\": \"%s\"}", bad[i]);
        assert_failed_with(from_json(json, &s), TRUSTX_E_INVALID_ARG, "key \"C\"");
        assert_non_null(strstr(trustx_error_last()->message, "ISO 3166"));
    }
}

static void config_empty_value(void **state)
{
    trustx_pki_subject s;

    assert_failed_with(from_json("{\"CN\": \"a\", \"O\": \"\"}", &s), TRUSTX_E_INVALID_ARG,
                       "subject attribute O is empty");
}

static void config_not_an_object(void **state)
{
    trustx_pki_subject s;

    assert_failed_with(from_json("[1, 2]", &s), TRUSTX_E_INVALID_ARG, "JSON array");
    assert_failed_with(from_json("{\"CN\": }", &s), TRUSTX_E_INVALID_ARG, "not valid JSON");
    assert_failed_with(from_json("{\"CN\": \"a\"}\n{\"O\": \"b\"}", &s), TRUSTX_E_INVALID_ARG,
                       "line 2");
    assert_failed_with(from_json(" \n", &s), TRUSTX_E_INVALID_ARG, "file is empty");
    assert_failed_with(trustx_pki_subject_from_json("{\"CN\": \"a\0\"}", 11, "t", &s),
                       TRUSTX_E_INVALID_ARG, "NUL byte");
    assert_failed_with(from_json("{\"CN\": \"ab\\u0000cd\"}", &s), TRUSTX_E_INVALID_ARG,
                       "\\u0000");
    assert_int_equal(from_json("{\"CN\": \"ab\\\\u0000cd\"}", &s), TRUSTX_OK);
    assert_string_equal(s.attrs[0].value, "ab\\u0000cd");
}

static void config_missing_file(void **state)
{
    trustx_pki_subject s;

    assert_int_equal(trustx_pki_subject_load("/nonexistent/config.jsn", &s),
                     TRUSTX_E_INVALID_ARG);
    assert_non_null(strstr(trustx_error_last()->message, "/nonexistent/config.jsn"));
}

static void value_rules_by_string_type(void **state)
{
    trustx_pki_subject s;

    trustx_pki_subject_init(&s);
    assert_failed_with(trustx_pki_subject_add(&s, "emailAddress", "j\xC3\xB6rg@example.com"),
                       TRUSTX_E_INVALID_ARG, "IA5String");
    assert_failed_with(trustx_pki_subject_add(&s, "serialNumber", "A@1"), TRUSTX_E_INVALID_ARG,
                       "PrintableString");
    assert_failed_with(trustx_pki_subject_add(&s, "CN", "a\tb"), TRUSTX_E_INVALID_ARG,
                       "control character U+0009");
    assert_failed_with(trustx_pki_subject_add(&s, "CN", "a\xC3("), TRUSTX_E_INVALID_ARG,
                       "not valid UTF-8");
    assert_failed_with(trustx_pki_subject_add(&s, "CN", "\xC0\xAF"), TRUSTX_E_INVALID_ARG,
                       "not valid UTF-8");
    assert_failed_with(trustx_pki_subject_add(&s, "CN", "\xED\xA0\x80"), TRUSTX_E_INVALID_ARG,
                       "not valid UTF-8");
    assert_failed_with(trustx_pki_subject_add(&s, "Nickname", "x"), TRUSTX_E_INVALID_ARG,
                       "unknown subject attribute \"Nickname\"");
    assert_int_equal(s.count, 0);

    assert_int_equal(trustx_pki_subject_add(&s, "CN", "Stra\xC3\x9F" "e \xE2\x82\xAC"),
                     TRUSTX_OK);
    assert_int_equal(trustx_pki_subject_add(&s, "serialNumber", "AB-12 (3)"), TRUSTX_OK);
    assert_int_equal(s.count, 2);
}

static void value_bounds_per_attribute(void **state)
{
    static const struct {
        const char *name;
        size_t max;
    } bounds[] = {{"CN", 64},           {"O", 64},  {"OU", 64},     {"ST", 128},
                  {"L", 128},           {"serialNumber", 64},       {"emailAddress", 128},
                  {"title", 64},        {"DC", 63}, {"givenName", 128}};
    char value[TRUSTX_PKI_VALUE_BYTES_MAX];
    trustx_pki_subject s;

    for (size_t i = 0; i < sizeof(bounds) / sizeof(bounds[0]); i++) {
        trustx_pki_subject_init(&s);
        memset(value, 'a', bounds[i].max);
        value[bounds[i].max] = '\0';
        assert_int_equal(trustx_pki_subject_add(&s, bounds[i].name, value), TRUSTX_OK);
        value[bounds[i].max] = 'a';
        value[bounds[i].max + 1] = '\0';
        assert_failed_with(trustx_pki_subject_add(&s, bounds[i].name, value),
                           TRUSTX_E_INVALID_ARG, "characters long");
    }
}

static void subject_capacity(void **state)
{
    trustx_pki_subject s;

    trustx_pki_subject_init(&s);
    for (int i = 0; i < TRUSTX_PKI_SUBJECT_MAX; i++)
        assert_int_equal(trustx_pki_subject_add(&s, "OU", "unit"), TRUSTX_OK);
    assert_failed_with(trustx_pki_subject_add(&s, "OU", "unit"), TRUSTX_E_OVERFLOW,
                       "more than 16 attributes");
}

static void names_list_matches_table(void **state)
{
    char names[512];
    size_t count = 0;
    trustx_pki_subject s;

    snprintf(names, sizeof(names), "%s", trustx_pki_subject_names());
    trustx_pki_subject_init(&s);
    for (char *save = NULL, *name = strtok_r(names, ", ", &save); name != NULL;
         name = strtok_r(NULL, ", ", &save)) {
        const char *value = strcmp(name, "C") == 0 ? "DE" : "x";

        assert_int_equal(trustx_pki_subject_add(&s, name, value), TRUSTX_OK);
        assert_string_equal(s.attrs[count].name, name);
        count++;
    }
    assert_int_equal(count, 15);
}

static void dn_openssl_form(void **state)
{
    trustx_pki_subject s;

    assert_int_equal(trustx_pki_subject_parse("/CN=dev 1/O=Acme\\/Sub, Inc./C=DE/OU=a+b", &s),
                     TRUSTX_OK);
    assert_int_equal(s.count, 4);
    assert_attr(&s, 0, "CN", "dev 1");
    assert_attr(&s, 1, "O", "Acme/Sub, Inc.");
    assert_attr(&s, 2, "C", "DE");
    assert_attr(&s, 3, "OU", "a+b");
}

static void dn_rfc4514_form_reversed(void **state)
{
    trustx_pki_subject s;

    assert_int_equal(trustx_pki_subject_parse("CN=dev-1, O=Acme\\, Inc.,C=DE", &s), TRUSTX_OK);
    assert_int_equal(s.count, 3);
    assert_attr(&s, 0, "C", "DE");
    assert_attr(&s, 1, "O", "Acme, Inc.");
    assert_attr(&s, 2, "CN", "dev-1");
}

static void dn_rfc4514_escapes(void **state)
{
    trustx_pki_subject s;

    assert_int_equal(trustx_pki_subject_parse("CN=caf\\C3\\A9 \\+ bar\\=\\\"q\\\"\\; \\<x\\>", &s),
                     TRUSTX_OK);
    assert_attr(&s, 0, "CN", "caf\xC3\xA9 + bar=\"q\"; <x>");

    assert_int_equal(trustx_pki_subject_parse("CN=\\ padded\\ ,O=x", &s), TRUSTX_OK);
    assert_attr(&s, 1, "CN", " padded ");

    assert_int_equal(trustx_pki_subject_parse("commonName=a,organizationName=b,DC=example", &s),
                     TRUSTX_OK);
    assert_attr(&s, 0, "DC", "example");
    assert_attr(&s, 1, "O", "b");
    assert_attr(&s, 2, "CN", "a");
}

static void dn_rejects_bad_strings(void **state)
{
    static const struct {
        const char *text;
        const char *message;
    } cases[] = {
        {"CN=a+O=b", "multi-valued"},
        {"CN=#0403616263", "hex-encoded"},
        {"O=Acme", "has no CN"},
        {"", "subject is empty"},
        {"   ", "subject is empty"},
        {"/CN", "expected '='"},
        {"/CN=a/", "expected an attribute name"},
        {"CN=a,", "expected an attribute name"},
        {"CN=a\\", "invalid escape"},
        {"CN=a\\q", "invalid escape"},
        {"CN=a\\00b", "NUL byte"},
        {"CN=a<b", "must be escaped"},
        {"XX=1,CN=a", "unknown subject attribute \"XX\""},
        {"/CN=a/C=Germany", "ISO 3166"},
        {"CN=,O=b", "subject attribute CN is empty"},
    };
    trustx_pki_subject s;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        trustx_rc rc = trustx_pki_subject_parse(cases[i].text, &s);

        if (rc != TRUSTX_E_INVALID_ARG ||
            strstr(trustx_error_last()->message, cases[i].message) == NULL)
            fail_msg("\"%s\": rc %d, message \"%s\", expected \"%s\"", cases[i].text, (int)rc,
                     trustx_error_last()->message, cases[i].message);
    }
}

static void format_round_trip(void **state)
{
    trustx_pki_subject s, back;
    char text[256];

    assert_int_equal(trustx_pki_subject_parse("/CN=a\\/b\\\\c/O=x y/C=DE", &s), TRUSTX_OK);
    assert_int_equal(trustx_pki_subject_format(&s, text, sizeof(text)), TRUSTX_OK);
    assert_string_equal(text, "/CN=a\\/b\\\\c/O=x y/C=DE");
    assert_int_equal(trustx_pki_subject_parse(text, &back), TRUSTX_OK);
    assert_int_equal(back.count, s.count);
    for (size_t i = 0; i < s.count; i++)
        assert_attr(&back, i, s.attrs[i].name, s.attrs[i].value);

    assert_failed_with(trustx_pki_subject_format(&s, text, 10), TRUSTX_E_OVERFLOW,
                       "10-byte buffer");
}

static void find_by_name(void **state)
{
    trustx_pki_subject s;

    assert_int_equal(trustx_pki_subject_parse("/CN=a/OU=one/OU=two", &s), TRUSTX_OK);
    assert_string_equal(trustx_pki_subject_find(&s, "ou"), "one");
    assert_null(trustx_pki_subject_find(&s, "O"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(config_vendor_example_in_order),
        cmocka_unit_test(config_keeps_file_order),
        cmocka_unit_test(config_accepts_utf8_bom),
        cmocka_unit_test(config_missing_cn),
        cmocka_unit_test(config_unknown_key_lists_accepted),
        cmocka_unit_test(config_misspelled_key_hint),
        cmocka_unit_test(config_non_string_value),
        cmocka_unit_test(config_duplicate_key),
        cmocka_unit_test(config_value_too_long),
        cmocka_unit_test(config_limit_counts_characters),
        cmocka_unit_test(config_bad_country),
        cmocka_unit_test(config_empty_value),
        cmocka_unit_test(config_not_an_object),
        cmocka_unit_test(config_missing_file),
        cmocka_unit_test(value_rules_by_string_type),
        cmocka_unit_test(value_bounds_per_attribute),
        cmocka_unit_test(subject_capacity),
        cmocka_unit_test(names_list_matches_table),
        cmocka_unit_test(dn_openssl_form),
        cmocka_unit_test(dn_rfc4514_form_reversed),
        cmocka_unit_test(dn_rfc4514_escapes),
        cmocka_unit_test(dn_rejects_bad_strings),
        cmocka_unit_test(format_round_trip),
        cmocka_unit_test(find_by_name),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

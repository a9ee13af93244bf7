/* SPDX-License-Identifier: MIT */
/* Command-layer codecs that need no chip: OIDs, metadata TLVs, access conditions, the UID. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "trustx/cmd.h"

static void oid_accepts_any_case(void **state)
{
    static const char *const forms[] = {"E0F1", "e0f1", "0xE0F1", "0xe0f1", "0XE0f1"};
    uint16_t oid = 0;

    for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
        assert_int_equal(trustx_oid_parse(forms[i], &oid), TRUSTX_OK);
        assert_int_equal(oid, 0xE0F1);
    }
}

static void oid_rejects_malformed(void **state)
{
    static const char *const bad[] = {"", "E0F", "E0F10", "0x", "G0F1", "0xE0F1 ", "-E0F"};
    uint16_t oid = 0;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(trustx_oid_parse(bad[i], &oid), TRUSTX_E_INVALID_ARG);
        assert_non_null(strstr(trustx_error_last()->message, "invalid object identifier"));
    }
}

static void metadata_decodes_observed_blob(void **state)
{
    /* Read back from a Trust X after a merge write: C0 C4 C5 D0 D1. */
    static const uint8_t blob[] = {0x20, 0x10, 0xC0, 0x01, 0x01, 0xC4, 0x02, 0x06, 0xC0,
                                   0xC5, 0x01, 0x0F, 0xD0, 0x01, 0xFF, 0xD1, 0x01, 0x00};
    trustx_metadata md;
    uint8_t out[64];
    size_t len = 0;

    assert_int_equal(trustx_metadata_decode(blob, sizeof(blob), &md), TRUSTX_OK);
    assert_int_equal(md.lcso, 0x01);
    assert_int_equal(md.max_size, 1728);
    assert_int_equal(md.used_size, 15);
    assert_int_equal(md.change.len, 1);
    assert_int_equal(md.change.bytes[0], 0xFF);
    assert_int_equal(md.read.bytes[0], 0x00);
    assert_false(md.execute.present);

    assert_int_equal(trustx_metadata_encode(&md, out, sizeof(out), &len), TRUSTX_OK);
    assert_int_equal(len, sizeof(blob));
    assert_memory_equal(out, blob, sizeof(blob));
}

static void metadata_rejects_bad_lengths(void **state)
{
    static const uint8_t short_item[] = {0x20, 0x03, 0xC0, 0x02, 0x01};
    static const uint8_t bad_container[] = {0x21, 0x00};
    static const uint8_t unknown_tag[] = {0x20, 0x03, 0x99, 0x01, 0x00};
    trustx_metadata md;

    assert_int_equal(trustx_metadata_decode(short_item, sizeof(short_item), &md),
                     TRUSTX_E_PROTOCOL);
    assert_int_equal(trustx_metadata_decode(bad_container, sizeof(bad_container), &md),
                     TRUSTX_E_PROTOCOL);
    assert_int_equal(trustx_metadata_decode(unknown_tag, sizeof(unknown_tag), &md),
                     TRUSTX_E_PROTOCOL);
}

static void ac_text_round_trips(void **state)
{
    static const struct {
        const char *text;
        uint8_t bytes[8];
        uint8_t len;
    } cases[] = {
        {"ALW", {0x00}, 1},
        {"NEV", {0xFF}, 1},
        {"LcsO<op", {0xE1, 0xFC, 0x07}, 3},
        {"LcsO>in||LcsG<0x04", {0xE1, 0xFB, 0x03, 0xFE, 0x70, 0xFC, 0x04}, 7},
        {"LcsA==op&&LcsO<te", {0xE0, 0xFA, 0x07, 0xFD, 0xE1, 0xFC, 0x0F}, 7},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        trustx_ac ac;
        char text[64];

        assert_int_equal(trustx_ac_parse(cases[i].text, &ac), TRUSTX_OK);
        assert_int_equal(ac.len, cases[i].len);
        assert_memory_equal(ac.bytes, cases[i].bytes, cases[i].len);
        trustx_ac_format(&ac, text, sizeof(text));
        assert_string_equal(text, cases[i].text);
    }
}

static void ac_rejects_garbage(void **state)
{
    static const char *const bad[] = {"", "always", "LcsO<", "LcsO<op||", "LcsX<op", "LcsO~op"};
    trustx_ac ac;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(trustx_ac_parse(bad[i], &ac), TRUSTX_E_INVALID_ARG);
}

static void uid_layout(void **state)
{
    /* A UID printed from a real Trust X (FW 1.40.1118). */
    static const uint8_t raw[27] = {0xCD, 0x16, 0x33, 0x6B, 0x01, 0x00, 0x1C, 0x00, 0x01,
                                    0x00, 0x00, 0x0A, 0x08, 0x52, 0x55, 0x00, 0x0A, 0x00,
                                    0x5C, 0x00, 0x46, 0x80, 0x10, 0x10, 0x71, 0x11, 0x18};
    trustx_uid uid;

    assert_int_equal(trustx_uid_decode(raw, sizeof(raw), &uid), TRUSTX_OK);
    assert_int_equal(uid.cim_id, 0xCD);
    assert_int_equal(uid.model_id, 0x33);
    assert_int_equal(uid.rom_mask_id, 0x6B01);
    assert_int_equal(uid.wafer_x, 0x005C);
    assert_int_equal(uid.wafer_y, 0x0046);
    assert_int_equal(uid.firmware_id, 0x80101071);
    assert_int_equal(uid.build, 0x1118);
    assert_int_equal(trustx_uid_decode(raw, 26, &uid), TRUSTX_E_PROTOCOL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(oid_accepts_any_case),
        cmocka_unit_test(oid_rejects_malformed),
        cmocka_unit_test(metadata_decodes_observed_blob),
        cmocka_unit_test(metadata_rejects_bad_lengths),
        cmocka_unit_test(ac_text_round_trips),
        cmocka_unit_test(ac_rejects_garbage),
        cmocka_unit_test(uid_layout),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

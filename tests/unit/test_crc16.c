/* SPDX-License-Identifier: MIT */
/* Known answers for the frame check sequence (CRC-16/KERMIT register). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "trustx/ifxi2c.h"

static void crc16_check_value(void **state)
{
    const uint8_t text[] = "123456789";

    assert_int_equal(trustx_crc16(text, 9), 0x2189);
}

static void crc16_control_frames(void **state)
{
    static const struct {
        uint8_t head[3];
        uint16_t crc;
    } cases[] = {
        {{0x80, 0x00, 0x00}, 0x0CEC}, {{0x81, 0x00, 0x00}, 0x5630},
        {{0x82, 0x00, 0x00}, 0xB954}, {{0x83, 0x00, 0x00}, 0xE388},
        {{0xA0, 0x00, 0x00}, 0x0FD7}, {{0xA1, 0x00, 0x00}, 0x550B},
        {{0xC0, 0x00, 0x00}, 0x0A9A},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        assert_int_equal(trustx_crc16(cases[i].head, 3), cases[i].crc);
}

static void crc16_update_splits(void **state)
{
    const uint8_t text[] = "123456789";

    for (size_t cut = 0; cut <= 9; cut++) {
        uint16_t crc = trustx_crc16_update(0, text, cut);
        assert_int_equal(trustx_crc16_update(crc, text + cut, 9 - cut), 0x2189);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(crc16_check_value),
        cmocka_unit_test(crc16_control_frames),
        cmocka_unit_test(crc16_update_splits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

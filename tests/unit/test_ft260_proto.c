/* SPDX-License-Identifier: MIT */
/* FT260 report encoding and decoding: write splitting, read requests, status words. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "transport/ft260_proto.h"

static void fill_pattern(uint8_t *buf, size_t len)
{
    for (size_t i = 0; i < len; i++)
        buf[i] = (uint8_t)(i * 7 + 3);
}

static void write_single_report_layout(void **state)
{
    const uint8_t data[5] = {0x80, 0x01, 0x02, 0x03, 0x04};
    uint8_t report[FT260_REPORT_MAX];
    size_t n;

    memset(report, 0xEE, sizeof(report));
    n = transport_ft260_encode_write(0x30, data, sizeof(data), 0, report);

    /* 5 bytes need report 0xD1 (8 payload bytes): header 4 + 8 = 12 bytes. */
    assert_int_equal(n, 12);
    assert_int_equal(report[0], 0xD1);
    assert_int_equal(report[1], 0x30);
    assert_int_equal(report[2], FT260_I2C_START_AND_STOP);
    assert_int_equal(report[3], 5);
    assert_memory_equal(report + 4, data, 5);
    assert_int_equal(report[9], 0);
    assert_int_equal(report[10], 0);
    assert_int_equal(report[11], 0);
}

static void write_report_id_steps(void **state)
{
    static const struct {
        size_t len;
        uint8_t id;
        size_t report_len;
    } cases[] = {
        {1, 0xD0, 8},   {4, 0xD0, 8},   {5, 0xD1, 12},  {8, 0xD1, 12},
        {9, 0xD2, 16},  {56, 0xDD, 60}, {57, 0xDE, 64}, {60, 0xDE, 64},
    };
    uint8_t data[FT260_WRITE_PAYLOAD_MAX];
    uint8_t report[FT260_REPORT_MAX];

    fill_pattern(data, sizeof(data));
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        size_t n = transport_ft260_encode_write(0x30, data, cases[i].len, 0, report);

        assert_int_equal(n, cases[i].report_len);
        assert_int_equal(report[0], cases[i].id);
        assert_int_equal(report[3], cases[i].len);
    }
}

static void write_split_over_reports(void **state)
{
    uint8_t data[130];
    uint8_t joined[sizeof(data)];
    uint8_t report[FT260_REPORT_MAX];
    static const uint8_t flags[3] = {FT260_I2C_START, FT260_I2C_NONE, FT260_I2C_STOP};
    static const uint8_t ids[3] = {0xDE, 0xDE, 0xD2};
    static const uint8_t lens[3] = {60, 60, 10};
    size_t at = 0;

    fill_pattern(data, sizeof(data));
    assert_int_equal(transport_ft260_write_report_count(sizeof(data)), 3);

    for (size_t i = 0; i < 3; i++) {
        size_t n = transport_ft260_encode_write(0x31, data, sizeof(data), i, report);

        assert_int_not_equal(n, 0);
        assert_int_equal(report[0], ids[i]);
        assert_int_equal(report[1], 0x31);
        assert_int_equal(report[2], flags[i]);
        assert_int_equal(report[3], lens[i]);
        memcpy(joined + at, report + 4, report[3]);
        at += report[3];
    }
    assert_int_equal(at, sizeof(data));
    assert_memory_equal(joined, data, sizeof(data));
    assert_int_equal(transport_ft260_encode_write(0x31, data, sizeof(data), 3, report), 0);
}

static void write_report_count_edges(void **state)
{
    assert_int_equal(transport_ft260_write_report_count(1), 1);
    assert_int_equal(transport_ft260_write_report_count(60), 1);
    assert_int_equal(transport_ft260_write_report_count(61), 2);
    assert_int_equal(transport_ft260_write_report_count(120), 2);
    assert_int_equal(transport_ft260_write_report_count(121), 3);
    assert_int_equal(transport_ft260_write_report_count(278), 5);
}

static void write_exact_multiple_flags(void **state)
{
    uint8_t data[120];
    uint8_t report[FT260_REPORT_MAX];

    fill_pattern(data, sizeof(data));
    assert_int_equal(transport_ft260_encode_write(0x30, data, 120, 0, report), 64);
    assert_int_equal(report[2], FT260_I2C_START);
    assert_int_equal(transport_ft260_encode_write(0x30, data, 120, 1, report), 64);
    assert_int_equal(report[2], FT260_I2C_STOP);
    assert_int_equal(report[3], 60);
    assert_memory_equal(report + 4, data + 60, 60);
}

static void write_empty_rejected(void **state)
{
    uint8_t report[FT260_REPORT_MAX];

    assert_int_equal(transport_ft260_encode_write(0x30, NULL, 0, 0, report), 0);
}

static void read_request_layout(void **state)
{
    uint8_t report[FT260_REPORT_MAX];

    assert_int_equal(transport_ft260_encode_read_request(0x30, 0x0115, FT260_I2C_START_AND_STOP,
                                                         report),
                     FT260_READ_REQUEST_LEN);
    assert_int_equal(report[0], 0xC2);
    assert_int_equal(report[1], 0x30);
    assert_int_equal(report[2], 0x06);
    assert_int_equal(report[3], 0x15); /* length, little-endian */
    assert_int_equal(report[4], 0x01);
}

static void read_request_limits(void **state)
{
    uint8_t report[FT260_REPORT_MAX];

    assert_int_equal(transport_ft260_encode_read_request(0x30, 0, 0x06, report), 0);
    assert_int_equal(transport_ft260_encode_read_request(0x30, 0x10000, 0x06, report), 0);
    assert_int_equal(transport_ft260_encode_read_request(0x30, 0xFFFF, 0x06, report), 5);
    assert_int_equal(report[3], 0xFF);
    assert_int_equal(report[4], 0xFF);
}

static void input_report_decoding(void **state)
{
    uint8_t report[FT260_REPORT_MAX] = {0xD2, 10};
    size_t offset = 99, len = 99;

    assert_int_equal(transport_ft260_decode_input(report, 14, &offset, &len), 0);
    assert_int_equal(offset, 2);
    assert_int_equal(len, 10);

    /* The length field may not run past the bytes received. */
    assert_int_equal(transport_ft260_decode_input(report, 11, &offset, &len), -2);

    report[0] = 0xC0;
    assert_int_equal(transport_ft260_decode_input(report, 14, &offset, &len), -1);
    report[0] = 0xDF;
    assert_int_equal(transport_ft260_decode_input(report, 14, &offset, &len), -1);
    report[0] = 0xD0;
    assert_int_equal(transport_ft260_decode_input(report, 1, &offset, &len), -1);
}

static void status_report_decoding(void **state)
{
    const uint8_t report[5] = {0xC0, 0x20, 0x90, 0x01, 0x00};
    const uint8_t other[5] = {0xA1, 0x20, 0x90, 0x01, 0x00};
    ft260_status st;

    assert_int_equal(transport_ft260_decode_status(report, 5, &st), 0);
    assert_int_equal(st.bus, 0x20);
    assert_int_equal(st.clock_khz, 400);
    assert_int_equal(transport_ft260_decode_status(other, 5, &st), -1);
    assert_int_equal(transport_ft260_decode_status(report, 3, &st), -1);
}

static void status_words_each_bit(void **state)
{
    static const struct {
        uint8_t bus;
        const char *text;
    } cases[] = {
        {0x01, "controller busy"},
        {0x02, "error"},
        {0x04, "address not acknowledged"},
        {0x08, "data not acknowledged"},
        {0x10, "arbitration lost"},
        {0x20, "controller idle"},
        {0x40, "bus busy"},
        {0x00, "no status bits"},
        {0x26, "error, address not acknowledged, controller idle"},
        {0x41, "controller busy, bus busy"},
    };
    char buf[160];

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        assert_string_equal(transport_ft260_status_words(cases[i].bus, buf, sizeof(buf)),
                            cases[i].text);
}

static void status_words_truncates_safely(void **state)
{
    char buf[12];

    memset(buf, 'x', sizeof(buf));
    transport_ft260_status_words(0x7F, buf, sizeof(buf));
    assert_true(memchr(buf, '\0', sizeof(buf)) != NULL);
    assert_string_equal(buf, "controller ");
}

static void status_classification(void **state)
{
    assert_int_equal(transport_ft260_classify(0x20, 1), FT260_OUTCOME_DONE);
    assert_int_equal(transport_ft260_classify(0x01, 1), FT260_OUTCOME_PENDING);
    assert_int_equal(transport_ft260_classify(0x03, 1), FT260_OUTCOME_PENDING);
    assert_int_equal(transport_ft260_classify(0x26, 1), FT260_OUTCOME_NACK);
    assert_int_equal(transport_ft260_classify(0x2A, 1), FT260_OUTCOME_FAILED);
    assert_int_equal(transport_ft260_classify(0x32, 1), FT260_OUTCOME_FAILED);
    assert_int_equal(transport_ft260_classify(0x22, 0), FT260_OUTCOME_FAILED);

    /* Between the reports of one write the bridge keeps the bus busy, but after STOP it must not. */
    assert_int_equal(transport_ft260_classify(0x60, 0), FT260_OUTCOME_DONE);
    assert_int_equal(transport_ft260_classify(0x60, 1), FT260_OUTCOME_PENDING);
}

static void settings_requests(void **state)
{
    uint8_t report[FT260_REPORT_MAX];

    assert_int_equal(transport_ft260_encode_set_clock(400, report), 4);
    assert_int_equal(report[0], 0xA1);
    assert_int_equal(report[1], 0x22);
    assert_int_equal(report[2], 0x90);
    assert_int_equal(report[3], 0x01);

    assert_int_equal(transport_ft260_encode_set_clock(3400, report), 4);
    assert_int_equal(report[2], 0x48);
    assert_int_equal(report[3], 0x0D);

    assert_int_equal(transport_ft260_encode_i2c_reset(report), 2);
    assert_int_equal(report[0], 0xA1);
    assert_int_equal(report[1], 0x20);

    assert_int_equal(transport_ft260_encode_enable_i2c(report), 3);
    assert_int_equal(report[0], 0xA1);
    assert_int_equal(report[1], 0x02);
    assert_int_equal(report[2], 0x01);
}

static void bus_time_rounding(void **state)
{
    /* 3 bytes plus the address byte, 36 bits at 400 kHz = 90 us. */
    assert_int_equal(transport_ft260_bus_time_us(3, 400), 90);
    /* 1 byte plus address, 18 bits at 400 kHz = 45 us. */
    assert_int_equal(transport_ft260_bus_time_us(1, 400), 45);
    /* 18 bits at 1000 kHz = 18 us; at 3400 kHz 5.3 us rounds up to 6. */
    assert_int_equal(transport_ft260_bus_time_us(1, 1000), 18);
    assert_int_equal(transport_ft260_bus_time_us(1, 3400), 6);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(write_single_report_layout),
        cmocka_unit_test(write_report_id_steps),
        cmocka_unit_test(write_split_over_reports),
        cmocka_unit_test(write_report_count_edges),
        cmocka_unit_test(write_exact_multiple_flags),
        cmocka_unit_test(write_empty_rejected),
        cmocka_unit_test(read_request_layout),
        cmocka_unit_test(read_request_limits),
        cmocka_unit_test(input_report_decoding),
        cmocka_unit_test(status_report_decoding),
        cmocka_unit_test(status_words_each_bit),
        cmocka_unit_test(status_words_truncates_safely),
        cmocka_unit_test(status_classification),
        cmocka_unit_test(settings_requests),
        cmocka_unit_test(bus_time_rounding),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

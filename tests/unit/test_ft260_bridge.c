/* SPDX-License-Identifier: MIT */
/*
 * The FT260 transport driven over a scripted HID device: what reports it
 * sends for opens, writes and reads, and how it turns bridge status into
 * NACK, bus errors, resets and timeouts. Also the ft260: device strings.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "transport/ft260_hid.h"
#include "transport/ft260_proto.h"
#include "trustx/transport.h"

#define MOCK_LOG_MAX 64
#define MOCK_INPUT_MAX 16
#define MOCK_NAME "ft260:mock"

/* One report the transport sent, output or feature. */
typedef struct sent_report {
    char kind;                 /* 'O' output, 'F' set feature */
    uint8_t bytes[FT260_REPORT_MAX];
    size_t len;
} sent_report;

/* A minimal FT260: a fixed status byte, queued input reports and a log of reports sent. */
typedef struct mock_ft260 {
    sent_report log[MOCK_LOG_MAX];
    size_t log_len;

    uint8_t input[MOCK_INPUT_MAX][FT260_REPORT_MAX];
    size_t input_len[MOCK_INPUT_MAX];
    size_t input_head, input_tail;

    uint8_t status;            /* bus status byte returned after the busy polls */
    unsigned busy_polls;       /* status polls that return "controller busy" first */
    unsigned stuck_until_resets; /* status shows a busy bus until this many resets */
    int reset_clears_status;   /* a reset sets the status to "controller idle" */
    int status_malformed;
    uint8_t chip_mode;
    uint8_t i2c_enable;
    unsigned clock_khz;
    unsigned resets;
    unsigned status_reads;

    /* Data returned for each read request (NULL: no input reports at all). */
    const uint8_t *read_data;
    size_t read_extra;         /* bytes more than requested, to test the overflow guard */
} mock_ft260;

static void queue_input(mock_ft260 *m, const uint8_t *data, size_t len)
{
    uint8_t *r = m->input[m->input_tail % MOCK_INPUT_MAX];

    r[0] = (uint8_t)(FT260_REPORT_I2C_DATA_FIRST + (len - 1) / 4);
    r[1] = (uint8_t)len;
    memcpy(r + 2, data, len);
    m->input_len[m->input_tail % MOCK_INPUT_MAX] = 2 + len;
    m->input_tail++;
}

static void record(mock_ft260 *m, char kind, const uint8_t *report, size_t len)
{
    assert_true(m->log_len < MOCK_LOG_MAX);
    assert_true(len <= FT260_REPORT_MAX);
    m->log[m->log_len].kind = kind;
    memcpy(m->log[m->log_len].bytes, report, len);
    m->log[m->log_len].len = len;
    m->log_len++;
}

static trustx_rc mock_write_output(void *dev, const uint8_t *report, size_t len)
{
    mock_ft260 *m = dev;

    record(m, 'O', report, len);
    if (report[0] == FT260_REPORT_I2C_READ_REQUEST && m->read_data != NULL) {
        size_t want = (size_t)report[3] | ((size_t)report[4] << 8);
        size_t total = want + m->read_extra;

        for (size_t at = 0; at < total; at += 60)
            queue_input(m, m->read_data + at, total - at < 60 ? total - at : 60);
    }
    return TRUSTX_OK;
}

static trustx_rc mock_read_input(void *dev, uint8_t *report, size_t cap, size_t *len,
                                 unsigned timeout_ms)
{
    mock_ft260 *m = dev;
    size_t slot;

    if (m->input_head == m->input_tail)
        return TRUSTX_E_TIMEOUT;
    slot = m->input_head++ % MOCK_INPUT_MAX;
    assert_true(m->input_len[slot] <= cap);
    memcpy(report, m->input[slot], m->input_len[slot]);
    *len = m->input_len[slot];
    return TRUSTX_OK;
}

static trustx_rc mock_get_feature(void *dev, uint8_t id, uint8_t *buf, size_t cap, size_t *len)
{
    mock_ft260 *m = dev;

    memset(buf, 0, cap);
    buf[0] = id;
    if (id == FT260_REPORT_SYSTEM_SETTINGS) {
        assert_true(cap >= 25);
        buf[FT260_SETTINGS_CHIP_MODE] = m->chip_mode;
        buf[FT260_SETTINGS_I2C_ENABLE] = m->i2c_enable;
        *len = 25;
        return TRUSTX_OK;
    }

    assert_int_equal(id, FT260_REPORT_I2C_STATUS);
    assert_true(cap >= FT260_STATUS_REPORT_LEN);
    m->status_reads++;
    if (m->status_malformed) {
        buf[0] = 0x55;
        *len = 2;
        return TRUSTX_OK;
    }
    if (m->busy_polls > 0) {
        m->busy_polls--;
        buf[1] = FT260_STATUS_CONTROLLER_BUSY;
    } else if (m->resets < m->stuck_until_resets) {
        buf[1] = FT260_STATUS_CONTROLLER_IDLE | FT260_STATUS_BUS_BUSY;
    } else {
        buf[1] = m->status;
    }
    buf[2] = (uint8_t)m->clock_khz;
    buf[3] = (uint8_t)(m->clock_khz >> 8);
    *len = FT260_STATUS_REPORT_LEN;
    return TRUSTX_OK;
}

static trustx_rc mock_set_feature(void *dev, const uint8_t *report, size_t len)
{
    mock_ft260 *m = dev;

    record(m, 'F', report, len);
    assert_int_equal(report[0], FT260_REPORT_SYSTEM_SETTINGS);
    if (report[1] == FT260_REQUEST_I2C_RESET) {
        m->resets++;
        if (m->reset_clears_status)
            m->status = FT260_STATUS_CONTROLLER_IDLE;
    }
    else if (report[1] == FT260_REQUEST_SET_I2C_CLOCK)
        m->clock_khz = (unsigned)report[2] | ((unsigned)report[3] << 8);
    else if (report[1] == FT260_REQUEST_SET_I2C_MODE)
        m->i2c_enable = report[2];
    return TRUSTX_OK;
}

/* The transport owns the device after open; the test keeps the mock, so close frees nothing. */
static void mock_close(void *dev)
{
    (void)dev;
}

static const ft260_hid_ops mock_ops = {
    .name = "mock",
    .write_output = mock_write_output,
    .read_input = mock_read_input,
    .get_feature = mock_get_feature,
    .set_feature = mock_set_feature,
    .close = mock_close,
};

static void mock_init(mock_ft260 *m)
{
    memset(m, 0, sizeof(*m));
    m->status = FT260_STATUS_CONTROLLER_IDLE;
    m->chip_mode = 3;
    m->i2c_enable = 1;
    m->clock_khz = 100;
}

static trustx_rc open_mock(mock_ft260 *m, unsigned speed_khz, trustx_transport **t)
{
    ft260_hid hid = {&mock_ops, m, MOCK_NAME};
    transport_bus_options opts = {0x30, speed_khz};

    return transport_ft260_open_hid(&hid, &opts, t);
}

/* Opens a mock bridge and clears the log of what the open sent, for tests of transfers. */
static trustx_transport *open_clean(mock_ft260 *m)
{
    trustx_transport *t = NULL;

    assert_int_equal(open_mock(m, 400, &t), TRUSTX_OK);
    m->log_len = 0;
    m->resets = 0;
    return t;
}

static size_t count_kind(const mock_ft260 *m, char kind)
{
    size_t n = 0;

    for (size_t i = 0; i < m->log_len; i++)
        n += m->log[i].kind == kind;
    return n;
}

static void assert_message_has(const char *text)
{
    const char *message = trustx_error_last()->message;

    if (strstr(message, text) == NULL)
        fail_msg("message '%s' lacks '%s'", message, text);
}

static void open_sets_clock_without_reset(void **state)
{
    mock_ft260 m;
    trustx_transport *t = NULL;

    mock_init(&m);
    assert_int_equal(open_mock(&m, 400, &t), TRUSTX_OK);
    assert_int_equal(m.resets, 0);
    assert_int_equal(m.clock_khz, 400);
    assert_int_equal(m.log_len, 1);
    assert_int_equal(m.log[0].kind, 'F');
    assert_int_equal(m.log[0].len, 4);
    assert_int_equal(m.log[0].bytes[1], FT260_REQUEST_SET_I2C_CLOCK);
    assert_int_equal(t->addr, 0x30);
    assert_int_equal(t->speed_khz, 400);
    trustx_transport_close(t);
}

static void open_recovers_stuck_bus(void **state)
{
    mock_ft260 m;
    trustx_transport *t = NULL;

    mock_init(&m);
    m.stuck_until_resets = 2;
    assert_int_equal(open_mock(&m, 100, &t), TRUSTX_OK);
    assert_int_equal(m.resets, 2);
    trustx_transport_close(t);
}

static void open_clears_latched_error(void **state)
{
    mock_ft260 m;
    trustx_transport *t = NULL;

    /* A NACK from an earlier session stays in the status until something clears it. */
    mock_init(&m);
    m.status = FT260_STATUS_CONTROLLER_IDLE | FT260_STATUS_ERROR | FT260_STATUS_ADDRESS_NACK;
    m.reset_clears_status = 1;
    assert_int_equal(open_mock(&m, 100, &t), TRUSTX_OK);
    assert_int_equal(m.resets, 1);
    trustx_transport_close(t);
}

static void open_fails_on_lasting_error(void **state)
{
    mock_ft260 m;
    trustx_transport *t = NULL;

    mock_init(&m);
    m.status = FT260_STATUS_CONTROLLER_IDLE | FT260_STATUS_ERROR | FT260_STATUS_ARBITRATION_LOST;
    assert_int_equal(open_mock(&m, 100, &t), TRUSTX_E_IO);
    assert_int_equal(m.resets, 3);
    assert_message_has("arbitration lost");
}

static void open_fails_on_busy_bus(void **state)
{
    mock_ft260 m;
    trustx_transport *t = NULL;

    mock_init(&m);
    m.stuck_until_resets = 1000;
    assert_int_equal(open_mock(&m, 400, &t), TRUSTX_E_IO);
    assert_null(t);
    assert_int_equal(m.resets, 3);
    assert_message_has(MOCK_NAME);
    assert_message_has("bus busy");
    assert_message_has("pull-up");
    assert_int_equal(trustx_rc_exit_status(trustx_error_last()->rc), 2);
}

static void open_enables_i2c(void **state)
{
    mock_ft260 m;
    trustx_transport *t = NULL;

    mock_init(&m);
    m.i2c_enable = 0;
    assert_int_equal(open_mock(&m, 400, &t), TRUSTX_OK);
    assert_int_equal(m.i2c_enable, 1);
    assert_int_equal(m.log[0].bytes[1], FT260_REQUEST_SET_I2C_MODE);
    trustx_transport_close(t);
}

static void open_rejects_uart_mode(void **state)
{
    mock_ft260 m;
    trustx_transport *t = NULL;

    mock_init(&m);
    m.chip_mode = FT260_CHIP_MODE_UART_ONLY;
    assert_int_equal(open_mock(&m, 400, &t), TRUSTX_E_IO);
    assert_message_has("UART only");
    assert_int_equal(m.log_len, 0);
}

static void open_rejects_malformed_status(void **state)
{
    mock_ft260 m;
    trustx_transport *t = NULL;

    mock_init(&m);
    m.status_malformed = 1;
    assert_int_equal(open_mock(&m, 400, &t), TRUSTX_E_PROTOCOL);
    assert_message_has("malformed I2C status report");
}

static void write_short_one_report(void **state)
{
    const uint8_t frame[3] = {0x82, 0x00, 0x01};
    mock_ft260 m;
    trustx_transport *t;

    mock_init(&m);
    t = open_clean(&m);
    m.busy_polls = 3;
    assert_int_equal(trustx_transport_write(t, frame, sizeof(frame)), TRUSTX_OK);
    assert_int_equal(m.log_len, 1);
    assert_int_equal(m.log[0].bytes[0], 0xD0);
    assert_int_equal(m.log[0].bytes[1], 0x30);
    assert_int_equal(m.log[0].bytes[2], FT260_I2C_START_AND_STOP);
    assert_int_equal(m.log[0].bytes[3], 3);
    assert_memory_equal(m.log[0].bytes + 4, frame, 3);
    assert_int_equal(m.busy_polls, 0);
    trustx_transport_close(t);
}

static void write_long_split(void **state)
{
    uint8_t frame[278];
    uint8_t joined[sizeof(frame)];
    size_t at = 0;
    mock_ft260 m;
    trustx_transport *t;

    for (size_t i = 0; i < sizeof(frame); i++)
        frame[i] = (uint8_t)(i ^ 0x5A);
    mock_init(&m);
    t = open_clean(&m);
    assert_int_equal(trustx_transport_write(t, frame, sizeof(frame)), TRUSTX_OK);

    assert_int_equal(m.log_len, 5);
    for (size_t i = 0; i < m.log_len; i++) {
        uint8_t expected = FT260_I2C_NONE;

        if (i == 0)
            expected = FT260_I2C_START;
        if (i == m.log_len - 1)
            expected = FT260_I2C_STOP;
        assert_int_equal(m.log[i].kind, 'O');
        assert_int_equal(m.log[i].bytes[2], expected);
        memcpy(joined + at, m.log[i].bytes + 4, m.log[i].bytes[3]);
        at += m.log[i].bytes[3];
    }
    assert_int_equal(at, sizeof(frame));
    assert_memory_equal(joined, frame, sizeof(frame));
    trustx_transport_close(t);
}

static void write_nack_is_retryable(void **state)
{
    uint8_t frame[100] = {0x80};
    mock_ft260 m;
    trustx_transport *t;

    mock_init(&m);
    t = open_clean(&m);
    m.status = FT260_STATUS_CONTROLLER_IDLE | FT260_STATUS_ERROR | FT260_STATUS_ADDRESS_NACK;
    assert_int_equal(trustx_transport_write(t, frame, sizeof(frame)), TRUSTX_E_NACK);

    /* The write stops at the first report and the controller is not reset for a NACK. */
    assert_int_equal(count_kind(&m, 'O'), 1);
    assert_int_equal(m.resets, 0);
    assert_message_has(MOCK_NAME);
    assert_message_has("0x30 not acknowledged");
    trustx_transport_close(t);
}

static void write_arbitration_lost(void **state)
{
    const uint8_t frame[2] = {0x88, 0x00};
    mock_ft260 m;
    trustx_transport *t;

    mock_init(&m);
    t = open_clean(&m);
    m.status = FT260_STATUS_CONTROLLER_IDLE | FT260_STATUS_ERROR | FT260_STATUS_ARBITRATION_LOST;
    assert_int_equal(trustx_transport_write(t, frame, sizeof(frame)), TRUSTX_E_IO);
    assert_int_equal(m.resets, 1);
    assert_message_has(MOCK_NAME);
    assert_message_has("arbitration lost");
    trustx_transport_close(t);
}

static void write_data_nack(void **state)
{
    const uint8_t frame[2] = {0x88, 0x00};
    mock_ft260 m;
    trustx_transport *t;

    mock_init(&m);
    t = open_clean(&m);
    m.status = FT260_STATUS_CONTROLLER_IDLE | FT260_STATUS_ERROR | FT260_STATUS_DATA_NACK;
    assert_int_equal(trustx_transport_write(t, frame, sizeof(frame)), TRUSTX_E_IO);
    assert_message_has("data not acknowledged");
    trustx_transport_close(t);
}

static void write_controller_stays_busy(void **state)
{
    const uint8_t frame[1] = {0x82};
    mock_ft260 m;
    trustx_transport *t;

    mock_init(&m);
    t = open_clean(&m);
    m.busy_polls = 1000000;
    assert_int_equal(trustx_transport_write(t, frame, sizeof(frame)), TRUSTX_E_IO);
    assert_int_equal(m.resets, 1);
    assert_message_has("did not finish");
    assert_message_has("controller busy");
    trustx_transport_close(t);
}

static void write_empty_rejected(void **state)
{
    mock_ft260 m;
    trustx_transport *t;

    mock_init(&m);
    t = open_clean(&m);
    assert_int_equal(trustx_transport_write(t, (const uint8_t *)"", 0), TRUSTX_E_INVALID_ARG);
    assert_int_equal(m.log_len, 0);
    trustx_transport_close(t);
}

static void read_collects_input_reports(void **state)
{
    uint8_t source[150];
    uint8_t buf[150];
    mock_ft260 m;
    trustx_transport *t;

    for (size_t i = 0; i < sizeof(source); i++)
        source[i] = (uint8_t)(255 - i);
    mock_init(&m);
    t = open_clean(&m);
    m.read_data = source;
    assert_int_equal(trustx_transport_read(t, buf, sizeof(buf)), TRUSTX_OK);
    assert_memory_equal(buf, source, sizeof(buf));

    assert_int_equal(m.log_len, 1);
    assert_int_equal(m.log[0].len, FT260_READ_REQUEST_LEN);
    assert_int_equal(m.log[0].bytes[0], FT260_REPORT_I2C_READ_REQUEST);
    assert_int_equal(m.log[0].bytes[2], FT260_I2C_START_AND_STOP);
    assert_int_equal(m.log[0].bytes[3], 150);
    assert_int_equal(m.log[0].bytes[4], 0);
    trustx_transport_close(t);
}

static void read_drops_stale_input(void **state)
{
    const uint8_t stale[4] = {0xDE, 0xAD, 0xBE, 0xEF};
    const uint8_t source[4] = {0x08, 0x00, 0x00, 0x00};
    uint8_t buf[4];
    mock_ft260 m;
    trustx_transport *t;

    mock_init(&m);
    t = open_clean(&m);
    queue_input(&m, stale, sizeof(stale));
    m.read_data = source;
    assert_int_equal(trustx_transport_read(t, buf, sizeof(buf)), TRUSTX_OK);
    assert_memory_equal(buf, source, sizeof(buf));
    trustx_transport_close(t);
}

static void read_nack_without_input(void **state)
{
    uint8_t buf[4];
    mock_ft260 m;
    trustx_transport *t;

    mock_init(&m);
    t = open_clean(&m);
    m.status = FT260_STATUS_CONTROLLER_IDLE | FT260_STATUS_ERROR | FT260_STATUS_ADDRESS_NACK;
    assert_int_equal(trustx_transport_read(t, buf, sizeof(buf)), TRUSTX_E_NACK);
    assert_int_equal(m.resets, 0);
    assert_message_has("0x30 not acknowledged on read");
    trustx_transport_close(t);
}

static void read_more_than_requested(void **state)
{
    uint8_t source[16] = {0};
    uint8_t buf[4];
    mock_ft260 m;
    trustx_transport *t;

    mock_init(&m);
    t = open_clean(&m);
    m.read_data = source;
    m.read_extra = 2;
    assert_int_equal(trustx_transport_read(t, buf, sizeof(buf)), TRUSTX_E_PROTOCOL);
    assert_message_has("more than the 4 bytes");
    assert_int_equal(m.resets, 1);
    trustx_transport_close(t);
}

static void read_times_out_without_data(void **state)
{
    uint8_t buf[4];
    mock_ft260 m;
    trustx_transport *t;

    /* The bridge stays idle and error-free but never sends the data. */
    mock_init(&m);
    t = open_clean(&m);
    assert_int_equal(trustx_transport_read(t, buf, sizeof(buf)), TRUSTX_E_IO);
    assert_message_has("timed out");
    assert_message_has("0 bytes received");
    assert_int_equal(m.resets, 1);
    trustx_transport_close(t);
}

static void read_length_limits(void **state)
{
    uint8_t buf[1];
    mock_ft260 m;
    trustx_transport *t;

    mock_init(&m);
    t = open_clean(&m);
    assert_int_equal(trustx_transport_read(t, buf, 0), TRUSTX_E_INVALID_ARG);
    assert_int_equal(trustx_transport_read(t, buf, 0x10000), TRUSTX_E_INVALID_ARG);
    assert_int_equal(m.log_len, 0);
    trustx_transport_close(t);
}

static void set_speed_range(void **state)
{
    mock_ft260 m;
    trustx_transport *t;

    mock_init(&m);
    t = open_clean(&m);
    assert_int_equal(trustx_transport_set_speed(t, 1000), TRUSTX_OK);
    assert_int_equal(m.clock_khz, 1000);
    assert_int_equal(trustx_transport_set_speed(t, 59), TRUSTX_E_INVALID_ARG);
    assert_int_equal(trustx_transport_set_speed(t, 3401), TRUSTX_E_INVALID_ARG);
    assert_int_equal(m.clock_khz, 1000);
    assert_int_equal(t->speed_khz, 1000);
    trustx_transport_close(t);
}

static void device_string_errors(void **state)
{
    static const struct {
        const char *device;
        trustx_rc rc;
        const char *text;
    } cases[] = {
        {"ft260:/dev/hidraw-nonexistent", TRUSTX_E_IO, "ft260:/dev/hidraw-nonexistent"},
        {"ft260:/dev/x,serial=Y", TRUSTX_E_INVALID_ARG, "at most one"},
        {"ft260:serial=A,emu=/tmp/b", TRUSTX_E_INVALID_ARG, "at most one"},
        {"ft260:hid=usb", TRUSTX_E_INVALID_ARG, "hid=usb"},
        {"ft260:speed=50", TRUSTX_E_INVALID_ARG, "minimum of 60 kHz"},
        {"ft260:bogus=1", TRUSTX_E_INVALID_ARG, "bogus"},
        {"ft260:serial=", TRUSTX_E_INVALID_ARG, "serial="},
        {"ft260:emu=/nonexistent/ft260.sock,addr=0x31", TRUSTX_E_IO,
         "ft260:emu=/nonexistent/ft260.sock"},
        {"ft260:/dev/null", TRUSTX_E_IO, "ft260:/dev/null"},
#ifdef TRUSTX_HAVE_HIDAPI
        {"ft260:serial=NOPE,hid=hidapi", TRUSTX_E_IO, "serial number 'NOPE'"},
#else
        {"ft260:serial=NOPE,hid=hidapi", TRUSTX_E_UNSUPPORTED, "no hidapi support"},
#endif
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        trustx_transport *t = NULL;
        trustx_rc rc = trustx_transport_open(cases[i].device, &t);

        if (rc != cases[i].rc)
            fail_msg("%s: rc %s, expected %s (%s)", cases[i].device, trustx_rc_name(rc),
                     trustx_rc_name(cases[i].rc), trustx_error_last()->message);
        assert_null(t);
        assert_message_has(cases[i].text);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(open_sets_clock_without_reset),
        cmocka_unit_test(open_recovers_stuck_bus),
        cmocka_unit_test(open_clears_latched_error),
        cmocka_unit_test(open_fails_on_lasting_error),
        cmocka_unit_test(open_fails_on_busy_bus),
        cmocka_unit_test(open_enables_i2c),
        cmocka_unit_test(open_rejects_uart_mode),
        cmocka_unit_test(open_rejects_malformed_status),
        cmocka_unit_test(write_short_one_report),
        cmocka_unit_test(write_long_split),
        cmocka_unit_test(write_nack_is_retryable),
        cmocka_unit_test(write_arbitration_lost),
        cmocka_unit_test(write_data_nack),
        cmocka_unit_test(write_controller_stays_busy),
        cmocka_unit_test(write_empty_rejected),
        cmocka_unit_test(read_collects_input_reports),
        cmocka_unit_test(read_drops_stale_input),
        cmocka_unit_test(read_nack_without_input),
        cmocka_unit_test(read_more_than_requested),
        cmocka_unit_test(read_times_out_without_data),
        cmocka_unit_test(read_length_limits),
        cmocka_unit_test(set_speed_range),
        cmocka_unit_test(device_string_errors),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

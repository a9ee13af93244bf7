/* SPDX-License-Identifier: MIT */
/*
 * The protocol stack driven against a scripted bus: an ordered list of the
 * exact write transactions the host must make and the replies its reads get.
 * Any other transaction fails the test, and so does an access that starts
 * less than the guard time after the previous one. The clock is virtual: it
 * moves only when the host sleeps and by a fixed cost per transaction.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "ifxi2c/datalink.h"
#include "trustx/ifxi2c.h"

#define STEPS_MAX        256
#define TXN_COST_US      20u
#define GUARD_US         50u
#define FOREVER_US       (UINT64_C(1) << 40)
#define PAYLOAD_LEN      300

/* Chip execution times the scripts use; the host gets the same numbers as hints. */
#define OPEN_APP_EXEC_US 2000u
#define GET_UID_EXEC_US  1500u
#define SET_DATA_EXEC_US 15000u
#define GET_DATA_EXEC_US 9000u

typedef enum step_kind {
    STEP_WRITE,   /* the host must write exactly these bytes */
    STEP_READ,    /* the host reads; it must ask for exactly len bytes and gets them */
    STEP_NACK,    /* the next `count` transactions are not acknowledged */
    STEP_BUSY     /* I2C_STATE polls get `bytes` until busy_us after the last data frame */
} step_kind;

typedef struct step {
    step_kind kind;
    uint8_t bytes[TRUSTX_FRAME_MAX + 1];
    size_t len;
    uint64_t busy_us;
    unsigned count;   /* NACK: transactions left; BUSY: polls served */
} step;

typedef struct bus_script {
    step steps[STEPS_MAX];
    size_t n;
    size_t pos;
    uint64_t now_us;
    uint64_t frame_written_us;   /* end of the host's last data-frame write */
    uint64_t last_end_us;
    int accessed;
    int busy_read_pending;       /* a BUSY step matched the register write of a state poll */
    unsigned speeds[8];
    size_t n_speeds;
} bus_script;

static bus_script bus;

/* ---- hex helpers ------------------------------------------------------- */

static size_t parse_hex(const char *hex, uint8_t *out, size_t cap)
{
    size_t n = 0;
    unsigned value;
    int used;

    while (sscanf(hex, " %2x%n", &value, &used) == 1) {
        assert_true(n < cap);
        out[n++] = (uint8_t)value;
        hex += used;
    }
    return n;
}

static const char *to_hex(const uint8_t *buf, size_t len)
{
    static char text[3 * 40 + 8];
    size_t shown = len < 40 ? len : 40;
    size_t at = 0;

    for (size_t i = 0; i < shown; i++)
        at += (size_t)snprintf(text + at, sizeof(text) - at, "%02X ", buf[i]);
    if (shown < len)
        snprintf(text + at, sizeof(text) - at, "...");
    return text;
}

/* ---- the scripted transport -------------------------------------------- */

static void begin_transaction(void)
{
    if (bus.accessed && bus.now_us - bus.last_end_us < GUARD_US)
        fail_msg("guard time violated: %llu us between accesses",
                 (unsigned long long)(bus.now_us - bus.last_end_us));
    bus.now_us += TXN_COST_US;
    bus.last_end_us = bus.now_us;
    bus.accessed = 1;
}

static step *current_step(const char *what, const uint8_t *buf, size_t len)
{
    if (bus.pos >= bus.n)
        fail_msg("unexpected %s of %zu bytes after the end of the script: %s", what, len,
                 buf != NULL ? to_hex(buf, len) : "");
    return &bus.steps[bus.pos];
}

static trustx_rc take_nack(step *s)
{
    if (--s->count == 0)
        bus.pos++;
    return TRUSTX_E_NACK;
}

static int is_state_poll(const uint8_t *buf, size_t len)
{
    return len == 1 && buf[0] == TRUSTX_REG_I2C_STATE;
}

static void check_write(const step *s, const uint8_t *buf, size_t len)
{
    if (len == s->len && memcmp(buf, s->bytes, len) == 0)
        return;
    print_error("step %zu expected write: %s\n", bus.pos, to_hex(s->bytes, s->len));
    fail_msg("step %zu got write (%zu bytes): %s", bus.pos, len, to_hex(buf, len));
}

static trustx_rc bus_write(void *ctx, uint8_t addr, const uint8_t *buf, size_t len)
{
    assert_int_equal(addr, TRUSTX_I2C_DEFAULT_ADDR);
    begin_transaction();

    for (;;) {
        step *s = current_step("write", buf, len);

        switch (s->kind) {
        case STEP_BUSY:
            if (is_state_poll(buf, len) && bus.now_us < bus.frame_written_us + s->busy_us) {
                bus.busy_read_pending = 1;
                s->count++;
                return TRUSTX_OK;
            }
            bus.pos++;
            continue;
        case STEP_NACK:
            return take_nack(s);
        case STEP_WRITE:
            check_write(s, buf, len);
            bus.pos++;
            if (buf[0] == TRUSTX_REG_DATA && len > 1 + TRUSTX_FRAME_OVERHEAD)
                bus.frame_written_us = bus.now_us;
            return TRUSTX_OK;
        case STEP_READ:
            fail_msg("step %zu expected a read of %zu bytes, got write: %s", bus.pos, s->len,
                     to_hex(buf, len));
        }
    }
}

static trustx_rc bus_read(void *ctx, uint8_t addr, uint8_t *buf, size_t len)
{
    step *s;

    assert_int_equal(addr, TRUSTX_I2C_DEFAULT_ADDR);
    begin_transaction();

    if (bus.busy_read_pending) {
        assert_int_equal(len, 4);
        memcpy(buf, bus.steps[bus.pos].bytes, 4);
        bus.busy_read_pending = 0;
        return TRUSTX_OK;
    }

    s = current_step("read", NULL, len);
    if (s->kind == STEP_NACK)
        return take_nack(s);
    if (s->kind != STEP_READ)
        fail_msg("step %zu: unexpected read of %zu bytes", bus.pos, len);
    if (len != s->len)
        fail_msg("step %zu: read of %zu bytes, expected %zu", bus.pos, len, s->len);
    memcpy(buf, s->bytes, len);
    bus.pos++;
    return TRUSTX_OK;
}

static trustx_rc bus_set_speed(void *ctx, unsigned khz)
{
    assert_true(bus.n_speeds < sizeof(bus.speeds) / sizeof(bus.speeds[0]));
    bus.speeds[bus.n_speeds++] = khz;
    return TRUSTX_OK;
}

static uint64_t bus_now(void *ctx)
{
    return bus.now_us;
}

static void bus_sleep(void *ctx, uint32_t us)
{
    bus.now_us += us;
}

static const trustx_transport_ops script_ops = {
    .name = "script",
    .description = "scripted bus transcript for tests",
    .write = bus_write,
    .read = bus_read,
    .set_speed = bus_set_speed,
    .now_us = bus_now,
    .sleep_us = bus_sleep,
};

/* ---- script building --------------------------------------------------- */

static step *add_step(step_kind kind)
{
    step *s;

    assert_true(bus.n < STEPS_MAX);
    s = &bus.steps[bus.n++];
    s->kind = kind;
    return s;
}

static void expect_write(const char *hex)
{
    step *s = add_step(STEP_WRITE);

    s->len = parse_hex(hex, s->bytes, sizeof(s->bytes));
}

static void reply(const char *hex)
{
    step *s = add_step(STEP_READ);

    s->len = parse_hex(hex, s->bytes, sizeof(s->bytes));
}

/* The host writes frame to the DATA register. */
static void expect_frame_write_bytes(const uint8_t *frame, size_t len)
{
    step *s = add_step(STEP_WRITE);

    s->bytes[0] = TRUSTX_REG_DATA;
    memcpy(s->bytes + 1, frame, len);
    s->len = len + 1;
}

static void expect_frame_write(const char *hex)
{
    uint8_t frame[TRUSTX_FRAME_MAX];

    expect_frame_write_bytes(frame, parse_hex(hex, frame, sizeof(frame)));
}

/* The host reads I2C_STATE and gets state. */
static void expect_state(const char *state)
{
    expect_write("82");
    reply(state);
}

/* The host reads the DATA register and gets frame. */
static void expect_frame_read_bytes(const uint8_t *frame, size_t len)
{
    step *s;

    expect_write("80");
    s = add_step(STEP_READ);
    memcpy(s->bytes, frame, len);
    s->len = len;
}

static void expect_frame_read(const char *hex)
{
    uint8_t frame[TRUSTX_FRAME_MAX];

    expect_frame_read_bytes(frame, parse_hex(hex, frame, sizeof(frame)));
}

/* State polls get state until busy_us after the host's last data frame; returns the step. */
static size_t chip_busy(uint64_t busy_us, const char *state)
{
    step *s = add_step(STEP_BUSY);

    s->busy_us = busy_us;
    parse_hex(state, s->bytes, 4);
    return bus.n - 1;
}

static void expect_nacks(unsigned count)
{
    add_step(STEP_NACK)->count = count;
}

static void assert_script_done(void)
{
    while (bus.pos < bus.n && bus.steps[bus.pos].kind == STEP_BUSY)
        bus.pos++;
    if (bus.pos != bus.n)
        fail_msg("script stopped at step %zu of %zu", bus.pos, bus.n);
}

static unsigned busy_polls(size_t step_index)
{
    return bus.steps[step_index].count;
}

/* ---- known exchanges --------------------------------------------------- */

static const uint8_t open_app_apdu[] = {0x70, 0x00, 0x00, 0x10, 0xD2, 0x76, 0x00, 0x00,
                                        0x04, 0x47, 0x65, 0x6E, 0x41, 0x75, 0x74, 0x68,
                                        0x41, 0x70, 0x70, 0x6C};
static const uint8_t get_uid_apdu[] = {0x01, 0x00, 0x00, 0x06, 0xE0, 0xC2, 0x00, 0x00, 0x00,
                                       0x64};
static const uint8_t get_f1e0_apdu[] = {0x01, 0x00, 0x00, 0x06, 0xF1, 0xE0, 0x00, 0x00, 0x01,
                                        0x2C};
static const uint8_t uid[27] = {0xCD, 0x16, 0x33, 0x6B, 0x01, 0x00, 0x1C, 0x00, 0x01,
                                0x00, 0x00, 0x0A, 0x08, 0x52, 0x55, 0x00, 0x0A, 0x00,
                                0x5C, 0x00, 0x46, 0x80, 0x10, 0x10, 0x71, 0x11, 0x18};

#define OPEN_APP_FRAME "03 00 15 00 70 00 00 10 D2 76 00 00 04 47 65 6E 41 75 74 68 41 70 70 6C" \
                       " 04 1A"
#define OPEN_APP_RESPONSE "00 00 05 00 00 00 00 00 14 87"
#define GET_UID_FRAME_1 "04 00 0B 00 01 00 00 06 E0 C2 00 00 00 64 F0 9F"
#define GET_UID_FRAME_0 "03 00 0B 00 01 00 00 06 E0 C2 00 00 00 64 80 18"
#define UID_BYTES "CD 16 33 6B 01 00 1C 00 01 00 00 0A 08 52 55 00 0A 00 5C 00 46 80 10 10" \
                  " 71 11 18"
#define UID_RESPONSE_1 "05 00 20 00 00 00 00 1B " UID_BYTES " B7 16"
#define UID_RESPONSE_0 "00 00 20 00 00 00 00 1B " UID_BYTES " 8E CB"
#define ACK_0 "80 00 00 0C EC"
#define ACK_1 "81 00 00 56 30"
#define ACK_2 "82 00 00 B9 54"
#define ACK_3 "83 00 00 E3 88"
#define NAK_0 "A0 00 00 0F D7"
#define RESYNC "C0 00 00 0A 9A"

/* Soft reset and negotiation with a factory chip (400 kHz, frame size 0x0115). */
static void script_open(void)
{
    expect_state("08 00 00 00");
    expect_write("88 00 00");
    expect_write("84");
    reply("00 00 01 90");
    expect_write("81 01 15");
    expect_write("81");
    reply("01 15");
}

/* OpenApplication as in the datasheet log: control ACK first, then the response. */
static size_t script_open_application(uint64_t exec_us)
{
    size_t busy;

    expect_frame_write(OPEN_APP_FRAME);
    expect_state("C8 00 00 05");
    expect_frame_read(ACK_0);
    busy = chip_busy(exec_us, "88 00 00 00");
    expect_state("48 00 00 0A");
    expect_frame_read(OPEN_APP_RESPONSE);
    expect_frame_write(ACK_0);
    return busy;
}

/* Builds head || payload[from, to) || fcs, payload byte i = i mod 256. */
static size_t chained_frame(uint8_t *out, const char *head, size_t from, size_t to,
                            const char *fcs)
{
    size_t len = parse_hex(head, out, TRUSTX_FRAME_MAX);

    for (size_t i = from; i < to; i++)
        out[len++] = (uint8_t)i;
    return len + parse_hex(fcs, out + len, TRUSTX_FRAME_MAX - len);
}

static void expect_chained_write(const char *head, size_t from, size_t to, const char *fcs)
{
    uint8_t frame[TRUSTX_FRAME_MAX];

    expect_frame_write_bytes(frame, chained_frame(frame, head, from, to, fcs));
}

static void expect_chained_read(const char *head, size_t from, size_t to, const char *fcs)
{
    uint8_t frame[TRUSTX_FRAME_MAX];

    expect_frame_read_bytes(frame, chained_frame(frame, head, from, to, fcs));
}

/* SetDataObject erase&write 0xF1E0 offset 0 with the 300-byte payload: 308 bytes. */
static size_t set_f1e0_apdu(uint8_t *apdu)
{
    static const uint8_t header[] = {0x02, 0x40, 0x01, 0x30, 0xF1, 0xE0, 0x00, 0x00};

    memcpy(apdu, header, sizeof(header));
    for (size_t i = 0; i < PAYLOAD_LEN; i++)
        apdu[sizeof(header) + i] = (uint8_t)i;
    return sizeof(header) + PAYLOAD_LEN;
}

/* The chained write, host frames 1 and 2 after OpenApplication. */
static void script_set_f1e0(void)
{
    expect_chained_write("04 01 10 01 02 40 01 30 F1 E0 00 00", 0, 263, "0B 57");
    expect_state("C8 00 00 05");
    expect_frame_read(ACK_1);
    expect_chained_write("08 00 26 04", 263, PAYLOAD_LEN, "E7 7D");
    expect_state("C8 00 00 05");
    expect_frame_read(ACK_2);
    chip_busy(SET_DATA_EXEC_US, "88 00 00 00");
    expect_state("48 00 00 0A");
    expect_frame_read("06 00 05 00 00 00 00 00 09 36");
    expect_frame_write(ACK_1);
}

/* The first half of the chained read, host frame 3, up to the chip's first fragment. */
static void script_get_f1e0_start(void)
{
    expect_frame_write("0D 00 0B 00 01 00 00 06 F1 E0 00 00 01 2C 86 00");
    expect_state("C8 00 00 05");
    expect_frame_read(ACK_3);
    chip_busy(GET_DATA_EXEC_US, "88 00 00 00");
    expect_state("48 00 01 15");
    expect_chained_read("0B 01 10 01 00 00 01 2C", 0, 267, "FC 7C");
    expect_frame_write(ACK_2);
}

static void script_get_f1e0_end(void)
{
    expect_state("48 00 00 27");
    expect_chained_read("0F 00 22 04", 267, PAYLOAD_LEN, "3A 88");
    expect_frame_write(ACK_3);
}

/* ---- helpers around the API -------------------------------------------- */

static trustx_ifxi2c *open_stack(trustx_transport *t, const trustx_ifxi2c_config *cfg)
{
    trustx_ifxi2c *s = NULL;
    trustx_rc rc = trustx_ifxi2c_open(t, cfg, &s);

    if (rc != TRUSTX_OK)
        fail_msg("open failed: %s", trustx_error_last()->message);
    return s;
}

static trustx_rc exchange(trustx_ifxi2c *s, const uint8_t *apdu, size_t len, uint8_t *resp,
                          size_t cap, size_t *resp_len, uint32_t hint_us)
{
    return trustx_ifxi2c_transceive(s, apdu, len, resp, cap, resp_len, hint_us);
}

static void run_open_application(trustx_ifxi2c *s, uint32_t hint_us)
{
    static const uint8_t ok[4] = {0, 0, 0, 0};
    uint8_t resp[64];
    size_t len = 0;
    trustx_rc rc = exchange(s, open_app_apdu, sizeof(open_app_apdu), resp, sizeof(resp), &len,
                            hint_us);

    if (rc != TRUSTX_OK)
        fail_msg("OpenApplication failed: %s", trustx_error_last()->message);
    assert_int_equal(len, 4);
    assert_memory_equal(resp, ok, 4);
}

static void assert_uid_response(const uint8_t *resp, size_t len)
{
    static const uint8_t header[4] = {0x00, 0x00, 0x00, 0x1B};

    assert_int_equal(len, 4 + sizeof(uid));
    assert_memory_equal(resp, header, 4);
    assert_memory_equal(resp + 4, uid, sizeof(uid));
}

static void run_get_uid(trustx_ifxi2c *s)
{
    uint8_t resp[64];
    size_t len = 0;
    trustx_rc rc = exchange(s, get_uid_apdu, sizeof(get_uid_apdu), resp, sizeof(resp), &len,
                            GET_UID_EXEC_US);

    if (rc != TRUSTX_OK)
        fail_msg("GetDataObject failed: %s", trustx_error_last()->message);
    assert_uid_response(resp, len);
}

static void assert_error(trustx_rc rc, trustx_rc expected, trustx_layer layer, const char *text)
{
    const trustx_error *e = trustx_error_last();

    print_message("error: %s\n", e->message);
    assert_int_equal(rc, expected);
    assert_int_equal(e->rc, expected);
    assert_int_equal(e->layer, layer);
    assert_non_null(strstr(e->message, text));
}

static int setup(void **state)
{
    trustx_transport *t = NULL;

    memset(&bus, 0, sizeof(bus));
    if (trustx_transport_new(&script_ops, NULL, &t) != TRUSTX_OK)
        return -1;
    *state = t;
    return 0;
}

static int teardown(void **state)
{
    trustx_transport_close(*state);
    return 0;
}

/* ---- open: reset and negotiation --------------------------------------- */

static void open_negotiates_defaults(void **state)
{
    trustx_ifxi2c *s;
    const trustx_ifxi2c_stats *st;

    script_open();
    s = open_stack(*state, NULL);
    assert_script_done();

    assert_int_equal(trustx_ifxi2c_frame_size(s), 277);
    assert_int_equal(trustx_ifxi2c_speed_khz(s), 400);
    assert_int_equal(bus.n_speeds, 2);
    assert_int_equal(bus.speeds[0], 100);
    assert_int_equal(bus.speeds[1], 400);

    st = trustx_ifxi2c_get_stats(s);
    assert_int_equal(st->transactions, 8);
    assert_int_equal(st->bytes_written, 9);
    assert_int_equal(st->bytes_read, 10);
    assert_int_equal(st->reset_wait_us, 10000);
    assert_true(st->guard_us > 0);
    assert_int_equal(st->nacks, 0);
    trustx_ifxi2c_close(s);
}

static void open_switches_to_fast_mode(void **state)
{
    trustx_ifxi2c_config cfg = {.speed_khz = 1000, .frame_size = 0x0100};
    trustx_ifxi2c *s;

    expect_state("08 00 00 00");
    expect_write("88 00 00");
    expect_write("84");
    reply("00 00 01 90");
    expect_write("89 80 04");
    expect_write("84");
    reply("00 00 03 E8");
    expect_write("81 01 00");
    expect_write("81");
    reply("00 F0");

    s = open_stack(*state, &cfg);
    assert_script_done();
    assert_int_equal(trustx_ifxi2c_speed_khz(s), 1000);
    assert_int_equal(bus.speeds[bus.n_speeds - 1], 1000);
    assert_int_equal(trustx_ifxi2c_frame_size(s), 0xF0);
    trustx_ifxi2c_close(s);
}

static void open_returns_to_fm_mode(void **state)
{
    trustx_ifxi2c *s;

    expect_state("08 00 00 00");
    expect_write("88 00 00");
    expect_write("84");
    reply("00 00 03 E8");
    expect_write("89 80 03");
    expect_write("84");
    reply("00 00 01 90");
    expect_write("81 01 15");
    expect_write("81");
    reply("01 15");

    s = open_stack(*state, NULL);
    assert_script_done();
    assert_int_equal(trustx_ifxi2c_speed_khz(s), 400);
    trustx_ifxi2c_close(s);
}

static void open_rejects_unreachable_speed(void **state)
{
    trustx_ifxi2c_config cfg = {.speed_khz = 1000};
    trustx_ifxi2c *s = NULL;
    trustx_rc rc;

    expect_state("08 00 00 00");
    expect_write("88 00 00");
    expect_write("84");
    reply("00 00 01 90");
    expect_write("89 80 04");
    expect_write("84");
    reply("00 00 01 90");

    rc = trustx_ifxi2c_open(*state, &cfg, &s);
    assert_error(rc, TRUSTX_E_UNSUPPORTED, TRUSTX_LAYER_PHYSICAL, "1000 kHz");
    assert_null(s);
    assert_script_done();
    assert_int_equal(bus.speeds[bus.n_speeds - 1], 100);
}

static void open_rejects_larger_frame_size(void **state)
{
    trustx_ifxi2c_config cfg = {.frame_size = 0x40};
    trustx_ifxi2c *s = NULL;
    trustx_rc rc;

    expect_state("08 00 00 00");
    expect_write("88 00 00");
    expect_write("84");
    reply("00 00 01 90");
    expect_write("81 00 40");
    expect_write("81");
    reply("01 15");

    rc = trustx_ifxi2c_open(*state, &cfg, &s);
    assert_error(rc, TRUSTX_E_PROTOCOL, TRUSTX_LAYER_PHYSICAL, "277");
    assert_script_done();
}

static void open_needs_soft_reset_flag(void **state)
{
    trustx_ifxi2c *s = NULL;
    trustx_rc rc;

    expect_state("00 00 00 00");
    rc = trustx_ifxi2c_open(*state, NULL, &s);
    assert_error(rc, TRUSTX_E_UNSUPPORTED, TRUSTX_LAYER_PHYSICAL, "soft reset");
    assert_script_done();
}

static void open_without_reset_resyncs(void **state)
{
    trustx_ifxi2c_config cfg = {.skip_reset = 1};
    trustx_ifxi2c *s;

    expect_write("84");
    reply("00 00 01 90");
    expect_write("81 01 15");
    expect_write("81");
    reply("01 15");
    expect_frame_write(RESYNC);
    script_open_application(OPEN_APP_EXEC_US);

    s = open_stack(*state, &cfg);
    run_open_application(s, OPEN_APP_EXEC_US);
    assert_script_done();
    assert_int_equal(trustx_ifxi2c_get_stats(s)->resyncs, 1);
    trustx_ifxi2c_close(s);
}

static void open_retries_nacked_address(void **state)
{
    trustx_ifxi2c *s;
    const trustx_ifxi2c_stats *st;

    expect_nacks(5);
    script_open();
    s = open_stack(*state, NULL);
    assert_script_done();

    st = trustx_ifxi2c_get_stats(s);
    assert_int_equal(st->nacks, 5);
    assert_int_equal(st->nack_wait_us, 5 * IFXI2C_NACK_RETRY_US);
    trustx_ifxi2c_close(s);
}

static void open_gives_up_on_silent_chip(void **state)
{
    trustx_ifxi2c *s = NULL;
    trustx_rc rc;

    expect_nacks(IFXI2C_NACK_TRIES_MAX);
    rc = trustx_ifxi2c_open(*state, NULL, &s);
    assert_error(rc, TRUSTX_E_NACK, TRUSTX_LAYER_PHYSICAL, "0x30");
    assert_non_null(strstr(trustx_error_last()->message, "200 tries"));
    assert_script_done();
    assert_true(bus.now_us >= (IFXI2C_NACK_TRIES_MAX - 1) * IFXI2C_NACK_RETRY_US);
}

/* ---- single-frame exchanges -------------------------------------------- */

static void open_application_matches_log(void **state)
{
    trustx_ifxi2c *s;
    const trustx_ifxi2c_stats *st;
    size_t busy;

    script_open();
    busy = script_open_application(OPEN_APP_EXEC_US);
    s = open_stack(*state, NULL);
    run_open_application(s, OPEN_APP_EXEC_US);
    assert_script_done();

    /* With an accurate execution time no poll comes back empty. */
    assert_int_equal(busy_polls(busy), 0);
    st = trustx_ifxi2c_get_stats(s);
    assert_int_equal(st->empty_polls, 0);
    assert_int_equal(st->frames_sent, 1);
    assert_int_equal(st->frames_resent, 0);
    assert_int_equal(st->frames_received, 1);
    assert_int_equal(st->acks_sent, 1);
    assert_int_equal(st->data_reads, 2);
    assert_int_equal(st->transceives, 1);
    assert_int_equal(st->transactions, 8 + 10);
    assert_true(st->sleep_us > 0);
    assert_true(st->sleep_us < OPEN_APP_EXEC_US);
    trustx_ifxi2c_close(s);
}

static void get_uid_takes_piggybacked_ack(void **state)
{
    trustx_ifxi2c *s;

    script_open();
    script_open_application(OPEN_APP_EXEC_US);
    expect_frame_write(GET_UID_FRAME_1);
    expect_state("48 00 00 25");
    expect_frame_read(UID_RESPONSE_1);
    expect_frame_write(ACK_1);

    s = open_stack(*state, NULL);
    run_open_application(s, OPEN_APP_EXEC_US);
    run_get_uid(s);
    assert_script_done();
    assert_int_equal(trustx_ifxi2c_get_stats(s)->frames_received, 2);
    trustx_ifxi2c_close(s);
}

static void default_schedule_without_hint(void **state)
{
    trustx_ifxi2c *s;
    size_t busy;
    unsigned polls;

    script_open();
    busy = script_open_application(5000);
    s = open_stack(*state, NULL);
    run_open_application(s, 0);
    assert_script_done();

    polls = busy_polls(busy);
    print_message("empty polls without a hint: %u\n", polls);
    assert_true(polls >= 1);
    assert_true(polls <= 5000 / IFXI2C_POLL_MIN_US);
    assert_int_equal(trustx_ifxi2c_get_stats(s)->empty_polls, polls);
    trustx_ifxi2c_close(s);
}

static void chip_nak_causes_retransmission(void **state)
{
    trustx_ifxi2c *s;

    script_open();
    expect_frame_write(OPEN_APP_FRAME);
    expect_state("C8 00 00 05");
    expect_frame_read(NAK_0);
    script_open_application(OPEN_APP_EXEC_US);

    s = open_stack(*state, NULL);
    run_open_application(s, OPEN_APP_EXEC_US);
    assert_script_done();
    assert_int_equal(trustx_ifxi2c_get_stats(s)->frames_resent, 1);
    trustx_ifxi2c_close(s);
}

static void corrupted_ack_causes_retransmission(void **state)
{
    trustx_ifxi2c *s;

    script_open();
    expect_frame_write(OPEN_APP_FRAME);
    expect_state("C8 00 00 05");
    expect_frame_read("80 00 00 0C ED");
    script_open_application(OPEN_APP_EXEC_US);

    s = open_stack(*state, NULL);
    run_open_application(s, OPEN_APP_EXEC_US);
    assert_script_done();
    assert_int_equal(trustx_ifxi2c_get_stats(s)->frames_resent, 1);
    assert_int_equal(trustx_ifxi2c_get_stats(s)->frames_corrupt, 1);
    trustx_ifxi2c_close(s);
}

static void corrupted_response_gets_nak(void **state)
{
    trustx_ifxi2c *s;
    const trustx_ifxi2c_stats *st;

    script_open();
    expect_frame_write(OPEN_APP_FRAME);
    expect_state("C8 00 00 05");
    expect_frame_read(ACK_0);
    chip_busy(OPEN_APP_EXEC_US, "88 00 00 00");
    expect_state("48 00 00 0A");
    expect_frame_read("00 00 05 00 00 00 00 00 14 88");
    expect_frame_write(NAK_0);
    expect_state("48 00 00 0A");
    expect_frame_read(OPEN_APP_RESPONSE);
    expect_frame_write(ACK_0);

    s = open_stack(*state, NULL);
    run_open_application(s, OPEN_APP_EXEC_US);
    assert_script_done();
    st = trustx_ifxi2c_get_stats(s);
    assert_int_equal(st->naks_sent, 1);
    assert_int_equal(st->frames_received, 1);
    trustx_ifxi2c_close(s);
}

static void missing_ack_leads_to_resync(void **state)
{
    trustx_ifxi2c *s;
    const trustx_ifxi2c_stats *st;
    size_t idle[4];

    script_open();
    script_open_application(OPEN_APP_EXEC_US);
    for (int i = 0; i < 4; i++) {
        expect_frame_write(GET_UID_FRAME_1);
        idle[i] = chip_busy(FOREVER_US, "08 00 00 00");
    }
    expect_frame_write(RESYNC);
    expect_frame_write(GET_UID_FRAME_0);
    expect_state("C8 00 00 05");
    expect_frame_read(ACK_0);
    chip_busy(GET_UID_EXEC_US, "88 00 00 00");
    expect_state("48 00 00 25");
    expect_frame_read(UID_RESPONSE_0);
    expect_frame_write(ACK_0);

    s = open_stack(*state, NULL);
    run_open_application(s, OPEN_APP_EXEC_US);
    run_get_uid(s);
    assert_script_done();

    /* Each wait for the ACK polls until TRANS_TIMEOUT, then gives up. */
    for (int i = 0; i < 4; i++) {
        print_message("ACK wait %d: %u empty polls\n", i, busy_polls(idle[i]));
        assert_true(busy_polls(idle[i]) >= 2);
        assert_true(busy_polls(idle[i]) <= IFXI2C_ACK_TIMEOUT_US / IFXI2C_ACK_POLL_US + 1);
    }
    st = trustx_ifxi2c_get_stats(s);
    assert_int_equal(st->resyncs, 1);
    assert_int_equal(st->frames_resent, 4);
    trustx_ifxi2c_close(s);
}

static void repeated_response_is_acked_again(void **state)
{
    trustx_ifxi2c *s;

    script_open();
    script_open_application(OPEN_APP_EXEC_US);
    /* The chip lost the host's ACK of its response and presents that frame again. */
    expect_frame_write(GET_UID_FRAME_1);
    expect_state("48 00 00 0A");
    expect_frame_read(OPEN_APP_RESPONSE);
    expect_frame_write(ACK_0);
    expect_state("48 00 00 25");
    expect_frame_read(UID_RESPONSE_1);
    expect_frame_write(ACK_1);

    s = open_stack(*state, NULL);
    run_open_application(s, OPEN_APP_EXEC_US);
    run_get_uid(s);
    assert_script_done();
    assert_int_equal(trustx_ifxi2c_get_stats(s)->frames_repeated, 1);
    assert_int_equal(trustx_ifxi2c_get_stats(s)->frames_received, 2);
    trustx_ifxi2c_close(s);
}

static void stale_acknr_is_dropped(void **state)
{
    trustx_ifxi2c *s;

    script_open();
    script_open_application(OPEN_APP_EXEC_US);
    expect_frame_write(GET_UID_FRAME_1);
    expect_state("48 00 00 25");
    /* Frame 1 acknowledging host frame 0 instead of 1: dropped without a reply. */
    expect_frame_read("04 00 20 00 00 00 00 1B " UID_BYTES " BA 2F");
    expect_state("48 00 00 25");
    expect_frame_read(UID_RESPONSE_1);
    expect_frame_write(ACK_1);

    s = open_stack(*state, NULL);
    run_open_application(s, OPEN_APP_EXEC_US);
    run_get_uid(s);
    assert_script_done();
    assert_int_equal(trustx_ifxi2c_get_stats(s)->frames_dropped, 1);
    trustx_ifxi2c_close(s);
}

/* ---- chained exchanges ------------------------------------------------- */

static void run_set_f1e0(trustx_ifxi2c *s)
{
    static const uint8_t ok[4] = {0, 0, 0, 0};
    uint8_t apdu[8 + PAYLOAD_LEN];
    size_t apdu_len = set_f1e0_apdu(apdu);
    uint8_t resp[16];
    size_t len = 0;
    trustx_rc rc = exchange(s, apdu, apdu_len, resp, sizeof(resp), &len, SET_DATA_EXEC_US);

    if (rc != TRUSTX_OK)
        fail_msg("SetDataObject failed: %s", trustx_error_last()->message);
    assert_int_equal(len, 4);
    assert_memory_equal(resp, ok, 4);
}

static void assert_f1e0_response(const uint8_t *resp, size_t len)
{
    static const uint8_t header[4] = {0x00, 0x00, 0x01, 0x2C};

    assert_int_equal(len, 4 + PAYLOAD_LEN);
    assert_memory_equal(resp, header, 4);
    for (size_t i = 0; i < PAYLOAD_LEN; i++)
        assert_int_equal(resp[4 + i], (uint8_t)i);
}

static void chained_command(void **state)
{
    trustx_ifxi2c *s;

    script_open();
    script_open_application(OPEN_APP_EXEC_US);
    script_set_f1e0();

    s = open_stack(*state, NULL);
    run_open_application(s, OPEN_APP_EXEC_US);
    run_set_f1e0(s);
    assert_script_done();
    assert_int_equal(trustx_ifxi2c_get_stats(s)->frames_sent, 3);
    trustx_ifxi2c_close(s);
}

static void chained_response(void **state)
{
    trustx_ifxi2c *s;
    uint8_t resp[512];
    size_t len = 0;
    trustx_rc rc;

    script_open();
    script_open_application(OPEN_APP_EXEC_US);
    script_set_f1e0();
    script_get_f1e0_start();
    script_get_f1e0_end();

    s = open_stack(*state, NULL);
    run_open_application(s, OPEN_APP_EXEC_US);
    run_set_f1e0(s);
    rc = exchange(s, get_f1e0_apdu, sizeof(get_f1e0_apdu), resp, sizeof(resp), &len,
                  GET_DATA_EXEC_US);
    assert_int_equal(rc, TRUSTX_OK);
    assert_script_done();
    assert_f1e0_response(resp, len);
    trustx_ifxi2c_close(s);
}

static void repeated_fragment_is_not_delivered_twice(void **state)
{
    trustx_ifxi2c *s;
    uint8_t resp[1024];
    size_t len = 0;
    trustx_rc rc;

    script_open();
    script_open_application(OPEN_APP_EXEC_US);
    script_set_f1e0();
    script_get_f1e0_start();
    /* The chip did not get ACK 2 and presents its first fragment again. */
    expect_state("48 00 01 15");
    expect_chained_read("0B 01 10 01 00 00 01 2C", 0, 267, "FC 7C");
    expect_frame_write(ACK_2);
    script_get_f1e0_end();

    s = open_stack(*state, NULL);
    run_open_application(s, OPEN_APP_EXEC_US);
    run_set_f1e0(s);
    rc = exchange(s, get_f1e0_apdu, sizeof(get_f1e0_apdu), resp, sizeof(resp), &len,
                  GET_DATA_EXEC_US);
    assert_int_equal(rc, TRUSTX_OK);
    assert_script_done();
    assert_f1e0_response(resp, len);
    assert_int_equal(trustx_ifxi2c_get_stats(s)->frames_repeated, 1);
    trustx_ifxi2c_close(s);
}

static void chained_response_overflow(void **state)
{
    trustx_ifxi2c *s;
    uint8_t resp[100];
    size_t len = 0;
    trustx_rc rc;

    script_open();
    script_open_application(OPEN_APP_EXEC_US);
    script_set_f1e0();
    script_get_f1e0_start();
    script_get_f1e0_end();
    /* The chain was drained, so the link is in step: no re-sync before the next command. */
    expect_frame_write(GET_UID_FRAME_0);
    expect_state("48 00 00 25");
    expect_frame_read(UID_RESPONSE_0);
    expect_frame_write(ACK_0);

    s = open_stack(*state, NULL);
    run_open_application(s, OPEN_APP_EXEC_US);
    run_set_f1e0(s);
    rc = exchange(s, get_f1e0_apdu, sizeof(get_f1e0_apdu), resp, sizeof(resp), &len,
                  GET_DATA_EXEC_US);
    assert_error(rc, TRUSTX_E_OVERFLOW, TRUSTX_LAYER_NETWORK, "304 bytes");
    assert_int_equal(len, 4 + PAYLOAD_LEN);
    for (size_t i = 4; i < sizeof(resp); i++)
        assert_int_equal(resp[i], (uint8_t)(i - 4));

    run_get_uid(s);
    assert_script_done();
    trustx_ifxi2c_close(s);
}

static void chain_error_resends_command(void **state)
{
    trustx_ifxi2c *s;
    uint8_t apdu[8 + PAYLOAD_LEN];
    size_t apdu_len = set_f1e0_apdu(apdu);
    uint8_t resp[16];
    size_t len = 0;
    trustx_rc rc;

    script_open();
    script_open_application(OPEN_APP_EXEC_US);
    expect_chained_write("04 01 10 01 02 40 01 30 F1 E0 00 00", 0, 263, "0B 57");
    expect_state("C8 00 00 05");
    expect_frame_read(ACK_1);
    expect_chained_write("08 00 26 04", 263, PAYLOAD_LEN, "E7 7D");
    expect_state("C8 00 00 05");
    expect_frame_read(ACK_2);
    expect_state("48 00 00 06");
    expect_frame_read("06 00 01 07 26 FD");
    expect_frame_write(ACK_1);
    /* The whole command again, frames 3 and 0. */
    expect_chained_write("0D 01 10 01 02 40 01 30 F1 E0 00 00", 0, 263, "1E 9F");
    expect_state("C8 00 00 05");
    expect_frame_read(ACK_3);
    expect_chained_write("01 00 26 04", 263, PAYLOAD_LEN, "AF 56");
    expect_state("C8 00 00 05");
    expect_frame_read(ACK_0);
    expect_state("48 00 00 0A");
    expect_frame_read("08 00 05 00 00 00 00 00 39 3B");
    expect_frame_write(ACK_2);

    s = open_stack(*state, NULL);
    run_open_application(s, OPEN_APP_EXEC_US);
    rc = exchange(s, apdu, apdu_len, resp, sizeof(resp), &len, SET_DATA_EXEC_US);
    assert_int_equal(rc, TRUSTX_OK);
    assert_script_done();
    assert_int_equal(len, 4);
    assert_int_equal(trustx_ifxi2c_get_stats(s)->chain_restarts, 1);
    trustx_ifxi2c_close(s);
}

static void malformed_chain_gets_chain_error(void **state)
{
    trustx_ifxi2c *s;
    uint8_t resp[512];
    size_t len = 0;
    trustx_rc rc;

    script_open();
    script_open_application(OPEN_APP_EXEC_US);
    expect_frame_write("04 00 0B 00 01 00 00 06 F1 E0 00 00 01 2C 17 89");
    expect_state("C8 00 00 05");
    expect_frame_read(ACK_1);
    expect_state("48 00 00 0F");
    /* A first fragment shorter than a full frame. */
    expect_frame_read("05 00 0A 01 00 00 01 2C 00 01 02 03 04 C6 B8");
    expect_frame_write(ACK_1);
    expect_frame_write("09 00 01 07 94 04");
    expect_state("C8 00 00 05");
    expect_frame_read(ACK_2);
    /* The next command starts with a re-sync. */
    expect_frame_write(RESYNC);
    expect_frame_write(GET_UID_FRAME_0);
    expect_state("48 00 00 25");
    expect_frame_read(UID_RESPONSE_0);
    expect_frame_write(ACK_0);

    s = open_stack(*state, NULL);
    run_open_application(s, OPEN_APP_EXEC_US);
    rc = exchange(s, get_f1e0_apdu, sizeof(get_f1e0_apdu), resp, sizeof(resp), &len, 0);
    assert_error(rc, TRUSTX_E_PROTOCOL, TRUSTX_LAYER_NETWORK, "malformed response chain");
    assert_int_equal(trustx_ifxi2c_get_stats(s)->chain_errors_sent, 1);

    run_get_uid(s);
    assert_script_done();
    trustx_ifxi2c_close(s);
}

/* ---- chips that stop responding ---------------------------------------- */

static void silent_chip_times_out(void **state)
{
    trustx_ifxi2c_config cfg = {.response_timeout_ms = 300};
    trustx_ifxi2c *s;
    uint8_t resp[16];
    size_t len = 0;
    uint64_t started;
    size_t idle;
    trustx_rc rc;

    script_open();
    expect_frame_write(OPEN_APP_FRAME);
    expect_state("C8 00 00 05");
    expect_frame_read(ACK_0);
    idle = chip_busy(FOREVER_US, "88 00 00 00");

    s = open_stack(*state, &cfg);
    started = bus.now_us;
    rc = exchange(s, open_app_apdu, sizeof(open_app_apdu), resp, sizeof(resp), &len,
                  OPEN_APP_EXEC_US);
    assert_error(rc, TRUSTX_E_TIMEOUT, TRUSTX_LAYER_DATALINK, "data link layer");
    assert_script_done();

    print_message("gave up after %llu us with %u polls\n",
                  (unsigned long long)(bus.now_us - started), busy_polls(idle));
    assert_true(bus.now_us - started >= 300000);
    assert_true(bus.now_us - started <= 300000 + IFXI2C_POLL_MAX_US);
    /* The interval grows while the response is overdue: on average above 1 ms here. */
    assert_true(busy_polls(idle) < 300);
    trustx_ifxi2c_close(s);
}

static void unacknowledging_chip_exhausts_retries(void **state)
{
    trustx_ifxi2c *s;
    const trustx_ifxi2c_stats *st;
    uint8_t resp[16];
    size_t len = 0;
    trustx_rc rc;

    script_open();
    for (unsigned round = 0; round <= IFXI2C_RESYNC_MAX; round++) {
        for (unsigned i = 0; i <= IFXI2C_RETRANSMIT_MAX; i++) {
            expect_frame_write(OPEN_APP_FRAME);
            chip_busy(FOREVER_US, "08 00 00 00");
        }
        if (round < IFXI2C_RESYNC_MAX)
            expect_frame_write(RESYNC);
    }

    s = open_stack(*state, NULL);
    rc = exchange(s, open_app_apdu, sizeof(open_app_apdu), resp, sizeof(resp), &len,
                  OPEN_APP_EXEC_US);
    assert_error(rc, TRUSTX_E_TIMEOUT, TRUSTX_LAYER_DATALINK, "no valid acknowledgement");
    assert_script_done();

    st = trustx_ifxi2c_get_stats(s);
    assert_int_equal(st->resyncs, IFXI2C_RESYNC_MAX);
    assert_int_equal(st->frames_resent, (IFXI2C_RETRANSMIT_MAX + 1) * (IFXI2C_RESYNC_MAX + 1) - 1);
    trustx_ifxi2c_close(s);
}

static void unacknowledging_chip_hits_deadline(void **state)
{
    trustx_ifxi2c_config cfg = {.response_timeout_ms = 25};
    trustx_ifxi2c *s;
    uint8_t resp[16];
    size_t len = 0;
    uint64_t started;
    trustx_rc rc;

    script_open();
    for (int i = 0; i < 3; i++) {
        expect_frame_write(OPEN_APP_FRAME);
        chip_busy(FOREVER_US, "08 00 00 00");
    }

    s = open_stack(*state, &cfg);
    started = bus.now_us;
    rc = exchange(s, open_app_apdu, sizeof(open_app_apdu), resp, sizeof(resp), &len,
                  OPEN_APP_EXEC_US);
    assert_error(rc, TRUSTX_E_TIMEOUT, TRUSTX_LAYER_DATALINK, "gave up after 25 ms");
    assert_script_done();
    assert_true(bus.now_us - started >= 25000);
    assert_true(bus.now_us - started <= 25000 + IFXI2C_ACK_POLL_US + 500);
    trustx_ifxi2c_close(s);
}

static void nack_storm_stops_at_deadline(void **state)
{
    trustx_ifxi2c_config cfg = {.response_timeout_ms = 50};
    trustx_ifxi2c *s;
    uint8_t resp[16];
    size_t len = 0;
    uint64_t started;
    trustx_rc rc;

    script_open();
    expect_nacks(IFXI2C_NACK_TRIES_MAX);

    s = open_stack(*state, &cfg);
    started = bus.now_us;
    rc = exchange(s, open_app_apdu, sizeof(open_app_apdu), resp, sizeof(resp), &len,
                  OPEN_APP_EXEC_US);
    assert_error(rc, TRUSTX_E_NACK, TRUSTX_LAYER_PHYSICAL, "register 0x80");

    /* The exchange deadline ends the retries before IFXI2C_NACK_TRIES_MAX. */
    assert_true(bus.steps[bus.pos].count > 0);
    assert_true(bus.now_us - started >= 50000);
    assert_true(bus.now_us - started <= 50000 + IFXI2C_NACK_RETRY_US);
    trustx_ifxi2c_close(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(open_negotiates_defaults, setup, teardown),
        cmocka_unit_test_setup_teardown(open_switches_to_fast_mode, setup, teardown),
        cmocka_unit_test_setup_teardown(open_returns_to_fm_mode, setup, teardown),
        cmocka_unit_test_setup_teardown(open_rejects_unreachable_speed, setup, teardown),
        cmocka_unit_test_setup_teardown(open_rejects_larger_frame_size, setup, teardown),
        cmocka_unit_test_setup_teardown(open_needs_soft_reset_flag, setup, teardown),
        cmocka_unit_test_setup_teardown(open_without_reset_resyncs, setup, teardown),
        cmocka_unit_test_setup_teardown(open_retries_nacked_address, setup, teardown),
        cmocka_unit_test_setup_teardown(open_gives_up_on_silent_chip, setup, teardown),
        cmocka_unit_test_setup_teardown(open_application_matches_log, setup, teardown),
        cmocka_unit_test_setup_teardown(get_uid_takes_piggybacked_ack, setup, teardown),
        cmocka_unit_test_setup_teardown(default_schedule_without_hint, setup, teardown),
        cmocka_unit_test_setup_teardown(chip_nak_causes_retransmission, setup, teardown),
        cmocka_unit_test_setup_teardown(corrupted_ack_causes_retransmission, setup, teardown),
        cmocka_unit_test_setup_teardown(corrupted_response_gets_nak, setup, teardown),
        cmocka_unit_test_setup_teardown(missing_ack_leads_to_resync, setup, teardown),
        cmocka_unit_test_setup_teardown(repeated_response_is_acked_again, setup, teardown),
        cmocka_unit_test_setup_teardown(stale_acknr_is_dropped, setup, teardown),
        cmocka_unit_test_setup_teardown(chained_command, setup, teardown),
        cmocka_unit_test_setup_teardown(chained_response, setup, teardown),
        cmocka_unit_test_setup_teardown(repeated_fragment_is_not_delivered_twice, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(chained_response_overflow, setup, teardown),
        cmocka_unit_test_setup_teardown(chain_error_resends_command, setup, teardown),
        cmocka_unit_test_setup_teardown(malformed_chain_gets_chain_error, setup, teardown),
        cmocka_unit_test_setup_teardown(silent_chip_times_out, setup, teardown),
        cmocka_unit_test_setup_teardown(unacknowledging_chip_exhausts_retries, setup, teardown),
        cmocka_unit_test_setup_teardown(unacknowledging_chip_hits_deadline, setup, teardown),
        cmocka_unit_test_setup_teardown(nack_storm_stops_at_deadline, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

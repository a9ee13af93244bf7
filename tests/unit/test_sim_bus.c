/* SPDX-License-Identifier: MIT */
/*
 * The simulator's bus model driven directly: registers, negotiation, the
 * worked exchanges of the protocol notes byte for byte, error handling of
 * the chip-side data link and network layers, time accounting and every
 * fault kind. Frames are built here by hand; only the CRC is shared.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "sim_app.h"
#include "sim_chip.h"
#include "trustx/ifxi2c.h"

#define ADDR 0x30
#define POLL_US 1000u              /* host polling interval in these tests */
#define POLL_MAX 5000u             /* polls before a test gives up: 5 s of virtual time */
#define FRAME_CAP 300

/* ---- helpers: hex, frames, bus access ---- */

static size_t hex(const char *text, uint8_t *out, size_t cap)
{
    size_t n = 0;
    unsigned byte;

    while (*text != '\0') {
        if (*text == ' ') {
            text++;
            continue;
        }
        assert_true(n < cap);
        assert_int_equal(sscanf(text, "%2x", &byte), 1);
        out[n++] = (uint8_t)byte;
        text += 2;
    }
    return n;
}

/* The test's own frame builder: FCTR, LEN, packet, FCS high byte first. */
static size_t make_frame(uint8_t *out, uint8_t fctr, const uint8_t *packet, size_t n)
{
    uint16_t fcs;

    out[0] = fctr;
    out[1] = (uint8_t)(n >> 8);
    out[2] = (uint8_t)n;
    if (n > 0)
        memcpy(out + 3, packet, n);
    fcs = trustx_crc16(out, 3 + n);
    out[3 + n] = (uint8_t)(fcs >> 8);
    out[4 + n] = (uint8_t)fcs;
    return n + 5;
}

/* Builds a data frame carrying PCTR and an APDU fragment. */
static size_t make_data_frame(uint8_t *out, uint8_t fctr, uint8_t pctr, const uint8_t *data,
                              size_t n)
{
    uint8_t packet[FRAME_CAP];

    assert_true(n + 1 <= sizeof(packet));
    packet[0] = pctr;
    if (n > 0)
        memcpy(packet + 1, data, n);
    return make_frame(out, fctr, packet, n + 1);
}

static int fcs_ok(const uint8_t *frame, size_t len)
{
    uint16_t fcs;

    if (len < 5)
        return 0;
    fcs = trustx_crc16(frame, len - 2);
    return frame[len - 2] == (uint8_t)(fcs >> 8) && frame[len - 1] == (uint8_t)fcs;
}

static sim_chip *new_chip(const char *fault_spec)
{
    sim_faults faults;
    sim_app *app = NULL;
    sim_chip *chip = NULL;

    assert_int_equal(sim_faults_parse(fault_spec, &faults), TRUSTX_OK);
    assert_int_equal(sim_app_open(NULL, 0, &app), TRUSTX_OK);
    assert_int_equal(sim_chip_new(app, &faults, &chip), TRUSTX_OK);
    return chip;
}

static void write_ok(sim_chip *chip, const uint8_t *buf, size_t len)
{
    assert_int_equal(sim_chip_i2c_write(chip, ADDR, buf, len), SIM_BUS_ACK);
}

static void write_hex(sim_chip *chip, const char *text)
{
    uint8_t buf[FRAME_CAP];

    write_ok(chip, buf, hex(text, buf, sizeof(buf)));
}

static void send_frame(sim_chip *chip, const uint8_t *frame, size_t len)
{
    uint8_t buf[FRAME_CAP + 1];

    assert_true(len <= FRAME_CAP);
    buf[0] = 0x80;
    memcpy(buf + 1, frame, len);
    write_ok(chip, buf, len + 1);
}

static void send_hex(sim_chip *chip, const char *text)
{
    uint8_t frame[FRAME_CAP];

    send_frame(chip, frame, hex(text, frame, sizeof(frame)));
}

static void read_reg(sim_chip *chip, uint8_t reg, uint8_t *out, size_t n)
{
    write_ok(chip, &reg, 1);
    assert_int_equal(sim_chip_i2c_read(chip, ADDR, out, n), SIM_BUS_ACK);
}

static void expect_reg(sim_chip *chip, uint8_t reg, const char *expected)
{
    uint8_t want[16];
    uint8_t got[16];
    size_t n = hex(expected, want, sizeof(want));

    read_reg(chip, reg, got, n);
    assert_memory_equal(got, want, n);
}

static void read_state(sim_chip *chip, uint8_t state[4])
{
    read_reg(chip, 0x82, state, 4);
}

/* Reads DATA (after I2C_STATE announced len bytes) into out. */
static void read_data(sim_chip *chip, uint8_t *out, size_t len)
{
    uint8_t reg = 0x80;

    write_ok(chip, &reg, 1);
    assert_int_equal(sim_chip_i2c_read(chip, ADDR, out, len), SIM_BUS_ACK);
}

/* Reads I2C_STATE, expects it to announce exactly the frame in hex, then reads DATA. */
static void expect_frame(sim_chip *chip, uint8_t state0, const char *expected)
{
    uint8_t want[FRAME_CAP];
    uint8_t got[FRAME_CAP];
    uint8_t state[4];
    size_t n = hex(expected, want, sizeof(want));

    read_state(chip, state);
    assert_int_equal(state[0], state0);
    assert_int_equal(state[1], 0);
    assert_int_equal(((size_t)state[2] << 8) | state[3], n);
    read_data(chip, got, n);
    assert_memory_equal(got, want, n);
}

static void expect_idle(sim_chip *chip)
{
    uint8_t state[4];

    read_state(chip, state);
    assert_int_equal(state[0], 0x08);
    assert_int_equal(state[2], 0);
    assert_int_equal(state[3], 0);
}

/*
 * Polls I2C_STATE every POLL_US until a data frame is ready and reads it.
 * Control frames found on the way must equal ack (5 bytes) when ack is not NULL.
 * Returns the frame length.
 */
static size_t poll_data_frame(sim_chip *chip, const uint8_t *ack, uint8_t *out)
{
    uint8_t state[4];
    size_t len;

    for (unsigned poll = 0; poll < POLL_MAX; poll++) {
        read_state(chip, state);
        len = ((size_t)state[2] << 8) | state[3];
        if (state[0] & 0x40) {
            assert_true(len >= 5 && len <= FRAME_CAP);
            read_data(chip, out, len);
            assert_true(fcs_ok(out, len));
            if ((out[0] & 0x80) == 0)
                return len;
            if (ack != NULL)
                assert_memory_equal(out, ack, 5);
            continue;
        }
        sim_chip_advance(chip, POLL_US);
    }
    fail_msg("no data frame after %u polls", POLL_MAX);
    return 0;
}

static void send_control_ack(sim_chip *chip, uint8_t number)
{
    uint8_t frame[5];

    send_frame(chip, frame, make_frame(frame, (uint8_t)(0x80 | number), NULL, 0));
}

static const char open_application_frame[] =
    "03 00 15 00 70 00 00 10 D2 76 00 00 04 47 65 6E 41 75 74 68 41 70 70 6C 04 1A";

static const uint8_t open_application_apdu[] = {
    0x70, 0x00, 0x00, 0x10, 0xD2, 0x76, 0x00, 0x00, 0x04, 'G', 'e', 'n', 'A', 'u', 't', 'h',
    'A', 'p', 'p', 'l',
};

/* §11 B without the byte-level checks: leaves host frame 0 and chip frame 0 acknowledged. */
static void open_application(sim_chip *chip)
{
    uint8_t frame[FRAME_CAP];
    size_t len;

    send_hex(chip, open_application_frame);
    len = poll_data_frame(chip, NULL, frame);
    assert_int_equal(len, 10);
    assert_int_equal(frame[0], 0x00);
    assert_int_equal(frame[4], 0x00);  /* Sta */
    write_hex(chip, "80 80 00 00 0C EC");
}

/* Payload of the chained vectors: byte i = i mod 256. */
static void fill_pattern(uint8_t *buf, size_t n)
{
    for (size_t i = 0; i < n; i++)
        buf[i] = (uint8_t)i;
}

/* ---- registers ---- */

static void registers_after_start(void **state)
{
    sim_chip *chip = new_chip(NULL);

    expect_reg(chip, 0x82, "08 00 00 00");
    expect_reg(chip, 0x81, "01 15");
    expect_reg(chip, 0x84, "00 00 01 90");
    expect_reg(chip, 0x85, "FF FF FF FF");
    expect_reg(chip, 0x86, "FF FF FF FF");
    expect_reg(chip, 0x89, "00 03");
    sim_chip_free(chip);
}

static void registers_invalid_read_ff(void **state)
{
    static const uint8_t invalid[] = {0x00, 0x7F, 0x83, 0x87, 0x88, 0x8A, 0x90, 0x9F, 0xA0, 0xFF};
    sim_chip *chip = new_chip(NULL);

    for (size_t i = 0; i < sizeof(invalid); i++)
        expect_reg(chip, invalid[i], "FF FF FF FF");

    /* Past the end of a register. */
    expect_reg(chip, 0x82, "08 00 00 00 FF FF FF FF");
    expect_reg(chip, 0x81, "01 15 FF FF");
    expect_reg(chip, 0x89, "00 03 FF");

    /* DATA with nothing pending, and no state change afterwards. */
    expect_reg(chip, 0x80, "FF FF FF FF FF");
    expect_idle(chip);
    sim_chip_free(chip);
}

static void address_other_nacked(void **state)
{
    uint8_t reg = 0x82;
    uint8_t buf[4];
    sim_chip *chip = new_chip(NULL);

    assert_int_equal(sim_chip_i2c_write(chip, 0x20, &reg, 1), SIM_BUS_NACK);
    assert_int_equal(sim_chip_i2c_read(chip, 0x31, buf, 4), SIM_BUS_NACK);
    assert_int_equal(sim_chip_i2c_write(chip, ADDR, NULL, 0), SIM_BUS_ACK);
    sim_chip_free(chip);
}

static void base_addr_write_and_reset(void **state)
{
    uint8_t reg = 0x82;
    uint8_t soft_reset[] = {0x88, 0x00, 0x00};
    sim_chip *chip = new_chip(NULL);

    write_hex(chip, "83 00 31");
    assert_int_equal(sim_chip_i2c_write(chip, 0x30, &reg, 1), SIM_BUS_NACK);
    assert_int_equal(sim_chip_i2c_write(chip, 0x31, &reg, 1), SIM_BUS_ACK);

    /* Not persistent: back to 0x30 after a reset. */
    assert_int_equal(sim_chip_i2c_write(chip, 0x31, soft_reset, 3), SIM_BUS_ACK);
    sim_chip_advance(chip, 12000);
    assert_int_equal(sim_chip_i2c_write(chip, 0x31, &reg, 1), SIM_BUS_NACK);
    assert_int_equal(sim_chip_i2c_write(chip, 0x30, &reg, 1), SIM_BUS_ACK);

    /* Persistent: survives the reset. */
    write_hex(chip, "83 80 32");
    assert_int_equal(sim_chip_i2c_write(chip, 0x32, soft_reset, 3), SIM_BUS_ACK);
    sim_chip_advance(chip, 12000);
    assert_int_equal(sim_chip_i2c_write(chip, 0x30, &reg, 1), SIM_BUS_NACK);
    assert_int_equal(sim_chip_i2c_write(chip, 0x32, &reg, 1), SIM_BUS_ACK);
    sim_chip_free(chip);
}

static void data_reg_len_negotiation(void **state)
{
    sim_chip *chip = new_chip(NULL);

    write_hex(chip, "81 00 40");
    expect_reg(chip, 0x81, "00 40");
    write_hex(chip, "81 FF FF");
    expect_reg(chip, 0x81, "01 15");
    write_hex(chip, "81 00 01");
    expect_reg(chip, 0x81, "00 10");
    write_hex(chip, "81 01 15");
    expect_reg(chip, 0x81, "01 15");
    sim_chip_free(chip);
}

static void i2c_mode_and_max_scl(void **state)
{
    sim_chip *chip = new_chip(NULL);

    /* Fm+ written persistently, as a host that wants 1000 kHz does. */
    write_hex(chip, "89 80 04");
    expect_reg(chip, 0x84, "00 00 03 E8");
    expect_reg(chip, 0x89, "00 04");

    /* Values outside Sm..Fm+ are ignored. */
    write_hex(chip, "89 00 07");
    expect_reg(chip, 0x89, "00 04");
    write_hex(chip, "89 00 00");
    expect_reg(chip, 0x89, "00 04");

    /* Sm only. */
    write_hex(chip, "89 00 01");
    expect_reg(chip, 0x84, "00 00 00 64");

    /* A non-persistent mode is lost at a reset; the persistent one returns. */
    write_hex(chip, "88 00 00");
    sim_chip_advance(chip, 12000);
    expect_reg(chip, 0x89, "00 04");
    expect_reg(chip, 0x84, "00 00 03 E8");
    sim_chip_free(chip);
}

static void over_speed_counted(void **state)
{
    sim_chip *chip = new_chip(NULL);
    uint64_t before;

    sim_chip_set_speed(chip, 1000);
    expect_reg(chip, 0x82, "08 00 00 00");
    assert_int_equal(sim_chip_stats(chip)->over_speed, 2);

    write_hex(chip, "89 00 04");
    before = sim_chip_stats(chip)->over_speed;
    expect_reg(chip, 0x82, "08 00 00 00");
    assert_int_equal(sim_chip_stats(chip)->over_speed, before);
    sim_chip_free(chip);
}

static void soft_reset_restarts_chip(void **state)
{
    uint8_t reg = 0x82;
    uint8_t frame[FRAME_CAP];
    uint8_t apdu[] = {0x01, 0x00, 0x00, 0x06, 0xE0, 0xC2, 0x00, 0x00, 0x00, 0x64};
    size_t len;
    sim_chip *chip = new_chip(NULL);

    open_application(chip);
    write_hex(chip, "81 00 40");
    write_hex(chip, "88 00 00");

    /* Start-up: NACK for 10 ms, then the registers read their defaults. */
    assert_int_equal(sim_chip_i2c_write(chip, ADDR, &reg, 1), SIM_BUS_NACK);
    sim_chip_advance(chip, 9000);
    assert_int_equal(sim_chip_i2c_write(chip, ADDR, &reg, 1), SIM_BUS_NACK);
    sim_chip_advance(chip, 1000);
    expect_idle(chip);
    expect_reg(chip, 0x81, "01 15");

    /* Counters restarted: frame 0 is accepted, and the application is closed. */
    send_frame(chip, frame, make_data_frame(frame, 0x03, 0x00, apdu, sizeof(apdu)));
    len = poll_data_frame(chip, NULL, frame);
    assert_int_equal(len, 10);
    assert_memory_equal(frame, "\x00\x00\x05\x00\xFF\x00\x00\x00\xD1\x55", 10);
    send_control_ack(chip, 0);

    /* OpenApplication as frame 1 works again. */
    len = make_data_frame(frame, 0x04, 0x00, open_application_apdu, sizeof(open_application_apdu));
    send_frame(chip, frame, len);
    len = poll_data_frame(chip, NULL, frame);
    assert_int_equal(len, 10);
    assert_int_equal(frame[0], 0x05);
    assert_int_equal(frame[4], 0x00);
    sim_chip_free(chip);
}

/* ---- worked exchanges ---- */

static void exchange_open_application(void **state)
{
    sim_chip *chip = new_chip(NULL);
    uint8_t frame[FRAME_CAP];
    uint8_t st[4];
    unsigned poll;

    expect_reg(chip, 0x82, "08 00 00 00");
    send_hex(chip, open_application_frame);
    expect_frame(chip, 0xC8, "80 00 00 0C EC");

    for (poll = 0; poll < POLL_MAX; poll++) {
        read_state(chip, st);
        if (st[0] & 0x40)
            break;
        assert_int_equal(st[0] & 0x3F, 0x08);
        sim_chip_advance(chip, POLL_US);
    }
    assert_memory_equal(st, "\x48\x00\x00\x0A", 4);
    read_data(chip, frame, 10);
    assert_memory_equal(frame, "\x00\x00\x05\x00\x00\x00\x00\x00\x14\x87", 10);

    write_hex(chip, "80 80 00 00 0C EC");
    expect_idle(chip);
    assert_int_equal(sim_chip_stats(chip)->commands, 1);
    sim_chip_free(chip);
}

static void exchange_get_uid(void **state)
{
    sim_chip *chip = new_chip(NULL);
    uint8_t frame[FRAME_CAP];

    open_application(chip);
    send_hex(chip, "04 00 0B 00 01 00 00 06 E0 C2 00 00 00 64 F0 9F");
    sim_chip_advance(chip, 200000);

    read_state(chip, frame);
    assert_memory_equal(frame, "\x48\x00\x00\x25", 4);
    read_data(chip, frame, 0x25);
    assert_memory_equal(frame, "\x05\x00\x20\x00\x00\x00\x00\x1B", 8);
    assert_true(fcs_ok(frame, 0x25));

    write_hex(chip, "80 81 00 00 56 30");
    expect_idle(chip);
    sim_chip_free(chip);
}

static void exchange_small_objects(void **state)
{
    sim_chip *chip = new_chip(NULL);
    uint8_t frame[FRAME_CAP];
    uint8_t out[FRAME_CAP];
    uint8_t comms[2] = {SIM_APP_MAX_COMMS_BUFFER >> 8, SIM_APP_MAX_COMMS_BUFFER & 0xFF};
    size_t len;

    open_application(chip);

    /* Last error code: exactly one byte. */
    send_hex(chip, "04 00 07 00 01 00 00 02 F1 C2 1D CF");
    len = poll_data_frame(chip, NULL, out);
    assert_int_equal(len, 11);
    assert_memory_equal(out, "\x05\x00\x06\x00\x00\x00\x00\x01", 8);
    send_control_ack(chip, 1);

    /* 0xE0C6: exactly two bytes, the comms buffer size. */
    len = make_data_frame(frame, 0x09, 0x00,
                          (const uint8_t *)"\x01\x00\x00\x06\xE0\xC6\x00\x00\x00\x10", 10);
    send_frame(chip, frame, len);
    len = poll_data_frame(chip, NULL, out);
    assert_int_equal(len, 12);
    assert_memory_equal(out, "\x0A\x00\x07\x00\x00\x00\x00\x02", 8);
    assert_memory_equal(out + 8, comms, 2);
    send_control_ack(chip, 2);
    expect_idle(chip);
    sim_chip_free(chip);
}

/* Review §C: chained SetDataObject and GetDataObject on 0xF1E0, byte for byte. */
static void exchange_chained(void **state)
{
    sim_chip *chip = new_chip(NULL);
    uint8_t payload[300];
    uint8_t apdu[308] = {0x02, 0x40, 0x01, 0x30, 0xF1, 0xE0, 0x00, 0x00};
    uint8_t resp[304] = {0x00, 0x00, 0x01, 0x2C};
    uint8_t frame[FRAME_CAP];
    uint8_t want[FRAME_CAP];
    uint8_t got[FRAME_CAP];
    uint8_t ack2[5];
    size_t len;
    size_t want_len;

    fill_pattern(payload, sizeof(payload));
    memcpy(apdu + 8, payload, sizeof(payload));
    memcpy(resp + 4, payload, sizeof(payload));
    open_application(chip);

    /* Host frame 1: first fragment, 271 APDU bytes. The chip sends a control ACK only. */
    len = make_data_frame(frame, 0x04, 0x01, apdu, 271);
    assert_int_equal(len, 277);
    assert_memory_equal(frame, "\x04\x01\x10\x01\x02\x40\x01\x30\xF1\xE0\x00\x00\x00\x01", 14);
    assert_memory_equal(frame + 273, "\x05\x06\x0B\x57", 4);
    send_frame(chip, frame, len);
    expect_frame(chip, 0x48, "81 00 00 56 30");
    sim_chip_advance(chip, 20000);
    expect_idle(chip);

    /* Host frame 2: last fragment, 37 APDU bytes. */
    len = make_data_frame(frame, 0x08, 0x04, apdu + 271, 37);
    assert_int_equal(len, 43);
    assert_memory_equal(frame, "\x08\x00\x26\x04\x07\x08", 6);
    assert_memory_equal(frame + 40, "\x2B\xE7\x7D", 3);
    send_frame(chip, frame, len);
    hex("82 00 00 B9 54", ack2, sizeof(ack2));
    len = poll_data_frame(chip, ack2, got);
    assert_int_equal(len, 10);
    assert_memory_equal(got, "\x06\x00\x05\x00\x00\x00\x00\x00\x09\x36", 10);
    write_hex(chip, "80 81 00 00 56 30");

    /* GetDataObject 0xF1E0, 300 bytes: two fragments, each ACKNR 3. */
    send_hex(chip, "0D 00 0B 00 01 00 00 06 F1 E0 00 00 01 2C 86 00");
    len = poll_data_frame(chip, NULL, got);
    want_len = make_data_frame(want, 0x0B, 0x01, resp, 271);
    assert_int_equal(len, 277);
    assert_memory_equal(got, want, want_len);
    assert_memory_equal(got + 275, "\xFC\x7C", 2);
    write_hex(chip, "80 82 00 00 B9 54");

    len = poll_data_frame(chip, NULL, got);
    want_len = make_data_frame(want, 0x0F, 0x04, resp + 271, 33);
    assert_int_equal(len, 39);
    assert_memory_equal(got, want, want_len);
    assert_memory_equal(got, "\x0F\x00\x22\x04\x0B\x0C", 6);
    assert_memory_equal(got + 36, "\x2B\x3A\x88", 3);
    write_hex(chip, "80 83 00 00 E3 88");
    expect_idle(chip);
    assert_int_equal(sim_chip_stats(chip)->commands, 3);
    sim_chip_free(chip);
}

/*
 * Sends apdu chained at frame size frame_size, starting with host frame
 * number *frnr (ACKNR ack). Returns after the last fragment.
 */
static void send_chained(sim_chip *chip, const uint8_t *apdu, size_t n, size_t frame_size,
                         uint8_t *frnr, uint8_t ack)
{
    size_t per = frame_size - 6;
    size_t off = 0;
    uint8_t frame[FRAME_CAP];
    uint8_t want[5];
    uint8_t pctr;
    size_t chunk;

    while (off < n) {
        chunk = n - off > per ? per : n - off;
        if (off == 0)
            pctr = chunk == n ? 0x00 : 0x01;
        else
            pctr = off + chunk < n ? 0x02 : 0x04;
        send_frame(chip, frame,
                   make_data_frame(frame, (uint8_t)((*frnr << 2) | ack), pctr, apdu + off, chunk));
        off += chunk;
        if (off < n) {
            make_frame(want, (uint8_t)(0x80 | *frnr), NULL, 0);
            sim_chip_advance(chip, POLL_US);
            read_state(chip, frame);
            assert_memory_equal(frame, "\x48\x00\x00\x05", 4);
            read_data(chip, frame, 5);
            assert_memory_equal(frame, want, 5);
        }
        *frnr = (uint8_t)((*frnr + 1) & 3);
    }
}

static void chain_cut_at_negotiated_size(void **state)
{
    sim_chip *chip = new_chip(NULL);
    uint8_t payload[300];
    uint8_t apdu[308] = {0x02, 0x40, 0x01, 0x30, 0xF1, 0xE0, 0x00, 0x00};
    uint8_t read_cmd[] = {0x01, 0x00, 0x00, 0x06, 0xF1, 0xE0, 0x00, 0x00, 0x01, 0x2C};
    uint8_t resp[400];
    uint8_t got[FRAME_CAP];
    uint8_t expected_pctr[] = {0x01, 0x02, 0x02, 0x02, 0x02, 0x04};
    uint8_t frnr = 1;
    uint8_t chip_frnr;
    size_t resp_len = 0;
    size_t len;

    fill_pattern(payload, sizeof(payload));
    memcpy(apdu + 8, payload, sizeof(payload));
    open_application(chip);
    write_hex(chip, "81 00 40");

    /* A frame longer than the negotiated size is rejected: NAK for frame 1. */
    len = make_data_frame(got, 0x04, 0x00, apdu, 0x40 - 5);
    send_frame(chip, got, len);
    expect_frame(chip, 0x48, "A1 00 00 55 0B");

    send_chained(chip, apdu, sizeof(apdu), 0x40, &frnr, 0);
    len = poll_data_frame(chip, NULL, got);
    assert_int_equal(got[4], 0x00);
    chip_frnr = (got[0] >> 2) & 3;
    send_control_ack(chip, chip_frnr);

    send_chained(chip, read_cmd, sizeof(read_cmd), 0x40, &frnr, chip_frnr);
    for (size_t i = 0; i < sizeof(expected_pctr); i++) {
        len = poll_data_frame(chip, NULL, got);
        assert_true(len <= 0x40);
        chip_frnr = (uint8_t)((chip_frnr + 1) & 3);
        assert_int_equal(got[0], (chip_frnr << 2) | ((frnr + 3) & 3));
        assert_int_equal(got[3], expected_pctr[i]);
        if (expected_pctr[i] != 0x04)
            assert_int_equal(len, 0x40);
        memcpy(resp + resp_len, got + 4, len - 6);
        resp_len += len - 6;
        send_control_ack(chip, chip_frnr);
    }
    assert_int_equal(resp_len, 304);
    assert_memory_equal(resp, "\x00\x00\x01\x2C", 4);
    assert_memory_equal(resp + 4, payload, sizeof(payload));
    expect_idle(chip);
    sim_chip_free(chip);
}

/* ---- data link errors ---- */

static void corrupt_frames_nak(void **state)
{
    sim_chip *chip = new_chip(NULL);
    uint8_t frame[FRAME_CAP];
    uint8_t got[FRAME_CAP];
    size_t len;

    open_application(chip);

    /* Bad FCS. */
    len = hex("04 00 0B 00 01 00 00 06 E0 C2 00 00 00 64 F0 9E", frame, sizeof(frame));
    send_frame(chip, frame, len);
    expect_frame(chip, 0x48, "A1 00 00 55 0B");

    /* LEN does not match the bytes written. */
    len = hex("04 00 0C 00 01 00 00 06 E0 C2 00 00 00 64", frame, sizeof(frame));
    len = len + 2;
    frame[len - 2] = (uint8_t)(trustx_crc16(frame, len - 2) >> 8);
    frame[len - 1] = (uint8_t)trustx_crc16(frame, len - 2);
    send_frame(chip, frame, len);
    expect_frame(chip, 0x48, "A1 00 00 55 0B");

    /* Shorter than a control frame. */
    send_hex(chip, "04 00 00");
    expect_frame(chip, 0x48, "A1 00 00 55 0B");

    /* RFU bit set, and a data frame with LEN 0. */
    send_frame(chip, frame, make_frame(frame, 0x14, (const uint8_t *)"\x00", 1));
    expect_frame(chip, 0x48, "A1 00 00 55 0B");
    send_frame(chip, frame, make_frame(frame, 0x04, NULL, 0));
    expect_frame(chip, 0x48, "A1 00 00 55 0B");

    assert_int_equal(sim_chip_stats(chip)->frames_in_corrupt, 5);
    assert_int_equal(sim_chip_stats(chip)->commands, 1);

    /* A control frame with a payload is dropped without a NAK. */
    send_frame(chip, frame, make_frame(frame, 0x80, (const uint8_t *)"\x00", 1));
    expect_idle(chip);

    /* The intact frame still goes through as frame 1. */
    send_hex(chip, "04 00 0B 00 01 00 00 06 E0 C2 00 00 00 64 F0 9F");
    len = poll_data_frame(chip, NULL, got);
    assert_int_equal(len, 0x25);
    assert_int_equal(got[0], 0x05);
    sim_chip_free(chip);
}

static void repeated_frame_not_executed(void **state)
{
    sim_chip *chip = new_chip(NULL);
    uint8_t first[FRAME_CAP];
    uint8_t again[FRAME_CAP];
    size_t len;

    open_application(chip);
    send_hex(chip, "04 00 0B 00 01 00 00 06 E0 C2 00 00 00 64 F0 9F");
    len = poll_data_frame(chip, NULL, first);
    assert_int_equal(sim_chip_stats(chip)->commands, 2);

    /* Repeated before the response was acknowledged: the response comes again. */
    send_hex(chip, "04 00 0B 00 01 00 00 06 E0 C2 00 00 00 64 F0 9F");
    read_state(chip, again);
    assert_memory_equal(again, "\x48\x00\x00\x25", 4);
    read_data(chip, again, len);
    assert_memory_equal(again, first, len);
    assert_int_equal(sim_chip_stats(chip)->commands, 2);
    send_control_ack(chip, 1);
    expect_idle(chip);

    /* Repeated after the exchange ended: a control ACK of frame 1 only. */
    send_hex(chip, "04 00 0B 00 01 00 00 06 E0 C2 00 00 00 64 F0 9F");
    expect_frame(chip, 0x48, "81 00 00 56 30");
    sim_chip_advance(chip, 50000);
    expect_idle(chip);
    assert_int_equal(sim_chip_stats(chip)->commands, 2);
    sim_chip_free(chip);
}

static void data_write_while_busy_nacked(void **state)
{
    sim_chip *chip = new_chip(NULL);
    uint8_t frame[FRAME_CAP + 1] = {0x80};
    size_t len = hex("04 00 0B 00 01 00 00 06 E0 C2 00 00 00 64 F0 9F", frame + 1, FRAME_CAP);

    open_application(chip);
    write_ok(chip, frame, len + 1);
    assert_int_equal(sim_chip_i2c_write(chip, ADDR, frame, len + 1), SIM_BUS_NACK);
    expect_frame(chip, 0xC8, "81 00 00 56 30");
    assert_int_equal(sim_chip_stats(chip)->commands, 2);

    /* Register writes other than DATA are still served. */
    write_hex(chip, "81 01 15");
    sim_chip_free(chip);
}

static void resync_resets_counters(void **state)
{
    sim_chip *chip = new_chip(NULL);
    uint8_t got[FRAME_CAP];

    open_application(chip);
    send_hex(chip, "C0 00 00 0A 9A");
    expect_idle(chip);

    send_hex(chip, open_application_frame);
    assert_int_equal(poll_data_frame(chip, NULL, got), 10);
    assert_memory_equal(got, "\x00\x00\x05\x00\x00\x00\x00\x00\x14\x87", 10);
    assert_int_equal(sim_chip_stats(chip)->commands, 2);
    sim_chip_free(chip);
}

static void resync_drops_chained_response(void **state)
{
    sim_chip *chip = new_chip(NULL);
    uint8_t payload[600];
    uint8_t apdu[608] = {0x02, 0x40, 0x02, 0x5C, 0xF1, 0xE0, 0x00, 0x00};
    uint8_t got[FRAME_CAP];
    uint8_t frnr = 1;
    size_t len;

    fill_pattern(payload, sizeof(payload));
    memcpy(apdu + 8, payload, sizeof(payload));
    open_application(chip);
    send_chained(chip, apdu, sizeof(apdu), 0x115, &frnr, 0);
    len = poll_data_frame(chip, NULL, got);
    assert_int_equal(got[4], 0x00);
    send_control_ack(chip, (got[0] >> 2) & 3);

    send_hex(chip, "C0 00 00 0A 9A");
    len = make_data_frame(got, 0x03, 0x00,
                          (const uint8_t *)"\x01\x00\x00\x06\xF1\xE0\x00\x00\x02\x58", 10);
    send_frame(chip, got, len);
    len = poll_data_frame(chip, NULL, got);
    assert_int_equal(got[0], 0x00);
    assert_int_equal(got[3], 0x01);

    /* Re-sync between fragments: the rest of the response is dropped. */
    send_hex(chip, "C0 00 00 0A 9A");
    sim_chip_advance(chip, 50000);
    expect_idle(chip);
    sim_chip_free(chip);
}

/* Sends one data frame and expects the chain error packet 07 in the chip's next frame. */
static void expect_chain_error(sim_chip *chip, uint8_t fctr, uint8_t pctr, size_t data_len,
                               uint8_t chip_fctr)
{
    uint8_t data[FRAME_CAP] = {0};
    uint8_t frame[FRAME_CAP];
    uint8_t want[6];

    send_frame(chip, frame, make_data_frame(frame, fctr, pctr, data, data_len));
    assert_int_equal(poll_data_frame(chip, NULL, frame), 6);
    make_frame(want, chip_fctr, (const uint8_t *)"\x07", 1);
    assert_memory_equal(frame, want, 6);
    send_control_ack(chip, (chip_fctr >> 2) & 3);
}

static void chain_errors_answered(void **state)
{
    sim_chip *chip = new_chip(NULL);
    uint8_t frame[FRAME_CAP];
    uint8_t data[FRAME_CAP] = {0x01};

    open_application(chip);
    expect_chain_error(chip, 0x04, 0x01, 100, 0x05);   /* first fragment too short */
    expect_chain_error(chip, 0x09, 0x04, 10, 0x0A);    /* last without a first */
    expect_chain_error(chip, 0x0E, 0x02, 271, 0x0F);   /* middle without a first */
    expect_chain_error(chip, 0x03, 0x08, 10, 0x00);    /* presentation bit set */
    expect_chain_error(chip, 0x04, 0x03, 10, 0x05);    /* undefined chain value */

    /* A single packet while a chain is open. */
    send_frame(chip, frame, make_data_frame(frame, 0x08, 0x01, data, 271));
    expect_frame(chip, 0x48, "82 00 00 B9 54");
    expect_chain_error(chip, 0x0D, 0x00, 10, 0x0B);
    assert_int_equal(sim_chip_stats(chip)->commands, 1);
    sim_chip_free(chip);
}

static void host_chain_error_restarts_response(void **state)
{
    sim_chip *chip = new_chip(NULL);
    uint8_t payload[300];
    uint8_t apdu[308] = {0x02, 0x40, 0x01, 0x30, 0xF1, 0xE0, 0x00, 0x00};
    uint8_t first[FRAME_CAP];
    uint8_t again[FRAME_CAP];
    uint8_t frame[FRAME_CAP];
    uint8_t frnr = 1;
    size_t len;

    fill_pattern(payload, sizeof(payload));
    memcpy(apdu + 8, payload, sizeof(payload));
    open_application(chip);
    send_chained(chip, apdu, sizeof(apdu), 0x115, &frnr, 0);
    len = poll_data_frame(chip, NULL, first);
    send_control_ack(chip, 1);

    send_hex(chip, "0D 00 0B 00 01 00 00 06 F1 E0 00 00 01 2C 86 00");
    len = poll_data_frame(chip, NULL, first);
    assert_int_equal(first[3], 0x01);
    send_control_ack(chip, 2);

    /* The host reports a chain error as frame 0: the response starts over as chip frame 3. */
    send_frame(chip, frame, make_frame(frame, 0x02, (const uint8_t *)"\x07", 1));
    len = poll_data_frame(chip, NULL, again);
    assert_int_equal(len, 277);
    assert_int_equal(again[0], 0x0C);
    assert_memory_equal(again + 1, first + 1, len - 3);
    assert_int_equal(sim_chip_stats(chip)->commands, 3);
    sim_chip_free(chip);
}

static void host_nak_resends_frame(void **state)
{
    sim_chip *chip = new_chip(NULL);
    uint8_t first[FRAME_CAP];
    uint8_t again[FRAME_CAP];
    size_t len;

    open_application(chip);
    send_hex(chip, "04 00 0B 00 01 00 00 06 E0 C2 00 00 00 64 F0 9F");
    len = poll_data_frame(chip, NULL, first);
    expect_idle(chip);

    /* A NAK for another frame number is ignored. */
    send_frame(chip, again, make_frame(again, 0xA2, NULL, 0));
    expect_idle(chip);

    send_hex(chip, "A1 00 00 55 0B");
    read_state(chip, again);
    assert_memory_equal(again, "\x48\x00\x00\x25", 4);
    read_data(chip, again, len);
    assert_memory_equal(again, first, len);
    sim_chip_free(chip);
}

static void unacked_response_presented_again(void **state)
{
    sim_chip *chip = new_chip(NULL);
    uint8_t first[FRAME_CAP];
    uint8_t again[FRAME_CAP];
    size_t len;

    open_application(chip);
    send_hex(chip, "04 00 0B 00 01 00 00 06 E0 C2 00 00 00 64 F0 9F");
    len = poll_data_frame(chip, NULL, first);

    /* RESP_RDY clears once the frame is read ... */
    expect_idle(chip);
    sim_chip_advance(chip, 5000);
    expect_idle(chip);

    /* ... and the frame comes back when no ACK arrived within the transmit timeout. */
    sim_chip_advance(chip, 5000);
    read_state(chip, again);
    assert_memory_equal(again, "\x48\x00\x00\x25", 4);
    read_data(chip, again, len);
    assert_memory_equal(again, first, len);
    send_control_ack(chip, 1);
    sim_chip_advance(chip, 20000);
    expect_idle(chip);
    sim_chip_free(chip);
}

/* ---- time ---- */

static uint64_t stats_sum(const sim_time_stats *s)
{
    return s->bus_us + s->guard_us + s->exec_us + s->wait_us;
}

static void time_bus_and_guard(void **state)
{
    sim_chip *chip = new_chip(NULL);
    const sim_time_stats *s = sim_chip_stats(chip);
    uint8_t reg = 0x82;
    uint8_t buf[4];

    /* 1000 kHz: 9 us per byte. Register write (2 bytes), guard, read of 4 (5 bytes). */
    sim_chip_set_speed(chip, 1000);
    write_ok(chip, &reg, 1);
    assert_int_equal(sim_chip_i2c_read(chip, ADDR, buf, 4), SIM_BUS_ACK);
    assert_int_equal(s->transactions, 2);
    assert_int_equal(s->bytes, 7);
    assert_int_equal(s->bus_us, 63);
    assert_int_equal(s->guard_us, 50);
    assert_int_equal(s->exec_us, 0);
    assert_int_equal(s->wait_us, 0);
    assert_int_equal(sim_chip_now_us(chip), 113);

    /* A host that waits: the first 50 us after the STOP are guard time, the rest is waiting. */
    sim_chip_advance(chip, 30);
    sim_chip_advance(chip, 100);
    assert_int_equal(s->guard_us, 100);
    assert_int_equal(s->wait_us, 80);
    write_ok(chip, &reg, 1);
    assert_int_equal(s->guard_us, 100);
    assert_int_equal(sim_chip_now_us(chip), 113 + 130 + 18);

    /* An address NACK costs the address byte only. */
    assert_int_equal(sim_chip_i2c_read(chip, 0x31, buf, 4), SIM_BUS_NACK);
    assert_int_equal(s->bytes, 10);
    assert_int_equal(s->bus_us, 90);
    assert_int_equal(stats_sum(s), sim_chip_now_us(chip));

    /* 400 kHz: 22.5 us per byte. */
    sim_chip_set_speed(chip, 400);
    sim_chip_advance(chip, 1000);
    write_ok(chip, &reg, 1);
    assert_int_equal(s->bus_us, 135);
    assert_int_equal(s->guard_us, 200);

    /* 100 kHz: 90 us per byte. */
    sim_chip_set_speed(chip, 100);
    sim_chip_advance(chip, 1000);
    write_ok(chip, &reg, 1);
    assert_int_equal(s->bus_us, 315);
    sim_chip_free(chip);
}

static void time_exec_overlaps_waiting(void **state)
{
    sim_chip *chip = new_chip(NULL);
    const sim_time_stats *s = sim_chip_stats(chip);
    uint8_t st[4];
    uint64_t t0;
    uint64_t t1;
    uint64_t before_exec;
    uint64_t before_bus;
    uint64_t before_wait;
    uint64_t before_guard;

    sim_chip_set_speed(chip, 1000);
    open_application(chip);
    sim_chip_advance(chip, 1000);
    send_hex(chip, "04 00 0B 00 01 00 00 06 E0 C2 00 00 00 64 F0 9F");
    t0 = sim_chip_now_us(chip);
    before_exec = s->exec_us;
    before_bus = s->bus_us;
    before_wait = s->wait_us;

    /* Poll every 100 us while the chip is busy; the polls hide under execution time. */
    for (unsigned poll = 0; poll < POLL_MAX; poll++) {
        read_state(chip, st);
        if ((st[0] & 0x80) == 0)
            break;
        sim_chip_advance(chip, 100);
    }
    assert_int_equal(st[0] & 0x80, 0);
    t1 = sim_chip_now_us(chip);

    /*
     * The last busy poll sampled I2C_STATE after its address byte, so after
     * execution ended there remain at most 4 bytes of that read (36 us), one
     * 100 us wait and one more register read (7 bytes, two guard times).
     * Polls during execution count as chip time.
     */
    assert_true(s->exec_us > before_exec);
    assert_true(s->exec_us - before_exec <= t1 - t0);
    assert_true(s->exec_us - before_exec + 36 + 100 + 63 + 100 >= t1 - t0);
    assert_true(s->bus_us - before_bus <= 36 + 63);
    assert_true(s->wait_us - before_wait <= 100);
    assert_true(sim_chip_now_us(chip) - stats_sum(s) <= 3);

    /* A long host wait after execution: guard time first, then waiting. */
    before_wait = s->wait_us;
    before_guard = s->guard_us;
    sim_chip_advance(chip, 100000);
    assert_int_equal(s->guard_us, before_guard + 50);
    assert_int_equal(s->wait_us, before_wait + 100000 - 50);
    assert_true(sim_chip_now_us(chip) - stats_sum(s) <= 3);
    sim_chip_free(chip);
}

static void time_startup_counts_as_chip(void **state)
{
    sim_chip *chip = new_chip(NULL);
    const sim_time_stats *s = sim_chip_stats(chip);

    sim_chip_set_speed(chip, 1000);
    write_hex(chip, "88 00 00");
    sim_chip_advance(chip, 20000);
    assert_int_equal(s->exec_us, 10000);
    assert_int_equal(s->guard_us, 0);
    assert_int_equal(s->wait_us, 10000);
    assert_int_equal(stats_sum(s), sim_chip_now_us(chip));
    sim_chip_free(chip);
}

/* ---- faults ---- */

static void faults_parse_valid(void **state)
{
    sim_faults f;

    assert_int_equal(sim_faults_parse(NULL, &f), TRUSTX_OK);
    assert_true(f.flip_rate == 0.0);
    assert_int_equal(f.nack_every, 0);
    assert_int_equal(f.seed, 1);

    assert_int_equal(sim_faults_parse("flip=0.25,nackburst=3,nackevery=10,lose=2,neverready,"
                                      "resetcmd=4,seed=0x10",
                                      &f),
                     TRUSTX_OK);
    assert_true(f.flip_rate == 0.25);
    assert_int_equal(f.nack_burst, 3);
    assert_int_equal(f.nack_every, 10);
    assert_int_equal(f.lose_response, 2);
    assert_int_equal(f.never_ready, 1);
    assert_int_equal(f.reset_in_command, 4);
    assert_int_equal(f.seed, 16);

    assert_int_equal(sim_faults_parse("nackevery=7", &f), TRUSTX_OK);
    assert_int_equal(f.nack_burst, 1);
}

static void faults_parse_invalid(void **state)
{
    static const char *const bad[] = {
        "bogus=1", "flip", "flip=2", "flip=-0.1", "flip=abc", "flip=nan", "nackevery=x",
        "nackburst=2", "nackburst=5,nackevery=5", "lose=-1", "lose=", "neverready=1",
        "seed=1x", "flip=0.1,,lose=1", ",", "resetcmd=99999999999",
    };
    sim_faults f;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(sim_faults_parse(bad[i], &f), TRUSTX_E_INVALID_ARG);
        assert_true(strlen(trustx_error_last()->message) > 0);
    }
    assert_int_equal(sim_faults_parse("bogus=1", &f), TRUSTX_E_INVALID_ARG);
    assert_non_null(strstr(trustx_error_last()->message, "bogus"));
}

static int popcount_diff(const uint8_t *a, const uint8_t *b, size_t n)
{
    int bits = 0;

    for (size_t i = 0; i < n; i++)
        for (uint8_t x = a[i] ^ b[i]; x != 0; x &= (uint8_t)(x - 1))
            bits++;
    return bits;
}

static void fault_flip_both_directions(void **state)
{
    sim_chip *chip = new_chip("flip=1");
    uint8_t st[4];
    uint8_t got[5];
    uint8_t nak[5];

    send_hex(chip, open_application_frame);
    read_state(chip, st);
    assert_memory_equal(st, "\x48\x00\x00\x05", 4);
    read_data(chip, got, 5);
    hex("A0 00 00 0F D7", nak, sizeof(nak));
    assert_int_equal(popcount_diff(got, nak, 5), 1);
    assert_int_equal(sim_chip_stats(chip)->frames_in_corrupt, 1);
    assert_int_equal(sim_chip_stats(chip)->commands, 0);

    /* Registers are not frames: no flips there. */
    expect_reg(chip, 0x84, "00 00 01 90");
    sim_chip_free(chip);
}

/* Runs a fixed exchange and records every byte the host reads. */
static size_t flip_transcript(const char *spec, uint8_t *out, size_t cap)
{
    sim_chip *chip = new_chip(spec);
    uint8_t frame[FRAME_CAP];
    size_t n = 0;
    size_t len;

    for (int round = 0; round < 20; round++) {
        len = hex(open_application_frame, frame, sizeof(frame));
        send_hex(chip, "C0 00 00 0A 9A");
        send_frame(chip, frame, len);
        sim_chip_advance(chip, 20000);
        read_state(chip, frame);
        len = ((size_t)frame[2] << 8) | frame[3];
        read_data(chip, frame + 4, len);
        assert_true(n + 4 + len <= cap);
        memcpy(out + n, frame, 4 + len);
        n += 4 + len;
    }
    sim_chip_free(chip);
    return n;
}

static void fault_flip_reproducible(void **state)
{
    uint8_t a[2000];
    uint8_t b[2000];
    uint8_t c[2000];
    uint8_t clean[2000];
    size_t na = flip_transcript("flip=0.3,seed=42", a, sizeof(a));
    size_t nb = flip_transcript("flip=0.3,seed=42", b, sizeof(b));
    size_t nc = flip_transcript("flip=0.3,seed=43", c, sizeof(c));
    size_t nclean = flip_transcript(NULL, clean, sizeof(clean));

    assert_int_equal(na, nb);
    assert_memory_equal(a, b, na);
    assert_true(na != nc || memcmp(a, c, na) != 0);
    assert_true(na != nclean || memcmp(a, clean, na) != 0);
}

static void fault_nack_bursts(void **state)
{
    sim_chip *chip = new_chip("nackburst=2,nackevery=5");
    sim_bus_status status;
    int expect_nack;

    for (unsigned n = 1; n <= 30; n++) {
        status = sim_chip_i2c_write(chip, ADDR, NULL, 0);
        expect_nack = n > 5 && (n - 1) % 5 < 2;
        assert_int_equal(status, expect_nack ? SIM_BUS_NACK : SIM_BUS_ACK);
    }
    sim_chip_free(chip);
}

static void fault_lose_response(void **state)
{
    sim_chip *chip = new_chip("lose=1");
    uint8_t got[FRAME_CAP];

    /* The lost response does not replace the ACK, and never shows up. */
    send_hex(chip, open_application_frame);
    sim_chip_advance(chip, 100000);
    expect_frame(chip, 0x48, "80 00 00 0C EC");
    sim_chip_advance(chip, 1000000);
    expect_idle(chip);

    /* The next response is not lost. */
    send_hex(chip, "C0 00 00 0A 9A");
    send_hex(chip, open_application_frame);
    assert_int_equal(poll_data_frame(chip, NULL, got), 10);
    assert_memory_equal(got, "\x00\x00\x05\x00\x00\x00\x00\x00\x14\x87", 10);
    sim_chip_free(chip);
}

static void fault_never_ready(void **state)
{
    sim_chip *chip = new_chip("neverready");

    expect_idle(chip);
    send_hex(chip, open_application_frame);
    expect_reg(chip, 0x82, "88 00 00 00");
    sim_chip_advance(chip, 1000000);
    expect_reg(chip, 0x82, "88 00 00 00");
    expect_reg(chip, 0x80, "FF FF FF FF FF");
    write_hex(chip, "88 00 00");
    sim_chip_advance(chip, 20000);
    expect_reg(chip, 0x82, "88 00 00 00");
    assert_int_equal(sim_chip_stats(chip)->commands, 0);
    sim_chip_free(chip);
}

static void fault_power_loss_in_command(void **state)
{
    sim_chip *chip = new_chip("resetcmd=2");
    uint8_t reg = 0x82;
    uint8_t got[FRAME_CAP];
    uint8_t frame[FRAME_CAP];
    unsigned nacks = 0;
    unsigned poll;
    size_t len;

    open_application(chip);
    send_hex(chip, "04 00 0B 00 01 00 00 06 E0 C2 00 00 00 64 F0 9F");

    /* The chip drops off the bus, then comes back with nothing pending. */
    for (poll = 0; poll < POLL_MAX; poll++) {
        sim_chip_advance(chip, POLL_US);
        if (sim_chip_i2c_write(chip, ADDR, &reg, 1) == SIM_BUS_ACK) {
            if (nacks > 0)
                break;
        } else {
            nacks++;
        }
    }
    assert_true(nacks >= 10);
    assert_true(poll < POLL_MAX);
    assert_int_equal(sim_chip_i2c_read(chip, ADDR, got, 4), SIM_BUS_ACK);
    assert_memory_equal(got, "\x08\x00\x00\x00", 4);
    assert_int_equal(sim_chip_stats(chip)->commands, 2);

    /* Counters restarted and the application closed: frame 0 fails. */
    len = make_data_frame(frame, 0x03, 0x00,
                          (const uint8_t *)"\x01\x00\x00\x06\xE0\xC2\x00\x00\x00\x64", 10);
    send_frame(chip, frame, len);
    assert_int_equal(poll_data_frame(chip, NULL, got), 10);
    assert_int_equal(got[4], 0xFF);
    send_control_ack(chip, 0);

    /* OpenApplication again, then the UID read works. */
    len = make_data_frame(frame, 0x04, 0x00, open_application_apdu, sizeof(open_application_apdu));
    send_frame(chip, frame, len);
    assert_int_equal(poll_data_frame(chip, NULL, got), 10);
    assert_int_equal(got[4], 0x00);
    send_control_ack(chip, 1);
    len = make_data_frame(frame, 0x09, 0x00,
                          (const uint8_t *)"\x01\x00\x00\x06\xE0\xC2\x00\x00\x00\x64", 10);
    send_frame(chip, frame, len);
    assert_int_equal(poll_data_frame(chip, NULL, got), 0x25);
    assert_int_equal(got[4], 0x00);
    sim_chip_free(chip);
}

/* ---- random traffic ---- */

static uint64_t test_rng_next(uint64_t *state)
{
    *state = *state * 6364136223846793005u + 1442695040888963407u;
    return *state >> 33;
}

/* Checks what I2C_STATE and DATA present; frames must be intact unless flips are injected. */
static void check_presented(sim_chip *chip, int frames_intact)
{
    uint8_t st[4];
    uint8_t frame[FRAME_CAP];
    size_t len;

    if (sim_chip_i2c_write(chip, ADDR, (const uint8_t *)"\x82", 1) != SIM_BUS_ACK ||
        sim_chip_i2c_read(chip, ADDR, st, 4) != SIM_BUS_ACK)
        return;
    len = ((size_t)st[2] << 8) | st[3];
    assert_int_equal(st[0] & 0x08, 0x08);
    assert_int_equal(st[0] & 0x37, 0);
    assert_int_equal(st[1], 0);
    if ((st[0] & 0x40) == 0) {
        assert_int_equal(len, 0);
        return;
    }
    assert_true(len >= 5 && len <= 0x115);
    if (sim_chip_i2c_write(chip, ADDR, (const uint8_t *)"\x80", 1) != SIM_BUS_ACK ||
        sim_chip_i2c_read(chip, ADDR, frame, len) != SIM_BUS_ACK)
        return;
    if (frames_intact) {
        assert_true(fcs_ok(frame, len));
        assert_int_equal(((size_t)frame[1] << 8) | frame[2], len - 5);
    }
}

/* One random host action: a valid or garbled frame, a register write, a wait or a check. */
static void random_action(sim_chip *chip, uint64_t *rng, int frames_intact)
{
    static const uint8_t regs[] = {0x81, 0x82, 0x84, 0x85, 0x86, 0x88, 0x89, 0x90};
    uint8_t buf[FRAME_CAP + 1] = {0x80};
    uint8_t packet[FRAME_CAP];
    size_t n;

    switch (test_rng_next(rng) % 7) {
    case 0:
        /* A well-formed data frame with any numbers, chaining and a short APDU. */
        n = 1 + test_rng_next(rng) % 40;
        for (size_t i = 0; i < n; i++)
            packet[i] = (uint8_t)test_rng_next(rng);
        packet[0] = test_rng_next(rng) % 2 ? 0x00 : (uint8_t)(test_rng_next(rng) % 8);
        if (n >= 5)
            memcpy(packet + 1, "\x01\x00\x00", 3);
        n = make_frame(buf + 1, (uint8_t)(test_rng_next(rng) % 16), packet, n);
        sim_chip_i2c_write(chip, ADDR, buf, n + 1);
        break;
    case 1:
        /* A control frame: ACK, NAK or re-sync. */
        n = make_frame(buf + 1, (uint8_t)(0x80 | (test_rng_next(rng) % 3) << 5 |
                                          test_rng_next(rng) % 4),
                       NULL, 0);
        sim_chip_i2c_write(chip, ADDR, buf, n + 1);
        break;
    case 6:
        n = test_rng_next(rng) % (FRAME_CAP - 1);
        for (size_t i = 1; i <= n; i++)
            buf[i] = (uint8_t)test_rng_next(rng);
        sim_chip_i2c_write(chip, ADDR, buf, n + 1);
        break;
    case 2:
        if (test_rng_next(rng) % 4 != 0)
            break;
        buf[0] = regs[test_rng_next(rng) % sizeof(regs)];
        buf[1] = (uint8_t)test_rng_next(rng);
        buf[2] = (uint8_t)test_rng_next(rng);
        sim_chip_i2c_write(chip, ADDR, buf, 1 + test_rng_next(rng) % 3);
        break;
    case 3:
        sim_chip_advance(chip, test_rng_next(rng) % 20000);
        break;
    default:
        check_presented(chip, frames_intact);
        break;
    }
}

static void random_traffic_keeps_invariants(void **state)
{
    static const char *const specs[] = {
        NULL,
        "flip=0.05,nackburst=2,nackevery=7,lose=3,resetcmd=5,seed=9",
    };

    for (size_t k = 0; k < sizeof(specs) / sizeof(specs[0]); k++) {
        sim_chip *chip = new_chip(specs[k]);
        const sim_time_stats *s = sim_chip_stats(chip);
        uint64_t rng = 12345 + k;

        if (specs[k] == NULL)
            open_application(chip);
        for (int step = 0; step < 20000; step++) {
            random_action(chip, &rng, specs[k] == NULL);
            assert_true(sim_chip_now_us(chip) - stats_sum(s) <= 3);
        }
        sim_chip_free(chip);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(registers_after_start),
        cmocka_unit_test(registers_invalid_read_ff),
        cmocka_unit_test(address_other_nacked),
        cmocka_unit_test(base_addr_write_and_reset),
        cmocka_unit_test(data_reg_len_negotiation),
        cmocka_unit_test(i2c_mode_and_max_scl),
        cmocka_unit_test(over_speed_counted),
        cmocka_unit_test(soft_reset_restarts_chip),
        cmocka_unit_test(exchange_open_application),
        cmocka_unit_test(exchange_get_uid),
        cmocka_unit_test(exchange_small_objects),
        cmocka_unit_test(exchange_chained),
        cmocka_unit_test(chain_cut_at_negotiated_size),
        cmocka_unit_test(corrupt_frames_nak),
        cmocka_unit_test(repeated_frame_not_executed),
        cmocka_unit_test(data_write_while_busy_nacked),
        cmocka_unit_test(resync_resets_counters),
        cmocka_unit_test(resync_drops_chained_response),
        cmocka_unit_test(chain_errors_answered),
        cmocka_unit_test(host_chain_error_restarts_response),
        cmocka_unit_test(host_nak_resends_frame),
        cmocka_unit_test(unacked_response_presented_again),
        cmocka_unit_test(time_bus_and_guard),
        cmocka_unit_test(time_exec_overlaps_waiting),
        cmocka_unit_test(time_startup_counts_as_chip),
        cmocka_unit_test(faults_parse_valid),
        cmocka_unit_test(faults_parse_invalid),
        cmocka_unit_test(fault_flip_both_directions),
        cmocka_unit_test(fault_flip_reproducible),
        cmocka_unit_test(fault_nack_bursts),
        cmocka_unit_test(fault_lose_response),
        cmocka_unit_test(fault_never_ready),
        cmocka_unit_test(fault_power_loss_in_command),
        cmocka_unit_test(random_traffic_keeps_invariants),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

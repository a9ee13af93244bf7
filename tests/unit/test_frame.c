/* SPDX-License-Identifier: MIT */
/*
 * Data-link frame codec against known frames: the OpenApplication and
 * GetDataObject logs of a real Trust X, further single frames, and a chained
 * write and read of a 300-byte payload. Each frame is encoded, then decoded
 * whole, byte by byte and split at every offset; damaged frames are rejected.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "ifxi2c/frame.h"

#define PAYLOAD_LEN 300

typedef struct known_frame {
    const char *name;
    uint8_t fctr;
    uint8_t packet[TRUSTX_FRAME_MAX];
    size_t packet_len;
    uint8_t frame[TRUSTX_FRAME_MAX];
    size_t frame_len;
} known_frame;

/* Short frames as hex: FCTR LEN packet FCS, exactly as on the wire. */
static const struct {
    const char *name;
    const char *hex;
} short_frames[] = {
    {"open application", "03 00 15 00 70 00 00 10 D2 76 00 00 04 47 65 6E 41 75 74 68 41 70 70 6C"
                         " 04 1A"},
    {"open application with flush", "03 00 15 00 F0 00 00 10 D2 76 00 00 04 47 65 6E 41 75 74 68"
                                    " 41 70 70 6C C9 B6"},
    {"control ack 0", "80 00 00 0C EC"},
    {"open application response", "00 00 05 00 00 00 00 00 14 87"},
    {"get uid", "04 00 0B 00 01 00 00 06 E0 C2 00 00 00 64 F0 9F"},
    {"control ack 1", "81 00 00 56 30"},
    {"read last error", "04 00 07 00 01 00 00 02 F1 C2 1D CF"},
    {"last error 0x07", "05 00 06 00 00 00 00 01 07 47 B2"},
    {"error status", "00 00 05 00 FF 00 00 00 D1 55"},
    {"generate key pair", "09 00 0E 00 38 03 00 09 01 00 02 E0 F1 02 00 01 10 25 88"},
    {"read metadata", "0E 00 07 00 01 01 00 02 E0 E1 B8 3C"},
    {"control ack 2", "82 00 00 B9 54"},
    {"control ack 3", "83 00 00 E3 88"},
    {"control nak 1", "A1 00 00 55 0B"},
    {"re-sync", "C0 00 00 0A 9A"},
    {"set data response", "06 00 05 00 00 00 00 00 09 36"},
    {"get f1e0", "0D 00 0B 00 01 00 00 06 F1 E0 00 00 01 2C 86 00"},
};

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

static void fill_from_wire(known_frame *k, const char *name, const uint8_t *wire, size_t len)
{
    k->name = name;
    memcpy(k->frame, wire, len);
    k->frame_len = len;
    k->fctr = wire[0];
    k->packet_len = len - TRUSTX_FRAME_OVERHEAD;
    memcpy(k->packet, wire + 3, k->packet_len);
}

/* Joins a hex head, payload bytes [from, to) (byte i = i mod 256) and a hex FCS. */
static void chained_frame(known_frame *k, const char *name, const char *head, size_t from,
                          size_t to, const char *fcs)
{
    uint8_t wire[TRUSTX_FRAME_MAX];
    size_t len = parse_hex(head, wire, sizeof(wire));

    for (size_t i = from; i < to; i++)
        wire[len++] = (uint8_t)i;
    len += parse_hex(fcs, wire + len, sizeof(wire) - len);
    fill_from_wire(k, name, wire, len);
}

/* Builds every known frame; returns the count. */
static size_t known_frames(known_frame *out, size_t cap)
{
    size_t n = 0;

    for (size_t i = 0; i < sizeof(short_frames) / sizeof(short_frames[0]); i++) {
        uint8_t wire[TRUSTX_FRAME_MAX];
        size_t len = parse_hex(short_frames[i].hex, wire, sizeof(wire));

        assert_true(n < cap);
        fill_from_wire(&out[n++], short_frames[i].name, wire, len);
    }

    assert_true(n + 6 <= cap);
    chained_frame(&out[n++], "set data first fragment", "04 01 10 01 02 40 01 30 F1 E0 00 00", 0,
                  263, "0B 57");
    chained_frame(&out[n++], "set data last fragment", "08 00 26 04", 263, PAYLOAD_LEN, "E7 7D");
    chained_frame(&out[n++], "get data first fragment", "0B 01 10 01 00 00 01 2C", 0, 267,
                  "FC 7C");
    chained_frame(&out[n++], "get data last fragment", "0F 00 22 04", 267, PAYLOAD_LEN, "3A 88");
    return n;
}

static void assert_decoded(const ifxi2c_frame_decoder *d, const known_frame *k)
{
    const uint8_t *packet;
    size_t len;

    assert_int_equal(d->status, IFXI2C_FRAME_VALID);
    assert_int_equal(ifxi2c_frame_fctr(d), k->fctr);
    packet = ifxi2c_frame_packet(d, &len);
    assert_int_equal(len, k->packet_len);
    assert_memory_equal(packet, k->packet, len);
}

static void frame_encodes_known_frames(void **state)
{
    known_frame frames[32];
    size_t n = known_frames(frames, 32);

    for (size_t i = 0; i < n; i++) {
        uint8_t out[TRUSTX_FRAME_MAX];
        size_t len = ifxi2c_frame_encode(frames[i].fctr, frames[i].packet, frames[i].packet_len,
                                         out, sizeof(out));

        print_message("encoding %s\n", frames[i].name);
        assert_int_equal(len, frames[i].frame_len);
        assert_memory_equal(out, frames[i].frame, len);
    }
}

static void frame_decodes_whole(void **state)
{
    known_frame frames[32];
    size_t n = known_frames(frames, 32);

    for (size_t i = 0; i < n; i++) {
        ifxi2c_frame_decoder d;

        assert_int_equal(ifxi2c_frame_decode(&d, TRUSTX_FRAME_MAX, frames[i].frame,
                                             frames[i].frame_len), IFXI2C_FRAME_OK);
        assert_decoded(&d, &frames[i]);
    }
}

static void frame_decodes_byte_by_byte(void **state)
{
    known_frame frames[32];
    size_t n = known_frames(frames, 32);

    for (size_t i = 0; i < n; i++) {
        ifxi2c_frame_decoder d;

        ifxi2c_frame_decoder_init(&d, TRUSTX_FRAME_MAX);
        for (size_t b = 0; b < frames[i].frame_len; b++) {
            assert_int_equal(d.status, IFXI2C_FRAME_INCOMPLETE);
            assert_int_equal(ifxi2c_frame_decoder_feed(&d, frames[i].frame + b, 1), 1);
        }
        assert_decoded(&d, &frames[i]);
    }
}

static void frame_decodes_split_anywhere(void **state)
{
    known_frame frames[32];
    size_t n = known_frames(frames, 32);

    for (size_t i = 0; i < n; i++) {
        for (size_t cut = 0; cut <= frames[i].frame_len; cut++) {
            ifxi2c_frame_decoder d;
            size_t rest = frames[i].frame_len - cut;

            ifxi2c_frame_decoder_init(&d, TRUSTX_FRAME_MAX);
            assert_int_equal(ifxi2c_frame_decoder_feed(&d, frames[i].frame, cut), cut);
            assert_int_equal(ifxi2c_frame_decoder_feed(&d, frames[i].frame + cut, rest), rest);
            assert_decoded(&d, &frames[i]);
        }
    }
}

static void frame_stops_at_frame_end(void **state)
{
    uint8_t two[10];
    ifxi2c_frame_decoder d;

    parse_hex("80 00 00 0C EC 81 00 00 56 30", two, sizeof(two));
    ifxi2c_frame_decoder_init(&d, TRUSTX_FRAME_MAX);
    assert_int_equal(ifxi2c_frame_decoder_feed(&d, two, sizeof(two)), 5);
    assert_int_equal(d.status, IFXI2C_FRAME_VALID);
    assert_int_equal(ifxi2c_frame_fctr(&d), 0x80);

    ifxi2c_frame_decoder_init(&d, TRUSTX_FRAME_MAX);
    assert_int_equal(ifxi2c_frame_decoder_feed(&d, two + 5, 5), 5);
    assert_int_equal(ifxi2c_frame_fctr(&d), 0x81);
}

static void frame_rejects_every_bit_flip(void **state)
{
    known_frame frames[32];
    size_t n = known_frames(frames, 32);

    for (size_t i = 0; i < n; i++) {
        for (size_t bit = 0; bit < frames[i].frame_len * 8; bit++) {
            uint8_t damaged[TRUSTX_FRAME_MAX];
            ifxi2c_frame_decoder d;

            memcpy(damaged, frames[i].frame, frames[i].frame_len);
            damaged[bit / 8] ^= (uint8_t)(1u << (bit % 8));
            assert_int_not_equal(ifxi2c_frame_decode(&d, TRUSTX_FRAME_MAX, damaged,
                                                     frames[i].frame_len), IFXI2C_FRAME_OK);
            assert_int_equal(d.status, IFXI2C_FRAME_INVALID);
        }
    }
}

static void frame_rejects_bad_fcs(void **state)
{
    uint8_t wire[16];
    size_t len = parse_hex("00 00 05 00 00 00 00 00 14 88", wire, sizeof(wire));
    ifxi2c_frame_decoder d;

    assert_int_equal(ifxi2c_frame_decode(&d, TRUSTX_FRAME_MAX, wire, len),
                     IFXI2C_FRAME_BAD_FCS);
}

static void frame_rejects_bad_fctr(void **state)
{
    /* RFU bit, SEQCTR 11 in data and control, numbered control frames, re-sync with ACKNR. */
    static const uint8_t bad[] = {0x10, 0x13, 0x40, 0x4F, 0x60, 0x90, 0x84, 0x8C, 0xA4, 0xC1,
                                  0xC4, 0xE0, 0xFF};

    for (size_t i = 0; i < sizeof(bad); i++) {
        uint8_t wire[TRUSTX_FRAME_OVERHEAD] = {bad[i], 0, 0, 0, 0};
        ifxi2c_frame_decoder d;

        ifxi2c_frame_decoder_init(&d, TRUSTX_FRAME_MAX);
        assert_int_equal(ifxi2c_frame_decoder_feed(&d, wire, sizeof(wire)), 1);
        assert_int_equal(d.status, IFXI2C_FRAME_INVALID);
        assert_int_equal(d.error, IFXI2C_FRAME_BAD_FCTR);
    }
}

static void frame_fctr_valid_set(void **state)
{
    unsigned valid = 0;

    for (unsigned v = 0; v < 256; v++)
        valid += ifxi2c_fctr_is_valid((uint8_t)v) != 0;
    /* 16 data+ACK, 16 data+NAK, 4 ACK, 4 NAK, 1 re-sync. */
    assert_int_equal(valid, 41);
    assert_true(ifxi2c_fctr_is_valid(0x2F));
    assert_true(ifxi2c_fctr_is_valid(0xA3));
    assert_true(ifxi2c_fctr_is_valid(0xC0));
}

static void frame_fctr_builders(void **state)
{
    assert_int_equal(ifxi2c_fctr_data(0, 3), 0x03);
    assert_int_equal(ifxi2c_fctr_data(1, 0), 0x04);
    assert_int_equal(ifxi2c_fctr_data(3, 1), 0x0D);
    assert_int_equal(ifxi2c_fctr_ack(2), 0x82);
    assert_int_equal(ifxi2c_fctr_nak(4), 0xA0);
    assert_int_equal(ifxi2c_fctr_frnr(0x0B), 2);
    assert_int_equal(ifxi2c_fctr_acknr(0x0B), 3);
}

static void frame_rejects_bad_lengths(void **state)
{
    static const struct {
        const char *hex;
        size_t frame_size;
    } cases[] = {
        {"80 00 01 00", TRUSTX_FRAME_MAX},   /* control frame with a packet */
        {"00 00 00", TRUSTX_FRAME_MAX},      /* data frame without a packet */
        {"00 01 11", TRUSTX_FRAME_MAX},      /* 273 > 272 */
        {"00 00 0C", 16},                    /* 12 > 11 at frame size 16 */
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        uint8_t wire[8];
        size_t len = parse_hex(cases[i].hex, wire, sizeof(wire));
        ifxi2c_frame_decoder d;

        ifxi2c_frame_decoder_init(&d, cases[i].frame_size);
        assert_int_equal(ifxi2c_frame_decoder_feed(&d, wire, len), 3);
        assert_int_equal(d.error, IFXI2C_FRAME_BAD_LENGTH);
    }
}

static void frame_decode_needs_exact_length(void **state)
{
    uint8_t wire[16];
    size_t len = parse_hex("80 00 00 0C EC 00", wire, sizeof(wire));
    ifxi2c_frame_decoder d;

    assert_int_equal(ifxi2c_frame_decode(&d, TRUSTX_FRAME_MAX, wire, len),
                     IFXI2C_FRAME_BAD_LENGTH);
    assert_int_equal(ifxi2c_frame_decode(&d, TRUSTX_FRAME_MAX, wire, len - 2),
                     IFXI2C_FRAME_BAD_LENGTH);
    assert_int_equal(ifxi2c_frame_decode(&d, TRUSTX_FRAME_MAX, wire, len - 1), IFXI2C_FRAME_OK);
}

static void frame_encode_checks_room(void **state)
{
    uint8_t packet[TRUSTX_FRAME_MAX] = {0};
    uint8_t out[TRUSTX_FRAME_MAX + 1];

    assert_int_equal(ifxi2c_frame_encode(0x03, packet, 273, out, sizeof(out)), 0);
    assert_int_equal(ifxi2c_frame_encode(0x03, packet, 272, out, sizeof(out)), 277);
    assert_int_equal(ifxi2c_frame_encode(0x03, packet, 10, out, 14), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(frame_encodes_known_frames),
        cmocka_unit_test(frame_decodes_whole),
        cmocka_unit_test(frame_decodes_byte_by_byte),
        cmocka_unit_test(frame_decodes_split_anywhere),
        cmocka_unit_test(frame_stops_at_frame_end),
        cmocka_unit_test(frame_rejects_every_bit_flip),
        cmocka_unit_test(frame_rejects_bad_fcs),
        cmocka_unit_test(frame_rejects_bad_fctr),
        cmocka_unit_test(frame_fctr_valid_set),
        cmocka_unit_test(frame_fctr_builders),
        cmocka_unit_test(frame_rejects_bad_lengths),
        cmocka_unit_test(frame_decode_needs_exact_length),
        cmocka_unit_test(frame_encode_checks_room),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

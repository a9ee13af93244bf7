/* SPDX-License-Identifier: MIT */
/*
 * The simulated Trust X application driven with raw command APDUs: error
 * rules, the object table, metadata and access conditions, lifecycle states,
 * key generation, signatures checked with OpenSSL, the factory certificate.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <openssl/bio.h>
#include <openssl/ecdsa.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "sim_app.h"
#include "sim_app_timing.h"

#define RESP_CAP (4 + SIM_APP_MAX_COMMS_BUFFER)
#define STA_ERROR 0xFF
#define SIGNATURE_ROUNDS 1000

typedef struct apdu_result {
    uint8_t sta;
    size_t len;
    uint8_t data[RESP_CAP];
    uint32_t exec_us;
} apdu_result;

static const uint8_t aid[16] = {0xD2, 0x76, 0x00, 0x00, 0x04, 'G', 'e', 'n',
                                'A',  'u',  't',  'h',  'A',  'p', 'p', 'l'};

/* ---- APDU helpers ---- */

static void run_raw(sim_app *app, const uint8_t *apdu, size_t apdu_len, apdu_result *out)
{
    uint8_t resp[RESP_CAP];
    size_t resp_len = 0;

    sim_app_execute(app, apdu, apdu_len, resp, sizeof(resp), &resp_len, &out->exec_us);
    assert_true(resp_len >= 4);
    out->sta = resp[0];
    out->len = (size_t)(resp[2] << 8 | resp[3]);
    assert_int_equal(resp_len, 4 + out->len);
    memcpy(out->data, resp + 4, out->len);
}

static void run(sim_app *app, uint8_t cmd, uint8_t param, const uint8_t *in, size_t in_len,
                apdu_result *out)
{
    uint8_t apdu[RESP_CAP + 8];

    assert_true(in_len + 4 <= sizeof(apdu));
    apdu[0] = cmd;
    apdu[1] = param;
    apdu[2] = (uint8_t)(in_len >> 8);
    apdu[3] = (uint8_t)in_len;
    if (in_len > 0)
        memcpy(apdu + 4, in, in_len);
    run_raw(app, apdu, in_len + 4, out);
}

static uint8_t last_error(sim_app *app)
{
    static const uint8_t in[] = {0xF1, 0xC2};
    apdu_result r;

    run(app, 0x01, 0x00, in, sizeof(in), &r);
    assert_int_equal(r.sta, 0x00);
    assert_int_equal(r.len, 1);
    return r.data[0];
}

static void expect_error(sim_app *app, const apdu_result *r, uint8_t code)
{
    assert_int_equal(r->sta, STA_ERROR);
    assert_int_equal(r->len, 0);
    assert_int_equal(last_error(app), code);
}

static void expect_ok(const apdu_result *r)
{
    assert_int_equal(r->sta, 0x00);
}

static void get_data(sim_app *app, uint16_t oid, uint16_t offset, uint16_t len, apdu_result *r)
{
    uint8_t in[6] = {(uint8_t)(oid >> 8), (uint8_t)oid, (uint8_t)(offset >> 8),
                     (uint8_t)offset, (uint8_t)(len >> 8), (uint8_t)len};

    run(app, 0x01, 0x00, in, sizeof(in), r);
}

static void get_metadata(sim_app *app, uint16_t oid, apdu_result *r)
{
    uint8_t in[2] = {(uint8_t)(oid >> 8), (uint8_t)oid};

    run(app, 0x01, 0x01, in, sizeof(in), r);
}

static void set_data(sim_app *app, uint8_t param, uint16_t oid, uint16_t offset,
                     const uint8_t *data, size_t len, apdu_result *r)
{
    uint8_t in[RESP_CAP];

    assert_true(len + 4 <= sizeof(in));
    in[0] = (uint8_t)(oid >> 8);
    in[1] = (uint8_t)oid;
    in[2] = (uint8_t)(offset >> 8);
    in[3] = (uint8_t)offset;
    if (len > 0)
        memcpy(in + 4, data, len);
    run(app, 0x02, param, in, len + 4, r);
}

/* Writes a metadata update; tags are given without the 0x20 container. */
static void set_metadata(sim_app *app, uint16_t oid, const uint8_t *tags, size_t len,
                         apdu_result *r)
{
    uint8_t container[64];

    assert_true(len + 2 <= sizeof(container));
    container[0] = 0x20;
    container[1] = (uint8_t)len;
    memcpy(container + 2, tags, len);
    set_data(app, 0x01, oid, 0, container, len + 2, r);
}

static void expect_metadata(sim_app *app, uint16_t oid, const uint8_t *tags, size_t len)
{
    apdu_result r;

    get_metadata(app, oid, &r);
    expect_ok(&r);
    assert_int_equal(r.len, len + 2);
    assert_int_equal(r.data[0], 0x20);
    assert_int_equal(r.data[1], len);
    assert_memory_equal(r.data + 2, tags, len);
}

static void gen_key_pair(sim_app *app, uint8_t curve, uint16_t oid, uint8_t usage,
                         apdu_result *r)
{
    uint8_t in[] = {0x01, 0x00, 0x02, (uint8_t)(oid >> 8), (uint8_t)oid, 0x02, 0x00, 0x01, usage};

    run(app, 0x38, curve, in, sizeof(in), r);
}

static void calc_sign(sim_app *app, uint16_t oid, const uint8_t *digest, size_t len,
                      apdu_result *r)
{
    uint8_t in[80];

    assert_true(len + 8 <= sizeof(in));
    in[0] = 0x01;
    in[1] = 0x00;
    in[2] = (uint8_t)len;
    memcpy(in + 3, digest, len);
    in[3 + len] = 0x03;
    in[4 + len] = 0x00;
    in[5 + len] = 0x02;
    in[6 + len] = (uint8_t)(oid >> 8);
    in[7 + len] = (uint8_t)oid;
    run(app, 0x31, 0x11, in, len + 8, r);
}

static sim_app *new_chip(void)
{
    sim_app *app = NULL;
    apdu_result r;

    assert_int_equal(sim_app_open(NULL, 0, &app), TRUSTX_OK);
    assert_non_null(app);
    run(app, 0xF0, 0x00, aid, sizeof(aid), &r);
    expect_ok(&r);
    return app;
}

static int setup(void **state)
{
    *state = new_chip();
    return 0;
}

static int teardown(void **state)
{
    sim_app_close(*state);
    return 0;
}

/* ---- OpenSSL helpers (independent of the simulator's own code) ---- */

/* DER prefixes of a SubjectPublicKeyInfo up to the BIT STRING, P-256 and P-384. */
static const uint8_t spki_p256_prefix[] = {0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2A, 0x86,
                                           0x48, 0xCE, 0x3D, 0x02, 0x01, 0x06, 0x08, 0x2A,
                                           0x86, 0x48, 0xCE, 0x3D, 0x03, 0x01, 0x07};
static const uint8_t spki_p384_prefix[] = {0x30, 0x76, 0x30, 0x10, 0x06, 0x07, 0x2A,
                                           0x86, 0x48, 0xCE, 0x3D, 0x02, 0x01, 0x06,
                                           0x05, 0x2B, 0x81, 0x04, 0x00, 0x22};

/* Builds an OpenSSL public key from a GenKeyPair response (tag 02 holding the BIT STRING). */
static EVP_PKEY *public_key_from_response(const apdu_result *r, uint8_t curve)
{
    const uint8_t *prefix = curve == 0x03 ? spki_p256_prefix : spki_p384_prefix;
    size_t prefix_len = curve == 0x03 ? sizeof(spki_p256_prefix) : sizeof(spki_p384_prefix);
    size_t bits_len = curve == 0x03 ? 0x44 : 0x64;
    uint8_t spki[160];
    const uint8_t *cursor = spki;
    size_t pos = 0;

    /* Find tag 02 among the response TLVs. */
    while (pos + 3 <= r->len && r->data[pos] != 0x02)
        pos += 3 + (size_t)(r->data[pos + 1] << 8 | r->data[pos + 2]);
    assert_true(pos + 3 + bits_len <= r->len);
    assert_int_equal(r->data[pos + 1] << 8 | r->data[pos + 2], bits_len);

    memcpy(spki, prefix, prefix_len);
    memcpy(spki + prefix_len, r->data + pos + 3, bits_len);
    return d2i_PUBKEY(NULL, &cursor, (long)(prefix_len + bits_len));
}

/* Checks that r||s are two minimal, positive DER INTEGERs; returns the DER SEQUENCE around them. */
static size_t wrap_signature(const uint8_t *sig, size_t len, uint8_t *out)
{
    size_t pos = 0;

    for (int i = 0; i < 2; i++) {
        size_t value_len;

        assert_true(pos + 2 <= len);
        assert_int_equal(sig[pos], 0x02);
        value_len = sig[pos + 1];
        assert_true(value_len >= 1 && pos + 2 + value_len <= len);
        assert_int_equal(sig[pos + 2] & 0x80, 0);
        if (value_len > 1 && sig[pos + 2] == 0x00)
            assert_int_not_equal(sig[pos + 3] & 0x80, 0);
        pos += 2 + value_len;
    }
    assert_int_equal(pos, len);
    assert_true(len < 0x80);

    out[0] = 0x30;
    out[1] = (uint8_t)len;
    memcpy(out + 2, sig, len);
    return len + 2;
}

static int openssl_verify(EVP_PKEY *key, const EVP_MD *md, const uint8_t *msg, size_t msg_len,
                          const uint8_t *der_sig, size_t sig_len)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int ok;

    assert_non_null(ctx);
    assert_int_equal(EVP_DigestVerifyInit(ctx, NULL, md, NULL, key), 1);
    ok = EVP_DigestVerify(ctx, der_sig, sig_len, msg, msg_len);
    EVP_MD_CTX_free(ctx);
    return ok;
}

/* Reads a whole object in chunks as a host does; returns its length. */
static size_t read_object(sim_app *app, uint16_t oid, uint8_t *out, size_t cap)
{
    size_t total = 0;
    apdu_result r;

    for (;;) {
        get_data(app, oid, (uint16_t)total, 0x0200, &r);
        if (r.sta != 0x00) {
            assert_int_equal(last_error(app), 0x08); /* end of the object */
            return total;
        }
        assert_true(total + r.len <= cap);
        memcpy(out + total, r.data, r.len);
        total += r.len;
        if (r.len < 0x0200)
            return total;
    }
}

/* ---- APDU and error rules ---- */

static void commands_need_open_application(void **state)
{
    static const uint8_t uid_oid[] = {0xE0, 0xC2};
    sim_app *app = NULL;
    apdu_result r;

    (void)state;
    assert_int_equal(sim_app_open(NULL, 0, &app), TRUSTX_OK);
    run(app, 0x01, 0x00, uid_oid, sizeof(uid_oid), &r);
    assert_int_equal(r.sta, STA_ERROR);

    /*
     * A wrong AID fails too. Only the highest code is kept (0x0C from the closed
     * application over 0x05), and 0x70 without the flush bit does not clear it.
     */
    uint8_t bad_aid[16];
    memcpy(bad_aid, aid, sizeof(aid));
    bad_aid[15] ^= 0x01;
    run(app, 0x70, 0x00, bad_aid, sizeof(bad_aid), &r);
    assert_int_equal(r.sta, STA_ERROR);
    run(app, 0x70, 0x00, aid, sizeof(aid), &r);
    expect_ok(&r);
    assert_int_equal(last_error(app), 0x0C);

    run(app, 0x01, 0x00, uid_oid, sizeof(uid_oid), &r);
    expect_ok(&r);
    assert_int_equal(r.len, 27);

    /* A reset closes the application again. */
    sim_app_reset(app);
    run(app, 0x01, 0x00, uid_oid, sizeof(uid_oid), &r);
    assert_int_equal(r.sta, STA_ERROR);
    sim_app_close(app);
}

static void last_error_keeps_highest(void **state)
{
    sim_app *app = *state;
    static const uint8_t unknown[] = {0x12, 0x34};
    static const uint8_t error_oid[] = {0xF1, 0xC2};
    apdu_result r;

    run(app, 0x01, 0x00, unknown, sizeof(unknown), &r);
    assert_int_equal(r.sta, STA_ERROR);
    get_data(app, 0xE0C2, 27, 1, &r); /* 0x08 */
    assert_int_equal(r.sta, STA_ERROR);
    run(app, 0x01, 0x00, unknown, sizeof(unknown), &r);
    assert_int_equal(r.sta, STA_ERROR);
    assert_int_equal(last_error(app), 0x08);
    assert_int_equal(last_error(app), 0x00); /* reading cleared it */

    /* Cmd bit 7 flushes the last error before the command runs. */
    run(app, 0x01, 0x00, unknown, sizeof(unknown), &r);
    run(app, 0x81, 0x00, error_oid, sizeof(error_oid), &r);
    expect_ok(&r);
    assert_int_equal(r.len, 1);
    assert_int_equal(r.data[0], 0x00);
}

static void invalid_apdus_rejected(void **state)
{
    sim_app *app = *state;
    static const uint8_t random_len[] = {0x00, 0x10};
    static const uint8_t random_short[] = {0x00, 0x07};
    static const uint8_t random_long[] = {0x01, 0x01};
    static const uint8_t mismatched[] = {0x0C, 0x00, 0x00, 0x03, 0x00, 0x10};
    apdu_result r;

    run(app, 0x20, 0x00, NULL, 0, &r);
    expect_error(app, &r, 0x0A);
    run(app, 0x71, 0x00, NULL, 0, &r); /* CloseApplication is Trust M only */
    expect_error(app, &r, 0x0A);
    run(app, 0x0C, 0x02, random_len, sizeof(random_len), &r);
    expect_error(app, &r, 0x03);
    run(app, 0x01, 0x02, random_len, sizeof(random_len), &r);
    expect_error(app, &r, 0x03);
    run_raw(app, mismatched, sizeof(mismatched), &r); /* InLen 3, 2 bytes sent */
    expect_error(app, &r, 0x04);
    run_raw(app, mismatched, 3, &r); /* shorter than a header */
    expect_error(app, &r, 0x04);
    run(app, 0x01, 0x00, random_len, 1, &r);
    expect_error(app, &r, 0x04);
    run(app, 0x0C, 0x00, random_short, sizeof(random_short), &r);
    expect_error(app, &r, 0x05);
    run(app, 0x0C, 0x00, random_long, sizeof(random_long), &r);
    expect_error(app, &r, 0x05);
}

static void get_random_lengths(void **state)
{
    sim_app *app = *state;
    static const uint8_t len8[] = {0x00, 0x08};
    static const uint8_t len256[] = {0x01, 0x00};
    apdu_result first;
    apdu_result second;

    run(app, 0x0C, 0x00, len8, sizeof(len8), &first);
    expect_ok(&first);
    assert_int_equal(first.len, 8);
    run(app, 0x0C, 0x01, len256, sizeof(len256), &first);
    expect_ok(&first);
    assert_int_equal(first.len, 256);
    run(app, 0x0C, 0x00, len256, sizeof(len256), &second);
    expect_ok(&second);
    assert_memory_not_equal(first.data, second.data, 256);
    assert_true(first.exec_us > 0);
}

/* ---- object table ---- */

static void uid_has_trust_x_layout(void **state)
{
    sim_app *app = *state;
    static const uint8_t fw_and_build[] = {0x80, 0x10, 0x10, 0x71, 0x11, 0x18};
    static const uint8_t uid_meta[] = {0xC4, 0x01, 0x1B, 0xD0, 0x01, 0xFF, 0xD1, 0x01, 0x00};
    static const uint8_t ten[] = {0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00};
    apdu_result r;

    get_data(app, 0xE0C2, 0, 0x64, &r); /* the datasheet's request: Length 0x64 */
    expect_ok(&r);
    assert_int_equal(r.len, 27);
    assert_int_equal(r.data[0], 0xCD);
    assert_memory_equal(r.data + 21, fw_and_build, sizeof(fw_and_build));
    expect_metadata(app, 0xE0C2, uid_meta, sizeof(uid_meta));

    set_data(app, 0x00, 0xE0C2, 0, ten, sizeof(ten), &r);
    expect_error(app, &r, 0x07);
}

static void fixed_size_objects(void **state)
{
    sim_app *app = *state;
    static const uint8_t comms_oid[] = {0xE0, 0xC6};
    apdu_result r;

    run(app, 0x01, 0x00, comms_oid, sizeof(comms_oid), &r);
    expect_ok(&r);
    assert_int_equal(r.len, 2);
    assert_int_equal(r.data[0] << 8 | r.data[1], SIM_APP_MAX_COMMS_BUFFER);
    get_data(app, 0xE0C6, 0, 10, &r);
    assert_int_equal(r.len, 2);

    get_data(app, 0xF1C2, 0, 6, &r);
    expect_ok(&r);
    assert_int_equal(r.len, 1);

    get_data(app, 0xE0C0, 0, 1, &r);
    expect_ok(&r);
    assert_int_equal(r.data[0], 0x07); /* LcsG op */
    get_data(app, 0xE0C3, 0, 1, &r);
    assert_int_equal(r.data[0], 0x14);
    get_data(app, 0xE0C4, 0, 1, &r);
    assert_int_equal(r.data[0], 0x06);
}

static void default_metadata(void **state)
{
    sim_app *app = *state;
    static const uint8_t cert[] = {0xC0, 0x01, 0x01, 0xC4, 0x02, 0x06, 0xC0, 0xC5, 0x01,
                                   0x00, 0xD0, 0x03, 0xE1, 0xFC, 0x07, 0xD1, 0x01, 0x00};
    static const uint8_t anchor[] = {0xC0, 0x01, 0x01, 0xC4, 0x02, 0x04, 0x00, 0xC5, 0x01,
                                     0x00, 0xD0, 0x03, 0xE1, 0xFC, 0x07, 0xD1, 0x01, 0x00};
    static const uint8_t data100[] = {0xC0, 0x01, 0x01, 0xC4, 0x01, 0x64, 0xC5, 0x01, 0x00,
                                      0xD0, 0x03, 0xE1, 0xFC, 0x07, 0xD1, 0x01, 0x00};
    static const uint8_t data1500[] = {0xC0, 0x01, 0x01, 0xC4, 0x02, 0x05, 0xDC, 0xC5, 0x01,
                                       0x00, 0xD0, 0x03, 0xE1, 0xFC, 0x07, 0xD1, 0x01, 0x00};
    static const uint8_t device_key[] = {0xC0, 0x01, 0x07, 0xD0, 0x01, 0xFF, 0xD3, 0x01,
                                         0x00, 0xE0, 0x01, 0x03, 0xE1, 0x01, 0x01};
    static const uint8_t key[] = {0xC0, 0x01, 0x01, 0xD0, 0x03, 0xE1, 0xFC, 0x07, 0xD3, 0x01, 0x00};
    static const uint16_t certs[] = {0xE0E1, 0xE0E2, 0xE0E3};
    apdu_result r;

    for (size_t i = 0; i < 3; i++)
        expect_metadata(app, certs[i], cert, sizeof(cert));
    expect_metadata(app, 0xE0E8, anchor, sizeof(anchor));
    expect_metadata(app, 0xE0EF, anchor, sizeof(anchor));
    for (uint16_t oid = 0xF1D0; oid <= 0xF1DF; oid++)
        expect_metadata(app, oid, data100, sizeof(data100));
    expect_metadata(app, 0xF1E0, data1500, sizeof(data1500));
    expect_metadata(app, 0xF1E1, data1500, sizeof(data1500));
    expect_metadata(app, 0xE0F0, device_key, sizeof(device_key));
    expect_metadata(app, 0xE0F1, key, sizeof(key));

    /* E0E0 is locked (LcsO op) and contains the factory certificate. */
    get_metadata(app, 0xE0E0, &r);
    expect_ok(&r);
    assert_memory_equal(r.data + 2, "\xC0\x01\x07\xC4\x02\x06\xC0\xC5\x02", 9);
}

static void unknown_oid_rejected(void **state)
{
    sim_app *app = *state;
    static const uint16_t absent[] = {0xE0E9, 0xE0C9, 0xE0FC, 0xE120, 0xE140, 0xF1E2, 0x1234};
    static const uint8_t byte = 0x00;
    apdu_result r;

    for (size_t i = 0; i < sizeof(absent) / sizeof(absent[0]); i++) {
        get_data(app, absent[i], 0, 1, &r);
        expect_error(app, &r, 0x01);
        get_metadata(app, absent[i], &r);
        expect_error(app, &r, 0x01);
        set_data(app, 0x40, absent[i], 0, &byte, 1, &r);
        expect_error(app, &r, 0x01);
    }
}

static void read_past_end_rejected(void **state)
{
    sim_app *app = *state;
    uint8_t data[10];
    apdu_result r;

    for (size_t i = 0; i < sizeof(data); i++)
        data[i] = (uint8_t)(0xA0 + i);
    get_data(app, 0xE0E1, 0, 10, &r); /* empty slot */
    expect_error(app, &r, 0x08);

    set_data(app, 0x40, 0xF1D0, 0, data, sizeof(data), &r);
    expect_ok(&r);
    get_data(app, 0xF1D0, 10, 1, &r);
    expect_error(app, &r, 0x08);
    get_data(app, 0xF1D0, 200, 1, &r);
    expect_error(app, &r, 0x08);

    /* A longer Length is cut to the used size. */
    get_data(app, 0xF1D0, 5, 100, &r);
    expect_ok(&r);
    assert_int_equal(r.len, 5);
    assert_memory_equal(r.data, data + 5, 5);
}

static void write_beyond_max_rejected(void **state)
{
    sim_app *app = *state;
    static uint8_t data[1549];
    apdu_result r;

    memset(data, 0x5A, sizeof(data));
    set_data(app, 0x00, 0xF1D0, 90, data, 11, &r);
    expect_error(app, &r, 0x08);
    set_data(app, 0x40, 0xF1D0, 0, data, 101, &r);
    expect_error(app, &r, 0x08);
    set_data(app, 0x40, 0xF1D0, 0, data, 100, &r);
    expect_ok(&r);

    /* A full certificate slot in host-sized chunks, then one byte too many. */
    set_data(app, 0x40, 0xE0E1, 0, data, sizeof(data), &r);
    expect_ok(&r);
    set_data(app, 0x00, 0xE0E1, 1549, data, 1728 - 1549, &r);
    expect_ok(&r);
    set_data(app, 0x00, 0xE0E1, 1728, data, 1, &r);
    expect_error(app, &r, 0x08);
    get_data(app, 0xE0E1, 1727, 10, &r);
    expect_ok(&r);
    assert_int_equal(r.len, 1);

    /* A command longer than the comms buffer is an invalid length. */
    uint8_t big[1560];
    memset(big, 0, sizeof(big));
    set_data(app, 0x00, 0xF1E0, 0, big, sizeof(big) - 4, &r);
    expect_error(app, &r, 0x04);
}

static void write_and_erase_semantics(void **state)
{
    sim_app *app = *state;
    static const uint8_t five[] = {'h', 'e', 'l', 'l', 'o'};
    static const uint8_t two[] = {'X', 'Y'};
    uint8_t expected[15] = {0};
    apdu_result r;

    set_data(app, 0x00, 0xE0E1, 0, five, sizeof(five), &r);
    expect_ok(&r);
    get_metadata(app, 0xE0E1, &r);
    assert_memory_equal(r.data + 9, "\xC5\x01\x05", 3);

    /* Plain write keeps the bytes around it. */
    set_data(app, 0x00, 0xE0E1, 1, two, sizeof(two), &r);
    expect_ok(&r);
    get_data(app, 0xE0E1, 0, 100, &r);
    assert_int_equal(r.len, 5);
    assert_memory_equal(r.data, "hXYlo", 5);

    /* Erase&write of 5 bytes at offset 10: ten zeros, then the data, used size 15. */
    set_data(app, 0x40, 0xE0E1, 10, five, sizeof(five), &r);
    expect_ok(&r);
    memcpy(expected + 10, five, sizeof(five));
    get_data(app, 0xE0E1, 0, 100, &r);
    assert_int_equal(r.len, 15);
    assert_memory_equal(r.data, expected, sizeof(expected));
    get_metadata(app, 0xE0E1, &r);
    assert_memory_equal(r.data + 9, "\xC5\x01\x0F", 3);

    assert_int_equal(sim_app_write_count(app, 0xE0E1), 3);
    assert_int_equal(sim_app_write_count(app, 0xE0E2), 0);
}

static void key_objects_not_readable(void **state)
{
    sim_app *app = *state;
    static const uint8_t byte = 0x00;
    apdu_result r;

    get_data(app, 0xE0F0, 0, 1, &r);
    expect_error(app, &r, 0x07);
    get_data(app, 0xE0F1, 0, 1, &r);
    expect_error(app, &r, 0x07);
    get_data(app, 0xE100, 0, 1, &r);
    expect_error(app, &r, 0x07);
    set_data(app, 0x40, 0xE0F1, 0, &byte, 1, &r);
    expect_error(app, &r, 0x07);
}

static void device_key_and_cert_locked(void **state)
{
    sim_app *app = *state;
    static const uint8_t byte = 0x30;
    static const uint8_t unlock[] = {0xD0, 0x01, 0x00};
    static const uint8_t lower[] = {0xC0, 0x01, 0x01};
    apdu_result r;

    gen_key_pair(app, 0x03, 0xE0F0, 0x10, &r);
    expect_error(app, &r, 0x07);
    gen_key_pair(app, 0x04, 0xE0F0, 0x01, &r);
    expect_error(app, &r, 0x07);

    set_data(app, 0x40, 0xE0E0, 0, &byte, 1, &r);
    expect_error(app, &r, 0x07);
    set_metadata(app, 0xE0E0, unlock, sizeof(unlock), &r);
    expect_error(app, &r, 0x07);
    set_metadata(app, 0xE0E0, lower, sizeof(lower), &r);
    expect_error(app, &r, 0x07);
    set_metadata(app, 0xE0F0, unlock, sizeof(unlock), &r);
    expect_error(app, &r, 0x07);
}

/* ---- metadata, lifecycle and access conditions ---- */

static void metadata_merge_round_trip(void **state)
{
    sim_app *app = *state;
    static const uint8_t update[] = {0xD0, 0x01, 0xFF, 0xD1, 0x01, 0x00};
    static const uint8_t merged[] = {0xC0, 0x01, 0x01, 0xC4, 0x02, 0x06, 0xC0, 0xC5, 0x01,
                                     0x00, 0xD0, 0x01, 0xFF, 0xD1, 0x01, 0x00};
    static const uint8_t restore[] = {0xD0, 0x03, 0xE1, 0xFC, 0x07};
    static const uint8_t add_execute[] = {0xD3, 0x01, 0xFF};
    static const uint8_t with_execute[] = {0xC0, 0x01, 0x01, 0xC4, 0x02, 0x06, 0xC0, 0xC5,
                                           0x01, 0x00, 0xD0, 0x03, 0xE1, 0xFC, 0x07, 0xD1,
                                           0x01, 0x00, 0xD3, 0x01, 0xFF};
    static const uint8_t byte = 0x42;
    apdu_result r;

    set_metadata(app, 0xE0E1, update, sizeof(update), &r);
    expect_ok(&r);
    expect_metadata(app, 0xE0E1, merged, sizeof(merged));

    /* Change is now NEV for data, but metadata stays writable. */
    set_data(app, 0x40, 0xE0E1, 0, &byte, 1, &r);
    expect_error(app, &r, 0x07);
    set_metadata(app, 0xE0E1, restore, sizeof(restore), &r);
    expect_ok(&r);
    set_data(app, 0x40, 0xE0E1, 0, &byte, 1, &r);
    expect_ok(&r);

    /* A new tag goes to its place in the listing order. */
    set_data(app, 0x40, 0xE0E1, 0, NULL, 0, &r);
    expect_ok(&r);
    set_metadata(app, 0xE0E1, add_execute, sizeof(add_execute), &r);
    expect_ok(&r);
    expect_metadata(app, 0xE0E1, with_execute, sizeof(with_execute));
}

static void metadata_write_rules(void **state)
{
    sim_app *app = *state;
    static const uint8_t max_size[] = {0xC4, 0x01, 0x10};
    static const uint8_t used_size[] = {0xC5, 0x01, 0x00};
    static const uint8_t algorithm[] = {0xE0, 0x01, 0x03};
    static const uint8_t unknown[] = {0xD9, 0x01, 0x00};
    static const uint8_t bad_ac[] = {0xD0, 0x02, 0xE1, 0xFC};
    static const uint8_t alw_in_complex[] = {0xD0, 0x05, 0x00, 0xFD, 0xE1, 0xFC, 0x07};
    static const uint8_t twice[] = {0xD1, 0x01, 0x00, 0xD1, 0x01, 0xFF};
    static const uint8_t truncated[] = {0x20, 0x05, 0xD1, 0x01};
    static const uint8_t usage_on_data[] = {0xE1, 0x01, 0x10};
    /* Four groups joined by || are one more than allowed. */
    static const uint8_t four_groups[] = {0xD0, 0x0F, 0xE1, 0xFC, 0x07, 0xFE, 0xE1, 0xFC,
                                          0x07, 0xFE, 0xE1, 0xFC, 0x07, 0xFE, 0xE1, 0xFC, 0x07};
    apdu_result r;

    set_metadata(app, 0xF1D0, max_size, sizeof(max_size), &r);
    expect_error(app, &r, 0x07);
    set_metadata(app, 0xF1D0, used_size, sizeof(used_size), &r);
    expect_error(app, &r, 0x07);
    set_metadata(app, 0xE0F1, algorithm, sizeof(algorithm), &r);
    expect_error(app, &r, 0x07);
    set_metadata(app, 0xF1D0, unknown, sizeof(unknown), &r);
    expect_error(app, &r, 0x05);
    set_metadata(app, 0xF1D0, bad_ac, sizeof(bad_ac), &r);
    expect_error(app, &r, 0x05);
    set_metadata(app, 0xF1D0, alw_in_complex, sizeof(alw_in_complex), &r);
    expect_error(app, &r, 0x05);
    set_metadata(app, 0xF1D0, four_groups, sizeof(four_groups), &r);
    expect_error(app, &r, 0x05);
    set_metadata(app, 0xF1D0, twice, sizeof(twice), &r);
    expect_error(app, &r, 0x05);
    set_metadata(app, 0xF1D0, usage_on_data, sizeof(usage_on_data), &r);
    expect_error(app, &r, 0x05);
    set_data(app, 0x01, 0xF1D0, 0, truncated, sizeof(truncated), &r);
    expect_error(app, &r, 0x05);
    /* An empty update changes nothing; system objects have no LcsO, so they count as op. */
    set_metadata(app, 0xE0C3, unknown, 0, &r);
    expect_ok(&r);
    set_metadata(app, 0xE0C3, (const uint8_t *)"\xD1\x01\xFF", 3, &r);
    expect_error(app, &r, 0x07);
    assert_int_equal(sim_app_write_count(app, 0xF1D0), 0);
}

static void lcso_only_rises(void **state)
{
    sim_app *app = *state;
    static const uint8_t to_in[] = {0xC0, 0x01, 0x03};
    static const uint8_t to_cr[] = {0xC0, 0x01, 0x01};
    static const uint8_t to_op[] = {0xC0, 0x01, 0x07};
    static const uint8_t to_te[] = {0xC0, 0x01, 0x0F};
    static const uint8_t invalid[] = {0xC0, 0x01, 0x02};
    static const uint8_t read_never[] = {0xD1, 0x01, 0xFF};
    apdu_result r;

    set_metadata(app, 0xF1D1, to_in, sizeof(to_in), &r);
    expect_ok(&r);
    get_metadata(app, 0xF1D1, &r);
    assert_memory_equal(r.data + 2, to_in, 3);
    set_metadata(app, 0xF1D1, to_cr, sizeof(to_cr), &r);
    expect_error(app, &r, 0x07);
    set_metadata(app, 0xF1D1, invalid, sizeof(invalid), &r);
    expect_error(app, &r, 0x05);

    set_metadata(app, 0xF1D1, to_op, sizeof(to_op), &r);
    expect_ok(&r);
    set_metadata(app, 0xF1D1, to_in, sizeof(to_in), &r);
    expect_error(app, &r, 0x07);
    /* Access conditions are frozen from op on; LcsO may still rise. */
    set_metadata(app, 0xF1D1, read_never, sizeof(read_never), &r);
    expect_error(app, &r, 0x07);
    set_metadata(app, 0xF1D1, to_te, sizeof(to_te), &r);
    expect_ok(&r);
    set_metadata(app, 0xF1D1, to_op, sizeof(to_op), &r);
    expect_error(app, &r, 0x07);
    get_metadata(app, 0xF1D1, &r);
    assert_memory_equal(r.data + 2, to_te, 3);
}

static void locked_slot_rejects_writes(void **state)
{
    sim_app *app = *state;
    static const uint8_t lock[] = {0xC0, 0x01, 0x07};
    static const uint8_t cert[] = {0x30, 0x82, 0x01, 0x00};
    apdu_result r;

    set_data(app, 0x40, 0xE0E1, 0, cert, sizeof(cert), &r);
    expect_ok(&r);
    gen_key_pair(app, 0x03, 0xE0F1, 0x10, &r);
    expect_ok(&r);

    /* The lock APDU a host sends: metadata 20 03 C0 01 07 for E0E1. */
    static const uint8_t lock_apdu[] = {0x02, 0x01, 0x00, 0x09, 0xE0, 0xE1, 0x00,
                                        0x00, 0x20, 0x03, 0xC0, 0x01, 0x07};
    run_raw(app, lock_apdu, sizeof(lock_apdu), &r);
    expect_ok(&r);
    set_metadata(app, 0xE0F1, lock, sizeof(lock), &r);
    expect_ok(&r);

    set_data(app, 0x40, 0xE0E1, 0, cert, sizeof(cert), &r);
    expect_error(app, &r, 0x07);
    set_data(app, 0x00, 0xE0E1, 4, cert, sizeof(cert), &r);
    expect_error(app, &r, 0x07);
    gen_key_pair(app, 0x03, 0xE0F1, 0x10, &r);
    expect_error(app, &r, 0x07);

    /* Reading and signing still work. */
    get_data(app, 0xE0E1, 0, 10, &r);
    expect_ok(&r);
    assert_memory_equal(r.data, cert, sizeof(cert));
    uint8_t digest[32] = {1};
    calc_sign(app, 0xE0F1, digest, sizeof(digest), &r);
    expect_ok(&r);
}

static void complex_access_conditions(void **state)
{
    sim_app *app = *state;
    /* Change if LcsA == in && LcsO < op. */
    static const uint8_t change_and[] = {0xD0, 0x07, 0xE0, 0xFA, 0x03, 0xFD, 0xE1, 0xFC, 0x07};
    /* The Trust X example: change if LcsO > in || LcsG < 4. */
    static const uint8_t change_or[] = {0xD0, 0x07, 0xE1, 0xFB, 0x03, 0xFE, 0x70, 0xFC, 0x04};
    /*
     * Read if LcsA == in || LcsG == cr && LcsG == cr. With && binding tighter
     * this is true (LcsA is in); strictly left to right it would be false.
     */
    static const uint8_t read_mixed[] = {0xD1, 0x0B, 0xE0, 0xFA, 0x03, 0xFE, 0x70, 0xFA, 0x01,
                                         0xFD, 0x70, 0xFA, 0x01};
    static const uint8_t read_and[] = {0xD1, 0x07, 0xE0, 0xFA, 0x03, 0xFD, 0x70, 0xFA, 0x01};
    static const uint8_t lcsa_in = 0x03;
    static const uint8_t lcsa_cr = 0x01;
    static const uint8_t lcsa_op = 0x07;
    static const uint8_t to_op = 0x07;
    static const uint8_t byte = 0x11;
    apdu_result r;

    set_metadata(app, 0xF1D2, change_and, sizeof(change_and), &r);
    expect_ok(&r);
    set_data(app, 0x40, 0xF1D2, 0, &byte, 1, &r);
    expect_error(app, &r, 0x07); /* LcsA is cr */
    set_data(app, 0x40, 0xF1C0, 0, &lcsa_in, 1, &r);
    expect_ok(&r);
    set_data(app, 0x40, 0xF1D2, 0, &byte, 1, &r);
    expect_ok(&r);

    set_metadata(app, 0xF1D2, read_mixed, sizeof(read_mixed), &r);
    expect_ok(&r);
    get_data(app, 0xF1D2, 0, 1, &r);
    expect_ok(&r);
    set_metadata(app, 0xF1D2, read_and, sizeof(read_and), &r);
    expect_ok(&r);
    get_data(app, 0xF1D2, 0, 1, &r);
    expect_error(app, &r, 0x07);

    set_metadata(app, 0xF1D3, change_or, sizeof(change_or), &r);
    expect_ok(&r);
    set_data(app, 0x40, 0xF1D3, 0, &byte, 1, &r);
    expect_error(app, &r, 0x07); /* LcsO cr, LcsG op */
    set_metadata(app, 0xF1D3, (const uint8_t *)"\xC0\x01\x07", 3, &r);
    expect_ok(&r);
    set_data(app, 0x40, 0xF1D3, 0, &byte, 1, &r);
    expect_ok(&r); /* LcsO op > in */

    /* LcsA only rises, and E0C0/F1C0 accept only lifecycle values. */
    set_data(app, 0x40, 0xF1C0, 0, &lcsa_cr, 1, &r);
    expect_error(app, &r, 0x07);
    set_data(app, 0x40, 0xF1C0, 0, &byte, 1, &r);
    expect_error(app, &r, 0x05);
    set_data(app, 0x40, 0xF1C0, 0, &lcsa_op, 1, &r);
    expect_ok(&r);
    set_data(app, 0x40, 0xE0C0, 0, &to_op, 1, &r);
    expect_ok(&r);
}

/* ---- keys and signatures ---- */

static void gen_key_pair_response_and_metadata(void **state)
{
    sim_app *app = *state;
    static const uint8_t key_meta_p256[] = {0xC0, 0x01, 0x01, 0xD0, 0x03, 0xE1, 0xFC,
                                            0x07, 0xD3, 0x01, 0x00, 0xE0, 0x01, 0x03,
                                            0xE1, 0x01, 0x10};
    static const uint8_t key_meta_p384[] = {0xC0, 0x01, 0x01, 0xD0, 0x03, 0xE1, 0xFC,
                                            0x07, 0xD3, 0x01, 0x00, 0xE0, 0x01, 0x04,
                                            0xE1, 0x01, 0x11};
    apdu_result r;
    EVP_PKEY *key;

    gen_key_pair(app, 0x03, 0xE0F1, 0x10, &r);
    expect_ok(&r);
    assert_int_equal(r.len, 0x47);
    assert_memory_equal(r.data, "\x02\x00\x44\x03\x42\x00\x04", 7);
    key = public_key_from_response(&r, 0x03);
    assert_non_null(key);
    EVP_PKEY_free(key);
    expect_metadata(app, 0xE0F1, key_meta_p256, sizeof(key_meta_p256));
    assert_int_equal(sim_app_write_count(app, 0xE0F1), 1);

    gen_key_pair(app, 0x04, 0xE0F2, 0x11, &r);
    expect_ok(&r);
    assert_int_equal(r.len, 0x67);
    assert_memory_equal(r.data, "\x02\x00\x64\x03\x62\x00\x04", 7);
    key = public_key_from_response(&r, 0x04);
    assert_non_null(key);
    EVP_PKEY_free(key);
    expect_metadata(app, 0xE0F2, key_meta_p384, sizeof(key_meta_p384));

    /* Regenerating replaces the key; the algorithm tag follows the curve. */
    gen_key_pair(app, 0x04, 0xE0F1, 0x10, &r);
    expect_ok(&r);
    get_metadata(app, 0xE0F1, &r);
    assert_memory_equal(r.data + 2 + 11, "\xE0\x01\x04", 3);

    /* Bad requests. */
    gen_key_pair(app, 0x05, 0xE0F1, 0x10, &r);
    expect_error(app, &r, 0x03);
    gen_key_pair(app, 0x03, 0xE0E1, 0x10, &r);
    expect_error(app, &r, 0x05);
    gen_key_pair(app, 0x03, 0xE0F9, 0x10, &r);
    expect_error(app, &r, 0x01);
    gen_key_pair(app, 0x03, 0xE0F1, 0x00, &r);
    expect_error(app, &r, 0x05);
    gen_key_pair(app, 0x03, 0xE0F1, 0x40, &r);
    expect_error(app, &r, 0x05);
}

/* Builds a P-256 key pair in OpenSSL from a raw private scalar and an uncompressed point. */
static EVP_PKEY *key_from_private(const uint8_t *d_bytes, const uint8_t *point)
{
    OSSL_PARAM_BLD *build = OSSL_PARAM_BLD_new();
    BIGNUM *d = BN_bin2bn(d_bytes, 32, NULL);
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    EVP_PKEY *key = NULL;
    OSSL_PARAM *params;

    assert_non_null(build);
    assert_non_null(d);
    assert_non_null(ctx);
    assert_int_equal(OSSL_PARAM_BLD_push_utf8_string(build, "group", "prime256v1", 0), 1);
    assert_int_equal(OSSL_PARAM_BLD_push_BN(build, "priv", d), 1);
    assert_int_equal(OSSL_PARAM_BLD_push_octet_string(build, "pub", point, 65), 1);
    params = OSSL_PARAM_BLD_to_param(build);
    assert_non_null(params);
    assert_int_equal(EVP_PKEY_fromdata_init(ctx), 1);
    assert_int_equal(EVP_PKEY_fromdata(ctx, &key, EVP_PKEY_KEYPAIR, params), 1);

    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(build);
    BN_free(d);
    EVP_PKEY_CTX_free(ctx);
    return key;
}

static void gen_key_pair_export_matches(void **state)
{
    sim_app *app = *state;
    static const uint8_t export_tag[] = {0x07, 0x00, 0x00};
    uint8_t der_sig[128];
    size_t der_len = sizeof(der_sig);
    uint8_t digest[32];
    uint8_t in[200];
    size_t pos = 0;
    EVP_PKEY *private_key;
    EVP_PKEY_CTX *ctx;
    const uint8_t *cursor;
    ECDSA_SIG *sig;
    const BIGNUM *sig_r;
    const BIGNUM *sig_s;
    apdu_result r;

    run(app, 0x38, 0x03, export_tag, sizeof(export_tag), &r);
    expect_ok(&r);
    assert_int_equal(r.len, 3 + 0x22 + 3 + 0x44);
    assert_memory_equal(r.data, "\x01\x00\x22\x04\x20", 5);
    assert_memory_equal(r.data + 0x25, "\x02\x00\x44\x03\x42\x00\x04", 7);

    /* Sign with the exported d in OpenSSL, verify in the chip with the exported public key. */
    private_key = key_from_private(r.data + 5, r.data + 0x25 + 6);
    assert_int_equal(RAND_bytes(digest, sizeof(digest)), 1);
    ctx = EVP_PKEY_CTX_new(private_key, NULL);
    assert_int_equal(EVP_PKEY_sign_init(ctx), 1);
    assert_int_equal(EVP_PKEY_sign(ctx, der_sig, &der_len, digest, sizeof(digest)), 1);
    EVP_PKEY_CTX_free(ctx);
    EVP_PKEY_free(private_key);

    cursor = der_sig;
    sig = d2i_ECDSA_SIG(NULL, &cursor, (long)der_len);
    assert_non_null(sig);
    ECDSA_SIG_get0(sig, &sig_r, &sig_s);
    in[pos++] = 0x01;
    in[pos++] = 0x00;
    in[pos++] = 32;
    memcpy(in + pos, digest, 32);
    pos += 32;
    in[pos++] = 0x02;
    in[pos++] = 0x00;
    in[pos++] = (uint8_t)(der_len - 2);
    memcpy(in + pos, der_sig + 2, der_len - 2); /* r and s without the SEQUENCE */
    pos += der_len - 2;
    memcpy(in + pos, "\x05\x00\x01\x03\x06\x00\x44", 7);
    pos += 7;
    memcpy(in + pos, r.data + 0x25 + 3, 0x44);
    pos += 0x44;
    ECDSA_SIG_free(sig);

    run(app, 0x32, 0x11, in, pos, &r);
    expect_ok(&r);
    in[3] ^= 0x01; /* another digest */
    run(app, 0x32, 0x11, in, pos, &r);
    expect_error(app, &r, 0x2C);
}

static void sign_rounds(sim_app *app, uint8_t curve, uint16_t oid)
{
    const EVP_MD *md = curve == 0x03 ? EVP_sha256() : EVP_sha384();
    size_t digest_len = curve == 0x03 ? 32 : 48;
    uint8_t message[64];
    uint8_t digest[48];
    uint8_t der_sig[128];
    unsigned md_len = 0;
    apdu_result r;
    EVP_PKEY *key;

    gen_key_pair(app, curve, oid, 0x10, &r);
    expect_ok(&r);
    key = public_key_from_response(&r, curve);
    assert_non_null(key);

    for (int i = 0; i < SIGNATURE_ROUNDS; i++) {
        size_t der_len;

        assert_int_equal(RAND_bytes(message, sizeof(message)), 1);
        assert_int_equal(EVP_Digest(message, sizeof(message), digest, &md_len, md, NULL), 1);
        assert_int_equal(md_len, digest_len);
        calc_sign(app, oid, digest, digest_len, &r);
        expect_ok(&r);
        der_len = wrap_signature(r.data, r.len, der_sig);
        assert_int_equal(openssl_verify(key, md, message, sizeof(message), der_sig, der_len), 1);
        if (i == 0) {
            message[0] ^= 0x01;
            assert_int_not_equal(
                openssl_verify(key, md, message, sizeof(message), der_sig, der_len), 1);
        }
    }
    EVP_PKEY_free(key);
}

static void calc_sign_p256_verifies(void **state)
{
    sign_rounds(*state, 0x03, 0xE0F1);
}

static void calc_sign_p384_verifies(void **state)
{
    sign_rounds(*state, 0x04, 0xE0F3);
}

static void calc_sign_checks(void **state)
{
    sim_app *app = *state;
    static const uint8_t exec_never[] = {0xD3, 0x01, 0xFF};
    static const uint8_t missing_oid[] = {0x01, 0x00, 0x0A, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
    uint8_t digest[48] = {0x5A};
    apdu_result r;

    calc_sign(app, 0xE0F2, digest, 32, &r); /* no key generated */
    expect_error(app, &r, 0x0B);
    calc_sign(app, 0xE0F9, digest, 32, &r);
    expect_error(app, &r, 0x01);
    calc_sign(app, 0xE0E1, digest, 32, &r);
    expect_error(app, &r, 0x05);
    run(app, 0x31, 0x11, missing_oid, sizeof(missing_oid), &r);
    expect_error(app, &r, 0x05);

    gen_key_pair(app, 0x03, 0xE0F1, 0x02, &r); /* encryption only */
    expect_ok(&r);
    calc_sign(app, 0xE0F1, digest, 32, &r);
    expect_error(app, &r, 0x24);

    gen_key_pair(app, 0x03, 0xE0F1, 0x01, &r); /* authentication is enough */
    expect_ok(&r);
    calc_sign(app, 0xE0F1, digest, 32, &r);
    expect_ok(&r);
    calc_sign(app, 0xE0F1, digest, 10, &r); /* shortest digest */
    expect_ok(&r);
    calc_sign(app, 0xE0F1, digest, 9, &r);
    expect_error(app, &r, 0x05);
    calc_sign(app, 0xE0F1, digest, 48, &r); /* longer than the P-256 key */
    expect_error(app, &r, 0x05);
    run(app, 0x31, 0x12, digest, 0, &r);
    expect_error(app, &r, 0x03);

    set_metadata(app, 0xE0F1, exec_never, sizeof(exec_never), &r);
    expect_ok(&r);
    calc_sign(app, 0xE0F1, digest, 32, &r);
    expect_error(app, &r, 0x07);

    /* The factory key signs. */
    calc_sign(app, 0xE0F0, digest, 32, &r);
    expect_ok(&r);
}

static void session_key_signs(void **state)
{
    sim_app *app = *state;
    uint8_t digest[32] = {7};
    apdu_result r;

    gen_key_pair(app, 0x03, 0xE100, 0x10, &r);
    expect_ok(&r);
    calc_sign(app, 0xE100, digest, sizeof(digest), &r);
    expect_ok(&r);

    /* Sessions are volatile: gone after a reset. */
    sim_app_reset(app);
    run(app, 0xF0, 0x00, aid, sizeof(aid), &r);
    expect_ok(&r);
    calc_sign(app, 0xE100, digest, sizeof(digest), &r);
    expect_error(app, &r, 0x0B);
    assert_int_equal(sim_app_write_count(app, 0xE100), 0);
}

/* Returns the device certificate from 0xE0E0 (tagged form checked on the way). */
static X509 *read_device_cert(sim_app *app, uint8_t *der_out, size_t *der_len)
{
    uint8_t object[1728];
    size_t len = read_object(app, 0xE0E0, object, sizeof(object));
    size_t n;
    const uint8_t *cursor;
    X509 *cert;

    assert_true(len > 9);
    assert_int_equal(object[0], 0xC0);
    n = (size_t)(object[7] << 8 | object[8]);
    assert_int_equal(object[6], 0x00);
    assert_int_equal(object[1] << 8 | object[2], n + 6);
    assert_int_equal(object[3] << 16 | object[4] << 8 | object[5], n + 3);
    assert_int_equal(len, n + 9);

    cursor = object + 9;
    cert = d2i_X509(NULL, &cursor, (long)n);
    assert_non_null(cert);
    assert_ptr_equal(cursor, object + 9 + n);
    if (der_out != NULL) {
        memcpy(der_out, object + 9, n);
        *der_len = n;
    }
    return cert;
}

static int openssl_cli_available(void)
{
    return system("openssl version >/dev/null 2>&1") == 0;
}

static void write_text(const char *path, const char *text, size_t len)
{
    FILE *f = fopen(path, "wb");

    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

static void device_cert_verifies(void **state)
{
    sim_app *app = *state;
    const char *ca_pem = sim_app_vendor_ca_pem(app);
    uint8_t digest[32];
    uint8_t der_sig[128];
    uint8_t der[1728];
    size_t der_len = 0;
    BIO *bio;
    X509 *ca;
    X509 *cert = read_device_cert(app, der, &der_len);
    EVP_PKEY *cert_key;
    apdu_result r;

    assert_non_null(ca_pem);
    bio = BIO_new_mem_buf(ca_pem, -1);
    ca = PEM_read_bio_X509(bio, NULL, NULL, NULL);
    BIO_free(bio);
    assert_non_null(ca);
    assert_int_equal(X509_verify(ca, X509_get0_pubkey(ca)), 1);
    assert_int_equal(X509_verify(cert, X509_get0_pubkey(ca)), 1);
    assert_int_equal(X509_check_issued(ca, cert), X509_V_OK);

    /* The certificate belongs to the key in 0xE0F0. */
    cert_key = X509_get0_pubkey(cert);
    assert_int_equal(RAND_bytes(digest, sizeof(digest)), 1);
    calc_sign(app, 0xE0F0, digest, sizeof(digest), &r);
    expect_ok(&r);
    size_t sig_len = wrap_signature(r.data, r.len, der_sig);
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(cert_key, NULL);
    assert_int_equal(EVP_PKEY_verify_init(ctx), 1);
    assert_int_equal(EVP_PKEY_verify(ctx, der_sig, sig_len, digest, sizeof(digest)), 1);
    EVP_PKEY_CTX_free(ctx);

    if (openssl_cli_available()) {
        char dir[] = "/tmp/test_sim_app_XXXXXX";
        char ca_path[64];
        char cert_path[64];
        char command[256];
        BIO *out = BIO_new(BIO_s_mem());
        char *pem = NULL;
        long pem_len;

        assert_non_null(mkdtemp(dir));
        snprintf(ca_path, sizeof(ca_path), "%s/ca.pem", dir);
        snprintf(cert_path, sizeof(cert_path), "%s/device.pem", dir);
        write_text(ca_path, ca_pem, strlen(ca_pem));
        assert_int_equal(PEM_write_bio_X509(out, cert), 1);
        pem_len = BIO_get_mem_data(out, &pem);
        write_text(cert_path, pem, (size_t)pem_len);
        BIO_free(out);
        snprintf(command, sizeof(command), "openssl verify -CAfile %s %s >/dev/null 2>&1",
                 ca_path, cert_path);
        assert_int_equal(system(command), 0);
        remove(ca_path);
        remove(cert_path);
        remove(dir);
    }

    /* VerifySign takes a plain DER certificate from an object, not the tagged form. */
    uint8_t in[160];
    size_t pos = 0;
    memcpy(in, "\x01\x00\x20", 3);
    memcpy(in + 3, digest, 32);
    pos = 35;
    in[pos++] = 0x02;
    in[pos++] = 0x00;
    in[pos++] = (uint8_t)r.len;
    memcpy(in + pos, r.data, r.len);
    pos += r.len;
    memcpy(in + pos, "\x04\x00\x02\xE0\xE1", 5);
    set_data(app, 0x40, 0xE0E1, 0, der, der_len, &r);
    expect_ok(&r);
    run(app, 0x32, 0x11, in, pos + 5, &r);
    expect_ok(&r);
    memcpy(in + pos, "\x04\x00\x02\xE0\xE0", 5);
    run(app, 0x32, 0x11, in, pos + 5, &r);
    expect_error(app, &r, 0x29);

    X509_free(ca);
    X509_free(cert);
}

static void calc_hash_sha256(void **state)
{
    sim_app *app = *state;
    static const uint8_t abc[] = {0x01, 0x00, 0x03, 'a', 'b', 'c'};
    static const uint8_t abc_digest[] = {0xBA, 0x78, 0x16, 0xBF, 0x8F, 0x01, 0xCF, 0xEA,
                                         0x41, 0x41, 0x40, 0xDE, 0x5D, 0xAE, 0x22, 0x23,
                                         0xB0, 0x03, 0x61, 0xA3, 0x96, 0x17, 0x7A, 0x9C,
                                         0xB4, 0x10, 0xFF, 0x61, 0xF2, 0x00, 0x15, 0xAD};
    static const uint8_t part1[] = {0x00, 0x00, 0x02, 'a', 'b'};
    static const uint8_t part2[] = {0x02, 0x00, 0x00};
    static const uint8_t part3[] = {0x03, 0x00, 0x01, 'c'};
    static const uint8_t cont[] = {0x02, 0x00, 0x01, 'x'};
    static const uint8_t from_uid[] = {0x11, 0x00, 0x06, 0xE0, 0xC2, 0x00, 0x00, 0x00, 0x1B};
    uint8_t expected[32];
    unsigned md_len = 0;
    apdu_result r;
    apdu_result uid;

    run(app, 0x30, 0xE2, abc, sizeof(abc), &r);
    expect_ok(&r);
    assert_int_equal(r.len, 35);
    assert_memory_equal(r.data, "\x01\x00\x20", 3);
    assert_memory_equal(r.data + 3, abc_digest, 32);

    run(app, 0x30, 0xE2, part1, sizeof(part1), &r);
    expect_ok(&r);
    assert_int_equal(r.len, 0);
    run(app, 0x30, 0xE2, part2, sizeof(part2), &r);
    expect_ok(&r);
    run(app, 0x30, 0xE2, part3, sizeof(part3), &r);
    expect_ok(&r);
    assert_memory_equal(r.data + 3, abc_digest, 32);

    run(app, 0x30, 0xE2, cont, sizeof(cont), &r); /* no hash running any more */
    expect_error(app, &r, 0x0B);
    run(app, 0x30, 0xE3, abc, sizeof(abc), &r);
    expect_error(app, &r, 0x03);

    get_data(app, 0xE0C2, 0, 27, &uid);
    assert_int_equal(EVP_Digest(uid.data, uid.len, expected, &md_len, EVP_sha256(), NULL), 1);
    run(app, 0x30, 0xE2, from_uid, sizeof(from_uid), &r);
    expect_ok(&r);
    assert_memory_equal(r.data + 3, expected, 32);
}

/* ---- security event counter, timing, describe ---- */

static uint8_t read_sec(sim_app *app)
{
    apdu_result r;

    get_data(app, 0xE0C5, 0, 1, &r);
    expect_ok(&r);
    assert_int_equal(r.len, 1);
    return r.data[0];
}

static void security_event_counter(void **state)
{
    sim_app *app = *state;
    uint8_t digest[32] = {3};
    uint32_t first_us = 0;
    apdu_result r;

    assert_int_equal(read_sec(app), 0);
    gen_key_pair(app, 0x03, 0xE0F1, 0x10, &r);
    expect_ok(&r);
    assert_int_equal(read_sec(app), 1);
    calc_sign(app, 0xE0F1, digest, sizeof(digest), &r);
    first_us = r.exec_us;
    assert_int_equal(read_sec(app), 2);

    /* One step of decay per 5 s of virtual time. */
    sim_app_tick(app, SIM_APP_SEC_DECAY_US - 1);
    assert_int_equal(read_sec(app), 2);
    sim_app_tick(app, SIM_APP_SEC_DECAY_US);
    assert_int_equal(read_sec(app), 1);
    sim_app_tick(app, 10 * (uint64_t)SIM_APP_SEC_DECAY_US);
    assert_int_equal(read_sec(app), 0);

    /* Past the threshold every private-key use is delayed. */
    for (unsigned i = 0; i < SIM_APP_SEC_DELAY_THRESHOLD; i++) {
        calc_sign(app, 0xE0F1, digest, sizeof(digest), &r);
        expect_ok(&r);
        assert_int_equal(r.exec_us, first_us);
    }
    calc_sign(app, 0xE0F1, digest, sizeof(digest), &r);
    expect_ok(&r);
    assert_int_equal(r.exec_us, first_us + SIM_APP_SEC_DELAY_US);
    assert_int_equal(read_sec(app), SIM_APP_SEC_DELAY_THRESHOLD + 1);
}

static void timing_follows_table(void **state)
{
    sim_app *app = *state;
    static uint8_t data[100];
    uint8_t digest[32] = {9};
    apdu_result r;

    set_data(app, 0x40, 0xF1D5, 0, data, sizeof(data), &r);
    assert_int_equal(r.exec_us, 15000);
    get_data(app, 0xF1D5, 0, 100, &r);
    assert_int_equal(r.exec_us, 9000);
    gen_key_pair(app, 0x03, 0xE0F1, 0x10, &r);
    assert_int_equal(r.exec_us, 80000);
    calc_sign(app, 0xE0F1, digest, sizeof(digest), &r);
    assert_int_equal(r.exec_us, 60000);
    assert_int_equal(sim_app_timing_us(SIM_APP_OP_VERIFY_P256, 0), 85000);
}

static void describe_text_and_json(void **state)
{
    sim_app *app = *state;
    char text[16384];
    char uid_hex[55];
    size_t needed;
    cJSON *root;
    const cJSON *objects;
    const cJSON *entry;
    int found_key = 0;
    apdu_result r;

    get_data(app, 0xE0C2, 0, 27, &r);
    for (size_t i = 0; i < 27; i++)
        snprintf(uid_hex + 2 * i, 3, "%02X", r.data[i]);

    needed = sim_app_describe(app, 0, text, sizeof(text));
    assert_true(needed < sizeof(text));
    assert_int_equal(strlen(text), needed);
    assert_non_null(strstr(text, uid_hex));
    assert_non_null(strstr(text, "E0F0  device private key 1"));
    assert_non_null(strstr(text, "LcsO<op"));
    assert_int_equal(sim_app_describe(app, 0, text, 10), needed);
    assert_int_equal(strlen(text), 9);

    needed = sim_app_describe(app, 1, text, sizeof(text));
    assert_true(needed < sizeof(text));
    root = cJSON_Parse(text);
    assert_non_null(root);
    assert_string_equal(cJSON_GetObjectItem(root, "uid")->valuestring, uid_hex);
    assert_int_equal(cJSON_GetObjectItem(root, "lcsg")->valueint, 7);
    objects = cJSON_GetObjectItem(root, "objects");
    assert_int_equal(cJSON_GetArraySize(objects), 42);
    cJSON_ArrayForEach(entry, objects) {
        const cJSON *key = cJSON_GetObjectItem(entry, "key");

        if (strcmp(cJSON_GetObjectItem(entry, "oid")->valuestring, "E0F0") == 0) {
            assert_non_null(key);
            assert_string_equal(cJSON_GetObjectItem(key, "curve")->valuestring, "P-256");
            assert_string_equal(cJSON_GetObjectItem(entry, "change")->valuestring, "NEV");
            found_key = 1;
        } else {
            assert_null(key);
        }
    }
    assert_true(found_key);
    cJSON_Delete(root);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(commands_need_open_application),
        cmocka_unit_test_setup_teardown(last_error_keeps_highest, setup, teardown),
        cmocka_unit_test_setup_teardown(invalid_apdus_rejected, setup, teardown),
        cmocka_unit_test_setup_teardown(get_random_lengths, setup, teardown),
        cmocka_unit_test_setup_teardown(uid_has_trust_x_layout, setup, teardown),
        cmocka_unit_test_setup_teardown(fixed_size_objects, setup, teardown),
        cmocka_unit_test_setup_teardown(default_metadata, setup, teardown),
        cmocka_unit_test_setup_teardown(unknown_oid_rejected, setup, teardown),
        cmocka_unit_test_setup_teardown(read_past_end_rejected, setup, teardown),
        cmocka_unit_test_setup_teardown(write_beyond_max_rejected, setup, teardown),
        cmocka_unit_test_setup_teardown(write_and_erase_semantics, setup, teardown),
        cmocka_unit_test_setup_teardown(key_objects_not_readable, setup, teardown),
        cmocka_unit_test_setup_teardown(device_key_and_cert_locked, setup, teardown),
        cmocka_unit_test_setup_teardown(metadata_merge_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(metadata_write_rules, setup, teardown),
        cmocka_unit_test_setup_teardown(lcso_only_rises, setup, teardown),
        cmocka_unit_test_setup_teardown(locked_slot_rejects_writes, setup, teardown),
        cmocka_unit_test_setup_teardown(complex_access_conditions, setup, teardown),
        cmocka_unit_test_setup_teardown(gen_key_pair_response_and_metadata, setup, teardown),
        cmocka_unit_test_setup_teardown(gen_key_pair_export_matches, setup, teardown),
        cmocka_unit_test_setup_teardown(calc_sign_p256_verifies, setup, teardown),
        cmocka_unit_test_setup_teardown(calc_sign_p384_verifies, setup, teardown),
        cmocka_unit_test_setup_teardown(calc_sign_checks, setup, teardown),
        cmocka_unit_test_setup_teardown(session_key_signs, setup, teardown),
        cmocka_unit_test_setup_teardown(device_cert_verifies, setup, teardown),
        cmocka_unit_test_setup_teardown(calc_hash_sha256, setup, teardown),
        cmocka_unit_test_setup_teardown(security_event_counter, setup, teardown),
        cmocka_unit_test_setup_teardown(timing_follows_table, setup, teardown),
        cmocka_unit_test_setup_teardown(describe_text_and_json, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

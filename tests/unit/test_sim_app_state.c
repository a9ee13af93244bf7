/* SPDX-License-Identifier: MIT */
/*
 * The simulated chip's state file: persistence across close and reopen, the
 * exclusive lock, two processes sharing one state, rejection of damaged
 * files, and a power loss in the middle of a data object write.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include "sim_app.h"

#define RESP_CAP (4 + SIM_APP_MAX_COMMS_BUFFER)
#define PATH_MAX_LEN 256
#define CONCURRENT_ROUNDS 40
#define CHILD_LOCK_WAIT_MS 120000

typedef struct apdu_result {
    uint8_t sta;
    size_t len;
    uint8_t data[RESP_CAP];
    uint32_t exec_us;
} apdu_result;

typedef struct fixture {
    char dir[PATH_MAX_LEN];
    char path[PATH_MAX_LEN + 16];
} fixture;

static const uint8_t aid[16] = {0xD2, 0x76, 0x00, 0x00, 0x04, 'G', 'e', 'n',
                                'A',  'u',  't',  'h',  'A',  'p', 'p', 'l'};

/* ---- helpers that do not assert, so that forked children can use them ---- */

static int execute(sim_app *app, uint8_t cmd, uint8_t param, const uint8_t *in, size_t in_len,
                   apdu_result *out)
{
    uint8_t apdu[RESP_CAP + 8];
    uint8_t resp[RESP_CAP];
    size_t resp_len = 0;

    if (in_len + 4 > sizeof(apdu))
        return -1;
    apdu[0] = cmd;
    apdu[1] = param;
    apdu[2] = (uint8_t)(in_len >> 8);
    apdu[3] = (uint8_t)in_len;
    if (in_len > 0)
        memcpy(apdu + 4, in, in_len);
    sim_app_execute(app, apdu, in_len + 4, resp, sizeof(resp), &resp_len, &out->exec_us);
    if (resp_len < 4 || resp_len != 4 + (size_t)(resp[2] << 8 | resp[3]))
        return -1;
    out->sta = resp[0];
    out->len = resp_len - 4;
    memcpy(out->data, resp + 4, out->len);
    return out->sta;
}

static int open_application(sim_app *app)
{
    apdu_result r;

    return execute(app, 0xF0, 0x00, aid, sizeof(aid), &r);
}

static int get_data(sim_app *app, uint16_t oid, uint16_t offset, uint16_t len, apdu_result *r)
{
    uint8_t in[6] = {(uint8_t)(oid >> 8), (uint8_t)oid, (uint8_t)(offset >> 8),
                     (uint8_t)offset, (uint8_t)(len >> 8), (uint8_t)len};

    return execute(app, 0x01, 0x00, in, sizeof(in), r);
}

static int set_data(sim_app *app, uint8_t param, uint16_t oid, uint16_t offset,
                    const uint8_t *data, size_t len, apdu_result *r)
{
    uint8_t in[RESP_CAP];

    if (len + 4 > sizeof(in))
        return -1;
    in[0] = (uint8_t)(oid >> 8);
    in[1] = (uint8_t)oid;
    in[2] = (uint8_t)(offset >> 8);
    in[3] = (uint8_t)offset;
    if (len > 0)
        memcpy(in + 4, data, len);
    return execute(app, 0x02, param, in, len + 4, r);
}

/* Returns the used size from the metadata (tag C5), or -1. */
static long used_size(sim_app *app, uint16_t oid)
{
    uint8_t in[2] = {(uint8_t)(oid >> 8), (uint8_t)oid};
    apdu_result r;
    size_t pos = 2;

    if (execute(app, 0x01, 0x01, in, sizeof(in), &r) != 0)
        return -1;
    while (pos + 2 <= r.len) {
        if (r.data[pos] == 0xC5)
            return r.data[pos + 1] == 1 ? r.data[pos + 2] : r.data[pos + 2] << 8 | r.data[pos + 3];
        pos += 2 + r.data[pos + 1];
    }
    return -1;
}

static uint8_t last_error(sim_app *app)
{
    static const uint8_t in[] = {0xF1, 0xC2};
    apdu_result r;

    assert_int_equal(execute(app, 0x01, 0x00, in, sizeof(in), &r), 0);
    assert_int_equal(r.len, 1);
    return r.data[0];
}

/* ---- fixture ---- */

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    const char *tmp = getenv("TMPDIR");

    if (f == NULL)
        return -1;
    snprintf(f->dir, sizeof(f->dir), "%s/test_sim_app_state_XXXXXX", tmp != NULL ? tmp : "/tmp");
    if (mkdtemp(f->dir) == NULL)
        return -1;
    snprintf(f->path, sizeof(f->path), "%s/chip.json", f->dir);
    *state = f;
    return 0;
}

static void remove_suffix(const char *path, const char *suffix)
{
    char name[PATH_MAX_LEN + 32];

    snprintf(name, sizeof(name), "%s%s", path, suffix);
    remove(name);
}

static int teardown(void **state)
{
    fixture *f = *state;

    remove_suffix(f->path, "");
    remove_suffix(f->path, ".lock");
    remove_suffix(f->path, ".tmp");
    rmdir(f->dir);
    free(f);
    return 0;
}

static sim_app *open_chip(const char *path)
{
    sim_app *app = NULL;

    assert_int_equal(sim_app_open(path, 0, &app), TRUSTX_OK);
    assert_non_null(app);
    assert_int_equal(open_application(app), 0);
    return app;
}

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *text;
    long size;

    assert_non_null(f);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    size = ftell(f);
    assert_true(size > 0);
    rewind(f);
    text = malloc((size_t)size + 1);
    assert_non_null(text);
    assert_int_equal(fread(text, 1, (size_t)size, f), (size_t)size);
    text[size] = '\0';
    fclose(f);
    *len = (size_t)size;
    return text;
}

static void write_file(const char *path, const char *text, size_t len)
{
    FILE *f = fopen(path, "wb");

    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

/* Public key of a GenKeyPair response as an OpenSSL key (SPKI built here, P-256 or P-384). */
static EVP_PKEY *response_public_key(const apdu_result *r, uint8_t curve)
{
    static const uint8_t p256[] = {0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2A, 0x86,
                                   0x48, 0xCE, 0x3D, 0x02, 0x01, 0x06, 0x08, 0x2A,
                                   0x86, 0x48, 0xCE, 0x3D, 0x03, 0x01, 0x07};
    static const uint8_t p384[] = {0x30, 0x76, 0x30, 0x10, 0x06, 0x07, 0x2A,
                                   0x86, 0x48, 0xCE, 0x3D, 0x02, 0x01, 0x06,
                                   0x05, 0x2B, 0x81, 0x04, 0x00, 0x22};
    const uint8_t *prefix = curve == 0x03 ? p256 : p384;
    size_t prefix_len = curve == 0x03 ? sizeof(p256) : sizeof(p384);
    size_t bits_len = r->len - 3;
    uint8_t spki[160];
    const uint8_t *cursor = spki;

    assert_int_equal(r->data[0], 0x02);
    memcpy(spki, prefix, prefix_len);
    memcpy(spki + prefix_len, r->data + 3, bits_len);
    return d2i_PUBKEY(NULL, &cursor, (long)(prefix_len + bits_len));
}

/* Signs a fresh digest in the chip and checks the signature with OpenSSL and pub. */
static void sign_and_verify(sim_app *app, uint16_t oid, EVP_PKEY *pub, size_t digest_len)
{
    uint8_t in[64];
    uint8_t der[128];
    EVP_PKEY_CTX *ctx;
    apdu_result r;

    in[0] = 0x01;
    in[1] = 0x00;
    in[2] = (uint8_t)digest_len;
    assert_int_equal(RAND_bytes(in + 3, (int)digest_len), 1);
    memcpy(in + 3 + digest_len, "\x03\x00\x02", 3);
    in[6 + digest_len] = (uint8_t)(oid >> 8);
    in[7 + digest_len] = (uint8_t)oid;
    assert_int_equal(execute(app, 0x31, 0x11, in, digest_len + 8, &r), 0);

    der[0] = 0x30;
    der[1] = (uint8_t)r.len;
    memcpy(der + 2, r.data, r.len);
    ctx = EVP_PKEY_CTX_new(pub, NULL);
    assert_non_null(ctx);
    assert_int_equal(EVP_PKEY_verify_init(ctx), 1);
    assert_int_equal(EVP_PKEY_verify(ctx, der, r.len + 2, in + 3, digest_len), 1);
    EVP_PKEY_CTX_free(ctx);
}

/* ---- tests ---- */

static void state_round_trip(void **state)
{
    fixture *f = *state;
    static const uint8_t gen_p256[] = {0x01, 0x00, 0x02, 0xE0, 0xF1, 0x02, 0x00, 0x01, 0x10};
    static const uint8_t gen_p384[] = {0x01, 0x00, 0x02, 0xE0, 0xF2, 0x02, 0x00, 0x01, 0x10};
    static const uint8_t message[] = "kept across reopen";
    static const uint8_t lcso_in[] = {0x20, 0x03, 0xC0, 0x01, 0x03};
    uint8_t uid[27];
    char *ca_pem;
    EVP_PKEY *pub256;
    EVP_PKEY *pub384;
    sim_app *app = open_chip(f->path);
    apdu_result r;
    struct stat st;

    assert_int_equal(stat(f->path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(get_data(app, 0xE0C2, 0, 27, &r), 0);
    memcpy(uid, r.data, 27);
    ca_pem = strdup(sim_app_vendor_ca_pem(app));

    assert_int_equal(execute(app, 0x38, 0x03, gen_p256, sizeof(gen_p256), &r), 0);
    pub256 = response_public_key(&r, 0x03);
    assert_non_null(pub256);
    assert_int_equal(execute(app, 0x38, 0x04, gen_p384, sizeof(gen_p384), &r), 0);
    pub384 = response_public_key(&r, 0x04);
    assert_non_null(pub384);
    assert_int_equal(set_data(app, 0x40, 0xF1D0, 0, message, sizeof(message), &r), 0);
    assert_int_equal(set_data(app, 0x01, 0xF1D1, 0, lcso_in, sizeof(lcso_in), &r), 0);
    sim_app_close(app);

    app = NULL;
    assert_int_equal(sim_app_open(f->path, 0, &app), TRUSTX_OK);
    assert_int_not_equal(get_data(app, 0xE0C2, 0, 27, &r), 0); /* application closed */
    assert_int_equal(open_application(app), 0);
    assert_int_equal(get_data(app, 0xE0C2, 0, 27, &r), 0);
    assert_memory_equal(r.data, uid, 27);
    assert_string_equal(sim_app_vendor_ca_pem(app), ca_pem);
    assert_int_equal(get_data(app, 0xF1D0, 0, 100, &r), 0);
    assert_int_equal(r.len, sizeof(message));
    assert_memory_equal(r.data, message, sizeof(message));
    assert_int_equal(execute(app, 0x01, 0x01, (const uint8_t *)"\xF1\xD1", 2, &r), 0);
    assert_memory_equal(r.data + 2, "\xC0\x01\x03", 3);
    assert_int_equal(sim_app_write_count(app, 0xF1D0), 1);
    assert_int_equal(sim_app_write_count(app, 0xF1D1), 1);
    assert_int_equal(sim_app_write_count(app, 0xE0F1), 1);

    /* Same keys: signatures made after the reopen verify with the old public keys. */
    sign_and_verify(app, 0xE0F1, pub256, 32);
    sign_and_verify(app, 0xE0F2, pub384, 48);

    /* The security event counter is kept too (two key generations, two signatures). */
    assert_int_equal(get_data(app, 0xE0C5, 0, 1, &r), 0);
    assert_int_equal(r.data[0], 4);
    sim_app_close(app);

    EVP_PKEY_free(pub256);
    EVP_PKEY_free(pub384);
    free(ca_pem);
}

static void state_file_format(void **state)
{
    fixture *f = *state;
    sim_app *app = open_chip(f->path);
    const cJSON *objects;
    const cJSON *sha;
    char *text;
    size_t len;
    cJSON *root;

    sim_app_close(app);
    text = read_file(f->path, &len);
    root = cJSON_Parse(text);
    assert_non_null(root);
    assert_string_equal(cJSON_GetObjectItem(root, "format")->valuestring, "trustx-sim-state");
    assert_int_equal(cJSON_GetObjectItem(root, "version")->valueint, 1);
    sha = cJSON_GetObjectItem(root, "sha256");
    assert_true(cJSON_IsString(sha));
    assert_int_equal(strlen(sha->valuestring), 64);
    objects = cJSON_GetObjectItem(cJSON_GetObjectItem(root, "state"), "objects");
    assert_int_equal(cJSON_GetArraySize(objects), 38); /* 42 objects minus 4 sessions */
    assert_non_null(strstr(text, "-----BEGIN PRIVATE KEY-----"));
    cJSON_Delete(root);
    free(text);
}

static void second_open_busy(void **state)
{
    fixture *f = *state;
    sim_app *first = open_chip(f->path);
    sim_app *second = NULL;

    assert_int_equal(sim_app_open(f->path, 200, &second), TRUSTX_E_BUSY);
    assert_null(second);
    assert_non_null(strstr(trustx_error_last()->message, f->path));
    assert_int_equal(sim_app_open(f->path, 0, &second), TRUSTX_E_BUSY);

    sim_app_close(first);
    assert_int_equal(sim_app_open(f->path, 0, &second), TRUSTX_OK);
    sim_app_close(second);
}

/* One process's share of the concurrency test; returns 0 or the failed step. */
static int child_rounds(const char *path, uint16_t counter_oid, uint8_t mark)
{
    for (int i = 0; i < CONCURRENT_ROUNDS; i++) {
        sim_app *app = NULL;
        apdu_result r;
        uint32_t counter = 0;
        uint8_t bytes[4];
        long used;

        if (sim_app_open(path, CHILD_LOCK_WAIT_MS, &app) != TRUSTX_OK)
            return 1;
        if (open_application(app) != 0)
            return 2;
        if (get_data(app, counter_oid, 0, 4, &r) == 0 && r.len == 4)
            counter = (uint32_t)r.data[0] << 24 | r.data[1] << 16 | r.data[2] << 8 | r.data[3];
        counter++;
        bytes[0] = (uint8_t)(counter >> 24);
        bytes[1] = (uint8_t)(counter >> 16);
        bytes[2] = (uint8_t)(counter >> 8);
        bytes[3] = (uint8_t)counter;
        if (set_data(app, 0x40, counter_oid, 0, bytes, 4, &r) != 0)
            return 3;
        used = used_size(app, 0xF1E0);
        if (used < 0 || set_data(app, 0x00, 0xF1E0, (uint16_t)used, &mark, 1, &r) != 0)
            return 4;
        sim_app_close(app);
    }
    return 0;
}

static void two_processes_share_state(void **state)
{
    fixture *f = *state;
    static const uint16_t counters[2] = {0xF1D0, 0xF1D1};
    static const uint8_t marks[2] = {'A', 'B'};
    pid_t pids[2];
    size_t count_a = 0;
    size_t count_b = 0;
    sim_app *app = open_chip(f->path);
    apdu_result r;

    sim_app_close(app);
    for (int i = 0; i < 2; i++) {
        pids[i] = fork();
        assert_true(pids[i] >= 0);
        if (pids[i] == 0)
            _exit(child_rounds(f->path, counters[i], marks[i]));
    }
    for (int i = 0; i < 2; i++) {
        int status = 0;

        assert_int_equal(waitpid(pids[i], &status, 0), pids[i]);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
    }

    app = open_chip(f->path);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(get_data(app, counters[i], 0, 4, &r), 0);
        assert_int_equal(r.data[0] << 24 | r.data[1] << 16 | r.data[2] << 8 | r.data[3],
                         CONCURRENT_ROUNDS);
        assert_int_equal(sim_app_write_count(app, counters[i]), CONCURRENT_ROUNDS);
    }
    assert_int_equal(used_size(app, 0xF1E0), 2 * CONCURRENT_ROUNDS);
    assert_int_equal(get_data(app, 0xF1E0, 0, 2 * CONCURRENT_ROUNDS, &r), 0);
    for (size_t i = 0; i < r.len; i++) {
        count_a += r.data[i] == 'A';
        count_b += r.data[i] == 'B';
    }
    assert_int_equal(count_a, CONCURRENT_ROUNDS);
    assert_int_equal(count_b, CONCURRENT_ROUNDS);
    assert_int_equal(sim_app_write_count(app, 0xF1E0), 2 * CONCURRENT_ROUNDS);
    sim_app_close(app);
}

/* Recomputes the checksum after an edit, so that the structure checks are reached. */
static char *resign(cJSON *root)
{
    char *state_text = cJSON_PrintUnformatted(cJSON_GetObjectItem(root, "state"));
    uint8_t md[32];
    char hex[65];
    unsigned md_len = 0;

    assert_non_null(state_text);
    assert_int_equal(EVP_Digest(state_text, strlen(state_text), md, &md_len, EVP_sha256(), NULL),
                     1);
    for (size_t i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02X", md[i]);
    free(state_text);
    cJSON_ReplaceItemInObject(root, "sha256", cJSON_CreateString(hex));
    return cJSON_Print(root);
}

static void expect_rejected(const fixture *f, const char *text, size_t len)
{
    sim_app *app = NULL;
    size_t after_len;
    char *after;

    write_file(f->path, text, len);
    assert_int_equal(sim_app_open(f->path, 0, &app), TRUSTX_E_INVALID_ARG);
    assert_null(app);
    assert_non_null(strstr(trustx_error_last()->message, f->path));
    assert_non_null(strstr(trustx_error_last()->message, "corrupt"));

    /* The damaged file is left as it was, not replaced by a new chip. */
    if (len > 0) {
        after = read_file(f->path, &after_len);
        assert_int_equal(after_len, len);
        assert_memory_equal(after, text, len);
        free(after);
    }
}

static void corrupt_state_rejected(void **state)
{
    fixture *f = *state;
    static const char not_json[] = "this is not a state file";
    static const char wrong_format[] = "{\"format\": \"other\", \"version\": 1}";
    sim_app *app = open_chip(f->path);
    size_t len;
    char *good;
    char *edited;
    char *uid;
    cJSON *root;
    cJSON *objects;

    sim_app_close(app);
    good = read_file(f->path, &len);

    expect_rejected(f, good, len / 2);
    expect_rejected(f, good, len - 3);
    expect_rejected(f, "", 0);
    expect_rejected(f, not_json, strlen(not_json));
    expect_rejected(f, wrong_format, strlen(wrong_format));

    /* One changed hex digit breaks the checksum. */
    edited = strdup(good);
    uid = strstr(edited, "\"uid\"");
    assert_non_null(uid);
    uid = strchr(uid + 5, '"') + 1;
    uid[10] = uid[10] == '0' ? '1' : '0';
    expect_rejected(f, edited, len);
    free(edited);

    /* A missing object is found even with a valid checksum. */
    root = cJSON_Parse(good);
    objects = cJSON_GetObjectItem(cJSON_GetObjectItem(root, "state"), "objects");
    cJSON_DeleteItemFromArray(objects, 7);
    edited = resign(root);
    expect_rejected(f, edited, strlen(edited));
    assert_non_null(strstr(trustx_error_last()->message, "missing"));
    free(edited);
    cJSON_Delete(root);

    /* A used size that disagrees with the data is found too. */
    root = cJSON_Parse(good);
    objects = cJSON_GetObjectItem(cJSON_GetObjectItem(root, "state"), "objects");
    cJSON_ReplaceItemInObject(cJSON_GetArrayItem(objects, 7), "data", cJSON_CreateString("00"));
    edited = resign(root);
    expect_rejected(f, edited, strlen(edited));
    free(edited);
    cJSON_Delete(root);

    /* The good file still opens: failed opens released the lock. */
    write_file(f->path, good, len);
    app = open_chip(f->path);
    sim_app_close(app);
    free(good);
}

static void stale_temporary_file_ignored(void **state)
{
    fixture *f = *state;
    char tmp[PATH_MAX_LEN + 32];
    sim_app *app = open_chip(f->path);
    apdu_result r;

    sim_app_close(app);
    snprintf(tmp, sizeof(tmp), "%s.tmp", f->path);
    write_file(tmp, "half a write", 12);
    app = open_chip(f->path);
    assert_int_equal(set_data(app, 0x40, 0xF1D0, 0, (const uint8_t *)"x", 1, &r), 0);
    assert_int_equal(access(tmp, F_OK), -1); /* replaced by the save and renamed */
    sim_app_close(app);
}

static void power_loss_tears_write(void **state)
{
    fixture *f = *state;
    uint8_t data[200];
    uint8_t expected[200];
    sim_app *app = open_chip(f->path);
    apdu_result r;

    /* Torn: the first half of the programmed bytes is new, the rest old. */
    memset(data, 0xAA, sizeof(data));
    assert_int_equal(set_data(app, 0x40, 0xE0E1, 0, data, sizeof(data), &r), 0);
    sim_app_power_loss(app);
    assert_int_not_equal(get_data(app, 0xE0E1, 0, 200, &r), 0); /* application closed */
    assert_int_equal(open_application(app), 0);
    memset(expected, 0x00, sizeof(expected));
    memset(expected, 0xAA, 100);
    assert_int_equal(get_data(app, 0xE0E1, 0, 200, &r), 0);
    assert_int_equal(r.len, 200);
    assert_memory_equal(r.data, expected, sizeof(expected));
    assert_int_equal(sim_app_write_count(app, 0xE0E1), 1);
    sim_app_close(app);

    /* The state file contains the torn object. */
    app = open_chip(f->path);
    assert_int_equal(get_data(app, 0xE0E1, 0, 200, &r), 0);
    assert_memory_equal(r.data, expected, sizeof(expected));

    /* A plain write at offset 50 tears within its own range only. */
    memset(data, 0x55, 100);
    assert_int_equal(set_data(app, 0x00, 0xE0E1, 50, data, 100, &r), 0);
    sim_app_power_loss(app);
    assert_int_equal(open_application(app), 0);
    memset(expected + 50, 0x55, 50);
    assert_int_equal(get_data(app, 0xE0E1, 0, 200, &r), 0);
    assert_memory_equal(r.data, expected, sizeof(expected));

    /* A write that has finished in virtual time is not torn. */
    assert_int_equal(set_data(app, 0x00, 0xE0E1, 0, data, 100, &r), 0);
    sim_app_tick(app, r.exec_us);
    sim_app_power_loss(app);
    assert_int_equal(open_application(app), 0);
    memset(expected, 0x55, 100);
    assert_int_equal(get_data(app, 0xE0E1, 0, 200, &r), 0);
    assert_memory_equal(r.data, expected, sizeof(expected));

    /* Nor is one followed by another command. */
    memset(data, 0x66, 100);
    assert_int_equal(set_data(app, 0x00, 0xE0E1, 100, data, 100, &r), 0);
    assert_int_equal(execute(app, 0x0C, 0x00, (const uint8_t *)"\x00\x08", 2, &r), 0);
    sim_app_power_loss(app);
    assert_int_equal(open_application(app), 0);
    memset(expected + 100, 0x66, 100);
    assert_int_equal(get_data(app, 0xE0E1, 0, 200, &r), 0);
    assert_memory_equal(r.data, expected, sizeof(expected));
    assert_int_equal(last_error(app), 0x00);
    sim_app_close(app);
}

static void volatile_chip_has_no_file(void **state)
{
    fixture *f = *state;
    sim_app *app = NULL;
    apdu_result r;

    assert_int_equal(sim_app_open(NULL, 0, &app), TRUSTX_OK);
    assert_int_equal(open_application(app), 0);
    assert_int_equal(set_data(app, 0x40, 0xF1D0, 0, (const uint8_t *)"v", 1, &r), 0);
    sim_app_close(app);
    assert_int_equal(access(f->path, F_OK), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(state_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(state_file_format, setup, teardown),
        cmocka_unit_test_setup_teardown(second_open_busy, setup, teardown),
        cmocka_unit_test_setup_teardown(two_processes_share_state, setup, teardown),
        cmocka_unit_test_setup_teardown(corrupt_state_rejected, setup, teardown),
        cmocka_unit_test_setup_teardown(stale_temporary_file_ignored, setup, teardown),
        cmocka_unit_test_setup_teardown(power_loss_tears_write, setup, teardown),
        cmocka_unit_test_setup_teardown(volatile_chip_has_no_file, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

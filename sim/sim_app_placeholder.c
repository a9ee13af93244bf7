/* SPDX-License-Identifier: MIT */
/*
 * Stand-in for the application model until the real one is merged: just
 * enough of sim_app.h to drive the bus model. OpenApplication, reads of
 * 0xE0C2 (UID), 0xE0C6, 0xF1C2 and one 1500-byte object 0xF1E0 that can be
 * read and written; everything else fails with error 0x01.
 */
#include "sim_app.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PLACEHOLDER_EXEC_US 1000u
#define PLACEHOLDER_OBJECT_MAX 1500u
#define ERROR_INVALID 0x01u

struct sim_app {
    int open;
    uint8_t last_error;
    uint8_t object[PLACEHOLDER_OBJECT_MAX];
    size_t object_used;
    uint64_t object_writes;
};

static const uint8_t placeholder_uid[27] = {
    0xCD, 0x16, 0x33, 0x6B, 0x01, 0x00, 0x1C, 0x00, 0x01, 0x00, 0x00, 0x0A, 0x08, 0x52,
    0x55, 0x00, 0x0A, 0x00, 0x5C, 0x00, 0x46, 0x80, 0x10, 0x10, 0x71, 0x11, 0x18,
};

static const uint8_t application_id[16] = {
    0xD2, 0x76, 0x00, 0x00, 0x04, 'G', 'e', 'n', 'A', 'u', 't', 'h', 'A', 'p', 'p', 'l',
};

trustx_rc sim_app_open(const char *path, uint32_t lock_wait_ms, sim_app **out)
{
    sim_app *app = calloc(1, sizeof(*app));
    FILE *file;

    if (app == NULL)
        return trustx_fail(TRUSTX_LAYER_APP, TRUSTX_E_NOMEM, "out of memory");
    if (path != NULL) {
        file = fopen(path, "a");
        if (file == NULL) {
            free(app);
            return trustx_fail_errno(TRUSTX_LAYER_APP, TRUSTX_E_IO, errno,
                                     "cannot create chip state file %s", path);
        }
        fclose(file);
    }
    *out = app;
    return TRUSTX_OK;
}

void sim_app_close(sim_app *app)
{
    free(app);
}

static size_t respond(sim_app *app, uint8_t *resp, const uint8_t *data, size_t n)
{
    resp[0] = 0x00;
    resp[1] = 0x00;
    resp[2] = (uint8_t)(n >> 8);
    resp[3] = (uint8_t)n;
    if (n > 0)
        memcpy(resp + 4, data, n);
    return 4 + n;
}

static size_t fail(sim_app *app, uint8_t *resp)
{
    app->last_error = ERROR_INVALID;
    resp[0] = 0xFF;
    resp[1] = 0x00;
    resp[2] = 0x00;
    resp[3] = 0x00;
    return 4;
}

static size_t get_object(sim_app *app, const uint8_t *in, size_t in_len, uint8_t *resp)
{
    unsigned oid = in_len >= 2 ? ((unsigned)in[0] << 8) | in[1] : 0;
    size_t offset = in_len >= 6 ? ((size_t)in[2] << 8) | in[3] : 0;
    size_t length = in_len >= 6 ? ((size_t)in[4] << 8) | in[5] : 0;
    uint8_t byte;

    if (oid == 0xE0C2)
        return respond(app, resp, placeholder_uid, sizeof(placeholder_uid));
    if (oid == 0xE0C6)
        return respond(app, resp, (const uint8_t[]){0x06, 0x15}, 2);
    if (oid == 0xF1C2) {
        byte = app->last_error;
        app->last_error = 0;
        return respond(app, resp, &byte, 1);
    }
    if (oid == 0xF1E0 && in_len == 6 && offset < app->object_used) {
        if (length > app->object_used - offset)
            length = app->object_used - offset;
        return respond(app, resp, app->object + offset, length);
    }
    return fail(app, resp);
}

static size_t set_object(sim_app *app, uint8_t param, const uint8_t *in, size_t in_len,
                         uint8_t *resp)
{
    unsigned oid = in_len >= 2 ? ((unsigned)in[0] << 8) | in[1] : 0;
    size_t offset = in_len >= 4 ? ((size_t)in[2] << 8) | in[3] : 0;
    size_t length = in_len >= 4 ? in_len - 4 : 0;

    if (oid != 0xF1E0 || (param != 0x00 && param != 0x40) || in_len < 4 ||
        offset + length > PLACEHOLDER_OBJECT_MAX)
        return fail(app, resp);

    if (param == 0x40)
        app->object_used = 0;
    memcpy(app->object + offset, in + 4, length);
    if (offset + length > app->object_used)
        app->object_used = offset + length;
    app->object_writes++;
    return respond(app, resp, NULL, 0);
}

void sim_app_execute(sim_app *app, const uint8_t *apdu, size_t apdu_len, uint8_t *resp,
                     size_t resp_cap, size_t *resp_len, uint32_t *exec_us)
{
    size_t in_len = apdu_len >= 4 ? ((size_t)apdu[2] << 8) | apdu[3] : 0;
    uint8_t cmd = apdu_len >= 1 ? apdu[0] & 0x7Fu : 0;

    *exec_us = PLACEHOLDER_EXEC_US;
    if (apdu_len >= 1 && (apdu[0] & 0x80u))
        app->last_error = 0;

    if (apdu_len < 4 || in_len != apdu_len - 4)
        *resp_len = fail(app, resp);
    else if (cmd == 0x70 && in_len == sizeof(application_id) &&
             memcmp(apdu + 4, application_id, sizeof(application_id)) == 0) {
        app->open = 1;
        *resp_len = respond(app, resp, NULL, 0);
    } else if (!app->open)
        *resp_len = fail(app, resp);
    else if (cmd == 0x01 && apdu[1] == 0x00)
        *resp_len = get_object(app, apdu + 4, in_len, resp);
    else if (cmd == 0x02)
        *resp_len = set_object(app, apdu[1], apdu + 4, in_len, resp);
    else
        *resp_len = fail(app, resp);
    (void)resp_cap;
}

void sim_app_reset(sim_app *app)
{
    app->open = 0;
}

void sim_app_tick(sim_app *app, uint64_t now_us)
{
    (void)app;
    (void)now_us;
}

void sim_app_power_loss(sim_app *app)
{
    app->open = 0;
}

uint64_t sim_app_write_count(const sim_app *app, uint16_t oid)
{
    return oid == 0xF1E0 ? app->object_writes : 0;
}

size_t sim_app_describe(const sim_app *app, int json, char *buf, size_t cap)
{
    int n;

    if (json)
        n = snprintf(buf, cap, "{\"model\": \"placeholder\", \"application_open\": %s}\n",
                     app->open ? "true" : "false");
    else
        n = snprintf(buf, cap, "model: placeholder\napplication open: %s\n",
                     app->open ? "yes" : "no");
    return n < 0 ? 0 : (size_t)n;
}

const char *sim_app_vendor_ca_pem(const sim_app *app)
{
    (void)app;
    return "";
}

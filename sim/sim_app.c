/* SPDX-License-Identifier: MIT */
/*
 * The application model's entry points: opening and closing a chip state,
 * APDU execution with the last-error rules, resets, virtual time for the
 * security event counter, and power loss during a data object write.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "sim_app_internal.h"
#include "sim_app_timing.h"
#include "trustx/log.h"

#define STA_OK 0x00
#define STA_ERROR 0xFF
#define SEC_MAX 0xFF
#define LOG_COMPONENT "sim.app"

typedef uint8_t (*command_handler)(sim_app *app, const sim_apdu *apdu, sim_reply *reply);

static const struct {
    uint8_t cmd;
    command_handler handler;
} commands[] = {
    {SIM_CMD_OPEN_APPLICATION, sim_cmd_open_application},
    {SIM_CMD_GET_DATA_OBJECT, sim_cmd_get_data_object},
    {SIM_CMD_SET_DATA_OBJECT, sim_cmd_set_data_object},
    {SIM_CMD_GET_RANDOM, sim_cmd_get_random},
    {SIM_CMD_CALC_HASH, sim_cmd_calc_hash},
    {SIM_CMD_CALC_SIGN, sim_cmd_calc_sign},
    {SIM_CMD_VERIFY_SIGN, sim_cmd_verify_sign},
    {SIM_CMD_GEN_KEY_PAIR, sim_cmd_gen_key_pair},
};

static char *join(const char *a, const char *b)
{
    size_t a_len = strlen(a);
    size_t b_len = strlen(b);
    char *text = malloc(a_len + b_len + 1);

    if (text != NULL) {
        memcpy(text, a, a_len);
        memcpy(text + a_len, b, b_len + 1);
    }
    return text;
}

/* Drops everything a reset or power loss loses: application context, last error, sessions. */
static void clear_volatile(sim_app *app)
{
    app->app_open = 0;
    app->last_error = 0;
    EVP_MD_CTX_free(app->hash);
    app->hash = NULL;
    for (size_t i = 0; i < SIM_OBJECT_COUNT; i++) {
        const sim_obj_def *def = app->objects[i].def;

        if (def != NULL && def->kind == SIM_OBJ_SESSION)
            sim_object_clear_session(&app->objects[i]);
    }
}

static trustx_rc create_or_load(sim_app *app)
{
    trustx_rc rc = sim_objects_init(app);

    if (rc != TRUSTX_OK || app->path == NULL)
        return rc != TRUSTX_OK ? rc : sim_factory_init(app);

    rc = sim_state_load(app);
    if (rc != TRUSTX_E_NOT_FOUND)
        return rc;
    trustx_error_clear();
    trustx_log(TRUSTX_LOG_INFO, LOG_COMPONENT, "creating a new simulated chip in %s", app->path);
    rc = sim_factory_init(app);
    return rc != TRUSTX_OK ? rc : sim_state_save(app);
}

trustx_rc sim_app_open(const char *path, uint32_t lock_wait_ms, sim_app **out)
{
    sim_app *app;
    trustx_rc rc;

    if (out == NULL)
        return trustx_fail(TRUSTX_LAYER_SIM, TRUSTX_E_INVALID_ARG, "sim_app_open: out is NULL");
    *out = NULL;
    app = calloc(1, sizeof(*app));
    if (app == NULL)
        return trustx_fail(TRUSTX_LAYER_SIM, TRUSTX_E_NOMEM, "out of memory for the chip");
    app->lock_fd = -1;

    if (path != NULL) {
        app->path = strdup(path);
        app->lock_path = join(path, ".lock");
        if (app->path == NULL || app->lock_path == NULL) {
            sim_app_close(app);
            return trustx_fail(TRUSTX_LAYER_SIM, TRUSTX_E_NOMEM, "out of memory opening %s",
                               path);
        }
        rc = sim_state_lock(app, lock_wait_ms);
        if (rc != TRUSTX_OK) {
            sim_app_close(app);
            return rc;
        }
    }

    rc = create_or_load(app);
    if (rc != TRUSTX_OK) {
        sim_app_close(app);
        return rc;
    }
    *out = app;
    return TRUSTX_OK;
}

static void free_secret(char *text)
{
    if (text != NULL)
        OPENSSL_cleanse(text, strlen(text));
    free(text);
}

void sim_app_close(sim_app *app)
{
    if (app == NULL)
        return;
    clear_volatile(app);
    sim_objects_free(app);
    sim_state_unlock(app);
    free(app->ca_cert_pem);
    free_secret(app->ca_key_pem);
    free(app->path);
    free(app->lock_path);
    OPENSSL_cleanse(app, sizeof(*app));
    free(app);
}

static command_handler find_handler(uint8_t cmd)
{
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
        if (commands[i].cmd == cmd)
            return commands[i].handler;
    }
    return NULL;
}

/*
 * Length checks come first, then the command code (0x0A), then the open
 * application context (0x0C): before OpenApplication every other command,
 * the last-error read included, fails.
 */
static uint8_t dispatch(sim_app *app, const uint8_t *apdu, size_t apdu_len, sim_reply *reply)
{
    command_handler handler;
    sim_apdu cmd;

    if (apdu == NULL || apdu_len < SIM_APDU_HEADER_LEN || apdu_len > SIM_APP_MAX_COMMS_BUFFER)
        return SIM_ERR_INVALID_LENGTH;
    cmd.cmd = apdu[0] & (uint8_t)~SIM_CMD_FLUSH_BIT;
    cmd.param = apdu[1];
    cmd.in = apdu + SIM_APDU_HEADER_LEN;
    cmd.in_len = apdu_len - SIM_APDU_HEADER_LEN;
    if (sim_be16(apdu + 2) != cmd.in_len)
        return SIM_ERR_INVALID_LENGTH;

    handler = find_handler(cmd.cmd);
    if (handler == NULL)
        return SIM_ERR_INVALID_CMD;
    if (!app->app_open && cmd.cmd != SIM_CMD_OPEN_APPLICATION)
        return SIM_ERR_NOT_AVAILABLE;
    return handler(app, &cmd, reply);
}

void sim_app_execute(sim_app *app, const uint8_t *apdu, size_t apdu_len, uint8_t *resp,
                     size_t resp_cap, size_t *resp_len, uint32_t *exec_us)
{
    sim_reply reply;
    uint8_t err;

    *resp_len = 0;
    *exec_us = 0;
    if (app == NULL || resp == NULL || resp_cap < SIM_APDU_HEADER_LEN)
        return;

    /* A new command means the previous one has finished. */
    sim_app_pending_clear(app);
    if (apdu != NULL && apdu_len > 0 && (apdu[0] & SIM_CMD_FLUSH_BIT))
        app->last_error = 0;

    memset(&reply, 0, sizeof(reply));
    reply.out = resp + SIM_APDU_HEADER_LEN;
    reply.cap = resp_cap - SIM_APDU_HEADER_LEN;
    if (reply.cap > SIM_APP_MAX_COMMS_BUFFER - SIM_APDU_HEADER_LEN)
        reply.cap = SIM_APP_MAX_COMMS_BUFFER - SIM_APDU_HEADER_LEN;
    err = dispatch(app, apdu, apdu_len, &reply);

    if (reply.changed && sim_state_save(app) != TRUSTX_OK) {
        trustx_log(TRUSTX_LOG_ERROR, LOG_COMPONENT, "state not saved: %s",
                   trustx_error_last()->message);
        sim_app_pending_clear(app);
        err = SIM_ERR_INTERNAL;
    }

    if (err != SIM_ERR_NONE) {
        if (err > app->last_error)
            app->last_error = err;
        reply.len = 0;
        reply.exec_us = sim_app_timing_us(SIM_APP_OP_ERROR, 0);
    }
    resp[0] = err != SIM_ERR_NONE ? STA_ERROR : STA_OK;
    resp[1] = 0x00;
    sim_put_be16(resp + 2, (uint16_t)reply.len);
    *resp_len = SIM_APDU_HEADER_LEN + reply.len;
    *exec_us = reply.exec_us;
}

void sim_app_reset(sim_app *app)
{
    if (app == NULL)
        return;
    sim_app_pending_clear(app);
    clear_volatile(app);
}

static void save_or_log(sim_app *app)
{
    if (sim_state_save(app) != TRUSTX_OK)
        trustx_log(TRUSTX_LOG_ERROR, LOG_COMPONENT, "state not saved: %s",
                   trustx_error_last()->message);
}

void sim_app_tick(sim_app *app, uint64_t now_us)
{
    uint64_t steps;

    if (app == NULL)
        return;
    if (now_us < app->now_us)
        app->sec_decay_base_us = now_us; /* the clock was restarted */
    app->now_us = now_us;
    if (app->pending.active && now_us >= app->pending.done_us)
        app->pending.active = 0;

    if (app->sec == 0) {
        app->sec_decay_base_us = now_us;
        return;
    }
    steps = (now_us - app->sec_decay_base_us) / SIM_APP_SEC_DECAY_US;
    if (steps == 0)
        return;
    app->sec = steps >= app->sec ? 0 : (uint8_t)(app->sec - steps);
    app->sec_decay_base_us += steps * SIM_APP_SEC_DECAY_US;
    save_or_log(app);
}

void sim_app_security_event(sim_app *app, sim_reply *reply)
{
    if (app->sec == 0)
        app->sec_decay_base_us = app->now_us;
    if (app->sec < SEC_MAX)
        app->sec++;
    if (app->sec > SIM_APP_SEC_DELAY_THRESHOLD)
        reply->exec_us += SIM_APP_SEC_DELAY_US;
    reply->changed = 1;
}

void sim_app_pending_clear(sim_app *app)
{
    app->pending.active = 0;
}

void sim_app_pending_start(sim_app *app, const sim_object *obj, const uint8_t *before,
                           uint16_t start, uint16_t len, uint32_t exec_us)
{
    sim_pending_write *pending = &app->pending;

    pending->active = 1;
    pending->oid = obj->def->oid;
    pending->start = start;
    pending->len = len;
    pending->done_us = app->now_us + exec_us;
    memcpy(pending->before, before, obj->def->max_size);
}

/*
 * A torn write keeps the first half of the programmed bytes and the old
 * content in the second half. The used size was updated at the start of the
 * write, so it already has the new value (bytes past it read as zero), and
 * the write counter includes the interrupted write. NOTE: how a real Trust X
 * orders its NVM updates is not documented, and it may roll the write back.
 */
void sim_app_power_loss(sim_app *app)
{
    sim_pending_write *pending;
    sim_object *obj;
    size_t half;

    if (app == NULL)
        return;
    pending = &app->pending;
    if (pending->active) {
        obj = sim_object_find(app, pending->oid);
        half = pending->len / 2u;
        memcpy(obj->data + pending->start + half, pending->before + pending->start + half,
               pending->len - half);
        memset(obj->data + obj->used, 0, obj->def->max_size - obj->used);
        pending->active = 0;
        trustx_log(TRUSTX_LOG_INFO, LOG_COMPONENT,
                   "power loss tore the write to 0x%04X (%zu of %u bytes programmed)",
                   obj->def->oid, half, (unsigned)pending->len);
        save_or_log(app);
    }
    clear_volatile(app);
}

uint64_t sim_app_write_count(const sim_app *app, uint16_t oid)
{
    const sim_object *obj = app != NULL ? sim_object_find_const(app, oid) : NULL;

    return obj != NULL ? obj->writes : 0;
}

const char *sim_app_vendor_ca_pem(const sim_app *app)
{
    return app != NULL ? app->ca_cert_pem : NULL;
}

int sim_tlv_parse(const uint8_t *in, size_t len, sim_tlv *out, size_t max, size_t *count)
{
    size_t pos = 0;
    size_t n = 0;

    while (pos < len) {
        uint16_t value_len;

        if (len - pos < 3 || n == max)
            return -1;
        value_len = sim_be16(in + pos + 1);
        if (len - pos - 3 < value_len)
            return -1;
        for (size_t i = 0; i < n; i++) {
            if (out[i].tag == in[pos])
                return -1;
        }
        out[n].tag = in[pos];
        out[n].len = value_len;
        out[n].value = in + pos + 3;
        n++;
        pos += 3 + (size_t)value_len;
    }
    *count = n;
    return 0;
}

const sim_tlv *sim_tlv_find(const sim_tlv *tlvs, size_t count, uint8_t tag)
{
    for (size_t i = 0; i < count; i++) {
        if (tlvs[i].tag == tag)
            return &tlvs[i];
    }
    return NULL;
}

/* SPDX-License-Identifier: MIT */
/*
 * OpenApplication, GetDataObject and SetDataObject of the application model:
 * reading data and metadata, writes with erase, the metadata merge, and the
 * access conditions and lifecycle rules that guard them.
 */
#include <string.h>

#include "sim_app_internal.h"
#include "sim_app_timing.h"

#define PARAM_OPEN_CLEAN 0x00
#define PARAM_READ_DATA 0x00
#define PARAM_READ_METADATA 0x01
#define PARAM_WRITE 0x00
#define PARAM_WRITE_METADATA 0x01
#define PARAM_ERASE_WRITE 0x40

#define OID_LAST_ERROR 0xF1C2
#define OID_SEC 0xE0C5
#define OID_LCSG 0xE0C0
#define OID_LCSA 0xF1C0
#define OID_CURRENT_LIMIT 0xE0C4
#define CURRENT_LIMIT_MIN_MA 6
#define CURRENT_LIMIT_MAX_MA 15

/* RID D2 76 00 00 04 followed by ASCII "GenAuthAppl". */
static const uint8_t application_id[16] = {0xD2, 0x76, 0x00, 0x00, 0x04, 'G', 'e', 'n',
                                           'A',  'u',  't',  'h',  'A',  'p', 'p', 'l'};

uint8_t sim_cmd_open_application(sim_app *app, const sim_apdu *apdu, sim_reply *reply)
{
    if (apdu->param != PARAM_OPEN_CLEAN)
        return SIM_ERR_INVALID_PARAM;
    if (apdu->in_len != sizeof(application_id))
        return SIM_ERR_INVALID_LENGTH;
    if (memcmp(apdu->in, application_id, sizeof(application_id)) != 0)
        return SIM_ERR_INVALID_INDATA;

    /* A clean context: no running hash, empty sessions. */
    EVP_MD_CTX_free(app->hash);
    app->hash = NULL;
    for (size_t i = 0; i < SIM_OBJECT_COUNT; i++) {
        if (app->objects[i].def->kind == SIM_OBJ_SESSION)
            sim_object_clear_session(&app->objects[i]);
    }
    app->app_open = 1;
    reply->exec_us = sim_app_timing_us(SIM_APP_OP_OPEN_APPLICATION, 0);
    return SIM_ERR_NONE;
}

static uint8_t get_metadata(sim_app *app, const sim_apdu *apdu, sim_reply *reply)
{
    const sim_object *obj;

    if (apdu->in_len != 2)
        return SIM_ERR_INVALID_LENGTH;
    obj = sim_object_find(app, sim_be16(apdu->in));
    if (obj == NULL)
        return SIM_ERR_INVALID_OID;
    if (reply->cap < 2 + obj->metadata_len)
        return SIM_ERR_INTERNAL;

    reply->out[0] = SIM_TAG_CONTAINER;
    reply->out[1] = (uint8_t)obj->metadata_len;
    memcpy(reply->out + 2, obj->metadata, obj->metadata_len);
    reply->len = 2 + obj->metadata_len;
    reply->exec_us = sim_app_timing_us(SIM_APP_OP_GET_METADATA, 0);
    return SIM_ERR_NONE;
}

/*
 * An offset at or past the used size fails with 0x08, which hosts use to end
 * a chunked read. A longer Length is cut to the used size and to the comms
 * buffer. 0xF1C2 and 0xE0C5 come from volatile state, and reading 0xF1C2
 * clears the last error.
 */
uint8_t sim_cmd_get_data_object(sim_app *app, const sim_apdu *apdu, sim_reply *reply)
{
    const sim_object *obj;
    const uint8_t *data;
    uint8_t live_value;
    size_t offset = 0;
    size_t length = 0xFFFF;
    size_t used;

    if (apdu->param == PARAM_READ_METADATA)
        return get_metadata(app, apdu, reply);
    if (apdu->param != PARAM_READ_DATA)
        return SIM_ERR_INVALID_PARAM;
    if (apdu->in_len != 2 && apdu->in_len != 6)
        return SIM_ERR_INVALID_LENGTH;
    if (apdu->in_len == 6) {
        offset = sim_be16(apdu->in + 2);
        length = sim_be16(apdu->in + 4);
    }

    obj = sim_object_find(app, sim_be16(apdu->in));
    if (obj == NULL)
        return SIM_ERR_INVALID_OID;
    if (obj->data == NULL || !sim_object_ac_allows(app, obj, SIM_TAG_READ))
        return SIM_ERR_ACCESS;

    data = obj->data;
    used = obj->used;
    if (obj->def->oid == OID_LAST_ERROR || obj->def->oid == OID_SEC) {
        live_value = obj->def->oid == OID_SEC ? app->sec : app->last_error;
        data = &live_value;
        used = 1;
    }
    if (offset >= used)
        return SIM_ERR_BOUNDARY;

    if (length > used - offset)
        length = used - offset;
    if (length > reply->cap)
        length = reply->cap;
    memcpy(reply->out, data + offset, length);
    reply->len = length;
    if (obj->def->oid == OID_LAST_ERROR)
        app->last_error = SIM_ERR_NONE;
    reply->exec_us = sim_app_timing_us(SIM_APP_OP_GET_DATA, length);
    return SIM_ERR_NONE;
}

/* Checks the values of objects whose content has rules: lifecycle states and the current limit. */
static uint8_t check_system_value(const sim_object *obj, const uint8_t *content)
{
    uint16_t oid = obj->def->oid;

    if (oid == OID_LCSG || oid == OID_LCSA) {
        if (sim_lcs_name(content[0]) == NULL)
            return SIM_ERR_INVALID_INDATA;
        return content[0] < obj->data[0] ? SIM_ERR_ACCESS : SIM_ERR_NONE;
    }
    if (oid == OID_CURRENT_LIMIT &&
        (content[0] < CURRENT_LIMIT_MIN_MA || content[0] > CURRENT_LIMIT_MAX_MA))
        return SIM_ERR_INVALID_INDATA;
    return SIM_ERR_NONE;
}

static uint8_t write_metadata(sim_object *obj, const sim_apdu *apdu, sim_reply *reply)
{
    uint8_t err;

    if (sim_be16(apdu->in + 2) != 0)
        return SIM_ERR_INVALID_INDATA;
    err = sim_meta_write(obj, apdu->in + 4, apdu->in_len - 4);
    if (err != SIM_ERR_NONE)
        return err;

    obj->writes++;
    reply->changed = 1;
    reply->exec_us = sim_app_timing_us(SIM_APP_OP_SET_METADATA, 0);
    return SIM_ERR_NONE;
}

/*
 * Write (0x00) keeps the bytes around the written range and grows the used
 * size to max(used, offset + length). Erase&write (0x40) zeroes the object
 * first and sets the used size to offset + length. NOTE: the used-size rule of
 * a plain write is inferred; no Trust X source states it.
 */
static uint8_t write_data(sim_app *app, sim_object *obj, const sim_apdu *apdu,
                          sim_reply *reply)
{
    uint8_t before[SIM_OBJ_DATA_MAX];
    uint8_t content[SIM_OBJ_DATA_MAX];
    size_t offset = sim_be16(apdu->in + 2);
    size_t len = apdu->in_len - 4;
    size_t max = obj->def->max_size;
    size_t end = offset + len;
    int erase = apdu->param == PARAM_ERASE_WRITE;
    size_t used;
    size_t start;
    size_t programmed;
    uint8_t err;

    if (obj->data == NULL || !sim_object_ac_allows(app, obj, SIM_TAG_CHANGE))
        return SIM_ERR_ACCESS;
    if (end > max)
        return SIM_ERR_BOUNDARY;

    memcpy(before, obj->data, max);
    memcpy(content, obj->data, max);
    if (erase)
        memset(content, 0, max);
    memcpy(content + offset, apdu->in + 4, len);
    err = check_system_value(obj, content);
    if (err != SIM_ERR_NONE)
        return err;

    if (obj->def->kind == SIM_OBJ_SYSTEM)
        used = max;
    else if (erase)
        used = end;
    else
        used = end > obj->used ? end : obj->used;
    /* The erase also programs the old content beyond the new end. */
    start = offset;
    programmed = len;
    if (erase) {
        start = 0;
        programmed = end > obj->used ? end : obj->used;
    }

    memcpy(obj->data, content, max);
    sim_object_set_used(obj, (uint16_t)used);
    obj->writes++;
    reply->changed = 1;
    reply->exec_us = sim_app_timing_us(SIM_APP_OP_SET_DATA, len);
    sim_app_pending_start(app, obj, before, (uint16_t)start, (uint16_t)programmed,
                          reply->exec_us);
    return SIM_ERR_NONE;
}

uint8_t sim_cmd_set_data_object(sim_app *app, const sim_apdu *apdu, sim_reply *reply)
{
    sim_object *obj;

    if (apdu->param != PARAM_WRITE && apdu->param != PARAM_WRITE_METADATA &&
        apdu->param != PARAM_ERASE_WRITE)
        return SIM_ERR_INVALID_PARAM;
    if (apdu->in_len < 4)
        return SIM_ERR_INVALID_LENGTH;
    obj = sim_object_find(app, sim_be16(apdu->in));
    if (obj == NULL)
        return SIM_ERR_INVALID_OID;

    if (apdu->param == PARAM_WRITE_METADATA)
        return write_metadata(obj, apdu, reply);
    return write_data(app, obj, apdu, reply);
}

/* SPDX-License-Identifier: MIT */
/*
 * The object table of a delivered OPTIGA Trust X (FW 1.40.1118): every data,
 * key and session object with its size, default content and default metadata,
 * plus access-condition checks against the lifecycle states.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "sim_app_internal.h"

/*
 * Default metadata, listed in the order C0 C4 C5 D0 D1 D3 E0 E1. Sources:
 * the Trust X object map (sizes, LcsO and ACs), metadata read back from a
 * Trust X (E0E1: C0 01 01, C4 02 06 C0, D0 then D1), and a Trust M object
 * dump for the shape of system and key objects (no C0 on system objects, no
 * C4/C5/D1 on key objects, E0C2 = C4 01 1B D0 01 FF D1 01 00).
 *
 * A missing AC tag means NEV. The C5 byte in these templates is rewritten
 * from the used size when the object is loaded. E0E0 is locked (LcsO op with
 * CHA LcsO<op) and E0F0 can never change (CHA NEV). E0E2, E0E3, E0E8 and
 * E0EF start in LcsO cr: such slots are written on delivered chips, although
 * the object map prints "op" for them.
 */
static const uint8_t meta_sys_rw[] = {0xC4, 0x01, 0x01, 0xD0, 0x01, 0x00, 0xD1, 0x01, 0x00};
static const uint8_t meta_sys_ro[] = {0xC4, 0x01, 0x01, 0xD0, 0x01, 0xFF, 0xD1, 0x01, 0x00};
static const uint8_t meta_uid[] = {0xC4, 0x01, 0x1B, 0xD0, 0x01, 0xFF, 0xD1, 0x01, 0x00};
static const uint8_t meta_comms[] = {0xC4, 0x01, 0x02, 0xD0, 0x01, 0xFF, 0xD1, 0x01, 0x00};
static const uint8_t meta_device_cert[] = {0xC0, 0x01, 0x07, 0xC4, 0x02, 0x06, 0xC0,
                                           0xC5, 0x01, 0x00, 0xD0, 0x03, 0xE1, 0xFC,
                                           0x07, 0xD1, 0x01, 0x00};
static const uint8_t meta_cert[] = {0xC0, 0x01, 0x01, 0xC4, 0x02, 0x06, 0xC0, 0xC5, 0x01,
                                    0x00, 0xD0, 0x03, 0xE1, 0xFC, 0x07, 0xD1, 0x01, 0x00};
static const uint8_t meta_anchor[] = {0xC0, 0x01, 0x01, 0xC4, 0x02, 0x04, 0x00, 0xC5, 0x01,
                                      0x00, 0xD0, 0x03, 0xE1, 0xFC, 0x07, 0xD1, 0x01, 0x00};
/* NOTE: the key usage of the factory key (Auth) is a guess; no Trust X dump shows it. */
static const uint8_t meta_device_key[] = {0xC0, 0x01, 0x07, 0xD0, 0x01, 0xFF, 0xD3, 0x01,
                                          0x00, 0xE0, 0x01, 0x03, 0xE1, 0x01, 0x01};
static const uint8_t meta_key[] = {0xC0, 0x01, 0x01, 0xD0, 0x03, 0xE1,
                                   0xFC, 0x07, 0xD3, 0x01, 0x00};
static const uint8_t meta_session[] = {0xD0, 0x01, 0xFF, 0xD3, 0x01, 0x00};
static const uint8_t meta_data100[] = {0xC0, 0x01, 0x01, 0xC4, 0x01, 0x64, 0xC5, 0x01, 0x00,
                                       0xD0, 0x03, 0xE1, 0xFC, 0x07, 0xD1, 0x01, 0x00};
static const uint8_t meta_data1500[] = {0xC0, 0x01, 0x01, 0xC4, 0x02, 0x05, 0xDC, 0xC5, 0x01,
                                        0x00, 0xD0, 0x03, 0xE1, 0xFC, 0x07, 0xD1, 0x01, 0x00};

static const uint8_t value_lcs_op[] = {SIM_LCS_OPERATIONAL};
static const uint8_t value_lcs_cr[] = {SIM_LCS_CREATION};
static const uint8_t value_zero[] = {0x00};
static const uint8_t value_sleep_delay[] = {0x14};   /* 20 ms */
static const uint8_t value_current_limit[] = {0x06}; /* 6 mA */
static const uint8_t value_comms_buffer[] = {SIM_APP_MAX_COMMS_BUFFER >> 8,
                                             SIM_APP_MAX_COMMS_BUFFER & 0xFF};

#define META(m) m, sizeof(m)
#define VALUE(v) v, sizeof(v)
#define EMPTY NULL, 0
#define DATA100(oid) {oid, SIM_OBJ_DATA, 100, "arbitrary data (type 1)", META(meta_data100), EMPTY}
#define KEY(oid, name) {oid, SIM_OBJ_KEY, 0, name, META(meta_key), EMPTY}
#define SESSION(oid) {oid, SIM_OBJ_SESSION, 0, "session context", META(meta_session), EMPTY}

/*
 * NOTE: empty slots are delivered with used size 0 here, so reading one fails
 * with 0x08. Real chips may instead report used = max size with zero content.
 * E0C2 (UID) and E0E0 (device certificate) are filled in by the factory step;
 * E0C5 (SEC) and F1C2 (last error) are produced from volatile state when read.
 */
static const sim_obj_def object_table[SIM_OBJECT_COUNT] = {
    {0xE0C0, SIM_OBJ_SYSTEM, 1, "global lifecycle state", META(meta_sys_rw), VALUE(value_lcs_op)},
    {0xE0C1, SIM_OBJ_SYSTEM, 1, "global security status", META(meta_sys_rw), VALUE(value_zero)},
    {0xE0C2, SIM_OBJ_SYSTEM, SIM_UID_LEN, "coprocessor UID", META(meta_uid), EMPTY},
    {0xE0C3, SIM_OBJ_SYSTEM, 1, "sleep mode activation delay", META(meta_sys_rw),
     VALUE(value_sleep_delay)},
    {0xE0C4, SIM_OBJ_SYSTEM, 1, "current limitation", META(meta_sys_rw),
     VALUE(value_current_limit)},
    {0xE0C5, SIM_OBJ_SYSTEM, 1, "security event counter", META(meta_sys_ro), VALUE(value_zero)},
    {0xE0C6, SIM_OBJ_SYSTEM, 2, "max comms buffer size", META(meta_comms),
     VALUE(value_comms_buffer)},
    {0xE0E0, SIM_OBJ_DATA, 1728, "device certificate", META(meta_device_cert), EMPTY},
    {0xE0E1, SIM_OBJ_DATA, 1728, "project certificate 1", META(meta_cert), EMPTY},
    {0xE0E2, SIM_OBJ_DATA, 1728, "project certificate 2", META(meta_cert), EMPTY},
    {0xE0E3, SIM_OBJ_DATA, 1728, "project certificate 3", META(meta_cert), EMPTY},
    {0xE0E8, SIM_OBJ_DATA, 1024, "trust anchor 1", META(meta_anchor), EMPTY},
    {0xE0EF, SIM_OBJ_DATA, 1024, "trust anchor 8", META(meta_anchor), EMPTY},
    {0xE0F0, SIM_OBJ_KEY, 0, "device private key 1", META(meta_device_key), EMPTY},
    KEY(0xE0F1, "device private key 2"),
    KEY(0xE0F2, "device private key 3"),
    KEY(0xE0F3, "device private key 4"),
    SESSION(0xE100),
    SESSION(0xE101),
    SESSION(0xE102),
    SESSION(0xE103),
    {0xF1C0, SIM_OBJ_SYSTEM, 1, "application lifecycle state", META(meta_sys_rw),
     VALUE(value_lcs_cr)},
    {0xF1C1, SIM_OBJ_SYSTEM, 1, "application security status", META(meta_sys_rw),
     VALUE(value_zero)},
    {0xF1C2, SIM_OBJ_SYSTEM, 1, "last error code", META(meta_sys_ro), VALUE(value_zero)},
    DATA100(0xF1D0), DATA100(0xF1D1), DATA100(0xF1D2), DATA100(0xF1D3),
    DATA100(0xF1D4), DATA100(0xF1D5), DATA100(0xF1D6), DATA100(0xF1D7),
    DATA100(0xF1D8), DATA100(0xF1D9), DATA100(0xF1DA), DATA100(0xF1DB),
    DATA100(0xF1DC), DATA100(0xF1DD), DATA100(0xF1DE), DATA100(0xF1DF),
    {0xF1E0, SIM_OBJ_DATA, 1500, "arbitrary data (type 2)", META(meta_data1500), EMPTY},
    {0xF1E1, SIM_OBJ_DATA, 1500, "arbitrary data (type 2)", META(meta_data1500), EMPTY},
};

const sim_obj_def *sim_objects_def(size_t i)
{
    return i < SIM_OBJECT_COUNT ? &object_table[i] : NULL;
}

trustx_rc sim_objects_init(sim_app *app)
{
    for (size_t i = 0; i < SIM_OBJECT_COUNT; i++)
        app->objects[i].def = &object_table[i];

    for (size_t i = 0; i < SIM_OBJECT_COUNT; i++) {
        const sim_obj_def *def = &object_table[i];
        sim_object *obj = &app->objects[i];

        memcpy(obj->metadata, def->metadata, def->metadata_len);
        obj->metadata_len = def->metadata_len;
        if (def->max_size == 0)
            continue;

        obj->data = calloc(1, def->max_size);
        if (obj->data == NULL)
            return trustx_fail(TRUSTX_LAYER_SIM, TRUSTX_E_NOMEM,
                               "out of memory for object 0x%04X", def->oid);
        if (def->value != NULL)
            memcpy(obj->data, def->value, def->value_len);
        sim_object_set_used(obj, def->kind == SIM_OBJ_SYSTEM ? def->max_size
                                                             : (uint16_t)def->value_len);
    }
    return TRUSTX_OK;
}

void sim_objects_free(sim_app *app)
{
    for (size_t i = 0; i < SIM_OBJECT_COUNT; i++) {
        sim_object *obj = &app->objects[i];

        free(obj->data);
        obj->data = NULL;
        sim_object_set_key(obj, NULL, 0);
    }
}

sim_object *sim_object_find(sim_app *app, uint16_t oid)
{
    for (size_t i = 0; i < SIM_OBJECT_COUNT; i++) {
        if (app->objects[i].def != NULL && app->objects[i].def->oid == oid)
            return &app->objects[i];
    }
    return NULL;
}

const sim_object *sim_object_find_const(const sim_app *app, uint16_t oid)
{
    return sim_object_find((sim_app *)app, oid);
}

/* Only data objects carry a used size tag; system objects are always full. */
void sim_object_set_used(sim_object *obj, uint16_t used)
{
    uint8_t value[2];

    obj->used = used;
    if (obj->def->kind != SIM_OBJ_DATA)
        return;

    if (used <= 0xFF) {
        value[0] = (uint8_t)used;
        sim_meta_set(obj->metadata, &obj->metadata_len, SIM_TAG_USED_SIZE, value, 1);
    } else {
        sim_put_be16(value, used);
        sim_meta_set(obj->metadata, &obj->metadata_len, SIM_TAG_USED_SIZE, value, 2);
    }
}

uint8_t sim_object_lcso(const sim_object *obj)
{
    const uint8_t *value;
    size_t len;

    if (sim_meta_find(obj->metadata, obj->metadata_len, SIM_TAG_LCSO, &value, &len) && len == 1)
        return value[0];
    return SIM_LCS_OPERATIONAL;
}

int sim_object_ac_allows(const sim_app *app, const sim_object *obj, uint8_t tag)
{
    const sim_object *global = sim_object_find_const(app, 0xE0C0);
    const sim_object *application = sim_object_find_const(app, 0xF1C0);
    const uint8_t *ac = NULL;
    size_t ac_len = 0;
    sim_lcs lcs;

    lcs.lcsg = global->data[0];
    lcs.lcsa = application->data[0];
    lcs.lcso = sim_object_lcso(obj);
    sim_meta_find(obj->metadata, obj->metadata_len, tag, &ac, &ac_len);
    return sim_ac_eval(ac, ac_len, &lcs);
}

void sim_object_clear_session(sim_object *obj)
{
    sim_object_set_key(obj, NULL, 0);
    memcpy(obj->metadata, obj->def->metadata, obj->def->metadata_len);
    obj->metadata_len = obj->def->metadata_len;
}

trustx_rc sim_object_set_key(sim_object *obj, EVP_PKEY *key, uint8_t curve)
{
    char *pem = NULL;

    if (key != NULL && obj->def->kind == SIM_OBJ_KEY) {
        pem = sim_key_to_pem(key);
        if (pem == NULL) {
            EVP_PKEY_free(key);
            return trustx_fail(TRUSTX_LAYER_SIM, TRUSTX_E_CRYPTO,
                               "failed to encode the key of object 0x%04X", obj->def->oid);
        }
    }

    EVP_PKEY_free(obj->key);
    if (obj->key_pem != NULL)
        OPENSSL_cleanse(obj->key_pem, strlen(obj->key_pem));
    free(obj->key_pem);
    obj->key = key;
    obj->key_pem = pem;
    obj->curve = key != NULL ? curve : 0;
    return TRUSTX_OK;
}

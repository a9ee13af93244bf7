/* SPDX-License-Identifier: MIT */
/*
 * sim_app_describe(): the chip state as text for people or as JSON for
 * tools (UID, lifecycle states, SEC, and per object its sizes, LcsO, access
 * conditions, NVM write count and key).
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "sim_app_internal.h"

#define AC_TEXT_MAX 96

/* Output buffer that counts what did not fit, like snprintf. */
typedef struct text_out {
    char *buf;
    size_t cap;
    size_t used;
} text_out;

static void out_printf(text_out *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void out_printf(text_out *out, const char *fmt, ...)
{
    char *dest = out->used < out->cap ? out->buf + out->used : NULL;
    size_t room = out->used < out->cap ? out->cap - out->used : 0;
    va_list ap;
    int len;

    va_start(ap, fmt);
    len = vsnprintf(dest, room, fmt, ap);
    va_end(ap);
    if (len > 0)
        out->used += (size_t)len;
}

static const char *kind_name(sim_obj_kind kind)
{
    switch (kind) {
    case SIM_OBJ_SYSTEM: return "system";
    case SIM_OBJ_DATA: return "data";
    case SIM_OBJ_KEY: return "key";
    case SIM_OBJ_SESSION: return "session";
    }
    return "unknown";
}

static const char *curve_text(uint8_t curve)
{
    return curve == SIM_CURVE_P384 ? "P-384" : "P-256";
}

static void format_ac(const sim_object *obj, uint8_t tag, char *buf)
{
    const uint8_t *ac = NULL;
    size_t len = 0;

    sim_meta_find(obj->metadata, obj->metadata_len, tag, &ac, &len);
    sim_ac_format(ac, len, buf, AC_TEXT_MAX);
}

static void format_lcs(uint8_t lcs, char *buf, size_t cap)
{
    const char *name = sim_lcs_name(lcs);

    snprintf(buf, cap, "%s (0x%02X)", name != NULL ? name : "?", lcs);
}

static uint8_t key_usage_of(const sim_object *obj)
{
    const uint8_t *value;
    size_t len;

    if (sim_meta_find(obj->metadata, obj->metadata_len, SIM_TAG_KEY_USAGE, &value, &len) &&
        len == 1)
        return value[0];
    return 0;
}

static void uid_hex(const sim_app *app, char *out)
{
    for (size_t i = 0; i < SIM_UID_LEN; i++)
        snprintf(out + 2 * i, 3, "%02X", app->uid[i]);
}

static void describe_object_text(const sim_object *obj, text_out *out)
{
    char change[AC_TEXT_MAX];
    char read[AC_TEXT_MAX];
    char execute[AC_TEXT_MAX];
    const char *lcso = "-";
    char key[32] = "";
    char size[8] = "-";
    char used[8] = "-";

    format_ac(obj, SIM_TAG_CHANGE, change);
    format_ac(obj, SIM_TAG_READ, read);
    format_ac(obj, SIM_TAG_EXECUTE, execute);
    if (sim_meta_find(obj->metadata, obj->metadata_len, SIM_TAG_LCSO, NULL, NULL))
        lcso = sim_lcs_name(sim_object_lcso(obj));
    if (obj->key != NULL)
        snprintf(key, sizeof(key), "%s usage 0x%02X", curve_text(obj->curve), key_usage_of(obj));

    if (obj->data != NULL) {
        snprintf(size, sizeof(size), "%u", (unsigned)obj->def->max_size);
        snprintf(used, sizeof(used), "%u", (unsigned)obj->used);
    }

    out_printf(out, "%04X  %-28s %5s %5s  %-4s %-16s %-5s %-8s %6llu%s%s\n", obj->def->oid,
               obj->def->name, size, used, lcso != NULL ? lcso : "?", change, read, execute,
               (unsigned long long)obj->writes, key[0] != '\0' ? "  " : "", key);
}

static size_t describe_text(const sim_app *app, char *buf, size_t cap)
{
    text_out out = {buf, cap, 0};
    char uid[2 * SIM_UID_LEN + 1];
    char lcsg[16];
    char lcsa[16];

    if (cap > 0)
        buf[0] = '\0';
    uid_hex(app, uid);
    format_lcs(sim_object_find_const(app, 0xE0C0)->data[0], lcsg, sizeof(lcsg));
    format_lcs(sim_object_find_const(app, 0xF1C0)->data[0], lcsa, sizeof(lcsa));

    out_printf(&out, "simulated OPTIGA Trust X\n");
    out_printf(&out, "UID             %s\n", uid);
    out_printf(&out, "state file      %s\n", app->path != NULL ? app->path : "none (volatile)");
    out_printf(&out, "lifecycle       LcsG %s, LcsA %s\n", lcsg, lcsa);
    out_printf(&out, "security events %u (SEC, 0xE0C5)\n", (unsigned)app->sec);
    out_printf(&out, "application     %s, last error 0x%02X\n",
               app->app_open ? "open" : "closed", (unsigned)app->last_error);
    out_printf(&out, "\nOID   %-28s %5s %5s  %-4s %-16s %-5s %-8s %6s  %s\n", "object", "size",
               "used", "LcsO", "change", "read", "execute", "writes", "key");
    for (size_t i = 0; i < SIM_OBJECT_COUNT; i++)
        describe_object_text(&app->objects[i], &out);
    return out.used;
}

static int add_ac(cJSON *entry, const char *name, const sim_object *obj, uint8_t tag)
{
    char text[AC_TEXT_MAX];

    format_ac(obj, tag, text);
    return cJSON_AddStringToObject(entry, name, text) != NULL;
}

static cJSON *object_json(const sim_object *obj)
{
    cJSON *entry = cJSON_CreateObject();
    cJSON *key = NULL;
    char oid[8];
    char usage[8];
    int ok;

    snprintf(oid, sizeof(oid), "%04X", obj->def->oid);
    ok = entry != NULL && cJSON_AddStringToObject(entry, "oid", oid) != NULL &&
         cJSON_AddStringToObject(entry, "name", obj->def->name) != NULL &&
         cJSON_AddStringToObject(entry, "kind", kind_name(obj->def->kind)) != NULL;
    if (ok && obj->data != NULL)
        ok = cJSON_AddNumberToObject(entry, "max_size", obj->def->max_size) != NULL &&
             cJSON_AddNumberToObject(entry, "used_size", obj->used) != NULL;
    ok = ok && cJSON_AddNumberToObject(entry, "lcso", sim_object_lcso(obj)) != NULL &&
         add_ac(entry, "change", obj, SIM_TAG_CHANGE) && add_ac(entry, "read", obj, SIM_TAG_READ) &&
         add_ac(entry, "execute", obj, SIM_TAG_EXECUTE) &&
         cJSON_AddNumberToObject(entry, "writes", (double)obj->writes) != NULL;
    if (ok && obj->key != NULL) {
        snprintf(usage, sizeof(usage), "0x%02X", key_usage_of(obj));
        key = cJSON_AddObjectToObject(entry, "key");
        ok = key != NULL && cJSON_AddStringToObject(key, "curve", curve_text(obj->curve)) &&
             cJSON_AddStringToObject(key, "usage", usage) != NULL;
    }
    if (!ok) {
        cJSON_Delete(entry);
        return NULL;
    }
    return entry;
}

static cJSON *describe_json_tree(const sim_app *app)
{
    cJSON *root = cJSON_CreateObject();
    cJSON *objects = NULL;
    char uid[2 * SIM_UID_LEN + 1];
    int ok;

    uid_hex(app, uid);
    ok = root != NULL && cJSON_AddStringToObject(root, "uid", uid) != NULL &&
         (app->path != NULL ? cJSON_AddStringToObject(root, "state_file", app->path)
                            : cJSON_AddNullToObject(root, "state_file")) != NULL &&
         cJSON_AddNumberToObject(root, "lcsg", sim_object_find_const(app, 0xE0C0)->data[0]) &&
         cJSON_AddNumberToObject(root, "lcsa", sim_object_find_const(app, 0xF1C0)->data[0]) &&
         cJSON_AddNumberToObject(root, "security_event_counter", app->sec) != NULL &&
         cJSON_AddBoolToObject(root, "application_open", app->app_open) != NULL &&
         cJSON_AddNumberToObject(root, "last_error", app->last_error) != NULL;
    if (ok) {
        objects = cJSON_AddArrayToObject(root, "objects");
        ok = objects != NULL;
    }
    for (size_t i = 0; ok && i < SIM_OBJECT_COUNT; i++) {
        cJSON *entry = object_json(&app->objects[i]);

        ok = entry != NULL && cJSON_AddItemToArray(objects, entry);
    }
    if (!ok) {
        cJSON_Delete(root);
        return NULL;
    }
    return root;
}

static size_t describe_json(const sim_app *app, char *buf, size_t cap)
{
    cJSON *root = describe_json_tree(app);
    char *text = root != NULL ? cJSON_Print(root) : NULL;
    size_t len = text != NULL ? strlen(text) : 0;

    if (cap > 0) {
        size_t copy = len < cap - 1 ? len : cap - 1;

        if (text != NULL)
            memcpy(buf, text, copy);
        buf[copy] = '\0';
    }
    cJSON_free(text);
    cJSON_Delete(root);
    return len;
}

size_t sim_app_describe(const sim_app *app, int json, char *buf, size_t cap)
{
    if (app == NULL)
        return 0;
    return json ? describe_json(app, buf, cap) : describe_text(app, buf, cap);
}

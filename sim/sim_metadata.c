/* SPDX-License-Identifier: MIT */
/*
 * Metadata tag lists (Tag(1) Len(1) Value, inside a 0x20 container on the
 * wire), access condition expressions, and the chip's metadata update rules.
 */
#include <stdio.h>
#include <string.h>

#include "sim_app_internal.h"

/* Access condition bytes. */
#define AC_ALW 0x00
#define AC_NEV 0xFF
#define AC_LCSG 0x70
#define AC_LCSA 0xE0
#define AC_LCSO 0xE1
#define AC_EQ 0xFA
#define AC_GT 0xFB
#define AC_LT 0xFC
#define AC_AND 0xFD
#define AC_OR 0xFE

#define AC_TERM_LEN 3              /* identifier, comparison, value */
#define AC_MAX_TERMS_PER_GROUP 7   /* simple conditions joined by && */
#define AC_MAX_GROUPS 3            /* groups joined by || */

/* Order in which tags are listed: existing tags keep their place, new ones go here. */
static const uint8_t tag_order[] = {0xC0, 0xC1, 0xC4, 0xC5, 0xD0, 0xD1, 0xD2,
                                    0xD3, 0xD8, 0xE0, 0xE1, 0xE8, 0xF0};

static size_t tag_rank(uint8_t tag)
{
    for (size_t i = 0; i < sizeof(tag_order); i++) {
        if (tag_order[i] == tag)
            return i;
    }
    return sizeof(tag_order);
}

int sim_meta_find(const uint8_t *meta, size_t meta_len, uint8_t tag, const uint8_t **value,
                  size_t *value_len)
{
    size_t pos = 0;

    while (pos + 2 <= meta_len) {
        size_t len = meta[pos + 1];

        if (pos + 2 + len > meta_len)
            return 0;
        if (meta[pos] == tag) {
            if (value != NULL)
                *value = meta + pos + 2;
            if (value_len != NULL)
                *value_len = len;
            return 1;
        }
        pos += 2 + len;
    }
    return 0;
}

/* Returns the offset of tag in meta, or meta_len when absent. */
static size_t meta_offset(const uint8_t *meta, size_t meta_len, uint8_t tag)
{
    size_t pos = 0;

    while (pos + 2 <= meta_len) {
        if (meta[pos] == tag)
            return pos;
        pos += 2 + (size_t)meta[pos + 1];
    }
    return meta_len;
}

/* Returns the offset before which a new tag goes to keep the listing order. */
static size_t meta_insert_offset(const uint8_t *meta, size_t meta_len, uint8_t tag)
{
    size_t pos = 0;
    size_t rank = tag_rank(tag);

    while (pos + 2 <= meta_len) {
        if (tag_rank(meta[pos]) > rank)
            return pos;
        pos += 2 + (size_t)meta[pos + 1];
    }
    return meta_len;
}

int sim_meta_set(uint8_t *meta, size_t *meta_len, uint8_t tag, const uint8_t *value,
                 size_t value_len)
{
    size_t len = *meta_len;
    size_t pos = meta_offset(meta, len, tag);
    size_t old_entry = 0;
    size_t new_entry = 2 + value_len;

    if (value_len > 0xFF)
        return -1;
    if (pos < len)
        old_entry = 2 + (size_t)meta[pos + 1];
    else
        pos = meta_insert_offset(meta, len, tag);
    if (len - old_entry + new_entry > SIM_META_MAX)
        return -1;

    memmove(meta + pos + new_entry, meta + pos + old_entry, len - pos - old_entry);
    meta[pos] = tag;
    meta[pos + 1] = (uint8_t)value_len;
    if (value_len > 0)
        memcpy(meta + pos + 2, value, value_len);
    *meta_len = len - old_entry + new_entry;
    return 0;
}

static int ac_term_valid(const uint8_t *term)
{
    int id_ok = term[0] == AC_LCSG || term[0] == AC_LCSA || term[0] == AC_LCSO;
    int cmp_ok = term[1] == AC_EQ || term[1] == AC_GT || term[1] == AC_LT;

    return id_ok && cmp_ok;
}

/*
 * A complex condition is a chain "term (&&|| term)*" of at most three groups
 * joined by ||, each of at most seven terms joined by &&; ALW and NEV may only
 * stand alone.
 */
int sim_ac_valid(const uint8_t *ac, size_t len)
{
    size_t pos = 0;
    unsigned groups = 1;
    unsigned terms = 0;

    if (ac == NULL || len == 0)
        return 0;
    if (len == 1)
        return ac[0] == AC_ALW || ac[0] == AC_NEV;

    for (;;) {
        if (pos + AC_TERM_LEN > len || !ac_term_valid(ac + pos))
            return 0;
        pos += AC_TERM_LEN;
        if (++terms > AC_MAX_TERMS_PER_GROUP)
            return 0;
        if (pos == len)
            return 1;

        if (ac[pos] == AC_OR) {
            if (++groups > AC_MAX_GROUPS)
                return 0;
            terms = 0;
        } else if (ac[pos] != AC_AND) {
            return 0;
        }
        pos++;
    }
}

static int ac_term_eval(const uint8_t *term, const sim_lcs *lcs)
{
    uint8_t state = lcs->lcso;

    if (term[0] == AC_LCSG)
        state = lcs->lcsg;
    else if (term[0] == AC_LCSA)
        state = lcs->lcsa;

    if (term[1] == AC_EQ)
        return state == term[2];
    if (term[1] == AC_GT)
        return state > term[2];
    return state < term[2];
}

int sim_ac_eval(const uint8_t *ac, size_t len, const sim_lcs *lcs)
{
    size_t pos = 0;
    int any_group = 0;
    int group = 1;

    if (!sim_ac_valid(ac, len))
        return 0;
    if (len == 1)
        return ac[0] == AC_ALW;

    for (;;) {
        group = group && ac_term_eval(ac + pos, lcs);
        pos += AC_TERM_LEN;
        if (pos == len || ac[pos] == AC_OR) {
            any_group = any_group || group;
            group = 1;
        }
        if (pos == len)
            return any_group;
        pos++;
    }
}

const char *sim_lcs_name(uint8_t lcs)
{
    switch (lcs) {
    case SIM_LCS_CREATION: return "cr";
    case SIM_LCS_INITIALIZATION: return "in";
    case SIM_LCS_OPERATIONAL: return "op";
    case SIM_LCS_TERMINATION: return "te";
    default: return NULL;
    }
}

static const char *ac_state_name(uint8_t id)
{
    if (id == AC_LCSG)
        return "LcsG";
    if (id == AC_LCSA)
        return "LcsA";
    return "LcsO";
}

static const char *ac_comparison_text(uint8_t comparison)
{
    if (comparison == AC_EQ)
        return "==";
    if (comparison == AC_GT)
        return ">";
    return "<";
}

/* Appends text to buf at *used, counting what does not fit (like snprintf). */
static void put_text(char *buf, size_t cap, size_t *used, const char *text)
{
    size_t len = strlen(text);

    if (*used < cap) {
        size_t room = cap - *used - 1;
        size_t copy = len < room ? len : room;

        memcpy(buf + *used, text, copy);
        buf[*used + copy] = '\0';
    }
    *used += len;
}

size_t sim_ac_format(const uint8_t *ac, size_t len, char *buf, size_t cap)
{
    size_t used = 0;

    if (cap > 0)
        buf[0] = '\0';
    if (ac == NULL || len == 0) {
        put_text(buf, cap, &used, "NEV");
        return used;
    }
    if (!sim_ac_valid(ac, len)) {
        put_text(buf, cap, &used, "invalid");
        return used;
    }
    if (len == 1) {
        put_text(buf, cap, &used, ac[0] == AC_ALW ? "ALW" : "NEV");
        return used;
    }

    for (size_t pos = 0; pos < len; pos += AC_TERM_LEN + 1) {
        const char *id = ac_state_name(ac[pos]);
        const char *cmp = ac_comparison_text(ac[pos + 1]);
        const char *name = sim_lcs_name(ac[pos + 2]);
        char value[8];

        if (name == NULL) {
            snprintf(value, sizeof(value), "0x%02X", ac[pos + 2]);
            name = value;
        }
        put_text(buf, cap, &used, id);
        put_text(buf, cap, &used, cmp);
        put_text(buf, cap, &used, name);
        if (pos + AC_TERM_LEN < len)
            put_text(buf, cap, &used, ac[pos + AC_TERM_LEN] == AC_OR ? "||" : "&&");
    }
    return used;
}

static int lcs_valid(uint8_t value)
{
    return sim_lcs_name(value) != NULL;
}

/* Checks one tag of a metadata write for a well-formed value (0 or SIM_ERR_INVALID_INDATA). */
static uint8_t check_tag_format(const sim_object *obj, uint8_t tag, const uint8_t *value,
                                size_t len)
{
    switch (tag) {
    case SIM_TAG_LCSO:
        return len == 1 && lcs_valid(value[0]) ? 0 : SIM_ERR_INVALID_INDATA;
    case SIM_TAG_MAX_SIZE:
    case SIM_TAG_USED_SIZE:
    case SIM_TAG_ALGORITHM:
        return 0; /* well-formed or not, these read-only tags are rejected later */
    case SIM_TAG_CHANGE:
    case SIM_TAG_READ:
    case SIM_TAG_EXECUTE:
        return sim_ac_valid(value, len) ? 0 : SIM_ERR_INVALID_INDATA;
    case SIM_TAG_KEY_USAGE:
        if (obj->def->kind != SIM_OBJ_KEY || len != 1 || value[0] == 0 ||
            (value[0] & ~SIM_KEY_USAGE_ALL) != 0)
            return SIM_ERR_INVALID_INDATA;
        return 0;
    default:
        return SIM_ERR_INVALID_INDATA;
    }
}

/*
 * Checks whether one tag may change now. LcsO may only rise and only exists
 * where the object has one; max size, used size and algorithm are set by the
 * chip alone; the access conditions and the key usage are frozen once LcsO has
 * reached operational. The object's data change condition (D0) does not gate
 * metadata writes: on a Trust X, metadata stayed writable after D0 was set to
 * NEV.
 */
static uint8_t check_tag_allowed(const sim_object *obj, uint8_t tag, const uint8_t *value)
{
    uint8_t lcso = sim_object_lcso(obj);

    switch (tag) {
    case SIM_TAG_LCSO:
        if (!sim_meta_find(obj->metadata, obj->metadata_len, SIM_TAG_LCSO, NULL, NULL))
            return SIM_ERR_ACCESS;
        return value[0] < lcso ? SIM_ERR_ACCESS : 0;
    case SIM_TAG_MAX_SIZE:
    case SIM_TAG_USED_SIZE:
    case SIM_TAG_ALGORITHM:
        return SIM_ERR_ACCESS;
    default:
        return lcso >= SIM_LCS_OPERATIONAL ? SIM_ERR_ACCESS : 0;
    }
}

/* Splits the tags of a metadata write; returns their number or -1 if malformed or repeated. */
static int split_tags(const uint8_t *tags, size_t len, size_t offsets[], size_t max)
{
    size_t pos = 0;
    size_t count = 0;

    while (pos < len) {
        if (pos + 2 > len || pos + 2 + (size_t)tags[pos + 1] > len || count == max)
            return -1;
        for (size_t i = 0; i < count; i++) {
            if (tags[offsets[i]] == tags[pos])
                return -1;
        }
        offsets[count++] = pos;
        pos += 2 + (size_t)tags[pos + 1];
    }
    return (int)count;
}

uint8_t sim_meta_write(sim_object *obj, const uint8_t *container, size_t len)
{
    size_t offsets[SIM_META_MAX / 2];
    uint8_t merged[SIM_META_MAX];
    size_t merged_len = obj->metadata_len;
    const uint8_t *tags = container + 2;
    int count;

    if (len < 2 || container[0] != SIM_TAG_CONTAINER || container[1] != len - 2)
        return SIM_ERR_INVALID_INDATA;
    count = split_tags(tags, len - 2, offsets, sizeof(offsets) / sizeof(offsets[0]));
    if (count < 0)
        return SIM_ERR_INVALID_INDATA;
    if (obj->def->kind == SIM_OBJ_SESSION)
        return SIM_ERR_ACCESS;

    for (int i = 0; i < count; i++) {
        const uint8_t *tag = tags + offsets[i];
        uint8_t err = check_tag_format(obj, tag[0], tag + 2, tag[1]);

        if (err != 0)
            return err;
    }
    for (int i = 0; i < count; i++) {
        const uint8_t *tag = tags + offsets[i];
        uint8_t err = check_tag_allowed(obj, tag[0], tag + 2);

        if (err != 0)
            return err;
    }

    memcpy(merged, obj->metadata, obj->metadata_len);
    for (int i = 0; i < count; i++) {
        const uint8_t *tag = tags + offsets[i];

        if (sim_meta_set(merged, &merged_len, tag[0], tag + 2, tag[1]) != 0)
            return SIM_ERR_METADATA_TRUNCATION;
    }
    memcpy(obj->metadata, merged, merged_len);
    obj->metadata_len = merged_len;
    return 0;
}

/* SPDX-License-Identifier: MIT */
/*
 * Metadata TLVs (tag 0x20 container) and access conditions in a readable
 * text form: "ALW", "NEV", "LcsO<op", "LcsO>in||LcsG<0x04".
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "cmd_internal.h"

#define AC_ALW 0x00
#define AC_NEV 0xFF
#define AC_LCSG 0x70
#define AC_LCSA 0xE0
#define AC_LCSO 0xE1
#define OP_EQ 0xFA
#define OP_GT 0xFB
#define OP_LT 0xFC
#define OP_AND 0xFD
#define OP_OR 0xFE

void trustx_metadata_init(trustx_metadata *md)
{
    memset(md, 0, sizeof(*md));
    md->lcso = md->max_size = md->used_size = -1;
    md->algorithm = md->key_usage = md->object_type = -1;
}

static trustx_rc bad_metadata(const char *why, unsigned tag)
{
    return trustx_fail(TRUSTX_LAYER_COMMAND, TRUSTX_E_PROTOCOL, "invalid metadata: %s (tag 0x%02X)",
                       why, tag);
}

static trustx_rc decode_int(const uint8_t *v, size_t n, unsigned tag, int *out)
{
    if (n < 1 || n > 2)
        return bad_metadata("integer of 1 or 2 bytes expected", tag);
    *out = n == 1 ? v[0] : (v[0] << 8 | v[1]);
    return TRUSTX_OK;
}

static trustx_rc decode_ac(const uint8_t *v, size_t n, unsigned tag, trustx_ac *ac)
{
    if (n < 1 || n > TRUSTX_AC_MAX)
        return bad_metadata("access condition of 1..16 bytes expected", tag);
    ac->present = 1;
    ac->len = (uint8_t)n;
    memcpy(ac->bytes, v, n);
    return TRUSTX_OK;
}

static trustx_rc decode_item(unsigned tag, const uint8_t *v, size_t n, trustx_metadata *md)
{
    switch (tag) {
    case 0xC0: return decode_int(v, n, tag, &md->lcso);
    case 0xC1: return TRUSTX_OK;   /* version: not used on Trust X, ignored */
    case 0xC4: return decode_int(v, n, tag, &md->max_size);
    case 0xC5: return decode_int(v, n, tag, &md->used_size);
    case 0xD0: return decode_ac(v, n, tag, &md->change);
    case 0xD1: return decode_ac(v, n, tag, &md->read);
    case 0xD2: return decode_ac(v, n, tag, &md->del);
    case 0xD3: return decode_ac(v, n, tag, &md->execute);
    case 0xE0: return decode_int(v, n, tag, &md->algorithm);
    case 0xE1: return decode_int(v, n, tag, &md->key_usage);
    case 0xE8: return decode_int(v, n, tag, &md->object_type);
    default: return bad_metadata("unknown tag", tag);
    }
}

trustx_rc trustx_metadata_decode(const uint8_t *buf, size_t len, trustx_metadata *md)
{
    size_t pos = 2;

    trustx_metadata_init(md);
    if (len < 2 || buf[0] != 0x20 || (size_t)buf[1] + 2 != len)
        return bad_metadata("not a 0x20 container of the stated length", len ? buf[0] : 0);

    while (pos < len) {
        unsigned tag;
        size_t n;
        trustx_rc rc;

        if (pos + 2 > len)
            return bad_metadata("truncated item", buf[pos]);
        tag = buf[pos];
        n = buf[pos + 1];
        if (pos + 2 + n > len)
            return bad_metadata("item longer than the container", tag);
        rc = decode_item(tag, buf + pos + 2, n, md);
        if (rc != TRUSTX_OK)
            return rc;
        pos += 2 + n;
    }
    return TRUSTX_OK;
}

static int put_int(uint8_t *out, size_t *pos, size_t cap, uint8_t tag, int value, int width)
{
    if (value < 0)
        return 1;
    if (*pos + 2 + (size_t)width > cap)
        return 0;
    out[(*pos)++] = tag;
    out[(*pos)++] = (uint8_t)width;
    if (width == 2)
        out[(*pos)++] = (uint8_t)(value >> 8);
    out[(*pos)++] = (uint8_t)value;
    return 1;
}

static int put_ac(uint8_t *out, size_t *pos, size_t cap, uint8_t tag, const trustx_ac *ac)
{
    if (!ac->present)
        return 1;
    if (*pos + 2 + ac->len > cap)
        return 0;
    out[(*pos)++] = tag;
    out[(*pos)++] = ac->len;
    memcpy(out + *pos, ac->bytes, ac->len);
    *pos += ac->len;
    return 1;
}

trustx_rc trustx_metadata_encode(const trustx_metadata *md, uint8_t *buf, size_t cap, size_t *len)
{
    size_t pos = 2;
    int ok = cap >= 2;

    ok = ok && put_int(buf, &pos, cap, 0xC0, md->lcso, 1);
    ok = ok && put_int(buf, &pos, cap, 0xC4, md->max_size, md->max_size > 0xFF ? 2 : 1);
    ok = ok && put_int(buf, &pos, cap, 0xC5, md->used_size, md->used_size > 0xFF ? 2 : 1);
    ok = ok && put_ac(buf, &pos, cap, 0xD0, &md->change);
    ok = ok && put_ac(buf, &pos, cap, 0xD1, &md->read);
    ok = ok && put_ac(buf, &pos, cap, 0xD2, &md->del);
    ok = ok && put_ac(buf, &pos, cap, 0xD3, &md->execute);
    ok = ok && put_int(buf, &pos, cap, 0xE0, md->algorithm, 1);
    ok = ok && put_int(buf, &pos, cap, 0xE1, md->key_usage, 1);
    ok = ok && put_int(buf, &pos, cap, 0xE8, md->object_type, 1);
    if (!ok || pos - 2 > 0xFF)
        return trustx_fail(TRUSTX_LAYER_COMMAND, TRUSTX_E_OVERFLOW,
                           "metadata does not fit %zu bytes", cap);

    buf[0] = 0x20;
    buf[1] = (uint8_t)(pos - 2);
    *len = pos;
    return TRUSTX_OK;
}

static const char *lcs_short(unsigned value)
{
    switch (value) {
    case 0x01: return "cr";
    case 0x03: return "in";
    case 0x07: return "op";
    case 0x0F: return "te";
    default: return NULL;
    }
}

static const char *subject_name(unsigned code)
{
    switch (code) {
    case AC_LCSG: return "LcsG";
    case AC_LCSA: return "LcsA";
    case AC_LCSO: return "LcsO";
    default: return NULL;
    }
}

static const char *operator_text(unsigned op)
{
    switch (op) {
    case OP_EQ: return "==";
    case OP_GT: return ">";
    case OP_LT: return "<";
    default: return NULL;
    }
}

#define APPEND(...)                                                                     \
    do {                                                                                \
        int n_ = snprintf(buf + (used < cap ? used : cap), used < cap ? cap - used : 0, \
                          __VA_ARGS__);                                                 \
        used += n_ > 0 ? (size_t)n_ : 0;                                                \
    } while (0)

int trustx_ac_format(const trustx_ac *ac, char *buf, size_t cap)
{
    size_t used = 0;
    size_t i = 0;

    if (cap > 0)
        buf[0] = '\0';
    if (!ac->present) {
        APPEND("NEV (absent)");
        return (int)used;
    }
    if (ac->len == 1 && (ac->bytes[0] == AC_ALW || ac->bytes[0] == AC_NEV)) {
        APPEND("%s", ac->bytes[0] == AC_ALW ? "ALW" : "NEV");
        return (int)used;
    }

    while (i < ac->len) {
        const char *subject = subject_name(ac->bytes[i]);
        const char *op = i + 1 < ac->len ? operator_text(ac->bytes[i + 1]) : NULL;

        if (subject == NULL || op == NULL || i + 2 >= ac->len) {
            APPEND("raw:");
            for (size_t j = 0; j < ac->len; j++)
                APPEND("%02X", ac->bytes[j]);
            return (int)used;
        }

        if (lcs_short(ac->bytes[i + 2]) != NULL)
            APPEND("%s%s%s", subject, op, lcs_short(ac->bytes[i + 2]));
        else
            APPEND("%s%s0x%02X", subject, op, ac->bytes[i + 2]);
        i += 3;

        if (i < ac->len && (ac->bytes[i] == OP_AND || ac->bytes[i] == OP_OR)) {
            APPEND("%s", ac->bytes[i] == OP_AND ? "&&" : "||");
            i++;
        }
    }
    return (int)used;
}

static trustx_rc bad_ac(const char *text)
{
    return trustx_fail(TRUSTX_LAYER_COMMAND, TRUSTX_E_INVALID_ARG,
                       "invalid access condition '%s'; use ALW, NEV, or comparisons such as "
                       "LcsO<op, LcsG==0x07 joined by && or ||",
                       text);
}

/* Parses one "LcsO<op" term at *p into three bytes. */
static int parse_term(const char **p, uint8_t *out)
{
    static const struct { const char *name; uint8_t code; } subjects[] = {
        {"LcsO", AC_LCSO}, {"LcsG", AC_LCSG}, {"LcsA", AC_LCSA}};
    static const struct { const char *name; uint8_t code; } states[] = {
        {"cr", 0x01}, {"in", 0x03}, {"op", 0x07}, {"te", 0x0F}};
    const char *s = *p;
    size_t i;

    for (i = 0; i < 3 && strncasecmp(s, subjects[i].name, 4) != 0; i++)
        ;
    if (i == 3)
        return 0;
    out[0] = subjects[i].code;
    s += 4;

    if (strncmp(s, "==", 2) == 0) {
        out[1] = OP_EQ;
        s += 2;
    } else if (*s == '<' || *s == '>') {
        out[1] = *s == '<' ? OP_LT : OP_GT;
        s++;
    } else {
        return 0;
    }

    for (i = 0; i < 4 && strncasecmp(s, states[i].name, 2) != 0; i++)
        ;
    if (i < 4) {
        out[2] = states[i].code;
        s += 2;
    } else {
        unsigned value;
        int n = 0;

        if (sscanf(s, "%x%n", &value, &n) != 1 || value > 0xFF)
            return 0;
        out[2] = (uint8_t)value;
        s += n;
    }
    *p = s;
    return 1;
}

trustx_rc trustx_ac_parse(const char *text, trustx_ac *ac)
{
    const char *p = text;

    memset(ac, 0, sizeof(*ac));
    if (strcasecmp(text, "ALW") == 0 || strcasecmp(text, "NEV") == 0) {
        ac->present = 1;
        ac->len = 1;
        ac->bytes[0] = strcasecmp(text, "ALW") == 0 ? AC_ALW : AC_NEV;
        return TRUSTX_OK;
    }

    /* Terms and operators alternate; the text starts and ends with a term. */
    for (;;) {
        if (ac->len + 3 > TRUSTX_AC_MAX || !parse_term(&p, ac->bytes + ac->len))
            return bad_ac(text);
        ac->len += 3;
        if (*p == '\0')
            break;
        if (ac->len + 1 > TRUSTX_AC_MAX)
            return bad_ac(text);
        if (strncmp(p, "&&", 2) == 0)
            ac->bytes[ac->len++] = OP_AND;
        else if (strncmp(p, "||", 2) == 0)
            ac->bytes[ac->len++] = OP_OR;
        else
            return bad_ac(text);
        p += 2;
    }

    ac->present = 1;
    return TRUSTX_OK;
}

/* SPDX-License-Identifier: MIT */
/* Summaries of key and certificate slots for trustx info. */
#include <string.h>

#include <openssl/bio.h>
#include <openssl/x509.h>

#include "slots.h"

#define CERT_SLOT_MAX 1728

const slot_info slot_table[SLOT_TABLE_COUNT] = {
    {0xE0E0, SLOT_CERT, "device certificate"}, {0xE0E1, SLOT_CERT, "certificate 1"},
    {0xE0E2, SLOT_CERT, "certificate 2"},      {0xE0E3, SLOT_CERT, "certificate 3"},
    {0xE0E8, SLOT_ANCHOR, "trust anchor 1"},   {0xE0EF, SLOT_ANCHOR, "trust anchor 8"},
    {0xE0F0, SLOT_KEY, "device key"},          {0xE0F1, SLOT_KEY, "key 1"},
    {0xE0F2, SLOT_KEY, "key 2"},               {0xE0F3, SLOT_KEY, "key 3"},
};

static void describe_certificate(const uint8_t *data, size_t len, char *out, size_t cap)
{
    const uint8_t *der = data;
    const char *format = "DER";
    X509 *cert;

    /* The identity format puts the first DER certificate at offset 9. */
    if (len > 9 && data[0] == 0xC0) {
        der = data + 9;
        len -= 9;
        format = "identity";
    } else if (len == 0 || data[0] != 0x30) {
        snprintf(out, cap, "%zu bytes, not a certificate", len + (size_t)(der - data));
        return;
    }

    cert = d2i_X509(NULL, &der, (long)len);
    if (cert == NULL) {
        snprintf(out, cap, "%s format, unparsable certificate", format);
        return;
    }
    {
        /* RFC 2253 form with UTF-8 kept as it is, so that non-ASCII names read correctly. */
        BIO *bio = BIO_new(BIO_s_mem());
        char *text = NULL;
        long n = 0;

        if (bio != NULL &&
            X509_NAME_print_ex(bio, X509_get_subject_name(cert), 0,
                               XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB) >= 0)
            n = BIO_get_mem_data(bio, &text);
        snprintf(out, cap, "X.509 (%s) %.*s", format, (int)n, text ? text : "");
        BIO_free(bio);
    }
    X509_free(cert);
}

static void describe_key(const trustx_metadata *md, char *out, size_t cap)
{
    const char *curve = md->algorithm == 0x03 ? "P-256" : md->algorithm == 0x04 ? "P-384" : NULL;

    if (curve == NULL) {
        snprintf(out, cap, md->algorithm < 0 ? "no key generated" : "key, algorithm 0x%02X",
                 (unsigned)md->algorithm);
        return;
    }
    if (md->key_usage >= 0)
        snprintf(out, cap, "%s key, usage 0x%02X", curve, (unsigned)md->key_usage);
    else
        snprintf(out, cap, "%s key", curve);
}

trustx_rc slot_summarize(trustx_chip *chip, uint16_t oid, slot_summary *s)
{
    uint8_t meta[64];
    uint8_t data[CERT_SLOT_MAX];
    size_t len = 0;
    trustx_rc rc;
    const slot_info *info = NULL;

    for (size_t i = 0; i < SLOT_TABLE_COUNT; i++)
        if (slot_table[i].oid == oid)
            info = &slot_table[i];

    memset(s, 0, sizeof(*s));
    trustx_metadata_init(&s->md);
    rc = trustx_get_metadata(chip, oid, meta, sizeof(meta), &len);
    if (rc == TRUSTX_OK)
        rc = trustx_metadata_decode(meta, len, &s->md);
    if (rc == TRUSTX_E_DEVICE) {
        snprintf(s->contents, sizeof(s->contents), "not available: %s",
                 trustx_error_last()->message);
        trustx_error_clear();
        return TRUSTX_OK;
    }
    if (rc != TRUSTX_OK)
        return rc;
    s->metadata_ok = 1;

    if (info != NULL && info->kind == SLOT_KEY) {
        describe_key(&s->md, s->contents, sizeof(s->contents));
        return TRUSTX_OK;
    }

    rc = trustx_get_data(chip, oid, 0, data, sizeof(data), &len);
    if (rc == TRUSTX_E_DEVICE) {
        snprintf(s->contents, sizeof(s->contents), "unreadable: %s",
                 trustx_error_last()->message);
        trustx_error_clear();
        return TRUSTX_OK;
    }
    if (rc != TRUSTX_OK)
        return rc;

    s->used = len;
    {
        size_t nonzero = len;

        /* All-zero data is an empty slot; a certificate is decoded with its full length. */
        while (nonzero > 0 && data[nonzero - 1] == 0)
            nonzero--;
        if (nonzero == 0)
            snprintf(s->contents, sizeof(s->contents), "empty");
        else
            describe_certificate(data, len, s->contents, sizeof(s->contents));
    }
    return TRUSTX_OK;
}

static void format_lcs(const trustx_metadata *md, char *out, size_t cap)
{
    static const struct { int value; const char *name; } names[] = {
        {0x01, "cr"}, {0x03, "in"}, {0x07, "op"}, {0x0F, "te"}};

    snprintf(out, cap, "-");
    for (size_t i = 0; i < 4; i++)
        if (md->lcso == names[i].value)
            snprintf(out, cap, "%s", names[i].name);
}

void slot_print_row(FILE *out, const slot_info *info, const slot_summary *s)
{
    char lcs[8], change[48], read[48];

    format_lcs(&s->md, lcs, sizeof(lcs));
    trustx_ac_format(&s->md.change, change, sizeof(change));
    trustx_ac_format(&s->md.read, read, sizeof(read));
    if (!s->metadata_ok)
        snprintf(change, sizeof(change), "?"), snprintf(read, sizeof(read), "?");
    fprintf(out, "0x%04X %-22s %-5s %-12s %-12s %s\n", info->oid, info->role, lcs, change, read,
            s->contents);
}

cJSON *slot_to_json(const slot_info *info, const slot_summary *s)
{
    cJSON *o = cJSON_CreateObject();
    char text[64];

    snprintf(text, sizeof(text), "0x%04X", info->oid);
    cJSON_AddStringToObject(o, "oid", text);
    cJSON_AddStringToObject(o, "role", info->role);
    cJSON_AddStringToObject(o, "kind", info->kind == SLOT_KEY ? "key"
                                       : info->kind == SLOT_CERT ? "certificate"
                                                                 : "trust anchor");
    cJSON_AddStringToObject(o, "contents", s->contents);
    if (!s->metadata_ok)
        return o;

    if (s->md.lcso >= 0)
        cJSON_AddStringToObject(o, "lifecycle", trustx_lcs_name(s->md.lcso));
    trustx_ac_format(&s->md.change, text, sizeof(text));
    cJSON_AddStringToObject(o, "change", text);
    trustx_ac_format(&s->md.read, text, sizeof(text));
    cJSON_AddStringToObject(o, "read", text);
    if (s->md.execute.present) {
        trustx_ac_format(&s->md.execute, text, sizeof(text));
        cJSON_AddStringToObject(o, "execute", text);
    }
    if (s->md.max_size >= 0)
        cJSON_AddNumberToObject(o, "max_size", s->md.max_size);
    if (info->kind != SLOT_KEY)
        cJSON_AddNumberToObject(o, "used_size", (double)s->used);
    if (s->md.algorithm >= 0)
        cJSON_AddStringToObject(o, "curve", s->md.algorithm == 0x03   ? "P-256"
                                            : s->md.algorithm == 0x04 ? "P-384"
                                                                      : "other");
    if (s->md.key_usage >= 0)
        cJSON_AddNumberToObject(o, "key_usage", s->md.key_usage);
    return o;
}

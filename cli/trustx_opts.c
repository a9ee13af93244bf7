/* SPDX-License-Identifier: MIT */
/* Option parsers shared by the key, CSR, certificate and personalize commands. */
#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "opts.h"

trustx_rc opt_key_slot(const char *text, int allow_factory, uint16_t *slot)
{
    trustx_rc rc = trustx_oid_parse(text, slot);

    if (rc == TRUSTX_OK)
        rc = trustx_check_key_slot(*slot);
    if (rc == TRUSTX_OK && *slot == TRUSTX_OID_DEVICE_KEY && !allow_factory)
        rc = trustx_fail(TRUSTX_LAYER_APP, TRUSTX_E_INVALID_ARG,
                         "0xE0F0 holds the factory key and cannot be used here; use 0xE0F1, "
                         "0xE0F2 or 0xE0F3");
    return rc;
}

trustx_rc opt_cert_slot(const char *text, uint16_t *slot)
{
    trustx_rc rc = trustx_oid_parse(text, slot);

    if (rc == TRUSTX_OK)
        rc = trustx_check_cert_slot(*slot);
    return rc;
}

trustx_rc opt_curve(const char *text, trustx_curve *curve)
{
    static const struct { const char *name; trustx_curve curve; } names[] = {
        {"p256", TRUSTX_CURVE_P256},       {"p-256", TRUSTX_CURVE_P256},
        {"prime256v1", TRUSTX_CURVE_P256}, {"secp256r1", TRUSTX_CURVE_P256},
        {"p384", TRUSTX_CURVE_P384},       {"p-384", TRUSTX_CURVE_P384},
        {"secp384r1", TRUSTX_CURVE_P384},
    };

    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (strcasecmp(text, names[i].name) == 0) {
            *curve = names[i].curve;
            return TRUSTX_OK;
        }
    }
    return trustx_fail(TRUSTX_LAYER_APP, TRUSTX_E_INVALID_ARG,
                       "invalid curve '%s'; use p256 or p384", text);
}

trustx_rc opt_subject(const char *config, const char *dn, trustx_pki_subject *subject)
{
    if (config != NULL && dn != NULL)
        return trustx_fail(TRUSTX_LAYER_APP, TRUSTX_E_INVALID_ARG,
                           "give either --config FILE or --subject DN, not both");
    if (config == NULL && dn == NULL)
        return trustx_fail(TRUSTX_LAYER_APP, TRUSTX_E_INVALID_ARG,
                           "no subject given; use --config FILE (config.jsn format) or "
                           "--subject \"/CN=device-1/O=Example\"");
    return config != NULL ? trustx_pki_subject_load(config, subject)
                          : trustx_pki_subject_parse(dn, subject);
}

trustx_rc opt_cert_format(const char *text, trustx_pki_slot_format *format)
{
    if (strcasecmp(text, "identity") == 0) {
        *format = TRUSTX_PKI_SLOT_IDENTITY;
        return TRUSTX_OK;
    }
    if (strcasecmp(text, "der") == 0) {
        *format = TRUSTX_PKI_SLOT_DER;
        return TRUSTX_OK;
    }
    return trustx_fail(TRUSTX_LAYER_APP, TRUSTX_E_INVALID_ARG,
                       "invalid certificate format '%s'; use identity or der", text);
}

trustx_rc opt_check_output(const char *path)
{
    char copy[4096];
    struct stat st;

    if (path == NULL || strcmp(path, "-") == 0)
        return TRUSTX_OK;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
        return trustx_fail(TRUSTX_LAYER_APP, TRUSTX_E_INVALID_ARG,
                           "cannot write %s: it is a folder; give a file name", path);
    snprintf(copy, sizeof(copy), "%s", path);
    if (access(dirname(copy), W_OK) != 0)
        return trustx_fail_errno(TRUSTX_LAYER_APP, TRUSTX_E_INVALID_ARG, errno,
                                 "cannot write %s: %s", path, strerror(errno));
    return TRUSTX_OK;
}

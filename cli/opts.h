/* SPDX-License-Identifier: MIT */
/* Option values shared by the key, CSR, certificate and personalize commands. */
#ifndef TRUSTX_CLI_OPTS_H
#define TRUSTX_CLI_OPTS_H

#include "cli.h"
#include "trustx/pki.h"
#include "trustx/provision.h"

/* Parses --slot for a key slot (0xE0F1..0xE0F3; 0xE0F0 too when allow_factory). */
trustx_rc opt_key_slot(const char *text, int allow_factory, uint16_t *slot);

/* Parses --slot for a certificate slot (0xE0E0..0xE0E3). */
trustx_rc opt_cert_slot(const char *text, uint16_t *slot);

/* Parses "p256", "P-256", "prime256v1", "p384", ... */
trustx_rc opt_curve(const char *text, trustx_curve *curve);

/* Loads the subject from exactly one of config (a config.jsn file) or dn. */
trustx_rc opt_subject(const char *config, const char *dn, trustx_pki_subject *subject);

/*
 * Fails early (TRUSTX_E_INVALID_ARG) when path cannot be written as an output
 * file: its folder is not writable, or it is a folder.
 * NULL and "-" (stdout) pass. Call it before anything changes the chip.
 */
trustx_rc opt_check_output(const char *path);

/* Parses "identity" or "der". */
trustx_rc opt_cert_format(const char *text, trustx_pki_slot_format *format);

#endif

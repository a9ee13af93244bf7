/* SPDX-License-Identifier: MIT */
/* The key and certificate slots that trustx info and personalize report on. */
#ifndef TRUSTX_CLI_SLOTS_H
#define TRUSTX_CLI_SLOTS_H

#include <stdio.h>

#include <cjson/cJSON.h>

#include "cli.h"

typedef enum slot_kind { SLOT_CERT, SLOT_ANCHOR, SLOT_KEY } slot_kind;

typedef struct slot_info {
    uint16_t oid;
    slot_kind kind;
    const char *role;
} slot_info;

typedef struct slot_summary {
    int metadata_ok;
    trustx_metadata md;
    size_t used;                 /* bytes of data, certificate and anchor slots */
    char contents[160];          /* one line: "empty", "X.509 (identity), CN=..." */
} slot_summary;

extern const slot_info slot_table[];
#define SLOT_TABLE_COUNT 10

/* Reads metadata and, for certificate slots, the data; fills s. */
trustx_rc slot_summarize(trustx_chip *chip, uint16_t oid, slot_summary *s);

void slot_print_row(FILE *out, const slot_info *info, const slot_summary *s);

cJSON *slot_to_json(const slot_info *info, const slot_summary *s);

#endif

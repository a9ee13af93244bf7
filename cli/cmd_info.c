/* SPDX-License-Identifier: MIT */
/* trustx info: chip identity, lifecycle, and what each key and certificate slot holds. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cli.h"
#include "commands.h"
#include "slots.h"

static void usage(FILE *out)
{
    fprintf(out,
            "Usage: trustx [-d DEVICE] [--json] info\n"
            "\n"
            "Shows the chip's UID, firmware, lifecycle state, security event counter and a\n"
            "table of the key and certificate slots with their contents and access rules.\n"
            "Reads only; changes nothing on the chip.\n");
}

typedef struct chip_summary {
    trustx_uid uid;
    int lcsg;
    int lcsa;
    int sec;
    unsigned max_apdu;
    slot_summary slots[SLOT_TABLE_COUNT];
} chip_summary;

static trustx_rc read_byte(trustx_chip *chip, uint16_t oid, int *value)
{
    uint8_t b[4];
    size_t n = 0;
    trustx_rc rc = trustx_get_data(chip, oid, 0, b, sizeof(b), &n);

    *value = (rc == TRUSTX_OK && n == 1) ? b[0] : -1;
    return rc;
}

static trustx_rc collect(trustx_chip *chip, chip_summary *s)
{
    uint8_t uid[32];
    size_t n = 0;
    trustx_rc rc;

    rc = trustx_get_data(chip, TRUSTX_OID_UID, 0, uid, sizeof(uid), &n);
    if (rc == TRUSTX_OK)
        rc = trustx_uid_decode(uid, n, &s->uid);
    if (rc == TRUSTX_OK)
        rc = read_byte(chip, TRUSTX_OID_LCSG, &s->lcsg);
    if (rc == TRUSTX_OK)
        rc = read_byte(chip, TRUSTX_OID_LCSA, &s->lcsa);
    if (rc == TRUSTX_OK)
        rc = read_byte(chip, TRUSTX_OID_SEC, &s->sec);
    if (rc != TRUSTX_OK)
        return rc;

    s->max_apdu = trustx_chip_max_apdu(chip);
    for (size_t i = 0; i < SLOT_TABLE_COUNT && rc == TRUSTX_OK; i++)
        rc = slot_summarize(chip, slot_table[i].oid, &s->slots[i]);
    return rc;
}

static void print_text(const chip_summary *s)
{
    char chip_type[13], batch[13];

    for (int i = 0; i < 6; i++) {
        snprintf(chip_type + 2 * i, 3, "%02x", s->uid.chip_type[i]);
        snprintf(batch + 2 * i, 3, "%02x", s->uid.batch[i]);
    }

    printf("UID:              ");
    cli_print_hex(stdout, s->uid.raw, sizeof(s->uid.raw));
    printf("\nChip type:        %s, batch %s, wafer x=%u y=%u\n", chip_type, batch,
           s->uid.wafer_x, s->uid.wafer_y);
    printf("Firmware:         id 0x%08X, build %04X\n", s->uid.firmware_id, s->uid.build);
    printf("Lifecycle:        global %s (0x%02X), application %s (0x%02X)\n",
           trustx_lcs_name(s->lcsg), (unsigned)s->lcsg, trustx_lcs_name(s->lcsa),
           (unsigned)s->lcsa);
    printf("Security events:  %d\n", s->sec);
    printf("Max APDU:         %u bytes\n\n", s->max_apdu);

    printf("%-6s %-22s %-5s %-12s %-12s %s\n", "slot", "role", "lcs", "change", "read",
           "contents");
    for (size_t i = 0; i < SLOT_TABLE_COUNT; i++)
        slot_print_row(stdout, &slot_table[i], &s->slots[i]);
}

static void print_json(const chip_summary *s)
{
    cJSON *root = cJSON_CreateObject();
    cJSON *slots = cJSON_AddArrayToObject(root, "slots");
    char hex[2 * sizeof(s->uid.raw) + 1];
    char text[32];
    char *out;

    for (size_t i = 0; i < sizeof(s->uid.raw); i++)
        snprintf(hex + 2 * i, 3, "%02x", s->uid.raw[i]);
    cJSON_AddStringToObject(root, "uid", hex);
    snprintf(text, sizeof(text), "0x%08X", s->uid.firmware_id);
    cJSON_AddStringToObject(root, "firmware_id", text);
    snprintf(text, sizeof(text), "%04X", s->uid.build);
    cJSON_AddStringToObject(root, "build", text);
    cJSON_AddStringToObject(root, "lifecycle", trustx_lcs_name(s->lcsg));
    cJSON_AddStringToObject(root, "application_lifecycle", trustx_lcs_name(s->lcsa));
    cJSON_AddNumberToObject(root, "security_event_counter", s->sec);
    cJSON_AddNumberToObject(root, "max_apdu", s->max_apdu);
    for (size_t i = 0; i < SLOT_TABLE_COUNT; i++)
        cJSON_AddItemToArray(slots, slot_to_json(&slot_table[i], &s->slots[i]));

    out = cJSON_Print(root);
    if (out != NULL)
        printf("%s\n", out);
    cJSON_free(out);
    cJSON_Delete(root);
}

int cmd_info(cli_ctx *ctx, int argc, char **argv)
{
    static const struct option options[] = {{"help", no_argument, NULL, 'h'},
                                            {"json", no_argument, NULL, 'J'},
                                            {NULL, 0, NULL, 0}};
    chip_summary summary;
    trustx_chip *chip = NULL;
    trustx_rc rc;
    int opt;

    while ((opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        if (opt == 'h') {
            usage(stdout);
            return 0;
        }
        if (opt == 'J') {
            ctx->json = 1;
            continue;
        }
        usage(stderr);
        return 1;
    }
    if (optind != argc)
        return cli_usage_error(ctx, "info: unexpected argument '%s'", argv[optind]);

    memset(&summary, 0, sizeof(summary));
    rc = cli_open_chip(ctx, &chip);
    if (rc == TRUSTX_OK)
        rc = collect(chip, &summary);
    trustx_chip_close(chip);
    if (rc != TRUSTX_OK)
        return cli_report(ctx, rc);

    if (ctx->json)
        print_json(&summary);
    else
        print_text(&summary);
    return 0;
}

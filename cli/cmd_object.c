/* SPDX-License-Identifier: MIT */
/* trustx object read|write|metadata: raw data object access. */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>

#include "cli.h"
#include "commands.h"

#define OBJECT_MAX 4096
#define METADATA_SETS_MAX 8

static void usage(FILE *out)
{
    fprintf(out,
            "Usage: trustx [-d DEVICE] [--json] object read OID [--offset N] [--length N] "
            "[-o FILE]\n"
            "       trustx [-d DEVICE] object write OID (FILE | --hex HEX) [--offset N] "
            "[--erase]\n"
            "       trustx [-d DEVICE] [--json] object metadata OID [--set NAME=VALUE ...] "
            "[--yes]\n"
            "\n"
            "OID is four hex digits, in any case, with or without 0x (E0E1, 0xe0e1).\n"
            "\n"
            "read      prints the object as hex, or writes the raw bytes to FILE (-o -: stdout)\n"
            "write     writes the bytes of FILE or HEX at --offset (default 0); --erase clears\n"
            "          the object first, so that it ends after the new data\n"
            "metadata  shows lifecycle, sizes and access conditions; --set changes them:\n"
            "            change=AC  read=AC  execute=AC   (AC: ALW, NEV, LcsO<op, ...)\n"
            "            lcso=cr|in|op|te                 (one-way; op and te need --yes)\n");
}

static trustx_rc parse_size(const char *name, const char *text, unsigned long max,
                            unsigned long *out)
{
    char *end;

    errno = 0;
    *out = strtoul(text, &end, 0);
    if (errno != 0 || end == text || *end != '\0' || *out > max)
        return trustx_fail(TRUSTX_LAYER_APP, TRUSTX_E_INVALID_ARG,
                           "invalid %s '%s'; expected a number from 0 to %lu", name, text, max);
    return TRUSTX_OK;
}

static trustx_rc parse_hex(const char *text, uint8_t *out, size_t cap, size_t *len)
{
    size_t n = 0;

    for (const char *p = text; *p != '\0';) {
        unsigned value;

        if (*p == ' ' || *p == ':') {
            p++;
            continue;
        }
        if (!isxdigit((unsigned char)p[0]) || !isxdigit((unsigned char)p[1]) ||
            sscanf(p, "%2x", &value) != 1)
            return trustx_fail(TRUSTX_LAYER_APP, TRUSTX_E_INVALID_ARG,
                               "invalid hex data near '%.8s'; use pairs of hex digits", p);
        if (n == cap)
            return trustx_fail(TRUSTX_LAYER_APP, TRUSTX_E_INVALID_ARG,
                               "hex data is longer than %zu bytes", cap);
        out[n++] = (uint8_t)value;
        p += 2;
    }
    *len = n;
    return TRUSTX_OK;
}

static int object_read(cli_ctx *ctx, uint16_t oid, unsigned long offset, unsigned long length,
                       const char *out_path)
{
    uint8_t data[OBJECT_MAX];
    size_t len = 0;
    trustx_chip *chip = NULL;
    trustx_rc rc = cli_open_chip(ctx, &chip);

    if (rc == TRUSTX_OK)
        rc = trustx_get_data(chip, oid, (uint16_t)offset, data,
                             length ? length : sizeof(data), &len);
    trustx_chip_close(chip);
    if (rc != TRUSTX_OK)
        return cli_report(ctx, rc);

    if (out_path != NULL) {
        rc = cli_write_file(out_path, data, len);
        if (rc != TRUSTX_OK)
            return cli_report(ctx, rc);
        if (strcmp(out_path, "-") != 0)
            cli_note(ctx, "wrote %zu byte%s of 0x%04X to %s", len, len == 1 ? "" : "s", oid,
                     out_path);
    }
    if (ctx->json) {
        printf("{\"oid\": \"0x%04X\", \"offset\": %lu, \"length\": %zu, \"data\": \"", oid,
               offset, len);
        cli_print_hex(stdout, data, len);
        printf("\"}\n");
    } else if (out_path == NULL) {
        cli_print_hex(stdout, data, len);
        printf("\n");
    }
    return 0;
}

static int object_write(cli_ctx *ctx, uint16_t oid, unsigned long offset, int erase,
                        const char *file, const char *hex)
{
    uint8_t buf[OBJECT_MAX];
    uint8_t *file_data = NULL;
    const uint8_t *data = buf;
    size_t len = 0;
    trustx_chip *chip = NULL;
    trustx_rc rc;

    if ((file == NULL) == (hex == NULL))
        return cli_usage_error(ctx, "object write: give either FILE or --hex HEX");

    rc = hex ? parse_hex(hex, buf, sizeof(buf), &len) : cli_read_file(file, OBJECT_MAX, &file_data, &len);
    if (file_data != NULL)
        data = file_data;
    if (rc == TRUSTX_OK && len == 0)
        rc = trustx_fail(TRUSTX_LAYER_APP, TRUSTX_E_INVALID_ARG, "no data to write");

    /* Input is validated before the chip is opened, so a bad argument changes nothing. */
    if (rc == TRUSTX_OK)
        rc = cli_open_chip(ctx, &chip);
    if (rc == TRUSTX_OK)
        rc = trustx_set_data(chip, oid, (uint16_t)offset, data, len, erase);
    trustx_chip_close(chip);
    free(file_data);
    if (rc != TRUSTX_OK)
        return cli_report(ctx, rc);

    if (ctx->json)
        printf("{\"oid\": \"0x%04X\", \"offset\": %lu, \"written\": %zu, \"erase\": %s}\n", oid,
               offset, len, erase ? "true" : "false");
    else
        cli_note(ctx, "wrote %zu byte%s to 0x%04X at offset %lu%s", len, len == 1 ? "" : "s", oid, offset,
                 erase ? " (erase & write)" : "");
    return 0;
}

static void print_metadata(const cli_ctx *ctx, uint16_t oid, const trustx_metadata *md,
                           const uint8_t *raw, size_t raw_len)
{
    char change[64], read[64], execute[64];

    trustx_ac_format(&md->change, change, sizeof(change));
    trustx_ac_format(&md->read, read, sizeof(read));
    trustx_ac_format(&md->execute, execute, sizeof(execute));

    if (ctx->json) {
        cJSON *o = cJSON_CreateObject();
        char *text;
        char hex[600];

        for (size_t i = 0; i < raw_len && 2 * i + 2 < sizeof(hex); i++)
            snprintf(hex + 2 * i, 3, "%02x", raw[i]);
        snprintf(change, sizeof(change), "0x%04X", oid);
        cJSON_AddStringToObject(o, "oid", change);
        cJSON_AddStringToObject(o, "raw", raw_len ? hex : "");
        if (md->lcso >= 0)
            cJSON_AddStringToObject(o, "lifecycle", trustx_lcs_name(md->lcso));
        if (md->max_size >= 0)
            cJSON_AddNumberToObject(o, "max_size", md->max_size);
        if (md->used_size >= 0)
            cJSON_AddNumberToObject(o, "used_size", md->used_size);
        trustx_ac_format(&md->change, change, sizeof(change));
        cJSON_AddStringToObject(o, "change", change);
        cJSON_AddStringToObject(o, "read", read);
        cJSON_AddStringToObject(o, "execute", execute);
        if (md->algorithm >= 0)
            cJSON_AddNumberToObject(o, "algorithm", md->algorithm);
        if (md->key_usage >= 0)
            cJSON_AddNumberToObject(o, "key_usage", md->key_usage);
        text = cJSON_Print(o);
        printf("%s\n", text ? text : "{}");
        cJSON_free(text);
        cJSON_Delete(o);
        return;
    }

    printf("object:     0x%04X\nraw:        ", oid);
    cli_print_hex(stdout, raw, raw_len);
    printf("\nlifecycle:  %s\n", md->lcso >= 0 ? trustx_lcs_name(md->lcso) : "(not set)");
    if (md->max_size >= 0)
        printf("max size:   %d\n", md->max_size);
    if (md->used_size >= 0)
        printf("used size:  %d\n", md->used_size);
    printf("change:     %s\nread:       %s\nexecute:    %s\n", change, read, execute);
    if (md->algorithm >= 0)
        printf("algorithm:  0x%02X\n", (unsigned)md->algorithm);
    if (md->key_usage >= 0)
        printf("key usage:  0x%02X\n", (unsigned)md->key_usage);
}

/* Applies one NAME=VALUE to md; *irreversible is set for lcso=op or te. */
static trustx_rc apply_set(const char *item, trustx_metadata *md, int *irreversible)
{
    static const struct { const char *name; int value; } states[] = {
        {"cr", 0x01}, {"in", 0x03}, {"op", 0x07}, {"te", 0x0F}};
    const char *eq = strchr(item, '=');

    if (eq == NULL)
        return trustx_fail(TRUSTX_LAYER_APP, TRUSTX_E_INVALID_ARG,
                           "invalid --set '%s'; use NAME=VALUE", item);
    if (strncmp(item, "change=", 7) == 0)
        return trustx_ac_parse(eq + 1, &md->change);
    if (strncmp(item, "read=", 5) == 0)
        return trustx_ac_parse(eq + 1, &md->read);
    if (strncmp(item, "execute=", 8) == 0)
        return trustx_ac_parse(eq + 1, &md->execute);
    if (strncmp(item, "lcso=", 5) == 0) {
        for (size_t i = 0; i < 4; i++) {
            if (strcasecmp(eq + 1, states[i].name) == 0) {
                md->lcso = states[i].value;
                *irreversible |= md->lcso >= 0x07;
                return TRUSTX_OK;
            }
        }
        return trustx_fail(TRUSTX_LAYER_APP, TRUSTX_E_INVALID_ARG,
                           "invalid lifecycle '%s'; use cr, in, op or te", eq + 1);
    }
    return trustx_fail(TRUSTX_LAYER_APP, TRUSTX_E_INVALID_ARG,
                       "unknown metadata name in '%s'; use change, read, execute or lcso", item);
}

static int object_metadata(cli_ctx *ctx, uint16_t oid, char **sets, int nsets, int yes)
{
    trustx_metadata md;
    uint8_t raw[256];
    size_t raw_len = 0;
    int irreversible = 0;
    trustx_chip *chip = NULL;
    trustx_rc rc = TRUSTX_OK;

    trustx_metadata_init(&md);
    for (int i = 0; i < nsets && rc == TRUSTX_OK; i++)
        rc = apply_set(sets[i], &md, &irreversible);
    if (rc == TRUSTX_OK && nsets > 0)
        rc = trustx_metadata_encode(&md, raw, sizeof(raw), &raw_len);
    if (rc != TRUSTX_OK)
        return cli_report(ctx, rc);
    if (irreversible && !yes) {
        char hex[2 * sizeof(raw) + 1];

        for (size_t i = 0; i < raw_len; i++)
            snprintf(hex + 2 * i, 3, "%02X", raw[i]);
        return cli_usage_error(ctx,
                               "setting lcso to %s on 0x%04X cannot be undone; the metadata to "
                               "write is %s; add --yes to proceed",
                               trustx_lcs_name(md.lcso), oid, hex);
    }

    rc = cli_open_chip(ctx, &chip);
    if (rc == TRUSTX_OK && nsets > 0)
        rc = trustx_set_metadata(chip, oid, raw, raw_len);
    if (rc == TRUSTX_OK)
        rc = trustx_get_metadata(chip, oid, raw, sizeof(raw), &raw_len);
    if (rc == TRUSTX_OK)
        rc = trustx_metadata_decode(raw, raw_len, &md);
    trustx_chip_close(chip);
    if (rc != TRUSTX_OK)
        return cli_report(ctx, rc);

    print_metadata(ctx, oid, &md, raw, raw_len);
    return 0;
}

int cmd_object(cli_ctx *ctx, int argc, char **argv)
{
    static const struct option options[] = {
        {"offset", required_argument, NULL, 'O'}, {"length", required_argument, NULL, 'L'},
        {"output", required_argument, NULL, 'o'}, {"hex", required_argument, NULL, 'x'},
        {"erase", no_argument, NULL, 'e'},        {"set", required_argument, NULL, 's'},
        {"yes", no_argument, NULL, 'y'},          {"json", no_argument, NULL, 'J'},
        {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0}};
    unsigned long offset = 0, length = 0;
    const char *out_path = NULL, *hex = NULL, *action, *file = NULL;
    char *sets[METADATA_SETS_MAX];
    int nsets = 0, erase = 0, yes = 0, opt;
    uint16_t oid;
    trustx_rc rc = TRUSTX_OK;

    while ((opt = getopt_long(argc, argv, "o:h", options, NULL)) != -1) {
        switch (opt) {
        case 'O': rc = parse_size("offset", optarg, 0xFFFF, &offset); break;
        case 'L': rc = parse_size("length", optarg, OBJECT_MAX, &length); break;
        case 'o': out_path = optarg; break;
        case 'x': hex = optarg; break;
        case 'e': erase = 1; break;
        case 'y': yes = 1; break;
        case 'J': ctx->json = 1; break;
        case 's':
            if (nsets == METADATA_SETS_MAX)
                return cli_usage_error(ctx, "at most %d --set options", METADATA_SETS_MAX);
            sets[nsets++] = optarg;
            break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 1;
        }
        if (rc != TRUSTX_OK)
            return cli_report(ctx, rc);
    }

    if (argc - optind < 2) {
        usage(stderr);
        return 1;
    }
    action = argv[optind];
    rc = trustx_oid_parse(argv[optind + 1], &oid);
    if (rc != TRUSTX_OK)
        return cli_report(ctx, rc);
    if (argc - optind > 3 || (argc - optind == 3 && strcmp(action, "write") != 0))
        return cli_usage_error(ctx, "object %s: unexpected argument '%s'", action,
                               argv[argc - 1]);
    if (argc - optind == 3)
        file = argv[optind + 2];

    if (strcmp(action, "read") == 0)
        return object_read(ctx, oid, offset, length, out_path);
    if (strcmp(action, "write") == 0)
        return object_write(ctx, oid, offset, erase, file, hex);
    if (strcmp(action, "metadata") == 0)
        return object_metadata(ctx, oid, sets, nsets, yes);
    return cli_usage_error(ctx, "unknown object action '%s'; use read, write or metadata",
                           action);
}

/* SPDX-License-Identifier: MIT */
/* trustx cert write|read: certificates in the chip's certificate slots. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "opts.h"

static void usage(FILE *out)
{
    fprintf(out,
            "Usage: trustx [-d DEVICE] [--json] cert write [--slot OID] FILE\n"
            "                                   [--key-slot OID] [--format identity|der]\n"
            "       trustx [-d DEVICE] [--json] cert read [--slot OID] [-o FILE] [--der]\n"
            "\n"
            "write  writes the certificate in FILE (PEM or DER; a PEM file may hold a chain,\n"
            "       leaf first) into certificate slot OID (default 0xE0E1). First it proves\n"
            "       that the certificate's key is the key in the paired key slot (0xE0E1 pairs\n"
            "       with 0xE0F1; --key-slot overrides): the chip signs a fresh challenge and\n"
            "       the certificate's key must verify it. A mismatch writes nothing (exit 4).\n"
            "       The slot gets the identity format (0xC0 header) by default, or plain DER.\n"
            "       Identical contents are not written again; a write is read back and\n"
            "       compared.\n"
            "read   prints the slot's certificates as PEM, or DER of the first with --der.\n"
            "\n"
            "Options of the original optiga_upload_crt tool work too: -c FILE, -o OID (write\n"
            "only: the certificate slot), -f DEVICE.\n");
}

typedef struct cert_args {
    uint16_t slot;
    uint16_t key_slot;
    int key_slot_given;
    trustx_pki_slot_format format;
    const char *file, *out;
    int der;
} cert_args;

static int cert_write(cli_ctx *ctx, const cert_args *a)
{
    trustx_pki_chain chain;
    trustx_install_result result;
    uint16_t key_slot = a->key_slot_given ? a->key_slot
                                          : (uint16_t)(a->slot - TRUSTX_OID_DEVICE_CERT +
                                                       TRUSTX_OID_DEVICE_KEY);
    trustx_chip *chip = NULL;
    char desc[512] = "";
    trustx_rc rc;

    if (a->file == NULL)
        return cli_usage_error(ctx, "cert write: no certificate file given");

    /* The file is parsed and sized before the chip is opened. */
    trustx_pki_chain_init(&chain);
    rc = trustx_pki_chain_load(a->file, &chain);
    if (rc == TRUSTX_OK) {
        uint8_t object[TRUSTX_PKI_SLOT_MAX];
        size_t len = 0;

        rc = trustx_pki_slot_encode(&chain, a->format, object, sizeof(object), &len);
    }
    if (rc == TRUSTX_OK)
        rc = cli_open_chip(ctx, &chip);
    if (rc == TRUSTX_OK)
        rc = trustx_install_certificate(chip, a->slot, key_slot, &chain, a->format, &result);
    trustx_chip_close(chip);
    if (rc == TRUSTX_OK)
        trustx_pki_cert_describe(chain.certs[0], desc, sizeof(desc));
    trustx_pki_chain_clear(&chain);
    if (rc != TRUSTX_OK)
        return cli_report(ctx, rc);

    if (ctx->json)
        printf("{\"slot\": \"0x%04X\", \"key_slot\": \"0x%04X\", \"bytes\": %zu, "
               "\"written\": %s, \"verified\": true}\n",
               a->slot, key_slot, result.bytes, result.unchanged ? "false" : "true");
    else
        cli_note(ctx, "%s 0x%04X (%zu bytes); its key matches 0x%04X\n%s",
                 result.unchanged ? "certificate already in" : "certificate written to",
                 a->slot, result.bytes, key_slot, desc);
    return 0;
}

static int cert_read(cli_ctx *ctx, const cert_args *a)
{
    uint8_t object[TRUSTX_PKI_SLOT_MAX];
    size_t len = 0, pem_len = 0, der_len = 0;
    trustx_pki_chain chain;
    trustx_pki_slot_format format;
    trustx_chip *chip = NULL;
    char *pem = NULL;
    const uint8_t *der;
    trustx_rc rc = opt_check_output(a->out);

    if (rc == TRUSTX_OK)
        rc = cli_open_chip(ctx, &chip);

    trustx_pki_chain_init(&chain);
    if (rc == TRUSTX_OK)
        rc = trustx_get_data(chip, a->slot, 0, object, sizeof(object), &len);
    trustx_chip_close(chip);
    if (rc == TRUSTX_OK)
        rc = trustx_pki_slot_decode(object, len, &format, &chain);
    if (rc == TRUSTX_E_NOT_FOUND)
        rc = trustx_fail(TRUSTX_LAYER_APP, TRUSTX_E_NOT_FOUND,
                         "0x%04X holds no certificate", a->slot);
    if (rc == TRUSTX_OK && !a->der)
        rc = trustx_pki_chain_pem(&chain, &pem, &pem_len);
    if (rc == TRUSTX_OK) {
        der = trustx_pki_cert_der(chain.certs[0], &der_len);
        rc = cli_write_file(a->out ? a->out : "-", a->der ? der : (const uint8_t *)pem,
                            a->der ? der_len : pem_len);
    }
    trustx_pki_chain_clear(&chain);
    free(pem);
    if (rc != TRUSTX_OK)
        return cli_report(ctx, rc);
    if (a->out != NULL)
        cli_note(ctx, "certificate from 0x%04X (%s format) written to %s", a->slot,
                 format == TRUSTX_PKI_SLOT_IDENTITY ? "identity" : "DER", a->out);
    return 0;
}

int cmd_cert(cli_ctx *ctx, int argc, char **argv)
{
    static const struct option options[] = {
        {"slot", required_argument, NULL, 's'},    {"key-slot", required_argument, NULL, 'k'},
        {"format", required_argument, NULL, 'F'},  {"output", required_argument, NULL, 'O'},
        {"der", no_argument, NULL, 'D'},           {"json", no_argument, NULL, 'J'},
        {"help", no_argument, NULL, 'h'},          {NULL, 0, NULL, 0}};
    cert_args a = {TRUSTX_OID_CERT1, 0, 0, TRUSTX_PKI_SLOT_IDENTITY, NULL, NULL, 0};
    const char *action = argc > 1 ? argv[1] : "";
    int is_write = strcmp(action, "write") == 0;
    trustx_rc rc = TRUSTX_OK;
    int opt;

    if (strcmp(action, "-h") == 0 || strcmp(action, "--help") == 0) {
        usage(stdout);
        return 0;
    }
    if (!is_write && strcmp(action, "read") != 0) {
        usage(stderr);
        return 1;
    }

    /* The action becomes argv[0], so that getopt starts fresh after it. */
    argc--;
    argv++;
    optind = 0;
    while ((opt = getopt_long(argc, argv, "c:o:f:h", options, NULL)) != -1) {
        switch (opt) {
        case 's': rc = opt_cert_slot(optarg, &a.slot); break;
        case 'k': rc = opt_key_slot(optarg, 1, &a.key_slot); a.key_slot_given = 1; break;
        case 'F': rc = opt_cert_format(optarg, &a.format); break;
        case 'c': a.file = optarg; break;
        /* -o is the slot for writes (as in optiga_upload_crt) and the output file for reads. */
        case 'o':
            if (is_write)
                rc = opt_cert_slot(optarg, &a.slot);
            else
                a.out = optarg;
            break;
        case 'O': a.out = optarg; break;
        case 'D': a.der = 1; break;
        case 'f': ctx->device = optarg; break;
        case 'J': ctx->json = 1; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 1;
        }
        if (rc != TRUSTX_OK)
            return cli_report(ctx, rc);
    }
    if (is_write && optind < argc && a.file == NULL)
        a.file = argv[optind++];
    if (optind != argc)
        return cli_usage_error(ctx, "cert %s: unexpected argument '%s'", action, argv[optind]);

    return is_write ? cert_write(ctx, &a) : cert_read(ctx, &a);
}

/* SPDX-License-Identifier: MIT */
/* trustx keygen: a new key pair in a key slot of the chip. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "opts.h"

static void usage(FILE *out)
{
    fprintf(out,
            "Usage: trustx [-d DEVICE] [--json] keygen [--slot OID] [--curve p256|p384]\n"
            "                                   [-o PUBKEY.pem] [--force]\n"
            "\n"
            "Generates a key pair inside the chip, in key slot OID (default 0xE0F1). The\n"
            "private key never leaves the chip; the public key is printed as PEM, or\n"
            "written to -o FILE. When the paired certificate slot (0xE0F1 pairs with 0xE0E1)\n"
            "holds a certificate, the new key would orphan it: add --force to do it anyway.\n");
}

int cmd_keygen(cli_ctx *ctx, int argc, char **argv)
{
    static const struct option options[] = {
        {"slot", required_argument, NULL, 's'}, {"curve", required_argument, NULL, 'c'},
        {"output", required_argument, NULL, 'o'}, {"force", no_argument, NULL, 'f'},
        {"json", no_argument, NULL, 'J'},       {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    uint16_t slot = TRUSTX_OID_KEY1;
    trustx_curve curve = TRUSTX_CURVE_P256;
    const char *out_path = NULL;
    int force = 0, opt;
    uint8_t pub[TRUSTX_PUBKEY_MAX];
    size_t pub_len = 0, pem_len = 0;
    char *pem = NULL;
    trustx_chip *chip = NULL;
    trustx_rc rc = TRUSTX_OK;

    while ((opt = getopt_long(argc, argv, "o:h", options, NULL)) != -1) {
        switch (opt) {
        case 's': rc = opt_key_slot(optarg, 1, &slot); break;
        case 'c': rc = opt_curve(optarg, &curve); break;
        case 'o': out_path = optarg; break;
        case 'f': force = 1; break;
        case 'J': ctx->json = 1; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 1;
        }
        if (rc != TRUSTX_OK)
            return cli_report(ctx, rc);
    }
    if (optind != argc)
        return cli_usage_error(ctx, "keygen: unexpected argument '%s'", argv[optind]);

    rc = opt_check_output(out_path);
    if (rc == TRUSTX_OK)
        rc = cli_open_chip(ctx, &chip);
    if (rc == TRUSTX_OK)
        rc = trustx_keygen(chip, slot, curve, force, pub, sizeof(pub), &pub_len);
    trustx_chip_close(chip);
    if (rc == TRUSTX_OK)
        rc = trustx_pki_public_key_pem(curve, pub, pub_len, &pem, &pem_len);
    if (rc == TRUSTX_OK && out_path != NULL)
        rc = cli_write_file(out_path, (const uint8_t *)pem, pem_len);
    if (rc != TRUSTX_OK) {
        free(pem);
        return cli_report(ctx, rc);
    }

    if (ctx->json) {
        printf("{\"slot\": \"0x%04X\", \"curve\": \"%s\", \"public_key\": \"", slot,
               trustx_pki_curve_name(curve));
        cli_print_hex(stdout, pub, pub_len);
        printf("\"}\n");
    } else if (out_path == NULL) {
        fputs(pem, stdout);
    }
    cli_note(ctx, "generated a %s key pair in 0x%04X%s%s", trustx_pki_curve_name(curve), slot,
             out_path ? "; public key written to " : "", out_path ? out_path : "");
    free(pem);
    return 0;
}

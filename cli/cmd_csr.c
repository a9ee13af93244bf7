/* SPDX-License-Identifier: MIT */
/* trustx csr: a certificate signing request signed by a key in the chip. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "opts.h"

static void usage(FILE *out)
{
    fprintf(out,
            "Usage: trustx [-d DEVICE] csr [--slot OID] (--config FILE | --subject DN)\n"
            "                  [--new-key [--curve p256|p384] [--force]] [-o FILE] [--der]\n"
            "\n"
            "Builds a PKCS#10 CSR for the key in slot OID (default 0xE0F1), signed by the chip,\n"
            "checks its self-signature and that its key is the slot's, then writes it as PEM\n"
            "(or DER with --der) to -o FILE or stdout.\n"
            "\n"
            "  --config FILE   subject from a JSON file: {\"CN\": \"...\", \"O\": \"...\", ...}\n"
            "  --subject DN    subject as /CN=x/O=y or CN=x,O=y\n"
            "  --new-key       generate a new key pair in the slot first (P-256 by default);\n"
            "                  without it the slot's existing key is used\n"
            "  --force         allow --new-key when the paired certificate slot holds a\n"
            "                  certificate, which the new key orphans\n"
            "\n"
            "Options of the original optiga_generate_csr tool work too: -i FILE (--config),\n"
            "-o FILE, -f DEVICE (-d), -p OID (--slot).\n"
            "Every input is checked before the chip is touched.\n");
}

typedef struct csr_args {
    uint16_t slot;
    trustx_curve curve;
    int new_key, force, der;
    const char *config, *dn, *out;
} csr_args;

static trustx_rc make(cli_ctx *ctx, const csr_args *a, const trustx_pki_subject *subject,
                      uint8_t **der, size_t *der_len)
{
    uint8_t pub[TRUSTX_PUBKEY_MAX];
    size_t pub_len = 0;
    trustx_curve curve = a->curve;
    trustx_chip *chip = NULL;
    trustx_rc rc = cli_open_chip(ctx, &chip);

    if (rc == TRUSTX_OK && a->new_key)
        rc = trustx_keygen(chip, a->slot, curve, a->force, pub, sizeof(pub), &pub_len);
    else if (rc == TRUSTX_OK)
        rc = trustx_slot_public_key(chip, a->slot, &curve, pub, sizeof(pub), &pub_len);
    if (rc == TRUSTX_OK && a->new_key)
        cli_note(ctx, "generated a %s key pair in 0x%04X", trustx_pki_curve_name(curve), a->slot);
    if (rc == TRUSTX_OK) {
        rc = trustx_make_csr(chip, a->slot, curve, pub, pub_len, subject, der, der_len);
        if (rc != TRUSTX_OK && a->new_key)
            trustx_error_prefix("0x%04X now holds a new key that no certificate matches yet; "
                                "rerun without --new-key to make its CSR",
                                a->slot);
    }
    trustx_chip_close(chip);
    return rc;
}

int cmd_csr(cli_ctx *ctx, int argc, char **argv)
{
    static const struct option options[] = {
        {"slot", required_argument, NULL, 'p'},   {"config", required_argument, NULL, 'i'},
        {"subject", required_argument, NULL, 'S'}, {"new-key", no_argument, NULL, 'n'},
        {"curve", required_argument, NULL, 'c'},  {"force", no_argument, NULL, 'F'},
        {"output", required_argument, NULL, 'o'}, {"der", no_argument, NULL, 'D'},
        {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0}};
    csr_args a = {TRUSTX_OID_KEY1, TRUSTX_CURVE_P256, 0, 0, 0, NULL, NULL, NULL};
    trustx_pki_subject subject;
    uint8_t *der = NULL;
    size_t der_len = 0, pem_len = 0;
    char *pem = NULL;
    trustx_rc rc = TRUSTX_OK;
    int opt, curve_given = 0;

    while ((opt = getopt_long(argc, argv, "p:i:o:f:h", options, NULL)) != -1) {
        switch (opt) {
        case 'p': rc = opt_key_slot(optarg, 0, &a.slot); break;
        case 'i': a.config = optarg; break;
        case 'S': a.dn = optarg; break;
        case 'n': a.new_key = 1; break;
        case 'c': rc = opt_curve(optarg, &a.curve); curve_given = 1; break;
        case 'F': a.force = 1; break;
        case 'o': a.out = optarg; break;
        case 'D': a.der = 1; break;
        case 'f': ctx->device = optarg; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 1;
        }
        if (rc != TRUSTX_OK)
            return cli_report(ctx, rc);
    }
    if (optind != argc)
        return cli_usage_error(ctx, "csr: unexpected argument '%s'", argv[optind]);
    if (curve_given && !a.new_key)
        return cli_usage_error(ctx, "--curve applies to a new key; add --new-key, or drop "
                                    "--curve to use the slot's key");

    rc = opt_subject(a.config, a.dn, &subject);
    if (rc == TRUSTX_OK)
        rc = opt_check_output(a.out);
    if (rc == TRUSTX_OK)
        rc = make(ctx, &a, &subject, &der, &der_len);
    if (rc == TRUSTX_OK && !a.der)
        rc = trustx_pki_pem_encode(TRUSTX_PKI_PEM_CSR, der, der_len, &pem, &pem_len);
    if (rc == TRUSTX_OK)
        rc = cli_write_file(a.out ? a.out : "-", a.der ? der : (const uint8_t *)pem,
                            a.der ? der_len : pem_len);
    free(der);
    free(pem);
    if (rc != TRUSTX_OK)
        return cli_report(ctx, rc);
    if (a.out != NULL)
        cli_note(ctx, "CSR for 0x%04X written to %s", a.slot, a.out);
    return 0;
}

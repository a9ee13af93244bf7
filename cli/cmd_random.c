/* SPDX-License-Identifier: MIT */
/* trustx random: bytes from the chip's true random number generator. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"

#define RANDOM_CLI_MAX 4096

static void usage(FILE *out)
{
    fprintf(out, "Usage: trustx [-d DEVICE] [--json] random [N] [-o FILE]\n"
                 "\n"
                 "Prints N random bytes (default 32, at most 4096) from the chip's TRNG as hex,\n"
                 "or writes them raw to FILE.\n");
}

int cmd_random(cli_ctx *ctx, int argc, char **argv)
{
    static const struct option options[] = {{"output", required_argument, NULL, 'o'},
                                            {"json", no_argument, NULL, 'J'},
                                            {"help", no_argument, NULL, 'h'},
                                            {NULL, 0, NULL, 0}};
    uint8_t buf[RANDOM_CLI_MAX];
    unsigned long n = 32;
    const char *out_path = NULL;
    trustx_chip *chip = NULL;
    trustx_rc rc;
    int opt;

    while ((opt = getopt_long(argc, argv, "o:h", options, NULL)) != -1) {
        if (opt == 'o')
            out_path = optarg;
        else if (opt == 'J')
            ctx->json = 1;
        else if (opt == 'h') {
            usage(stdout);
            return 0;
        } else {
            usage(stderr);
            return 1;
        }
    }
    if (argc - optind > 1)
        return cli_usage_error(ctx, "random: unexpected argument '%s'", argv[optind + 1]);
    if (optind < argc) {
        char *end;

        n = strtoul(argv[optind], &end, 10);
        if (end == argv[optind] || *end != '\0' || n == 0 || n > RANDOM_CLI_MAX)
            return cli_usage_error(ctx, "invalid byte count '%s'; use 1..%d", argv[optind],
                                   RANDOM_CLI_MAX);
    }

    rc = cli_open_chip(ctx, &chip);
    if (rc == TRUSTX_OK)
        rc = trustx_get_random(chip, buf, n);
    trustx_chip_close(chip);
    if (rc == TRUSTX_OK && out_path != NULL)
        rc = cli_write_file(out_path, buf, n);
    if (rc != TRUSTX_OK)
        return cli_report(ctx, rc);

    if (ctx->json) {
        printf("{\"length\": %lu, \"random\": \"", n);
        cli_print_hex(stdout, buf, n);
        printf("\"}\n");
    } else if (out_path == NULL) {
        cli_print_hex(stdout, buf, n);
        printf("\n");
    }
    return 0;
}

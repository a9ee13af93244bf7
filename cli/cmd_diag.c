/* SPDX-License-Identifier: MIT */
/*
 * trustx diag: reads the coprocessor UID many times and reports what the
 * protocol stack had to do (retransmissions, NAKs, re-syncs). It qualifies
 * wiring and bus speed on a programming station, and drives the stack
 * end to end in tests.
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"

#define DIAG_COUNT_MAX 1000000ul

static void usage(FILE *out)
{
    fprintf(out,
            "Usage: trustx [-d DEVICE] [--json] diag [--count N]\n"
            "\n"
            "Reads the coprocessor UID (0xE0C2) N times (default 100), checks that every\n"
            "read returns the same 27 bytes, and reports the protocol stack's counters:\n"
            "frames sent and resent, NAKs, re-syncs, address NACKs and polls.\n"
            "A healthy bus shows no resent frames.\n");
}

static void print_stats(const cli_ctx *ctx, unsigned long count, unsigned long mismatches,
                        const trustx_ifxi2c_stats *s, unsigned frame, unsigned khz)
{
    if (ctx->json) {
        printf("{\"reads\": %lu, \"mismatches\": %lu, \"frame_size\": %u, \"speed_khz\": %u, "
               "\"transactions\": %llu, \"nacks\": %llu, \"state_polls\": %llu, "
               "\"empty_polls\": %llu, \"frames_sent\": %llu, \"frames_resent\": %llu, "
               "\"frames_received\": %llu, \"naks_sent\": %llu, \"resyncs\": %llu}\n",
               count, mismatches, frame, khz, (unsigned long long)s->transactions,
               (unsigned long long)s->nacks, (unsigned long long)s->state_polls,
               (unsigned long long)s->empty_polls, (unsigned long long)s->frames_sent,
               (unsigned long long)s->frames_resent, (unsigned long long)s->frames_received,
               (unsigned long long)s->naks_sent, (unsigned long long)s->resyncs);
        return;
    }
    printf("UID reads:        %lu (%lu mismatched)\n", count, mismatches);
    printf("bus:              %u kHz, frame size %u bytes\n", khz, frame);
    printf("transactions:     %llu (%llu address NACKs)\n",
           (unsigned long long)s->transactions, (unsigned long long)s->nacks);
    printf("frames:           %llu sent, %llu resent, %llu received\n",
           (unsigned long long)s->frames_sent, (unsigned long long)s->frames_resent,
           (unsigned long long)s->frames_received);
    printf("errors recovered: %llu NAKs sent, %llu re-syncs\n",
           (unsigned long long)s->naks_sent, (unsigned long long)s->resyncs);
    printf("state polls:      %llu (%llu found nothing)\n",
           (unsigned long long)s->state_polls, (unsigned long long)s->empty_polls);
}

int cmd_diag(cli_ctx *ctx, int argc, char **argv)
{
    static const struct option options[] = {{"count", required_argument, NULL, 'n'},
                                            {"json", no_argument, NULL, 'J'},
                                            {"help", no_argument, NULL, 'h'},
                                            {NULL, 0, NULL, 0}};
    unsigned long count = 100, mismatches = 0, done = 0;
    uint8_t first[27], uid[32];
    trustx_chip *chip = NULL;
    trustx_rc rc;
    char *end;
    int opt;

    while ((opt = getopt_long(argc, argv, "n:h", options, NULL)) != -1) {
        if (opt == 'n') {
            count = strtoul(optarg, &end, 10);
            if (end == optarg || *end != '\0' || count == 0 || count > DIAG_COUNT_MAX)
                return cli_usage_error(ctx, "invalid --count '%s'; use 1..%lu", optarg,
                                       DIAG_COUNT_MAX);
        } else if (opt == 'J') {
            ctx->json = 1;
        } else if (opt == 'h') {
            usage(stdout);
            return 0;
        } else {
            usage(stderr);
            return 1;
        }
    }
    if (optind != argc)
        return cli_usage_error(ctx, "diag: unexpected argument '%s'", argv[optind]);

    rc = cli_open_chip(ctx, &chip);
    for (; rc == TRUSTX_OK && done < count; done++) {
        size_t n = 0;

        rc = trustx_get_data(chip, TRUSTX_OID_UID, 0, uid, sizeof(uid), &n);
        if (rc == TRUSTX_OK && n != sizeof(first))
            rc = trustx_fail(TRUSTX_LAYER_APP, TRUSTX_E_PROTOCOL,
                             "UID read %lu returned %zu bytes instead of 27", done + 1, n);
        if (rc == TRUSTX_OK && done == 0)
            memcpy(first, uid, sizeof(first));
        else if (rc == TRUSTX_OK && memcmp(first, uid, sizeof(first)) != 0)
            mismatches++;
    }
    if (rc != TRUSTX_OK) {
        if (chip != NULL)
            trustx_error_prefix("after %lu good UID reads", done);
        trustx_chip_close(chip);
        return cli_report(ctx, rc);
    }

    print_stats(ctx, count, mismatches, trustx_ifxi2c_get_stats(trustx_chip_stack(chip)),
                trustx_ifxi2c_frame_size(trustx_chip_stack(chip)),
                trustx_ifxi2c_speed_khz(trustx_chip_stack(chip)));
    trustx_chip_close(chip);
    if (mismatches > 0) {
        fprintf(stderr, "trustx: %lu of %lu UID reads returned different bytes\n", mismatches,
                count);
        return 4;
    }
    return 0;
}

/* SPDX-License-Identifier: MIT */
/* trustx-sim show: describe the chip kept in a state file, as text or JSON. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "sim_app.h"
#include "sim_cli.h"

/* A description longer than this is formatted into a heap buffer instead. */
#define DESCRIBE_STACK_CAP 8192

static void print_help(FILE *out)
{
    fprintf(out,
            "Usage: trustx-sim show STATE [--json | --vendor-ca]\n"
            "\n"
            "Describes the simulated chip in the file STATE: identity, lifecycle, data\n"
            "objects and keys.\n"
            "\n"
            "Options:\n"
            "  --json       print JSON instead of text\n"
            "  --vendor-ca  print the PEM certificate of the simulated vendor CA that\n"
            "               issued the device certificate in 0xE0E0\n"
            "  -h, --help   show this help\n");
}

static int print_description(const cli_ctx *ctx, const sim_app *app, int json)
{
    char stack[DESCRIBE_STACK_CAP];
    char *text = stack;
    size_t needed = sim_app_describe(app, json, stack, sizeof(stack));
    int failed;

    if (needed >= sizeof(stack)) {
        text = malloc(needed + 1);
        if (text == NULL) {
            sim_cli_note(ctx, "out of memory for a %zu-byte description", needed);
            return SIM_EXIT_IO;
        }
        sim_app_describe(app, json, text, needed + 1);
    }

    fwrite(text, 1, needed, stdout);
    if (needed == 0 || text[needed - 1] != '\n')
        fputc('\n', stdout);
    failed = fflush(stdout) != 0;
    if (text != stack)
        free(text);
    if (failed) {
        sim_cli_note(ctx, "cannot write to standard output: %s", strerror(errno));
        return SIM_EXIT_IO;
    }
    return SIM_EXIT_OK;
}

int sim_cmd_show(cli_ctx *ctx, int argc, char **argv)
{
    const char *path = NULL;
    sim_app *app = NULL;
    struct stat st;
    int status;
    int vendor_ca = 0;
    trustx_rc rc;

    for (int i = 1; i < argc; i++) {
        if (sim_cli_is_help(argv[i])) {
            print_help(stdout);
            return SIM_EXIT_OK;
        } else if (strcmp(argv[i], "--json") == 0) {
            ctx->json = 1;
        } else if (strcmp(argv[i], "--vendor-ca") == 0) {
            vendor_ca = 1;
        } else if (argv[i][0] == '-' && argv[i][1] != '\0') {
            return sim_cli_usage_error(ctx, "show", "unknown option '%s'", argv[i]);
        } else if (path == NULL) {
            path = argv[i];
        } else {
            return sim_cli_usage_error(ctx, "show", "unexpected argument '%s'", argv[i]);
        }
    }
    if (path == NULL)
        return sim_cli_usage_error(ctx, "show", "missing STATE file");

    if (stat(path, &st) != 0) {
        if (errno == ENOENT)
            return sim_cli_usage_error(ctx, "show",
                                       "no chip state at %s; create one with 'trustx-sim init %s'",
                                       path, path);
        sim_cli_note(ctx, "cannot read %s: %s", path, strerror(errno));
        return SIM_EXIT_IO;
    }

    rc = sim_app_open(path, SIM_CLI_LOCK_WAIT_MS, &app);
    if (rc != TRUSTX_OK)
        return sim_cli_fail(ctx, rc);
    if (vendor_ca) {
        fputs(sim_app_vendor_ca_pem(app), stdout);
        status = fflush(stdout) == 0 ? SIM_EXIT_OK : SIM_EXIT_IO;
    } else {
        status = print_description(ctx, app, ctx->json);
    }
    sim_app_close(app);
    return status;
}

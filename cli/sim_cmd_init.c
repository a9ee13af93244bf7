/* SPDX-License-Identifier: MIT */
/* trustx-sim init: create a factory-fresh simulated chip in a state file. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sim_app.h"
#include "sim_cli.h"

static void print_help(FILE *out)
{
    fprintf(out,
            "Usage: trustx-sim init STATE [--force]\n"
            "\n"
            "Creates a factory-fresh simulated chip (new UID, keys and certificates) in the\n"
            "file STATE.\n"
            "\n"
            "Options:\n"
            "  --force     replace an existing STATE (not while a server is using it)\n"
            "  -h, --help  show this help\n");
}

/* Removes an existing state file unless another process has it open. */
static int remove_existing(const cli_ctx *ctx, const char *path)
{
    sim_app *app = NULL;
    trustx_rc rc = sim_app_open(path, SIM_CLI_LOCK_WAIT_MS, &app);

    /* Any other failure (a damaged file, say) is what --force replaces. */
    if (rc == TRUSTX_E_BUSY)
        return sim_cli_fail(ctx, rc);
    if (rc == TRUSTX_OK)
        sim_app_close(app);

    if (unlink(path) != 0 && errno != ENOENT) {
        sim_cli_note(ctx, "cannot remove %s: %s", path, strerror(errno));
        return SIM_EXIT_IO;
    }
    return SIM_EXIT_OK;
}

int sim_cmd_init(cli_ctx *ctx, int argc, char **argv)
{
    const char *path = NULL;
    sim_app *app = NULL;
    struct stat st;
    int force = 0;
    int status;
    trustx_rc rc;

    for (int i = 1; i < argc; i++) {
        if (sim_cli_is_help(argv[i])) {
            print_help(stdout);
            return SIM_EXIT_OK;
        } else if (strcmp(argv[i], "--force") == 0) {
            force = 1;
        } else if (argv[i][0] == '-' && argv[i][1] != '\0') {
            return sim_cli_usage_error(ctx, "init", "unknown option '%s'", argv[i]);
        } else if (path == NULL) {
            path = argv[i];
        } else {
            return sim_cli_usage_error(ctx, "init", "unexpected argument '%s'", argv[i]);
        }
    }
    if (path == NULL)
        return sim_cli_usage_error(ctx, "init", "missing STATE file");

    if (stat(path, &st) == 0) {
        if (!force)
            return sim_cli_usage_error(ctx, "init",
                                       "%s already exists; add --force to replace it with a "
                                       "new chip",
                                       path);
        status = remove_existing(ctx, path);
        if (status != SIM_EXIT_OK)
            return status;
    } else if (errno != ENOENT) {
        sim_cli_note(ctx, "cannot check %s: %s", path, strerror(errno));
        return SIM_EXIT_IO;
    }

    rc = sim_app_open(path, SIM_CLI_LOCK_WAIT_MS, &app);
    if (rc != TRUSTX_OK)
        return sim_cli_fail(ctx, rc);
    sim_app_close(app);
    sim_cli_note(ctx, "created a new chip in %s", path);
    return SIM_EXIT_OK;
}

/* SPDX-License-Identifier: MIT */
/*
 * trustx-sim: the OPTIGA Trust X simulator front end. Global options,
 * logging to stderr, dispatch to the init, serve and show subcommands.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "sim_cli.h"

static const cli_command sim_commands[] = {
    {"init", sim_cmd_init, "create a factory-fresh chip state file"},
    {"serve", sim_cmd_serve, "serve the chip on a unix socket or a 127.0.0.1 TCP port"},
    {"show", sim_cmd_show, "describe a chip state file"},
};

static void print_help(FILE *out)
{
    fprintf(out,
            "Usage: trustx-sim [-v] COMMAND [ARGS]\n"
            "\n"
            "A software OPTIGA Trust X that keeps its state in a file and speaks the IFX I2C\n"
            "protocol, so that trustx and its tests run without hardware.\n"
            "\n"
            "Commands:\n");
    for (size_t i = 0; i < sizeof(sim_commands) / sizeof(sim_commands[0]); i++)
        fprintf(out, "  %-8s %s\n", sim_commands[i].name, sim_commands[i].summary);
    fprintf(out,
            "\n"
            "Options:\n"
            "  -v, --verbose  log more to stderr: -v progress, -vv debug, -vvv every transaction\n"
            "  -h, --help     show this help; 'trustx-sim COMMAND --help' shows a command's\n"
            "  --version      print the version\n"
            "\n"
            "Exit status: 0 success, 1 invalid usage or input, 2 I/O or socket failure.\n");
}

static void log_to_stderr(void *user, trustx_log_level level, const char *component,
                          const char *message)
{
    static const char *const names[] = {"error", "warning", "info", "debug", "trace"};
    const cli_ctx *ctx = user;

    fprintf(stderr, "%s: %s: %s: %s\n", ctx->prog, names[level], component, message);
}

static void setup_logging(cli_ctx *ctx)
{
    trustx_log_level max = TRUSTX_LOG_WARN;

    if (ctx->verbose == 1)
        max = TRUSTX_LOG_INFO;
    else if (ctx->verbose == 2)
        max = TRUSTX_LOG_DEBUG;
    else if (ctx->verbose >= 3)
        max = TRUSTX_LOG_TRACE;
    trustx_log_set(log_to_stderr, ctx, max);
}

int sim_cli_fail(const cli_ctx *ctx, trustx_rc rc)
{
    const trustx_error *err = trustx_error_last();

    if (err->message[0] != '\0')
        fprintf(stderr, "%s: %s\n", ctx->prog, err->message);
    else
        fprintf(stderr, "%s: %s\n", ctx->prog, trustx_rc_name(rc));
    return trustx_rc_exit_status(rc) == SIM_EXIT_USAGE ? SIM_EXIT_USAGE : SIM_EXIT_IO;
}

int sim_cli_usage_error(const cli_ctx *ctx, const char *command, const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "%s: ", ctx->prog);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    if (command != NULL)
        fprintf(stderr, "\nTry '%s %s --help'.\n", ctx->prog, command);
    else
        fprintf(stderr, "\nTry '%s --help'.\n", ctx->prog);
    return SIM_EXIT_USAGE;
}

void sim_cli_note(const cli_ctx *ctx, const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "%s: ", ctx->prog);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

int sim_cli_is_help(const char *arg)
{
    return strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0;
}

int sim_cli_option_value(int argc, char **argv, int *i, const char *name, const char **value)
{
    const char *arg = argv[*i];
    size_t n = strlen(name);

    if (strncmp(arg, name, n) != 0)
        return 0;
    if (arg[n] == '=') {
        *value = arg + n + 1;
        return 1;
    }
    if (arg[n] != '\0')
        return 0;

    *value = *i + 1 < argc ? argv[*i + 1] : NULL;
    if (*value != NULL)
        (*i)++;
    return 1;
}

static int count_verbose(const char *arg)
{
    size_t n = strlen(arg);

    if (strcmp(arg, "--verbose") == 0)
        return 1;
    if (n < 2 || arg[0] != '-' || strspn(arg + 1, "v") != n - 1)
        return 0;
    return (int)(n - 1);
}

int main(int argc, char **argv)
{
    cli_ctx ctx = {.prog = "trustx-sim"};
    int i = 1;
    int verbose;

    for (; i < argc && argv[i][0] == '-'; i++) {
        verbose = count_verbose(argv[i]);
        if (verbose > 0) {
            ctx.verbose += verbose;
        } else if (sim_cli_is_help(argv[i])) {
            print_help(stdout);
            return SIM_EXIT_OK;
        } else if (strcmp(argv[i], "--version") == 0) {
            printf("trustx-sim %s\n", TRUSTX_VERSION);
            return SIM_EXIT_OK;
        } else {
            return sim_cli_usage_error(&ctx, NULL, "unknown option '%s'", argv[i]);
        }
    }

    if (i >= argc)
        return sim_cli_usage_error(&ctx, NULL, "no command given");

    setup_logging(&ctx);
    for (size_t c = 0; c < sizeof(sim_commands) / sizeof(sim_commands[0]); c++)
        if (strcmp(argv[i], sim_commands[c].name) == 0)
            return sim_commands[c].run(&ctx, argc - i, argv + i);

    return sim_cli_usage_error(&ctx, NULL, "unknown command '%s'", argv[i]);
}

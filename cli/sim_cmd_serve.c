/* SPDX-License-Identifier: MIT */
/*
 * trustx-sim serve: open a chip state, listen on a unix socket or a
 * 127.0.0.1 TCP port, and serve the IFX I2C wire format until SIGTERM or
 * SIGINT (or the first client's disconnect with --once).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sim_app.h"
#include "sim_chip.h"
#include "sim_cli.h"
#include "sim_serve.h"

#define SPEED_MIN_KHZ 1u
#define SPEED_MAX_KHZ 1000u        /* Fm+, the fastest mode Trust X supports */
#define DEFAULT_SPEED_KHZ 400u

typedef struct serve_options {
    const char *state;
    const char *port_file;
    const char *faults;
    unsigned speed_khz;
    sim_serve_config listen;
} serve_options;

static volatile sig_atomic_t stop_requested;

static void on_stop_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

static void print_help(FILE *out)
{
    fprintf(out,
            "Usage: trustx-sim serve STATE (--socket PATH | --tcp 127.0.0.1:PORT) [options]\n"
            "\n"
            "Serves the simulated chip in the file STATE (created if missing), one client\n"
            "at a time. Each request is one I2C transaction; every transaction advances the\n"
            "chip's virtual clock by its bus time. Once listening, prints the device string\n"
            "for trustx (socket:PATH or tcp:127.0.0.1:PORT) on standard output.\n"
            "\n"
            "Options:\n"
            "  --socket PATH          listen on a unix socket at PATH (a stale one is replaced)\n"
            "  --tcp 127.0.0.1:PORT   listen on loopback TCP; PORT 0 picks a free port\n"
            "  --port-file FILE       with --tcp: write the bound port number to FILE\n"
            "  --faults SPEC          inject bus faults, comma-separated: flip=RATE (0..1),\n"
            "                         nackburst=N, nackevery=K, lose=N, neverready,\n"
            "                         resetcmd=N, seed=S\n"
            "  --speed KHZ            bus clock in kHz that transactions are charged at,\n"
            "                         %u..%u (default %u)\n"
            "  --once                 exit after the first client disconnects\n"
            "  -h, --help             show this help\n"
            "\n"
            "Stops cleanly on SIGTERM or SIGINT.\n",
            SPEED_MIN_KHZ, SPEED_MAX_KHZ, DEFAULT_SPEED_KHZ);
}

static int parse_speed(const cli_ctx *ctx, const char *text, unsigned *out)
{
    char *end = NULL;
    unsigned long value;

    errno = 0;
    value = strtoul(text, &end, 10);
    if (*text < '0' || *text > '9' || errno != 0 || *end != '\0' || value < SPEED_MIN_KHZ ||
        value > SPEED_MAX_KHZ)
        return sim_cli_usage_error(ctx, "serve", "invalid --speed '%s': expected %u..%u kHz",
                                   text, SPEED_MIN_KHZ, SPEED_MAX_KHZ);
    *out = (unsigned)value;
    return SIM_EXIT_OK;
}

/* Returns SIM_EXIT_OK, or -1 after printing help, or a usage error status. */
static int parse_args(const cli_ctx *ctx, int argc, char **argv, serve_options *opts)
{
    const char *value;
    const char *speed = NULL;

    for (int i = 1; i < argc; i++) {
        value = NULL;
        if (sim_cli_is_help(argv[i])) {
            print_help(stdout);
            return -1;
        } else if (sim_cli_option_value(argc, argv, &i, "--socket", &value)) {
            opts->listen.socket_path = value;
        } else if (sim_cli_option_value(argc, argv, &i, "--tcp", &value)) {
            opts->listen.tcp = value;
        } else if (sim_cli_option_value(argc, argv, &i, "--port-file", &value)) {
            opts->port_file = value;
        } else if (sim_cli_option_value(argc, argv, &i, "--faults", &value)) {
            opts->faults = value;
        } else if (sim_cli_option_value(argc, argv, &i, "--speed", &value)) {
            speed = value;
        } else if (strcmp(argv[i], "--once") == 0) {
            opts->listen.once = 1;
            continue;
        } else if (argv[i][0] == '-' && argv[i][1] != '\0') {
            return sim_cli_usage_error(ctx, "serve", "unknown option '%s'", argv[i]);
        } else if (opts->state == NULL) {
            opts->state = argv[i];
            continue;
        } else {
            return sim_cli_usage_error(ctx, "serve", "unexpected argument '%s'", argv[i]);
        }
        if (value == NULL)
            return sim_cli_usage_error(ctx, "serve", "option '%s' needs a value", argv[i]);
    }

    if (opts->state == NULL)
        return sim_cli_usage_error(ctx, "serve", "missing STATE file");
    if ((opts->listen.socket_path == NULL) == (opts->listen.tcp == NULL))
        return sim_cli_usage_error(ctx, "serve", "give exactly one of --socket and --tcp");
    if (opts->port_file != NULL && opts->listen.tcp == NULL)
        return sim_cli_usage_error(ctx, "serve", "--port-file needs --tcp");
    if (speed != NULL)
        return parse_speed(ctx, speed, &opts->speed_khz);
    return SIM_EXIT_OK;
}

/* Writes "PORT\n" to path through a temporary file, so a reader never sees half of it. */
static int write_port_file(const cli_ctx *ctx, const char *path, unsigned port)
{
    char tmp[4096];
    char line[16];
    int len = snprintf(line, sizeof(line), "%u\n", port);
    int fd;
    int ok;

    if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp)) {
        sim_cli_note(ctx, "port file path %s is too long", path);
        return SIM_EXIT_USAGE;
    }

    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        sim_cli_note(ctx, "cannot create %s: %s", tmp, strerror(errno));
        return SIM_EXIT_IO;
    }
    ok = write(fd, line, (size_t)len) == len;
    ok = close(fd) == 0 && ok;
    if (!ok || rename(tmp, path) != 0) {
        sim_cli_note(ctx, "cannot write port file %s: %s", path, strerror(errno));
        unlink(tmp);
        return SIM_EXIT_IO;
    }
    return SIM_EXIT_OK;
}

static void install_signal_handlers(void)
{
    struct sigaction sa;

    /* No SA_RESTART, so a blocked poll returns at once and the server checks the flag. */
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

/*
 * Writes the port file, then the device string on stdout, so that a script
 * that has read the line also finds the file.
 */
static int announce(const cli_ctx *ctx, const serve_options *opts, const sim_server *server)
{
    int status;

    if (opts->port_file != NULL) {
        status = write_port_file(ctx, opts->port_file, sim_serve_port(server));
        if (status != SIM_EXIT_OK)
            return status;
    }

    if (opts->listen.tcp != NULL)
        printf("tcp:127.0.0.1:%u\n", sim_serve_port(server));
    else
        printf("socket:%s\n", opts->listen.socket_path);
    if (fflush(stdout) != 0) {
        sim_cli_note(ctx, "cannot write to standard output: %s", strerror(errno));
        return SIM_EXIT_IO;
    }
    return SIM_EXIT_OK;
}

static int serve_chip(const cli_ctx *ctx, const serve_options *opts, sim_chip *chip)
{
    sim_server *server = NULL;
    int status;
    trustx_rc rc = sim_serve_listen(&opts->listen, &server);

    if (rc != TRUSTX_OK)
        return sim_cli_fail(ctx, rc);

    status = announce(ctx, opts, server);
    if (status == SIM_EXIT_OK) {
        sim_cli_note(ctx, "serving %s (faults: %s)", opts->state,
                     opts->faults != NULL && *opts->faults != '\0' ? opts->faults : "none");
        rc = sim_serve_run(server, chip, &stop_requested);
        if (rc != TRUSTX_OK)
            status = sim_cli_fail(ctx, rc);
        sim_cli_note(ctx, "stopped at %llu us of virtual time after %llu commands",
                     (unsigned long long)sim_chip_now_us(chip),
                     (unsigned long long)sim_chip_stats(chip)->commands);
    }

    sim_serve_close(server);
    if (opts->port_file != NULL)
        unlink(opts->port_file);
    return status;
}

int sim_cmd_serve(cli_ctx *ctx, int argc, char **argv)
{
    serve_options opts = {.speed_khz = DEFAULT_SPEED_KHZ};
    sim_faults faults;
    sim_app *app = NULL;
    sim_chip *chip = NULL;
    int status = parse_args(ctx, argc, argv, &opts);
    trustx_rc rc;

    if (status < 0)
        return SIM_EXIT_OK;
    if (status != SIM_EXIT_OK)
        return status;

    rc = sim_faults_parse(opts.faults, &faults);
    if (rc != TRUSTX_OK)
        return sim_cli_usage_error(ctx, "serve", "invalid --faults: %s",
                                   trustx_error_last()->message);
    if (opts.listen.tcp != NULL) {
        uint16_t port;

        if (sim_serve_parse_tcp(opts.listen.tcp, &port) != TRUSTX_OK)
            return sim_cli_usage_error(ctx, "serve", "%s", trustx_error_last()->message);
    }

    install_signal_handlers();
    rc = sim_app_open(opts.state, SIM_CLI_LOCK_WAIT_MS, &app);
    if (rc != TRUSTX_OK)
        return sim_cli_fail(ctx, rc);
    rc = sim_chip_new(app, &faults, &chip);
    if (rc != TRUSTX_OK)
        return sim_cli_fail(ctx, rc);
    sim_chip_set_speed(chip, opts.speed_khz);

    status = serve_chip(ctx, &opts, chip);
    sim_chip_free(chip);
    return status;
}

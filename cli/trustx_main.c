/* SPDX-License-Identifier: MIT */
/* trustx: personalize OPTIGA Trust X secure elements. Global options and command dispatch. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"

static const cli_command commands[] = {
    {"info", cmd_info, "chip identity, lifecycle and an overview of the key and certificate slots"},
    {"object", cmd_object, "read, write or change the metadata of a data object"},
    {"random", cmd_random, "random bytes from the chip's TRNG"},
    {"personalize", cmd_personalize,
     "the whole job: key, CSR, certificate, write, verify, register, lock"},
    {"keygen", cmd_keygen, "generate a key pair in a key slot"},
    {"csr", cmd_csr, "build a CSR signed by a key in the chip"},
    {"cert", cmd_cert, "write a certificate into a slot (checked against its key), or read one"},
    {"diag", cmd_diag, "read the UID repeatedly and report protocol retries (bus check)"},
    {"aws", cmd_aws, "single AWS IoT steps: certificate from a CSR, attach, endpoint, policy"},
};

#define COMMAND_COUNT (sizeof(commands) / sizeof(commands[0]))

static void print_usage(FILE *out)
{
    const trustx_transport_ops *const *backends = trustx_transport_backends();

    fprintf(out,
            "Usage: trustx [-d DEVICE] [-v] [--json] [--trace] COMMAND [ARGS...]\n"
            "\n"
            "Personalize OPTIGA Trust X secure elements: keys generated in the chip,\n"
            "certificates written back and verified, devices registered in AWS IoT.\n"
            "\n"
            "Global options:\n"
            "  -d, --device DEVICE  chip to use (default: $TRUSTX_DEVICE)\n"
            "  -v, --verbose        progress detail; -vv adds protocol debug and a bus trace\n"
            "      --trace          hex dump of every bus transaction\n"
            "      --json           machine-readable output on stdout\n"
            "  -h, --help           this help; 'trustx COMMAND --help' for a command\n"
            "      --version        version\n"
            "\n"
            "Commands:\n");
    for (size_t i = 0; i < COMMAND_COUNT; i++)
        fprintf(out, "  %-12s %s\n", commands[i].name, commands[i].summary);

    fprintf(out, "\nDevices:\n");
    for (size_t i = 0; backends[i] != NULL; i++)
        fprintf(out, "  %s\n", backends[i]->description);
    fprintf(out,
            "  Prefix trace+ to any device (or use --trace or -vv) for a bus trace,\n"
            "  e.g. trace+sim:chip.json\n"
            "\n"
            "Exit status: 0 success, 1 invalid usage or input, 2 device or transport\n"
            "failure, 3 the chip refused, 4 verification failed, 5 cloud or CA failure.\n");
}

static const cli_command *find_command(const char *name)
{
    for (size_t i = 0; i < COMMAND_COUNT; i++)
        if (strcmp(commands[i].name, name) == 0)
            return &commands[i];
    return NULL;
}

int main(int argc, char **argv)
{
    static const struct option options[] = {
        {"device", required_argument, NULL, 'd'}, {"verbose", no_argument, NULL, 'v'},
        {"json", no_argument, NULL, 'J'},         {"trace", no_argument, NULL, 'T'},
        {"help", no_argument, NULL, 'h'},         {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0}};
    cli_ctx ctx = {.prog = "trustx"};
    const cli_command *command;
    int first;
    int opt;

    /* '+' stops at the first non-option, which is the command. */
    while ((opt = getopt_long(argc, argv, "+d:vh", options, NULL)) != -1) {
        switch (opt) {
        case 'd': ctx.device = optarg; break;
        case 'v': ctx.verbose++; break;
        case 'J': ctx.json = 1; break;
        case 'T': ctx.trace = 1; break;
        case 'h': print_usage(stdout); return 0;
        case 'V': printf("trustx %s\n", TRUSTX_VERSION); return 0;
        default: fprintf(stderr, "Try 'trustx --help'.\n"); return 1;
        }
    }
    if (ctx.verbose >= 2)
        ctx.trace = 1;

    if (optind >= argc) {
        print_usage(stderr);
        return 1;
    }

    command = find_command(argv[optind]);
    if (command == NULL)
        return cli_usage_error(&ctx, "unknown command '%s'; see 'trustx --help'", argv[optind]);

    cli_setup_logging(&ctx);
    first = optind;
    optind = 0;   /* glibc: a full reset before the command parses its own options */
    return command->run(&ctx, argc - first, argv + first);
}

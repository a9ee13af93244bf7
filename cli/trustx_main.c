/* SPDX-License-Identifier: MIT */
/* trustx: personalize OPTIGA Trust X secure elements. Placeholder front end. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--version") == 0) {
        printf("trustx %s\n", TRUSTX_VERSION);
        return 0;
    }
    fprintf(stderr, "trustx: no command given; try 'trustx --help'\n");
    return 1;
}

/* SPDX-License-Identifier: MIT */
/* trustx-sim: the OPTIGA Trust X simulator. Placeholder front end. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--version") == 0) {
        printf("trustx-sim %s\n", TRUSTX_VERSION);
        return 0;
    }
    fprintf(stderr, "trustx-sim: no command given; try 'trustx-sim --help'\n");
    return 1;
}

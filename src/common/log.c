/* SPDX-License-Identifier: MIT */
/* The process-wide log hook. */
#include "trustx/log.h"

#include <stdarg.h>
#include <stdio.h>

static trustx_log_fn log_fn;
static void *log_user;
static trustx_log_level log_max = TRUSTX_LOG_WARN;

void trustx_log_set(trustx_log_fn fn, void *user, trustx_log_level max_level)
{
    log_fn = fn;
    log_user = user;
    log_max = max_level;
}

int trustx_log_enabled(trustx_log_level level)
{
    return log_fn != NULL && level <= log_max;
}

void trustx_log(trustx_log_level level, const char *component, const char *fmt, ...)
{
    char message[1024];
    va_list ap;

    if (!trustx_log_enabled(level))
        return;

    va_start(ap, fmt);
    vsnprintf(message, sizeof(message), fmt, ap);
    va_end(ap);
    log_fn(log_user, level, component, message);
}

/* SPDX-License-Identifier: MIT */
/*
 * Logging hook. The library never prints; it hands messages to a callback
 * that the application installs. Without a callback, messages are dropped.
 */
#ifndef TRUSTX_LOG_H
#define TRUSTX_LOG_H

#ifdef __cplusplus
extern "C" {
#endif

typedef enum trustx_log_level {
    TRUSTX_LOG_ERROR = 0,
    TRUSTX_LOG_WARN,
    TRUSTX_LOG_INFO,
    TRUSTX_LOG_DEBUG,
    TRUSTX_LOG_TRACE   /* bus-level hex dumps */
} trustx_log_level;

typedef void (*trustx_log_fn)(void *user, trustx_log_level level, const char *component,
                              const char *message);

/*
 * Installs fn as the process-wide log callback; messages above max_level
 * are not formatted. Pass fn = NULL to disable logging. Not thread-safe with
 * respect to concurrent logging; call it once at start-up.
 */
void trustx_log_set(trustx_log_fn fn, void *user, trustx_log_level max_level);

/* Returns nonzero when a message at level would reach the callback. */
int trustx_log_enabled(trustx_log_level level);

/* Formats and delivers one message. Messages MUST NOT contain secrets. */
void trustx_log(trustx_log_level level, const char *component, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#ifdef __cplusplus
}
#endif

#endif

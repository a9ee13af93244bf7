/* SPDX-License-Identifier: MIT */
/* The per-thread error slot behind trustx_error_last(). */
#include "trustx/error.h"

#include <stdio.h>
#include <string.h>

static _Thread_local trustx_error last_error = {TRUSTX_OK, TRUSTX_LAYER_NONE, 0, -1, ""};

__attribute__((format(printf, 4, 0))) static trustx_rc record(trustx_layer layer, trustx_rc rc,
                                                               int os_errno, const char *fmt,
                                                               va_list ap)
{
    last_error.rc = rc;
    last_error.layer = layer;
    last_error.os_errno = os_errno;
    last_error.device_code = -1;
    vsnprintf(last_error.message, sizeof(last_error.message), fmt, ap);
    return rc;
}

trustx_rc trustx_fail(trustx_layer layer, trustx_rc rc, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    record(layer, rc, 0, fmt, ap);
    va_end(ap);
    return rc;
}

trustx_rc trustx_fail_errno(trustx_layer layer, trustx_rc rc, int os_errno, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    record(layer, rc, os_errno, fmt, ap);
    va_end(ap);
    return rc;
}

void trustx_error_set_device_code(int code)
{
    last_error.device_code = code;
}

void trustx_error_prefix(const char *fmt, ...)
{
    char joined[TRUSTX_ERROR_MSG_MAX];
    size_t used;
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(joined, sizeof(joined), fmt, ap);
    va_end(ap);

    used = strlen(joined);
    if (used + 2 < sizeof(joined)) {
        size_t room = sizeof(joined) - used - 3;
        size_t n = strlen(last_error.message);

        if (n > room)
            n = room;
        memcpy(joined + used, ": ", 2);
        memcpy(joined + used + 2, last_error.message, n);
        joined[used + 2 + n] = '\0';
    }
    memcpy(last_error.message, joined, sizeof(joined));
}

const trustx_error *trustx_error_last(void)
{
    return &last_error;
}

void trustx_error_clear(void)
{
    last_error.rc = TRUSTX_OK;
    last_error.layer = TRUSTX_LAYER_NONE;
    last_error.os_errno = 0;
    last_error.device_code = -1;
    last_error.message[0] = '\0';
}

const char *trustx_rc_name(trustx_rc rc)
{
    switch (rc) {
    case TRUSTX_OK: return "success";
    case TRUSTX_E_INVALID_ARG: return "invalid argument";
    case TRUSTX_E_NOMEM: return "out of memory";
    case TRUSTX_E_IO: return "I/O error";
    case TRUSTX_E_NACK: return "address not acknowledged";
    case TRUSTX_E_TIMEOUT: return "timed out";
    case TRUSTX_E_PROTOCOL: return "protocol error";
    case TRUSTX_E_OVERFLOW: return "buffer too small";
    case TRUSTX_E_DEVICE: return "chip returned an error";
    case TRUSTX_E_VERIFY: return "verification failed";
    case TRUSTX_E_CLOUD: return "cloud or CA failure";
    case TRUSTX_E_NOT_FOUND: return "not found";
    case TRUSTX_E_UNSUPPORTED: return "not supported";
    case TRUSTX_E_STATE: return "not allowed in the current state";
    case TRUSTX_E_CRYPTO: return "cryptographic operation failed";
    case TRUSTX_E_BUSY: return "busy";
    }
    return "unknown error";
}

const char *trustx_layer_name(trustx_layer layer)
{
    switch (layer) {
    case TRUSTX_LAYER_NONE: return "none";
    case TRUSTX_LAYER_TRANSPORT: return "transport";
    case TRUSTX_LAYER_PHYSICAL: return "physical layer";
    case TRUSTX_LAYER_DATALINK: return "data link layer";
    case TRUSTX_LAYER_NETWORK: return "network layer";
    case TRUSTX_LAYER_COMMAND: return "command layer";
    case TRUSTX_LAYER_PKI: return "pki";
    case TRUSTX_LAYER_AWS: return "aws";
    case TRUSTX_LAYER_PROVISION: return "personalization";
    case TRUSTX_LAYER_SIM: return "simulator";
    case TRUSTX_LAYER_APP: return "application";
    }
    return "unknown layer";
}

int trustx_rc_exit_status(trustx_rc rc)
{
    switch (rc) {
    case TRUSTX_OK:
        return 0;
    case TRUSTX_E_INVALID_ARG:
    case TRUSTX_E_OVERFLOW:
    case TRUSTX_E_NOT_FOUND:
    case TRUSTX_E_UNSUPPORTED:
    case TRUSTX_E_NOMEM:
        return 1;
    case TRUSTX_E_IO:
    case TRUSTX_E_NACK:
    case TRUSTX_E_TIMEOUT:
    case TRUSTX_E_PROTOCOL:
    case TRUSTX_E_BUSY:
        return 2;
    case TRUSTX_E_DEVICE:
    case TRUSTX_E_STATE:
        return 3;
    case TRUSTX_E_VERIFY:
    case TRUSTX_E_CRYPTO:
        return 4;
    case TRUSTX_E_CLOUD:
        return 5;
    }
    return 1;
}

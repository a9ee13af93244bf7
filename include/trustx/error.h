/* SPDX-License-Identifier: MIT */
/*
 * One error type for the whole library. Every fallible function returns a
 * trustx_rc; the detail of the most recent failure (the layer that gave up,
 * the OS errno, the chip's error code and a formatted message) is kept per
 * thread and read with trustx_error_last().
 */
#ifndef TRUSTX_ERROR_H
#define TRUSTX_ERROR_H

#include <stdarg.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum trustx_rc {
    TRUSTX_OK = 0,
    TRUSTX_E_INVALID_ARG,   /* a caller or user value is invalid */
    TRUSTX_E_NOMEM,         /* allocation failed */
    TRUSTX_E_IO,            /* OS-level I/O failure (open, ioctl, read, write) */
    TRUSTX_E_NACK,          /* I2C address not acknowledged; retry may succeed */
    TRUSTX_E_TIMEOUT,       /* a deadline passed */
    TRUSTX_E_PROTOCOL,      /* peer broke the protocol (bad frame, bad length, chain error) */
    TRUSTX_E_OVERFLOW,      /* data does not fit a bounded buffer */
    TRUSTX_E_DEVICE,        /* the chip answered with an error status; see device_code */
    TRUSTX_E_VERIFY,        /* a verification failed (signature, key pairing, read-back) */
    TRUSTX_E_CLOUD,         /* cloud or CA failure */
    TRUSTX_E_NOT_FOUND,     /* a requested item does not exist */
    TRUSTX_E_UNSUPPORTED,   /* valid request that this build or chip cannot do */
    TRUSTX_E_STATE,         /* operation not allowed in the current state */
    TRUSTX_E_CRYPTO,        /* OpenSSL or another crypto primitive failed */
    TRUSTX_E_BUSY           /* a resource is held by someone else (lock, device) */
} trustx_rc;

/* The layer that reported a failure, kept next to what failed. */
typedef enum trustx_layer {
    TRUSTX_LAYER_NONE = 0,
    TRUSTX_LAYER_TRANSPORT,
    TRUSTX_LAYER_PHYSICAL,
    TRUSTX_LAYER_DATALINK,
    TRUSTX_LAYER_NETWORK,
    TRUSTX_LAYER_COMMAND,
    TRUSTX_LAYER_PKI,
    TRUSTX_LAYER_AWS,
    TRUSTX_LAYER_PROVISION,
    TRUSTX_LAYER_SIM,
    TRUSTX_LAYER_APP
} trustx_layer;

#define TRUSTX_ERROR_MSG_MAX 512

typedef struct trustx_error {
    trustx_rc rc;
    trustx_layer layer;
    int os_errno;            /* errno at the failure, 0 if none */
    int device_code;         /* chip last-error code (0xF1C2), -1 if none */
    char message[TRUSTX_ERROR_MSG_MAX];
} trustx_error;

/*
 * Records a failure in the calling thread's error slot and returns rc, so
 * that a failing function can end with `return trustx_fail(...)`.
 * The message MUST name the value involved; it is formatted with vsnprintf
 * and truncated to TRUSTX_ERROR_MSG_MAX - 1 bytes.
 */
trustx_rc trustx_fail(trustx_layer layer, trustx_rc rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Same as trustx_fail() and also records os_errno (usually errno). */
trustx_rc trustx_fail_errno(trustx_layer layer, trustx_rc rc, int os_errno,
                            const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Records the chip's last-error code for the current failure. */
void trustx_error_set_device_code(int code);

/*
 * Prefixes the current message with "prefix: " so that a caller can add
 * context (for example the operation name) without losing the cause.
 */
void trustx_error_prefix(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Returns the calling thread's last failure; never NULL. */
const trustx_error *trustx_error_last(void);

/* Clears the calling thread's error slot. */
void trustx_error_clear(void);

/* Returns a short constant name for rc, such as "timeout". */
const char *trustx_rc_name(trustx_rc rc);

/* Returns a short constant name for layer, such as "data link". */
const char *trustx_layer_name(trustx_layer layer);

/*
 * Maps rc to the command-line exit status: 1 invalid usage or input,
 * 2 device or transport failure, 3 the chip refused, 4 verification failed,
 * 5 cloud or CA failure.
 */
int trustx_rc_exit_status(trustx_rc rc);

#ifdef __cplusplus
}
#endif

#endif

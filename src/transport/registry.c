/* SPDX-License-Identifier: MIT */
/*
 * Device strings: picks a backend by scheme, applies decorators given as
 * "name(spec)+" prefixes, and parses the common ",addr=..,speed=.." options.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "backends.h"

#define DEVICE_STRING_MAX 512
#define DECORATOR_MAX 4

typedef struct backend_entry {
    const char *scheme;
    trustx_rc (*open)(const char *args, trustx_transport **out);
    const trustx_transport_ops *ops;
} backend_entry;

static const backend_entry backends[] = {
    {"i2c", transport_i2cdev_open, &transport_i2cdev_ops},
    {"ft260", transport_ft260_open, &transport_ft260_ops},
    {"sim", transport_sim_open, &transport_sim_ops},
    {"socket", transport_socket_open, &transport_socket_ops},
    {"tcp", transport_tcp_open, &transport_socket_ops},
};

#define BACKEND_COUNT (sizeof(backends) / sizeof(backends[0]))

const trustx_transport_ops *const *trustx_transport_backends(void)
{
    static const trustx_transport_ops *list[BACKEND_COUNT + 1];

    for (size_t i = 0, n = 0; i < BACKEND_COUNT; i++) {
        int seen = 0;

        for (size_t j = 0; j < n; j++)
            seen |= list[j] == backends[i].ops;
        if (!seen)
            list[n++] = backends[i].ops;
    }
    return list;
}

static trustx_rc parse_unsigned(const char *scheme, const char *key, const char *value,
                                unsigned long max, unsigned long *out)
{
    char *end;

    errno = 0;
    *out = strtoul(value, &end, 0);
    if (errno != 0 || end == value || *end != '\0' || *out > max)
        return trustx_fail(TRUSTX_LAYER_TRANSPORT, TRUSTX_E_INVALID_ARG,
                           "%s: invalid %s value '%s'; expected a number up to %lu", scheme, key,
                           value, max);
    return TRUSTX_OK;
}

static trustx_rc apply_option(const char *scheme, char *item, transport_bus_options *opts,
                              const char *extra_keys, char *rest, size_t rest_cap)
{
    char *eq = strchr(item, '=');
    size_t key_len = eq ? (size_t)(eq - item) : strlen(item);
    unsigned long value;
    trustx_rc rc;

    if (eq != NULL && strncmp(item, "addr", key_len) == 0 && key_len == 4) {
        rc = parse_unsigned(scheme, "addr", eq + 1, 0x7F, &value);
        if (rc == TRUSTX_OK && value < 0x08)
            rc = trustx_fail(TRUSTX_LAYER_TRANSPORT, TRUSTX_E_INVALID_ARG,
                             "%s: addr=%s is a reserved I2C address; use 0x08..0x7f", scheme,
                             eq + 1);
        if (rc == TRUSTX_OK)
            opts->addr = (uint8_t)value;
        return rc;
    }
    if (eq != NULL && strncmp(item, "speed", key_len) == 0 && key_len == 5) {
        rc = parse_unsigned(scheme, "speed", eq + 1, 1000, &value);
        if (rc == TRUSTX_OK && value < 10)
            rc = trustx_fail(TRUSTX_LAYER_TRANSPORT, TRUSTX_E_INVALID_ARG,
                             "%s: speed=%s kHz is too slow; use 10..1000", scheme, eq + 1);
        if (rc == TRUSTX_OK)
            opts->speed_khz = (unsigned)value;
        return rc;
    }

    if (extra_keys != NULL && rest != NULL) {
        const char *k = extra_keys;

        while (*k != '\0') {
            size_t len = strcspn(k, ",");

            if (len == key_len && strncmp(k, item, key_len) == 0) {
                size_t used = strlen(rest);

                if (used + strlen(item) + 2 > rest_cap)
                    return trustx_fail(TRUSTX_LAYER_TRANSPORT, TRUSTX_E_INVALID_ARG,
                                       "%s: options are too long", scheme);
                if (used > 0)
                    strcat(rest, ",");
                strcat(rest, item);
                return TRUSTX_OK;
            }
            k += len;
            if (*k == ',')
                k++;
        }
    }

    return trustx_fail(TRUSTX_LAYER_TRANSPORT, TRUSTX_E_INVALID_ARG,
                       "%s: unknown option '%.*s'; accepted: addr, speed%s%s", scheme,
                       (int)key_len, item, extra_keys ? ", " : "", extra_keys ? extra_keys : "");
}

trustx_rc transport_parse_args(const char *scheme, const char *args, char *path, size_t cap,
                               transport_bus_options *opts, const char *extra_keys, char *rest,
                               size_t rest_cap)
{
    char copy[DEVICE_STRING_MAX];
    char *save = NULL;
    char *item;
    size_t path_len = strcspn(args, ",");

    if (strlen(args) >= sizeof(copy))
        return trustx_fail(TRUSTX_LAYER_TRANSPORT, TRUSTX_E_INVALID_ARG,
                           "%s: device string is longer than %zu bytes", scheme, sizeof(copy) - 1);
    if (path_len >= cap)
        return trustx_fail(TRUSTX_LAYER_TRANSPORT, TRUSTX_E_INVALID_ARG,
                           "%s: path '%.*s' is too long", scheme, (int)path_len, args);

    memcpy(path, args, path_len);
    path[path_len] = '\0';
    if (rest != NULL && rest_cap > 0)
        rest[0] = '\0';
    opts->addr = TRUSTX_I2C_DEFAULT_ADDR;
    opts->speed_khz = TRUSTX_I2C_DEFAULT_KHZ;

    if (args[path_len] == '\0')
        return TRUSTX_OK;

    strcpy(copy, args + path_len + 1);
    for (item = strtok_r(copy, ",", &save); item != NULL; item = strtok_r(NULL, ",", &save)) {
        trustx_rc rc = apply_option(scheme, item, opts, extra_keys, rest, rest_cap);

        if (rc != TRUSTX_OK)
            return rc;
    }
    return TRUSTX_OK;
}

/* Splits "trace+faults(flip=0.01)+sim:/x" into decorators and the backend string. */
static trustx_rc open_backend(const char *device, trustx_transport **out)
{
    const char *colon = strchr(device, ':');

    if (device[0] == '/')
        return transport_i2cdev_open(device, out);

    if (colon == NULL)
        return trustx_fail(TRUSTX_LAYER_TRANSPORT, TRUSTX_E_INVALID_ARG,
                           "invalid device '%s'; expected i2c:/dev/i2c-N, /dev/i2c-N, ft260:, "
                           "sim:PATH, socket:PATH or tcp:127.0.0.1:PORT",
                           device);

    for (size_t i = 0; i < BACKEND_COUNT; i++) {
        size_t len = strlen(backends[i].scheme);

        if ((size_t)(colon - device) == len && strncasecmp(device, backends[i].scheme, len) == 0)
            return backends[i].open(colon + 1, out);
    }

    return trustx_fail(TRUSTX_LAYER_TRANSPORT, TRUSTX_E_INVALID_ARG,
                       "unknown device type '%.*s' in '%s'; use i2c, ft260, sim, socket or tcp",
                       (int)(colon - device), device, device);
}

static trustx_rc wrap_decorator(const char *name, size_t name_len, trustx_transport *inner,
                                trustx_transport **out)
{
    const char *paren = memchr(name, '(', name_len);
    char spec[DEVICE_STRING_MAX];

    if (paren == NULL && name_len == 5 && strncmp(name, "trace", 5) == 0)
        return trustx_transport_trace_wrap(inner, out);

    if (paren != NULL && (size_t)(paren - name) == 6 && strncmp(name, "faults", 6) == 0 &&
        name[name_len - 1] == ')') {
        size_t spec_len = name_len - 8;

        if (spec_len >= sizeof(spec))
            return trustx_fail(TRUSTX_LAYER_TRANSPORT, TRUSTX_E_INVALID_ARG,
                               "faults(...) specification is longer than %zu bytes",
                               sizeof(spec) - 1);
        memcpy(spec, paren + 1, spec_len);
        spec[spec_len] = '\0';
        return trustx_transport_faults_wrap(inner, spec, out);
    }

    return trustx_fail(TRUSTX_LAYER_TRANSPORT, TRUSTX_E_INVALID_ARG,
                       "unknown transport decorator '%.*s'; use trace or faults(SPEC)",
                       (int)name_len, name);
}

trustx_rc trustx_transport_open(const char *device, trustx_transport **out)
{
    const char *decorators[DECORATOR_MAX];
    size_t lengths[DECORATOR_MAX];
    size_t count = 0;
    const char *p = device;
    trustx_transport *t = NULL;
    trustx_rc rc;

    if (device == NULL || device[0] == '\0')
        return trustx_fail(TRUSTX_LAYER_TRANSPORT, TRUSTX_E_INVALID_ARG,
                           "no device given; use -d DEVICE or set TRUSTX_DEVICE");

    /* A decorator ends at '+' before the first ':' of the backend. */
    for (;;) {
        const char *plus = strchr(p, '+');
        const char *colon = strchr(p, ':');

        if (plus == NULL || (colon != NULL && colon < plus && memchr(p, '(', (size_t)(plus - p)) == NULL))
            break;
        if (count == DECORATOR_MAX)
            return trustx_fail(TRUSTX_LAYER_TRANSPORT, TRUSTX_E_INVALID_ARG,
                               "too many transport decorators in '%s' (at most %d)", device,
                               DECORATOR_MAX);
        decorators[count] = p;
        lengths[count] = (size_t)(plus - p);
        count++;
        p = plus + 1;
    }

    rc = open_backend(p, &t);
    if (rc != TRUSTX_OK)
        return rc;

    while (count > 0) {
        trustx_transport *wrapped = NULL;

        count--;
        rc = wrap_decorator(decorators[count], lengths[count], t, &wrapped);
        if (rc != TRUSTX_OK) {
            trustx_transport_close(t);
            return rc;
        }
        t = wrapped;
    }

    *out = t;
    return TRUSTX_OK;
}

uint64_t transport_real_now_us(void *ctx)
{
    struct timespec ts;

    (void)ctx;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

void transport_real_sleep_us(void *ctx, uint32_t us)
{
    struct timespec ts = {(time_t)(us / 1000000u), (long)(us % 1000000u) * 1000L};

    (void)ctx;
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* SPDX-License-Identifier: MIT */
/* Error reporting, logging, file and output helpers shared by trustx and trustx-sim. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"

int cli_report(const cli_ctx *ctx, trustx_rc rc)
{
    const trustx_error *e = trustx_error_last();
    int status = trustx_rc_exit_status(rc);

    if (e->rc == rc && e->message[0] != '\0')
        fprintf(stderr, "%s: %s\n", ctx->prog, e->message);
    else if (e->rc != rc)
        fprintf(stderr, "%s: %s\n", ctx->prog, trustx_rc_name(rc));

    if (ctx->verbose > 0 && e->rc == rc) {
        fprintf(stderr, "%s: (layer: %s; error: %s", ctx->prog, trustx_layer_name(e->layer),
                trustx_rc_name(rc));
        if (e->device_code >= 0)
            fprintf(stderr, "; device code 0x%02X", e->device_code);
        if (e->os_errno != 0)
            fprintf(stderr, "; errno %d", e->os_errno);
        fprintf(stderr, "; exit status %d)\n", status);
    }
    return status;
}

int cli_usage_error(const cli_ctx *ctx, const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "%s: ", ctx->prog);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return 1;
}

void cli_note(const cli_ctx *ctx, const char *fmt, ...)
{
    va_list ap;

    if (ctx->json && ctx->verbose == 0)
        return;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

static void log_to_stderr(void *user, trustx_log_level level, const char *component,
                          const char *message)
{
    static const char *const names[] = {"error", "warning", "info", "debug", "trace"};
    const cli_ctx *ctx = user;

    fprintf(stderr, "%s: [%s] %s: %s\n", ctx->prog, names[level], component, message);
}

/* A "trace+" prefix in the device string turns on the bus trace, as --trace does. */
static int device_is_traced(const cli_ctx *ctx)
{
    const char *device = ctx->device ? ctx->device : getenv("TRUSTX_DEVICE");

    return device != NULL && strstr(device, "trace+") != NULL;
}

void cli_setup_logging(const cli_ctx *ctx)
{
    trustx_log_level level = TRUSTX_LOG_WARN;

    if (ctx->verbose == 1)
        level = TRUSTX_LOG_INFO;
    if (ctx->verbose >= 2 || ctx->trace || device_is_traced(ctx))
        level = TRUSTX_LOG_TRACE;
    trustx_log_set(log_to_stderr, (void *)ctx, level);
}

const char *cli_device(const cli_ctx *ctx)
{
    const char *device = ctx->device;

    if (device == NULL || device[0] == '\0')
        device = getenv("TRUSTX_DEVICE");
    if (device == NULL || device[0] == '\0') {
        fprintf(stderr,
                "%s: no device given; use -d DEVICE or set TRUSTX_DEVICE (for example "
                "-d i2c:/dev/i2c-1 or -d sim:chip.json; see '%s --help')\n",
                ctx->prog, ctx->prog);
        return NULL;
    }
    return device;
}

trustx_rc cli_open_chip(const cli_ctx *ctx, trustx_chip **chip)
{
    const char *device = cli_device(ctx);
    trustx_transport *t = NULL;
    trustx_rc rc;

    if (device == NULL) {
        /* cli_device() has printed the explanation; report nothing twice. */
        trustx_fail(TRUSTX_LAYER_TRANSPORT, TRUSTX_E_INVALID_ARG, "%s", "");
        return TRUSTX_E_INVALID_ARG;
    }

    rc = trustx_transport_open(device, &t);
    if (rc == TRUSTX_OK && ctx->trace) {
        trustx_transport *traced = NULL;

        rc = trustx_transport_trace_wrap(t, &traced);
        if (rc != TRUSTX_OK)
            trustx_transport_close(t);
        t = traced;
    }
    if (rc != TRUSTX_OK)
        return rc;
    return trustx_chip_open_transport(t, NULL, chip);
}

void cli_print_hex(FILE *out, const uint8_t *buf, size_t len)
{
    for (size_t i = 0; i < len; i++)
        fprintf(out, "%02x", buf[i]);
}

trustx_rc cli_read_file(const char *path, size_t max, uint8_t **data, size_t *len)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    uint8_t *buf;
    size_t n;
    int err;

    if (f == NULL) {
        err = errno;
        return trustx_fail_errno(TRUSTX_LAYER_APP, TRUSTX_E_INVALID_ARG, err,
                                 "cannot open %s: %s", path, strerror(err));
    }
    buf = malloc(max + 1);
    if (buf == NULL) {
        if (f != stdin)
            fclose(f);
        return trustx_fail(TRUSTX_LAYER_APP, TRUSTX_E_NOMEM, "out of memory");
    }

    n = fread(buf, 1, max + 1, f);
    err = ferror(f) ? errno : 0;
    if (f != stdin)
        fclose(f);
    if (err != 0 || n > max) {
        free(buf);
        if (err != 0)
            return trustx_fail_errno(TRUSTX_LAYER_APP, TRUSTX_E_INVALID_ARG, err,
                                     "cannot read %s: %s", path, strerror(err));
        return trustx_fail(TRUSTX_LAYER_APP, TRUSTX_E_INVALID_ARG,
                           "%s is larger than %zu bytes", path, max);
    }

    buf[n] = '\0';   /* text parsers may rely on it; not counted in len */
    *data = buf;
    *len = n;
    return TRUSTX_OK;
}

static trustx_rc write_all(int fd, const uint8_t *data, size_t len)
{
    size_t done = 0;

    while (done < len) {
        ssize_t n = write(fd, data + done, len - done);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return TRUSTX_E_IO;
        done += (size_t)n;
    }
    return TRUSTX_OK;
}

/*
 * A path that exists and is not a regular file (a symlink, /dev/stdout, a
 * FIFO) is written in place, so that the link or device stays what it is.
 */
static trustx_rc write_in_place(const char *path, const uint8_t *data, size_t len)
{
    int fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
    int err;

    if (fd < 0 || write_all(fd, data, len) != TRUSTX_OK) {
        err = errno;
        if (fd >= 0)
            close(fd);
        return trustx_fail_errno(TRUSTX_LAYER_APP, TRUSTX_E_INVALID_ARG, err,
                                 "cannot write %s: %s", path, strerror(err));
    }
    close(fd);
    return TRUSTX_OK;
}

trustx_rc cli_write_file(const char *path, const uint8_t *data, size_t len)
{
    char tmp[4096];
    struct stat st;
    int fd;
    int err;

    if (strcmp(path, "-") == 0) {
        if (fwrite(data, 1, len, stdout) != len || fflush(stdout) != 0)
            return trustx_fail_errno(TRUSTX_LAYER_APP, TRUSTX_E_IO, errno,
                                     "cannot write to standard output");
        return TRUSTX_OK;
    }
    if (lstat(path, &st) == 0 && !S_ISREG(st.st_mode))
        return write_in_place(path, data, len);

    /* A regular file is replaced through a new temporary file (never an existing one). */
    if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid()) >= sizeof(tmp))
        return trustx_fail(TRUSTX_LAYER_APP, TRUSTX_E_INVALID_ARG, "path %s is too long", path);
    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd < 0) {
        err = errno;
        return trustx_fail_errno(TRUSTX_LAYER_APP, TRUSTX_E_INVALID_ARG, err,
                                 "cannot create %s: %s", tmp, strerror(err));
    }

    err = write_all(fd, data, len) == TRUSTX_OK && fsync(fd) == 0 ? 0 : errno;
    if (close(fd) != 0 && err == 0)
        err = errno;
    if (err == 0 && rename(tmp, path) != 0)
        err = errno;
    if (err != 0) {
        unlink(tmp);
        return trustx_fail_errno(TRUSTX_LAYER_APP, TRUSTX_E_INVALID_ARG, err,
                                 "cannot write %s: %s", path, strerror(err));
    }
    return TRUSTX_OK;
}

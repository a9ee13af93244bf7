/* SPDX-License-Identifier: MIT */
/*
 * FT260 HID device reached over a unix socket, for tests: "ft260:emu=PATH"
 * talks to tests/ft260emu/ft260emu.py, which plays the bridge in front of a
 * "trustx-sim serve" process. Each HID operation is one message. The
 * emulator's header comment describes the framing, which in short is:
 *   request  kind(1) len(2) data    kinds 'O' output report, 'I' wait for an
 *            input report (data: timeout in ms, 2 bytes), 'G' get feature
 *            (data: report ID, maximum length), 'F' set feature (data: report)
 *   reply    result(1) len(2) data  results 0 done, 1 no input report,
 *            2 rejected (data: reason), 3 busy (greeting only)
 * Lengths are big-endian. On connect the emulator greets with result 0, or
 * with result 3 when another client is connected.
 */
#include "ft260_hid.h"

#ifndef _WIN32

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "ft260_proto.h"

#ifndef MSG_NOSIGNAL
#define MSG_NOSIGNAL 0             /* macOS: SO_NOSIGPIPE on the socket does the same */
#endif
#ifndef SOCK_CLOEXEC
#define SOCK_CLOEXEC 0
#endif

#define EMU_REPLY_TIMEOUT_MS 2000  /* the emulator replies at once, so this only catches a hang */
#define EMU_DATA_MAX 256
#define EMU_SOCKET_PATH_MAX 108

enum { EMU_DONE = 0, EMU_NO_REPORT = 1, EMU_REJECTED = 2, EMU_BUSY = 3 };

typedef struct emu_dev {
    int fd;
    char name[FT260_HID_NAME_MAX];
} emu_dev;

static trustx_rc emu_io_fail(const emu_dev *d, const char *what, int err)
{
    if (err == EAGAIN || err == EWOULDBLOCK)
        return trustx_fail_errno(TRUSTX_LAYER_TRANSPORT, TRUSTX_E_IO, ETIMEDOUT,
                                 "%s: no reply from the bridge emulator within %d ms during %s",
                                 d->name, EMU_REPLY_TIMEOUT_MS, what);
    if (err == 0)
        return trustx_fail(TRUSTX_LAYER_TRANSPORT, TRUSTX_E_IO,
                           "%s: the bridge emulator closed the connection during %s", d->name,
                           what);
    return trustx_fail_errno(TRUSTX_LAYER_TRANSPORT, TRUSTX_E_IO, err, "%s: %s failed: %s",
                             d->name, what, strerror(err));
}

static trustx_rc send_all(const emu_dev *d, const uint8_t *buf, size_t len, const char *what)
{
    while (len > 0) {
        ssize_t n = send(d->fd, buf, len, MSG_NOSIGNAL);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return emu_io_fail(d, what, n < 0 ? errno : 0);
        buf += n;
        len -= (size_t)n;
    }
    return TRUSTX_OK;
}

static trustx_rc recv_all(const emu_dev *d, uint8_t *buf, size_t len, const char *what)
{
    while (len > 0) {
        ssize_t n = recv(d->fd, buf, len, 0);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return emu_io_fail(d, what, n < 0 ? errno : 0);
        buf += n;
        len -= (size_t)n;
    }
    return TRUSTX_OK;
}

/* Reads one reply; data (cap bytes) receives its payload, *len the payload length. */
static trustx_rc recv_reply(const emu_dev *d, uint8_t *result, uint8_t *data, size_t cap,
                            size_t *len, const char *what)
{
    uint8_t head[3];
    trustx_rc rc = recv_all(d, head, sizeof(head), what);

    if (rc != TRUSTX_OK)
        return rc;
    *result = head[0];
    *len = ((size_t)head[1] << 8) | head[2];
    if (*len > cap)
        return trustx_fail(TRUSTX_LAYER_TRANSPORT, TRUSTX_E_PROTOCOL,
                           "%s: emulator reply of %zu bytes to %s exceeds %zu", d->name, *len, what,
                           cap);
    return recv_all(d, data, *len, what);
}

/* Sends one request and reads its reply; a rejection becomes TRUSTX_E_IO with the reason. */
static trustx_rc exchange(const emu_dev *d, uint8_t kind, const uint8_t *data, size_t len,
                          uint8_t *result, uint8_t *reply, size_t cap, size_t *reply_len,
                          const char *what)
{
    uint8_t head[3] = {kind, (uint8_t)(len >> 8), (uint8_t)len};
    trustx_rc rc;

    rc = send_all(d, head, sizeof(head), what);
    if (rc == TRUSTX_OK && len > 0)
        rc = send_all(d, data, len, what);
    if (rc == TRUSTX_OK)
        rc = recv_reply(d, result, reply, cap, reply_len, what);
    if (rc != TRUSTX_OK)
        return rc;

    if (*result == EMU_REJECTED)
        return trustx_fail(TRUSTX_LAYER_TRANSPORT, TRUSTX_E_IO, "%s: %s rejected: %.*s", d->name,
                           what, (int)*reply_len, (const char *)reply);
    if (*result > EMU_REJECTED)
        return trustx_fail(TRUSTX_LAYER_TRANSPORT, TRUSTX_E_PROTOCOL,
                           "%s: invalid emulator result %u to %s", d->name, *result, what);
    return TRUSTX_OK;
}

static trustx_rc emu_write_output(void *dev, const uint8_t *report, size_t len)
{
    uint8_t reply[EMU_DATA_MAX];
    uint8_t result;
    size_t reply_len;

    return exchange(dev, 'O', report, len, &result, reply, sizeof(reply), &reply_len,
                    "HID output report write");
}

static trustx_rc emu_read_input(void *dev, uint8_t *report, size_t cap, size_t *len,
                                unsigned timeout_ms)
{
    uint8_t request[2] = {(uint8_t)(timeout_ms >> 8), (uint8_t)timeout_ms};
    uint8_t reply[EMU_DATA_MAX];
    uint8_t result;
    size_t reply_len;
    trustx_rc rc;

    if (timeout_ms > 0xFFFF)
        request[0] = request[1] = 0xFF;
    rc = exchange(dev, 'I', request, sizeof(request), &result, reply, sizeof(reply), &reply_len,
                  "HID input report read");
    if (rc != TRUSTX_OK)
        return rc;
    if (result == EMU_NO_REPORT)
        return TRUSTX_E_TIMEOUT;

    *len = reply_len < cap ? reply_len : cap;
    memcpy(report, reply, *len);
    return TRUSTX_OK;
}

static trustx_rc emu_get_feature(void *dev, uint8_t id, uint8_t *buf, size_t cap, size_t *len)
{
    uint8_t request[2] = {id, (uint8_t)(cap < 0xFF ? cap : 0xFF)};
    uint8_t reply[EMU_DATA_MAX];
    uint8_t result;
    size_t reply_len;
    trustx_rc rc;

    rc = exchange(dev, 'G', request, sizeof(request), &result, reply, sizeof(reply), &reply_len,
                  "HID get feature report");
    if (rc != TRUSTX_OK)
        return rc;

    *len = reply_len < cap ? reply_len : cap;
    memcpy(buf, reply, *len);
    return TRUSTX_OK;
}

static trustx_rc emu_set_feature(void *dev, const uint8_t *report, size_t len)
{
    uint8_t reply[EMU_DATA_MAX];
    uint8_t result;
    size_t reply_len;

    return exchange(dev, 'F', report, len, &result, reply, sizeof(reply), &reply_len,
                    "HID set feature report");
}

static void emu_close(void *dev)
{
    emu_dev *d = dev;

    if (d == NULL)
        return;
    if (d->fd >= 0)
        close(d->fd);
    free(d);
}

static const ft260_hid_ops emu_ops = {
    .name = "emulator",
    .write_output = emu_write_output,
    .read_input = emu_read_input,
    .get_feature = emu_get_feature,
    .set_feature = emu_set_feature,
    .close = emu_close,
};

static trustx_rc read_greeting(const emu_dev *d)
{
    uint8_t text[EMU_DATA_MAX];
    uint8_t result;
    size_t len;
    trustx_rc rc = recv_reply(d, &result, text, sizeof(text), &len, "greeting");

    if (rc != TRUSTX_OK)
        return rc;
    if (result == EMU_BUSY)
        return trustx_fail(TRUSTX_LAYER_TRANSPORT, TRUSTX_E_BUSY,
                           "%s is in use by another client; wait for it to finish", d->name);
    if (result != EMU_DONE)
        return trustx_fail(TRUSTX_LAYER_TRANSPORT, TRUSTX_E_PROTOCOL,
                           "%s: unexpected greeting result %u; is this the FT260 emulator?",
                           d->name, result);
    return TRUSTX_OK;
}

trustx_rc transport_ft260_emu_open(const char *socket_path, ft260_hid *out)
{
    struct sockaddr_un sa;
    struct timeval tv = {EMU_REPLY_TIMEOUT_MS / 1000, (EMU_REPLY_TIMEOUT_MS % 1000) * 1000};
    emu_dev *d;
    trustx_rc rc;
    int err;

    if (socket_path[0] == '\0' || strlen(socket_path) >= EMU_SOCKET_PATH_MAX)
        return trustx_fail(TRUSTX_LAYER_TRANSPORT, TRUSTX_E_INVALID_ARG,
                           "ft260:emu=%s: expected a unix socket path of 1..%d bytes",
                           socket_path, EMU_SOCKET_PATH_MAX - 1);

    d = calloc(1, sizeof(*d));
    if (d == NULL)
        return trustx_fail(TRUSTX_LAYER_TRANSPORT, TRUSTX_E_NOMEM, "out of memory");
    snprintf(d->name, sizeof(d->name), "ft260:emu=%s", socket_path);

    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    memcpy(sa.sun_path, socket_path, strlen(socket_path) + 1);
    d->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (d->fd < 0 || connect(d->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        err = errno;
        rc = trustx_fail_errno(TRUSTX_LAYER_TRANSPORT, TRUSTX_E_IO, err,
                               "cannot connect to %s: %s (is tests/ft260emu/ft260emu.py "
                               "listening there?)",
                               d->name, strerror(err));
        emu_close(d);
        return rc;
    }
    setsockopt(d->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(d->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
#ifdef SO_NOSIGPIPE
    {
        int one = 1;

        setsockopt(d->fd, SOL_SOCKET, SO_NOSIGPIPE, &one, sizeof(one));
    }
#endif

    rc = read_greeting(d);
    if (rc != TRUSTX_OK) {
        emu_close(d);
        return rc;
    }

    out->ops = &emu_ops;
    out->dev = d;
    snprintf(out->name, sizeof(out->name), "%s", d->name);
    return TRUSTX_OK;
}

#else

/* NOTE: the emulator link uses unix sockets, which this build does not offer on Windows. */
trustx_rc transport_ft260_emu_open(const char *socket_path, ft260_hid *out)
{
    (void)out;
    return trustx_fail(TRUSTX_LAYER_TRANSPORT, TRUSTX_E_UNSUPPORTED,
                       "ft260:emu=%s: the FT260 emulator link needs unix sockets", socket_path);
}

#endif

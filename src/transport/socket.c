/* SPDX-License-Identifier: MIT */
/*
 * Client of a "trustx-sim serve" process: "socket:PATH" (unix socket) or
 * "tcp:127.0.0.1:PORT". One request per I2C transaction: op(1) addr(1)
 * len(2) [data]; reply status(1) len(2) [data]; all integers big-endian.
 * Op 'S' reports to the simulator that the host waited, which advances its
 * virtual clock. This side keeps its own copy of that clock (sleeps plus
 * the bus cost of each transaction), so deadlines expire without real waits.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "backends.h"

/* macOS has no MSG_NOSIGNAL; there SIGPIPE must be ignored by the application. */
#ifndef MSG_NOSIGNAL
#define MSG_NOSIGNAL 0
#endif

#define SOCKET_PATH_MAX 108
#define SOCKET_XFER_MAX 0xFFFF
#define SOCKET_IO_TIMEOUT_S 10
#define SOCKET_BITS_PER_BYTE 9
#define SOCKET_GUARD_US 50

enum { REPLY_ACK = 0, REPLY_NACK = 1, REPLY_BAD_REQUEST = 2 };

typedef struct socket_ctx {
    int fd;
    unsigned speed_khz;
    uint64_t now_us;
    char name[128];
} socket_ctx;

static trustx_rc io_fail(socket_ctx *c, const char *what, int err)
{
    if (err == 0)
        return trustx_fail(TRUSTX_LAYER_TRANSPORT, TRUSTX_E_IO,
                           "%s: simulator closed the connection during %s", c->name, what);
    return trustx_fail_errno(TRUSTX_LAYER_TRANSPORT, TRUSTX_E_IO, err, "%s: %s failed: %s",
                             c->name, what, strerror(err));
}

static trustx_rc send_all(socket_ctx *c, const uint8_t *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = send(c->fd, buf, len, MSG_NOSIGNAL);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return io_fail(c, "send", n < 0 ? errno : 0);
        buf += n;
        len -= (size_t)n;
    }
    return TRUSTX_OK;
}

static trustx_rc recv_all(socket_ctx *c, uint8_t *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = recv(c->fd, buf, len, 0);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return io_fail(c, "receive", n < 0 ? errno : 0);
        buf += n;
        len -= (size_t)n;
    }
    return TRUSTX_OK;
}

static void charge_bus(socket_ctx *c, size_t bytes)
{
    unsigned khz = c->speed_khz ? c->speed_khz : TRUSTX_I2C_DEFAULT_KHZ;

    c->now_us += SOCKET_GUARD_US + ((bytes + 1) * SOCKET_BITS_PER_BYTE * 1000u + khz - 1) / khz;
}

/* Sends one request and reads the reply header; the reply data is left to the caller. */
static trustx_rc exchange(socket_ctx *c, uint8_t op, uint8_t addr, const uint8_t *data,
                          size_t len, uint8_t *status, size_t *reply_len)
{
    uint8_t head[4] = {op, addr, (uint8_t)(len >> 8), (uint8_t)len};
    uint8_t reply[3];
    trustx_rc rc;

    rc = send_all(c, head, sizeof(head));
    if (rc == TRUSTX_OK && op != 'R' && len > 0)
        rc = send_all(c, data, len);
    if (rc == TRUSTX_OK)
        rc = recv_all(c, reply, sizeof(reply));
    if (rc != TRUSTX_OK)
        return rc;

    *status = reply[0];
    *reply_len = ((size_t)reply[1] << 8) | reply[2];
    if (*status != REPLY_ACK && *reply_len > 0) {
        uint8_t sink[256];

        /* Data after an error reply is read off, so the stream stays in step. */
        for (size_t left = *reply_len; left > 0 && rc == TRUSTX_OK;) {
            size_t n = left < sizeof(sink) ? left : sizeof(sink);

            rc = recv_all(c, sink, n);
            left -= n;
        }
        if (rc != TRUSTX_OK)
            return rc;
    }
    if (*status == REPLY_BAD_REQUEST)
        return trustx_fail(TRUSTX_LAYER_TRANSPORT, TRUSTX_E_PROTOCOL,
                           "%s: simulator rejected request '%c' of %zu bytes as malformed",
                           c->name, op, len);
    if (*status > REPLY_BAD_REQUEST)
        return trustx_fail(TRUSTX_LAYER_TRANSPORT, TRUSTX_E_PROTOCOL,
                           "%s: invalid reply status %u from the simulator", c->name, *status);
    return TRUSTX_OK;
}

static trustx_rc nack(socket_ctx *c, uint8_t addr)
{
    return trustx_fail(TRUSTX_LAYER_TRANSPORT, TRUSTX_E_NACK,
                       "%s: address 0x%02x not acknowledged", c->name, addr);
}

static trustx_rc socket_write(void *ctx, uint8_t addr, const uint8_t *buf, size_t len)
{
    socket_ctx *c = ctx;
    uint8_t status;
    size_t reply_len;
    trustx_rc rc;

    if (len > SOCKET_XFER_MAX)
        return trustx_fail(TRUSTX_LAYER_TRANSPORT, TRUSTX_E_INVALID_ARG,
                           "%s: write of %zu bytes exceeds the wire format limit", c->name, len);
    charge_bus(c, len);
    rc = exchange(c, 'W', addr, buf, len, &status, &reply_len);
    if (rc == TRUSTX_OK && reply_len != 0)
        rc = trustx_fail(TRUSTX_LAYER_TRANSPORT, TRUSTX_E_PROTOCOL,
                         "%s: write reply carries %zu unexpected bytes", c->name, reply_len);
    if (rc == TRUSTX_OK && status == REPLY_NACK)
        rc = nack(c, addr);
    return rc;
}

static trustx_rc socket_read(void *ctx, uint8_t addr, uint8_t *buf, size_t len)
{
    socket_ctx *c = ctx;
    uint8_t status;
    size_t reply_len;
    trustx_rc rc;

    if (len > SOCKET_XFER_MAX)
        return trustx_fail(TRUSTX_LAYER_TRANSPORT, TRUSTX_E_INVALID_ARG,
                           "%s: read of %zu bytes exceeds the wire format limit", c->name, len);
    charge_bus(c, len);
    rc = exchange(c, 'R', addr, NULL, len, &status, &reply_len);
    if (rc != TRUSTX_OK)
        return rc;
    if (status == REPLY_NACK) {
        if (reply_len != 0)
            return trustx_fail(TRUSTX_LAYER_TRANSPORT, TRUSTX_E_PROTOCOL,
                               "%s: NACK reply carries %zu bytes", c->name, reply_len);
        return nack(c, addr);
    }
    if (reply_len != len)
        return trustx_fail(TRUSTX_LAYER_TRANSPORT, TRUSTX_E_PROTOCOL,
                           "%s: read of %zu bytes returned %zu", c->name, len, reply_len);
    return recv_all(c, buf, len);
}

static trustx_rc socket_set_speed(void *ctx, unsigned khz)
{
    socket_ctx *c = ctx;

    c->speed_khz = khz;
    return TRUSTX_OK;
}

static uint64_t socket_now_us(void *ctx)
{
    socket_ctx *c = ctx;

    return c->now_us;
}

static void socket_sleep_us(void *ctx, uint32_t us)
{
    socket_ctx *c = ctx;
    uint8_t count[4] = {(uint8_t)(us >> 24), (uint8_t)(us >> 16), (uint8_t)(us >> 8), (uint8_t)us};
    uint8_t status;
    size_t reply_len;

    /*
     * A failed 'S' is not reported here because sleep cannot fail; the next
     * transaction on the same broken connection reports it.
     */
    c->now_us += us;
    (void)exchange(c, 'S', 0, count, sizeof(count), &status, &reply_len);
}

static void socket_close(void *ctx)
{
    socket_ctx *c = ctx;

    if (c == NULL)
        return;
    if (c->fd >= 0)
        close(c->fd);
    free(c);
}

const trustx_transport_ops transport_socket_ops = {
    .name = "socket",
    .description = "trustx-sim serve process: socket:PATH or tcp:127.0.0.1:PORT",
    .write = socket_write,
    .read = socket_read,
    .set_speed = socket_set_speed,
    .now_us = socket_now_us,
    .sleep_us = socket_sleep_us,
    .hard_reset = NULL,
    .close = socket_close,
};

static void set_timeouts(int fd)
{
    struct timeval tv = {SOCKET_IO_TIMEOUT_S, 0};

    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

static trustx_rc finish_open(socket_ctx *c, const transport_bus_options *opts,
                             trustx_transport **out)
{
    trustx_rc rc;

    set_timeouts(c->fd);
    c->speed_khz = opts->speed_khz;
    rc = trustx_transport_new(&transport_socket_ops, c, out);
    if (rc != TRUSTX_OK) {
        socket_close(c);
        return rc;
    }
    (*out)->addr = opts->addr;
    (*out)->speed_khz = opts->speed_khz;
    return TRUSTX_OK;
}

trustx_rc transport_socket_open(const char *args, trustx_transport **out)
{
    char path[SOCKET_PATH_MAX];
    struct sockaddr_un sa;
    transport_bus_options opts;
    socket_ctx *c;
    trustx_rc rc;
    int err;

    rc = transport_parse_args("socket", args, path, sizeof(path), &opts, NULL, NULL, 0);
    if (rc == TRUSTX_OK && path[0] == '\0')
        rc = trustx_fail(TRUSTX_LAYER_TRANSPORT, TRUSTX_E_INVALID_ARG,
                         "socket: no socket path given; use socket:PATH");
    if (rc != TRUSTX_OK)
        return rc;

    c = calloc(1, sizeof(*c));
    if (c == NULL)
        return trustx_fail(TRUSTX_LAYER_TRANSPORT, TRUSTX_E_NOMEM, "out of memory");
    snprintf(c->name, sizeof(c->name), "socket:%s", path);

    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    memcpy(sa.sun_path, path, strlen(path) + 1);
    c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (c->fd < 0 || connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        err = errno;
        socket_close(c);
        return trustx_fail_errno(TRUSTX_LAYER_TRANSPORT, TRUSTX_E_IO, err,
                                 "cannot connect to simulator socket %s: %s (is 'trustx-sim serve "
                                 "STATE --socket %s' running?)",
                                 path, strerror(err), path);
    }
    return finish_open(c, &opts, out);
}

/* Accepts only loopback hosts: a simulator is a local test fixture. */
static trustx_rc parse_loopback(const char *hostport, struct sockaddr_in *sa)
{
    char host[64];
    const char *colon = strrchr(hostport, ':');
    char *end;
    unsigned long port;

    if (colon == NULL || (size_t)(colon - hostport) >= sizeof(host))
        return trustx_fail(TRUSTX_LAYER_TRANSPORT, TRUSTX_E_INVALID_ARG,
                           "tcp: invalid address '%s'; use tcp:127.0.0.1:PORT", hostport);
    memcpy(host, hostport, (size_t)(colon - hostport));
    host[colon - hostport] = '\0';
    port = strtoul(colon + 1, &end, 10);
    if (end == colon + 1 || *end != '\0' || port == 0 || port > 65535)
        return trustx_fail(TRUSTX_LAYER_TRANSPORT, TRUSTX_E_INVALID_ARG,
                           "tcp: invalid port '%s'; use tcp:127.0.0.1:PORT", colon + 1);

    memset(sa, 0, sizeof(*sa));
    sa->sin_family = AF_INET;
    sa->sin_port = htons((uint16_t)port);
    if (strcmp(host, "localhost") == 0)
        strcpy(host, "127.0.0.1");
    if (inet_pton(AF_INET, host, &sa->sin_addr) != 1 ||
        (ntohl(sa->sin_addr.s_addr) >> 24) != 127)
        return trustx_fail(TRUSTX_LAYER_TRANSPORT, TRUSTX_E_INVALID_ARG,
                           "tcp: host '%s' is not a loopback address; the simulator serves "
                           "only on 127.0.0.0/8",
                           host);
    return TRUSTX_OK;
}

trustx_rc transport_tcp_open(const char *args, trustx_transport **out)
{
    char hostport[96];
    struct sockaddr_in sa;
    transport_bus_options opts;
    socket_ctx *c;
    trustx_rc rc;
    int err;
    int one = 1;

    rc = transport_parse_args("tcp", args, hostport, sizeof(hostport), &opts, NULL, NULL, 0);
    if (rc == TRUSTX_OK)
        rc = parse_loopback(hostport, &sa);
    if (rc != TRUSTX_OK)
        return rc;

    c = calloc(1, sizeof(*c));
    if (c == NULL)
        return trustx_fail(TRUSTX_LAYER_TRANSPORT, TRUSTX_E_NOMEM, "out of memory");
    snprintf(c->name, sizeof(c->name), "tcp:%s", hostport);

    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (c->fd < 0 || connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        err = errno;
        socket_close(c);
        return trustx_fail_errno(TRUSTX_LAYER_TRANSPORT, TRUSTX_E_IO, err,
                                 "cannot connect to simulator at %s: %s (is 'trustx-sim serve "
                                 "STATE --tcp %s' running?)",
                                 hostport, strerror(err), hostport);
    }
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    return finish_open(c, &opts, out);
}

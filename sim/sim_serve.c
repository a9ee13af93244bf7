/* SPDX-License-Identifier: MIT */
/* Socket server of trustx-sim serve: listening, the request loop and the wire format. */
#include "sim_serve.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "trustx/log.h"

#define LOG_COMPONENT "sim-serve"
#define LISTEN_BACKLOG 8
#define TCP_PREFIX "127.0.0.1:"
#define MS_PER_POLL SIM_SERVE_POLL_MS

struct sim_server {
    int fd;
    int once;
    unsigned port;
    char *socket_path;         /* unix socket file to remove at close, or NULL */
};

/* How a read of a client's bytes ended. */
typedef enum client_read { CLIENT_DATA, CLIENT_EOF, CLIENT_GONE } client_read;

trustx_rc sim_serve_parse_tcp(const char *text, uint16_t *port)
{
    const char *digits;
    char *end = NULL;
    unsigned long value;

    if (text == NULL || strncmp(text, TCP_PREFIX, strlen(TCP_PREFIX)) != 0)
        return trustx_fail(TRUSTX_LAYER_SIM, TRUSTX_E_INVALID_ARG,
                           "invalid TCP address '%s': only 127.0.0.1:PORT is accepted, so that "
                           "the simulator is reachable from this machine only",
                           text != NULL ? text : "");

    digits = text + strlen(TCP_PREFIX);
    errno = 0;
    value = strtoul(digits, &end, 10);
    if (*digits < '0' || *digits > '9' || errno != 0 || *end != '\0' || value > 65535)
        return trustx_fail(TRUSTX_LAYER_SIM, TRUSTX_E_INVALID_ARG,
                           "invalid port in '%s': expected 0..65535 (0 picks a free port)", text);
    *port = (uint16_t)value;
    return TRUSTX_OK;
}

static void set_cloexec(int fd)
{
    int flags = fcntl(fd, F_GETFD);

    if (flags >= 0)
        fcntl(fd, F_SETFD, flags | FD_CLOEXEC);
}

static trustx_rc listen_tcp(sim_server *server, const char *text)
{
    struct sockaddr_in sa;
    socklen_t sa_len = sizeof(sa);
    uint16_t port;
    int one = 1;
    trustx_rc rc = sim_serve_parse_tcp(text, &port);

    if (rc != TRUSTX_OK)
        return rc;

    server->fd = socket(AF_INET, SOCK_STREAM, 0);
    if (server->fd < 0)
        return trustx_fail_errno(TRUSTX_LAYER_SIM, TRUSTX_E_IO, errno,
                                 "cannot create a TCP socket: %s", strerror(errno));
    set_cloexec(server->fd);
    setsockopt(server->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));

    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sa.sin_port = htons(port);
    if (bind(server->fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
        listen(server->fd, LISTEN_BACKLOG) != 0)
        return trustx_fail_errno(TRUSTX_LAYER_SIM, TRUSTX_E_IO, errno,
                                 "cannot listen on %s: %s; pick another port or 0 for a free one",
                                 text, strerror(errno));

    if (getsockname(server->fd, (struct sockaddr *)&sa, &sa_len) != 0)
        return trustx_fail_errno(TRUSTX_LAYER_SIM, TRUSTX_E_IO, errno,
                                 "cannot read the bound port of %s: %s", text, strerror(errno));
    server->port = ntohs(sa.sin_port);
    return TRUSTX_OK;
}

/* Removes a socket file left by a server that is gone; refuses a live one or a non-socket. */
static trustx_rc clear_socket_path(const struct sockaddr_un *sa)
{
    struct stat st;
    int probe;
    int alive;

    if (lstat(sa->sun_path, &st) != 0)
        return TRUSTX_OK;
    if (!S_ISSOCK(st.st_mode))
        return trustx_fail(TRUSTX_LAYER_SIM, TRUSTX_E_IO,
                           "%s exists and is not a socket; remove it or choose another path",
                           sa->sun_path);

    probe = socket(AF_UNIX, SOCK_STREAM, 0);
    if (probe < 0)
        return trustx_fail_errno(TRUSTX_LAYER_SIM, TRUSTX_E_IO, errno,
                                 "cannot create a unix socket: %s", strerror(errno));
    alive = connect(probe, (const struct sockaddr *)sa, sizeof(*sa)) == 0;
    close(probe);
    if (alive)
        return trustx_fail(TRUSTX_LAYER_SIM, TRUSTX_E_BUSY,
                           "another server is listening on %s; stop it or choose another path",
                           sa->sun_path);

    trustx_log(TRUSTX_LOG_INFO, LOG_COMPONENT, "removing stale socket %s", sa->sun_path);
    unlink(sa->sun_path);
    return TRUSTX_OK;
}

static trustx_rc listen_unix(sim_server *server, const char *path)
{
    struct sockaddr_un sa;
    trustx_rc rc;

    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    if (*path == '\0' || strlen(path) >= sizeof(sa.sun_path))
        return trustx_fail(TRUSTX_LAYER_SIM, TRUSTX_E_INVALID_ARG,
                           "invalid socket path '%s': expected 1..%zu characters", path,
                           sizeof(sa.sun_path) - 1);
    memcpy(sa.sun_path, path, strlen(path) + 1);

    rc = clear_socket_path(&sa);
    if (rc != TRUSTX_OK)
        return rc;

    server->fd = socket(AF_UNIX, SOCK_STREAM, 0);
    if (server->fd < 0)
        return trustx_fail_errno(TRUSTX_LAYER_SIM, TRUSTX_E_IO, errno,
                                 "cannot create a unix socket: %s", strerror(errno));
    set_cloexec(server->fd);
    if (bind(server->fd, (struct sockaddr *)&sa, sizeof(sa)) != 0)
        return trustx_fail_errno(TRUSTX_LAYER_SIM, TRUSTX_E_IO, errno,
                                 "cannot bind unix socket %s: %s", path, strerror(errno));

    server->socket_path = strdup(path);
    if (server->socket_path == NULL)
        return trustx_fail(TRUSTX_LAYER_SIM, TRUSTX_E_NOMEM, "out of memory");
    if (listen(server->fd, LISTEN_BACKLOG) != 0)
        return trustx_fail_errno(TRUSTX_LAYER_SIM, TRUSTX_E_IO, errno,
                                 "cannot listen on unix socket %s: %s", path, strerror(errno));
    return TRUSTX_OK;
}

trustx_rc sim_serve_listen(const sim_serve_config *cfg, sim_server **out)
{
    sim_server *server;
    trustx_rc rc;

    if ((cfg->socket_path == NULL) == (cfg->tcp == NULL))
        return trustx_fail(TRUSTX_LAYER_SIM, TRUSTX_E_INVALID_ARG,
                           "give exactly one of a unix socket path and a TCP address");

    server = calloc(1, sizeof(*server));
    if (server == NULL)
        return trustx_fail(TRUSTX_LAYER_SIM, TRUSTX_E_NOMEM, "out of memory");
    server->fd = -1;
    server->once = cfg->once;

    if (cfg->tcp != NULL)
        rc = listen_tcp(server, cfg->tcp);
    else
        rc = listen_unix(server, cfg->socket_path);
    if (rc != TRUSTX_OK) {
        sim_serve_close(server);
        return rc;
    }

    *out = server;
    return TRUSTX_OK;
}

unsigned sim_serve_port(const sim_server *server)
{
    return server->port;
}

void sim_serve_close(sim_server *server)
{
    if (server == NULL)
        return;
    if (server->fd >= 0)
        close(server->fd);
    if (server->socket_path != NULL) {
        unlink(server->socket_path);
        free(server->socket_path);
    }
    free(server);
}

static size_t reply_status(uint8_t *reply, uint8_t status, size_t len)
{
    reply[0] = status;
    reply[1] = (uint8_t)(len >> 8);
    reply[2] = (uint8_t)len;
    return SIM_SERVE_REPLY_HEADER + len;
}

size_t sim_serve_execute(sim_chip *chip, uint8_t op, uint8_t addr, const uint8_t *data,
                         size_t len, uint8_t *reply)
{
    uint32_t us;

    if (addr > 0x7F || len > SIM_SERVE_MAX_LEN)
        return reply_status(reply, SIM_SERVE_BAD_REQUEST, 0);

    switch (op) {
    case 'W':
        if (sim_chip_i2c_write(chip, addr, data, len) != SIM_BUS_ACK)
            return reply_status(reply, SIM_SERVE_NACK, 0);
        return reply_status(reply, SIM_SERVE_ACK, 0);
    case 'R':
        if (sim_chip_i2c_read(chip, addr, reply + SIM_SERVE_REPLY_HEADER, len) != SIM_BUS_ACK)
            return reply_status(reply, SIM_SERVE_NACK, 0);
        return reply_status(reply, SIM_SERVE_ACK, len);
    case 'S':
        if (len != 4)
            return reply_status(reply, SIM_SERVE_BAD_REQUEST, 0);
        us = ((uint32_t)data[0] << 24) | ((uint32_t)data[1] << 16) | ((uint32_t)data[2] << 8) |
             data[3];
        sim_chip_advance(chip, us);
        return reply_status(reply, SIM_SERVE_ACK, 0);
    default:
        return reply_status(reply, SIM_SERVE_BAD_REQUEST, 0);
    }
}

/* Waits until fd is readable (returns 1), *stop is set (0) or poll fails (-1, errno set). */
static int wait_readable(int fd, const volatile sig_atomic_t *stop)
{
    struct pollfd pfd;
    int ready;

    while (!*stop) {
        pfd.fd = fd;
        pfd.events = POLLIN;
        pfd.revents = 0;
        ready = poll(&pfd, 1, MS_PER_POLL);
        if (ready > 0)
            return 1;
        if (ready < 0 && errno != EINTR)
            return -1;
    }
    return 0;
}

/* Reads exactly n bytes. EOF before the first byte is a clean disconnect. */
static client_read read_exact(int fd, uint8_t *buf, size_t n, const volatile sig_atomic_t *stop)
{
    size_t done = 0;
    ssize_t got;

    while (done < n) {
        if (wait_readable(fd, stop) != 1)
            return CLIENT_GONE;
        got = read(fd, buf + done, n - done);
        if (got == 0)
            return done == 0 ? CLIENT_EOF : CLIENT_GONE;
        if (got < 0) {
            if (errno == EINTR)
                continue;
            return CLIENT_GONE;
        }
        done += (size_t)got;
    }
    return CLIENT_DATA;
}

/* Reads and drops the n data bytes of a request that gets status 2. */
static client_read discard(int fd, size_t n, const volatile sig_atomic_t *stop)
{
    uint8_t sink[256];
    size_t chunk;
    client_read result;

    while (n > 0) {
        chunk = n < sizeof(sink) ? n : sizeof(sink);
        result = read_exact(fd, sink, chunk, stop);
        if (result != CLIENT_DATA)
            return CLIENT_GONE;
        n -= chunk;
    }
    return CLIENT_DATA;
}

static int write_all(int fd, const uint8_t *buf, size_t n)
{
    ssize_t sent;

    while (n > 0) {
        sent = send(fd, buf, n, MSG_NOSIGNAL);
        if (sent < 0 && errno == EINTR)
            continue;
        if (sent <= 0)
            return -1;
        buf += sent;
        n -= (size_t)sent;
    }
    return 0;
}

static void log_request(uint8_t op, uint8_t addr, size_t len, const uint8_t *reply)
{
    if (!trustx_log_enabled(TRUSTX_LOG_TRACE))
        return;
    trustx_log(TRUSTX_LOG_TRACE, LOG_COMPONENT, "%c addr 0x%02X len %zu -> status %u",
               op >= 0x20 && op < 0x7F ? op : '?', addr, len, reply[0]);
}

/*
 * Serves one client until it disconnects, sends an unknown op, or *stop is
 * set. Returns the number of requests served.
 */
static uint64_t serve_client(sim_chip *chip, int fd, const volatile sig_atomic_t *stop)
{
    static const size_t data_cap = SIM_SERVE_MAX_LEN;
    uint8_t header[SIM_SERVE_HEADER];
    uint8_t *data = malloc(data_cap);
    uint8_t *reply = malloc(SIM_SERVE_REPLY_HEADER + SIM_SERVE_MAX_LEN);
    uint64_t served = 0;
    size_t reply_len;
    size_t len;
    uint8_t op;
    int known;
    int has_data;

    if (data == NULL || reply == NULL)
        trustx_log(TRUSTX_LOG_ERROR, LOG_COMPONENT, "out of memory for a client's buffers");

    while (data != NULL && reply != NULL) {
        client_read result = read_exact(fd, header, sizeof(header), stop);

        if (result == CLIENT_EOF)
            break;
        if (result == CLIENT_GONE) {
            if (!*stop)
                trustx_log(TRUSTX_LOG_WARN, LOG_COMPONENT,
                           "client disconnected in the middle of a request");
            break;
        }

        op = header[0];
        len = ((size_t)header[2] << 8) | header[3];
        known = op == 'W' || op == 'R' || op == 'S';
        has_data = op == 'W' || op == 'S';

        if (has_data && len > data_cap) {
            if (discard(fd, len, stop) != CLIENT_DATA)
                break;
            reply_len = reply_status(reply, SIM_SERVE_BAD_REQUEST, 0);
        } else {
            if (has_data && read_exact(fd, data, len, stop) != CLIENT_DATA)
                break;
            reply_len = sim_serve_execute(chip, op, header[1], data, len, reply);
        }

        log_request(op, header[1], len, reply);
        served++;
        if (write_all(fd, reply, reply_len) != 0)
            break;
        if (!known) {
            trustx_log(TRUSTX_LOG_WARN, LOG_COMPONENT,
                       "unknown request op 0x%02X; closing the connection", op);
            break;
        }
    }

    free(data);
    free(reply);
    return served;
}

trustx_rc sim_serve_run(sim_server *server, sim_chip *chip, const volatile sig_atomic_t *stop)
{
    uint64_t served;
    int client;
    int ready;

    while (!*stop) {
        ready = wait_readable(server->fd, stop);
        if (ready == 0)
            break;
        if (ready < 0)
            return trustx_fail_errno(TRUSTX_LAYER_SIM, TRUSTX_E_IO, errno,
                                     "waiting for clients failed: %s", strerror(errno));

        client = accept(server->fd, NULL, NULL);
        if (client < 0) {
            if (errno == EINTR || errno == ECONNABORTED || errno == EAGAIN)
                continue;
            return trustx_fail_errno(TRUSTX_LAYER_SIM, TRUSTX_E_IO, errno,
                                     "accepting a client failed: %s", strerror(errno));
        }
        set_cloexec(client);

        trustx_log(TRUSTX_LOG_INFO, LOG_COMPONENT, "client connected at %llu us virtual time",
                   (unsigned long long)sim_chip_now_us(chip));
        served = serve_client(chip, client, stop);
        close(client);
        trustx_log(TRUSTX_LOG_INFO, LOG_COMPONENT, "client disconnected after %llu requests",
                   (unsigned long long)served);

        if (server->once)
            break;
    }
    return TRUSTX_OK;
}

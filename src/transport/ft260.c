/* SPDX-License-Identifier: MIT */
/*
 * FTDI FT260 USB-HID to I2C bridge backend: "ft260:", "ft260:/dev/hidrawN",
 * "ft260:serial=S" and, for tests, "ft260:emu=SOCKET", each with ",addr=",
 * ",speed=" and ",hid=hidraw|hidapi". One I2C transaction is one or more
 * write reports, or one read request and its input reports, each checked
 * against the bridge's I2C status report.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ft260_hid.h"
#include "ft260_proto.h"
#include "trustx/log.h"

#define FT260_ARGS_MAX 512
#define FT260_WORDS_MAX 160
#define FT260_SERIAL_MAX 65        /* USB serial number strings are far shorter */

/* Status polling after each report: the bus time of the report plus this much. */
#define FT260_STATUS_TIMEOUT_US 100000u
#define FT260_STATUS_POLL_US 200u  /* pause between two status polls */
#define FT260_STATUS_POLL_MAX 500  /* bounds the loop even if the clock stands still */

/* Reads: wait this long for each input report, then ask the status why none came. */
#define FT260_INPUT_POLL_MS 5u
#define FT260_READ_TIMEOUT_US 500000u /* beyond the bus time of the read */
#define FT260_DRAIN_MAX 64         /* stale input reports dropped before a read */

/* Bus recovery when the bridge is opened. */
#define FT260_RECOVER_RESETS 3
#define FT260_RESET_SETTLE_US 2000u

/*
 * The FT260 enters power saving after 5 s without traffic, and the first
 * status after waking can miss an address NACK (seen by the Linux hid-ft260
 * driver, which reads the status twice after 4.8 s idle). Same rule here.
 */
#define FT260_IDLE_WAKE_US 4800000u

typedef struct ft260_ctx {
    ft260_hid hid;
    unsigned clock_khz;        /* the clock last requested */
    uint64_t last_io_us;       /* end of the last transaction, real clock */
    int wake_pending;          /* read the status one extra time */
} ft260_ctx;

static const char *words(uint8_t bus, char *buf)
{
    return transport_ft260_status_words(bus, buf, FT260_WORDS_MAX);
}

static trustx_rc get_status(ft260_ctx *c, ft260_status *st)
{
    uint8_t buf[FT260_REPORT_MAX];
    size_t n = 0;
    trustx_rc rc;

    rc = c->hid.ops->get_feature(c->hid.dev, FT260_REPORT_I2C_STATUS, buf,
                                 FT260_STATUS_REPORT_LEN, &n);
    if (rc != TRUSTX_OK)
        return rc;
    if (transport_ft260_decode_status(buf, n, st) != 0)
        return trustx_fail(TRUSTX_LAYER_TRANSPORT, TRUSTX_E_PROTOCOL,
                           "%s: malformed I2C status report (%zu bytes, report ID 0x%02x)",
                           c->hid.name, n, n > 0 ? buf[0] : 0);
    return TRUSTX_OK;
}

static trustx_rc reset_controller(ft260_ctx *c)
{
    uint8_t report[FT260_REPORT_MAX];
    size_t n = transport_ft260_encode_i2c_reset(report);

    trustx_log(TRUSTX_LOG_DEBUG, "ft260", "%s: resetting the I2C controller", c->hid.name);
    return c->hid.ops->set_feature(c->hid.dev, report, n);
}

/* Marks the start of a transaction. A bridge idle for long may have gone to power saving. */
static void begin_transaction(ft260_ctx *c)
{
    uint64_t now = transport_real_now_us(c);

    c->wake_pending = c->last_io_us != 0 && now - c->last_io_us > FT260_IDLE_WAKE_US;
}

static void end_transaction(ft260_ctx *c)
{
    c->last_io_us = transport_real_now_us(c);
}

/*
 * Polls the status until the controller has finished the last report, or
 * budget_us passes. last is nonzero when that report carried STOP.
 */
static trustx_rc poll_status(ft260_ctx *c, int last, uint32_t budget_us, ft260_status *st)
{
    uint64_t deadline = transport_real_now_us(c) + budget_us;
    char text[FT260_WORDS_MAX];
    trustx_rc rc;

    if (c->wake_pending) {
        c->wake_pending = 0;
        rc = get_status(c, st);
        if (rc != TRUSTX_OK)
            return rc;
    }

    for (unsigned poll = 0;; poll++) {
        rc = get_status(c, st);
        if (rc != TRUSTX_OK)
            return rc;
        if (transport_ft260_classify(st->bus, last) != FT260_OUTCOME_PENDING)
            return TRUSTX_OK;
        if (transport_real_now_us(c) >= deadline || poll + 1 >= FT260_STATUS_POLL_MAX)
            break;
        transport_real_sleep_us(c, FT260_STATUS_POLL_US);
    }

    (void)reset_controller(c);
    return trustx_fail(TRUSTX_LAYER_TRANSPORT, TRUSTX_E_IO,
                       "%s: I2C transfer did not finish within %u ms (status: %s); the I2C "
                       "controller was reset",
                       c->hid.name, (unsigned)(budget_us / 1000), words(st->bus, text));
}

/* Turns a NACK or bus error from the status into the transport's error. */
static trustx_rc transfer_error(ft260_ctx *c, const char *what, uint8_t addr,
                                const ft260_status *st)
{
    char text[FT260_WORDS_MAX];

    if (transport_ft260_classify(st->bus, 1) == FT260_OUTCOME_NACK) {
        if (st->bus & FT260_STATUS_BUS_BUSY)
            (void)reset_controller(c);
        return trustx_fail(TRUSTX_LAYER_TRANSPORT, TRUSTX_E_NACK,
                           "%s: address 0x%02x not acknowledged on %s", c->hid.name, addr, what);
    }

    (void)reset_controller(c);
    return trustx_fail(TRUSTX_LAYER_TRANSPORT, TRUSTX_E_IO,
                       "%s: I2C %s at address 0x%02x failed: %s (status 0x%02x); the I2C "
                       "controller was reset",
                       c->hid.name, what, addr, words(st->bus, text), st->bus);
}

static trustx_rc ft260_write(void *ctx, uint8_t addr, const uint8_t *buf, size_t len)
{
    ft260_ctx *c = ctx;
    size_t count = transport_ft260_write_report_count(len);
    trustx_rc rc = TRUSTX_OK;

    if (len == 0)
        return trustx_fail(TRUSTX_LAYER_TRANSPORT, TRUSTX_E_INVALID_ARG,
                           "%s: an I2C write needs at least one byte", c->hid.name);

    begin_transaction(c);
    for (size_t i = 0; i < count && rc == TRUSTX_OK; i++) {
        uint8_t report[FT260_REPORT_MAX];
        size_t n = transport_ft260_encode_write(addr, buf, len, i, report);
        int last = i + 1 == count;
        ft260_status st;

        rc = c->hid.ops->write_output(c->hid.dev, report, n);
        if (rc == TRUSTX_OK)
            rc = poll_status(c, last, FT260_STATUS_TIMEOUT_US +
                                          transport_ft260_bus_time_us(report[3], c->clock_khz),
                             &st);
        if (rc == TRUSTX_OK && transport_ft260_classify(st.bus, last) != FT260_OUTCOME_DONE)
            rc = transfer_error(c, "write", addr, &st);
    }
    end_transaction(c);
    return rc;
}

/* Drops input reports left over from an earlier read that failed half-way. */
static trustx_rc drain_input(ft260_ctx *c)
{
    for (unsigned i = 0; i < FT260_DRAIN_MAX; i++) {
        uint8_t report[FT260_REPORT_MAX];
        size_t n = 0;
        trustx_rc rc = c->hid.ops->read_input(c->hid.dev, report, sizeof(report), &n, 0);

        if (rc == TRUSTX_E_TIMEOUT)
            return TRUSTX_OK;
        if (rc != TRUSTX_OK)
            return rc;
        trustx_log(TRUSTX_LOG_DEBUG, "ft260", "%s: dropped a stale input report (ID 0x%02x)",
                   c->hid.name, n > 0 ? report[0] : 0);
    }
    return trustx_fail(TRUSTX_LAYER_TRANSPORT, TRUSTX_E_IO,
                       "%s: the bridge keeps sending input reports nobody requested", c->hid.name);
}

/* Copies one input report's payload into buf at *got. */
static trustx_rc take_input(ft260_ctx *c, const uint8_t *report, size_t n, uint8_t *buf,
                            size_t len, size_t *got)
{
    size_t offset, payload;
    int r = transport_ft260_decode_input(report, n, &offset, &payload);

    if (r == -1)
        return trustx_fail(TRUSTX_LAYER_TRANSPORT, TRUSTX_E_PROTOCOL,
                           "%s: unexpected input report ID 0x%02x during an I2C read",
                           c->hid.name, n > 0 ? report[0] : 0);
    if (r != 0)
        return trustx_fail(TRUSTX_LAYER_TRANSPORT, TRUSTX_E_PROTOCOL,
                           "%s: input report claims %u data bytes but contains %zu", c->hid.name,
                           report[1], n - FT260_INPUT_HEADER_LEN);
    if (payload > len - *got)
        return trustx_fail(TRUSTX_LAYER_TRANSPORT, TRUSTX_E_PROTOCOL,
                           "%s: the bridge returned more than the %zu bytes requested",
                           c->hid.name, len);

    memcpy(buf + *got, report + offset, payload);
    *got += payload;
    return TRUSTX_OK;
}

/* Collects the input reports of a read request, asking the status whenever none arrives. */
static trustx_rc collect_input(ft260_ctx *c, uint8_t addr, uint8_t *buf, size_t len)
{
    uint32_t budget_us = FT260_READ_TIMEOUT_US + transport_ft260_bus_time_us(len, c->clock_khz);
    uint64_t start = transport_real_now_us(c);
    uint64_t deadline = start + budget_us;
    size_t rounds = len + budget_us / (FT260_INPUT_POLL_MS * 1000u) + 1;
    char text[FT260_WORDS_MAX];
    size_t got = 0;
    ft260_status st = {0, 0};

    for (size_t round = 0; got < len && round < rounds; round++) {
        uint8_t report[FT260_REPORT_MAX];
        size_t n = 0;
        trustx_rc rc;

        rc = c->hid.ops->read_input(c->hid.dev, report, sizeof(report), &n, FT260_INPUT_POLL_MS);
        if (rc == TRUSTX_OK) {
            rc = take_input(c, report, n, buf, len, &got);
            if (rc != TRUSTX_OK) {
                (void)reset_controller(c);
                return rc;
            }
            continue;
        }
        if (rc != TRUSTX_E_TIMEOUT)
            return rc;

        /* No data yet: an address NACK ends the read without any input report. */
        rc = get_status(c, &st);
        if (rc != TRUSTX_OK)
            return rc;
        if (transport_ft260_classify(st.bus, 1) == FT260_OUTCOME_NACK ||
            transport_ft260_classify(st.bus, 1) == FT260_OUTCOME_FAILED)
            return transfer_error(c, "read", addr, &st);
        if (transport_real_now_us(c) >= deadline)
            break;
    }
    if (got == len)
        return TRUSTX_OK;

    (void)reset_controller(c);
    return trustx_fail(TRUSTX_LAYER_TRANSPORT, TRUSTX_E_IO,
                       "%s: I2C read of %zu bytes at address 0x%02x timed out after %u ms with "
                       "%zu bytes received (status: %s); the I2C controller was reset",
                       c->hid.name, len, addr,
                       (unsigned)((transport_real_now_us(c) - start) / 1000), got,
                       words(st.bus, text));
}

static trustx_rc ft260_read(void *ctx, uint8_t addr, uint8_t *buf, size_t len)
{
    ft260_ctx *c = ctx;
    uint8_t report[FT260_REPORT_MAX];
    size_t n = transport_ft260_encode_read_request(addr, len, FT260_I2C_START_AND_STOP, report);
    ft260_status st;
    trustx_rc rc;

    if (n == 0)
        return trustx_fail(TRUSTX_LAYER_TRANSPORT, TRUSTX_E_INVALID_ARG,
                           "%s: an I2C read must be 1..%u bytes, not %zu", c->hid.name,
                           FT260_READ_LEN_MAX, len);

    begin_transaction(c);
    rc = drain_input(c);
    if (rc == TRUSTX_OK)
        rc = c->hid.ops->write_output(c->hid.dev, report, n);
    if (rc == TRUSTX_OK)
        rc = collect_input(c, addr, buf, len);
    if (rc == TRUSTX_OK)
        rc = poll_status(c, 1, FT260_STATUS_TIMEOUT_US, &st);
    if (rc == TRUSTX_OK && transport_ft260_classify(st.bus, 1) != FT260_OUTCOME_DONE)
        rc = transfer_error(c, "read", addr, &st);
    end_transaction(c);
    return rc;
}

static trustx_rc ft260_set_speed(void *ctx, unsigned khz)
{
    ft260_ctx *c = ctx;
    uint8_t report[FT260_REPORT_MAX];
    ft260_status st;
    trustx_rc rc;

    if (khz < FT260_CLOCK_MIN_KHZ || khz > FT260_CLOCK_MAX_KHZ)
        return trustx_fail(TRUSTX_LAYER_TRANSPORT, TRUSTX_E_INVALID_ARG,
                           "%s: I2C clock %u kHz is outside the FT260 range %u..%u kHz",
                           c->hid.name, khz, FT260_CLOCK_MIN_KHZ, FT260_CLOCK_MAX_KHZ);

    rc = c->hid.ops->set_feature(c->hid.dev, report, transport_ft260_encode_set_clock(khz, report));
    if (rc == TRUSTX_OK)
        rc = get_status(c, &st);
    if (rc != TRUSTX_OK)
        return rc;

    c->clock_khz = khz;
    if (st.clock_khz != khz)
        trustx_log(TRUSTX_LOG_DEBUG, "ft260", "%s: requested %u kHz, the bridge reports %u kHz",
                   c->hid.name, khz, st.clock_khz);
    return TRUSTX_OK;
}

static void ft260_close(void *ctx)
{
    ft260_ctx *c = ctx;

    if (c == NULL)
        return;
    if (c->hid.ops != NULL)
        c->hid.ops->close(c->hid.dev);
    free(c);
}

const trustx_transport_ops transport_ft260_ops = {
    .name = "ft260",
    .description = "FTDI FT260 USB-HID bridge: ft260:[/dev/hidrawN|serial=S][,addr=0x30]"
                   "[,speed=400]",
    .write = ft260_write,
    .read = ft260_read,
    .set_speed = ft260_set_speed,
    .now_us = transport_real_now_us,
    .sleep_us = transport_real_sleep_us,
    .hard_reset = NULL,
    .close = ft260_close,
};

/* Enables I2C when it is off and rejects a bridge strapped for UART only. */
static trustx_rc check_settings(ft260_ctx *c)
{
    uint8_t buf[FT260_REPORT_MAX];
    uint8_t report[FT260_REPORT_MAX];
    size_t n = 0;
    trustx_rc rc;

    rc = c->hid.ops->get_feature(c->hid.dev, FT260_REPORT_SYSTEM_SETTINGS, buf, sizeof(buf), &n);
    if (rc != TRUSTX_OK)
        return rc;
    if (n < FT260_SETTINGS_REPORT_MIN || buf[0] != FT260_REPORT_SYSTEM_SETTINGS)
        return trustx_fail(TRUSTX_LAYER_TRANSPORT, TRUSTX_E_PROTOCOL,
                           "%s: malformed system settings report (%zu bytes); is this an FT260?",
                           c->hid.name, n);

    if (buf[FT260_SETTINGS_CHIP_MODE] == FT260_CHIP_MODE_UART_ONLY)
        return trustx_fail(TRUSTX_LAYER_TRANSPORT, TRUSTX_E_IO,
                           "%s: the FT260 is strapped for UART only (DCNF1:DCNF0 = 2); I2C needs "
                           "chip mode 0, 1 or 3",
                           c->hid.name);
    if (buf[FT260_SETTINGS_I2C_ENABLE] == 0) {
        trustx_log(TRUSTX_LOG_INFO, "ft260", "%s: I2C was disabled; enabling it", c->hid.name);
        rc = c->hid.ops->set_feature(c->hid.dev, report, transport_ft260_encode_enable_i2c(report));
    }
    return rc;
}

/* Resets the I2C controller while the status shows a busy bus or a latched error. */
static trustx_rc recover_bus(ft260_ctx *c)
{
    const uint8_t not_ready =
        FT260_STATUS_CONTROLLER_BUSY | FT260_STATUS_BUS_BUSY | FT260_STATUS_ERRORS;
    char text[FT260_WORDS_MAX];
    ft260_status st;
    trustx_rc rc;

    for (int resets = 0;; resets++) {
        rc = get_status(c, &st);
        if (rc != TRUSTX_OK)
            return rc;
        if (!(st.bus & not_ready))
            return TRUSTX_OK;
        if (resets == FT260_RECOVER_RESETS)
            break;

        /* An error left over from the last NACK is routine, but a busy bus is worth a message. */
        trustx_log(st.bus & FT260_STATUS_BUS_BUSY ? TRUSTX_LOG_INFO : TRUSTX_LOG_DEBUG, "ft260",
                   "%s: I2C bus not ready (%s); resetting the controller", c->hid.name,
                   words(st.bus, text));
        rc = reset_controller(c);
        if (rc != TRUSTX_OK)
            return rc;
        transport_real_sleep_us(c, FT260_RESET_SETTLE_US);
    }

    return trustx_fail(TRUSTX_LAYER_TRANSPORT, TRUSTX_E_IO,
                       "%s: I2C bus still busy after %d controller resets (status: %s); check "
                       "that SDA and SCL have pull-up resistors and that no device holds them low",
                       c->hid.name, FT260_RECOVER_RESETS, words(st.bus, text));
}

trustx_rc transport_ft260_open_hid(ft260_hid *hid, const transport_bus_options *opts,
                                   trustx_transport **out)
{
    ft260_ctx *c = calloc(1, sizeof(*c));
    trustx_rc rc;

    if (c == NULL) {
        hid->ops->close(hid->dev);
        return trustx_fail(TRUSTX_LAYER_TRANSPORT, TRUSTX_E_NOMEM, "out of memory");
    }
    c->hid = *hid;

    rc = check_settings(c);
    if (rc == TRUSTX_OK)
        rc = recover_bus(c);
    if (rc == TRUSTX_OK)
        rc = ft260_set_speed(c, opts->speed_khz);
    if (rc == TRUSTX_OK)
        rc = trustx_transport_new(&transport_ft260_ops, c, out);
    if (rc != TRUSTX_OK) {
        ft260_close(c);
        return rc;
    }

    (*out)->addr = opts->addr;
    (*out)->speed_khz = opts->speed_khz;
    return TRUSTX_OK;
}

/* The options of an ft260: device string besides addr= and speed=. */
typedef struct ft260_target {
    char path[FT260_HID_PATH_MAX];
    char serial[FT260_SERIAL_MAX];
    char emu[FT260_HID_PATH_MAX];
    char hid[16];
} ft260_target;

static trustx_rc copy_option(const char *item, const char *key, char *out, size_t cap)
{
    const char *value = item + strlen(key) + 1;

    if (value[0] == '\0' || strlen(value) >= cap)
        return trustx_fail(TRUSTX_LAYER_TRANSPORT, TRUSTX_E_INVALID_ARG,
                           "ft260: %s= needs a value of 1..%zu characters", key, cap - 1);
    memcpy(out, value, strlen(value) + 1);
    return TRUSTX_OK;
}

/* Splits serial=, emu= and hid= (left in rest by transport_parse_args) into t. */
static trustx_rc parse_target(char *rest, ft260_target *t)
{
    char *save = NULL;
    trustx_rc rc = TRUSTX_OK;

    for (char *item = strtok_r(rest, ",", &save); item != NULL && rc == TRUSTX_OK;
         item = strtok_r(NULL, ",", &save)) {
        if (strncmp(item, "serial=", 7) == 0)
            rc = copy_option(item, "serial", t->serial, sizeof(t->serial));
        else if (strncmp(item, "emu=", 4) == 0)
            rc = copy_option(item, "emu", t->emu, sizeof(t->emu));
        else if (strncmp(item, "hid=", 4) == 0)
            rc = copy_option(item, "hid", t->hid, sizeof(t->hid));
    }
    if (rc != TRUSTX_OK)
        return rc;

    if ((t->path[0] != '\0') + (t->serial[0] != '\0') + (t->emu[0] != '\0') > 1)
        return trustx_fail(TRUSTX_LAYER_TRANSPORT, TRUSTX_E_INVALID_ARG,
                           "ft260: give at most one of a device path, serial= and emu=");
    if (t->hid[0] != '\0' && strcmp(t->hid, "hidraw") != 0 && strcmp(t->hid, "hidapi") != 0)
        return trustx_fail(TRUSTX_LAYER_TRANSPORT, TRUSTX_E_INVALID_ARG,
                           "ft260: invalid hid=%s; use hid=hidraw or hid=hidapi", t->hid);
    return TRUSTX_OK;
}

static trustx_rc parse_device(const char *args, ft260_target *t, transport_bus_options *opts)
{
    char normalized[FT260_ARGS_MAX];
    char rest[FT260_ARGS_MAX];
    size_t first = strcspn(args, ",");
    trustx_rc rc;

    /* "ft260:serial=X,..." and "ft260:addr=0x31" have no path: every item is an option. */
    if (memchr(args, '=', first) != NULL)
        rc = snprintf(normalized, sizeof(normalized), ",%s", args) < (int)sizeof(normalized)
                 ? TRUSTX_OK
                 : TRUSTX_E_INVALID_ARG;
    else
        rc = snprintf(normalized, sizeof(normalized), "%s", args) < (int)sizeof(normalized)
                 ? TRUSTX_OK
                 : TRUSTX_E_INVALID_ARG;
    if (rc != TRUSTX_OK)
        return trustx_fail(TRUSTX_LAYER_TRANSPORT, rc,
                           "ft260: device string is longer than %d bytes", FT260_ARGS_MAX - 1);

    memset(t, 0, sizeof(*t));
    rc = transport_parse_args("ft260", normalized, t->path, sizeof(t->path), opts,
                              "serial,emu,hid", rest, sizeof(rest));
    if (rc == TRUSTX_OK)
        rc = parse_target(rest, t);
    if (rc == TRUSTX_OK && opts->speed_khz < FT260_CLOCK_MIN_KHZ)
        rc = trustx_fail(TRUSTX_LAYER_TRANSPORT, TRUSTX_E_INVALID_ARG,
                         "ft260: speed=%u kHz is below the FT260 minimum of %u kHz",
                         opts->speed_khz, FT260_CLOCK_MIN_KHZ);
    return rc;
}

trustx_rc transport_ft260_open(const char *args, trustx_transport **out)
{
    transport_bus_options opts;
    ft260_target t;
    ft260_hid hid;
    const char *path;
    const char *serial;
    trustx_rc rc;

    rc = parse_device(args, &t, &opts);
    if (rc != TRUSTX_OK)
        return rc;

    memset(&hid, 0, sizeof(hid));
    path = t.path[0] != '\0' ? t.path : NULL;
    serial = t.serial[0] != '\0' ? t.serial : NULL;
    if (t.emu[0] != '\0')
        rc = transport_ft260_emu_open(t.emu, &hid);
    else if (strcmp(t.hid, "hidapi") == 0)
        rc = transport_ft260_hidapi_open(path, serial, &hid);
#ifdef __linux__
    else
        rc = transport_ft260_hidraw_open(path, serial, &hid);
#else
    else if (strcmp(t.hid, "hidraw") == 0)
        rc = transport_ft260_hidraw_open(path, serial, &hid);
    else
        rc = transport_ft260_hidapi_open(path, serial, &hid);
#endif
    if (rc != TRUSTX_OK)
        return rc;

    return transport_ft260_open_hid(&hid, &opts, out);
}

/* SPDX-License-Identifier: MIT */
/*
 * Execution-time hints of the command layer, seen on the bus: a decorator
 * around the in-process simulator records when the stack polls I2C_STATE
 * for a response after the command frame went out, on virtual time. Also
 * checks that the object sizes learned for the hints never change the data
 * a read returns, and that a start-up longer than the host's wait after a
 * reset is covered by the NACK retries.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <unistd.h>

#include <cmocka.h>

#include "cmd/cmd_internal.h"
#include "ifxi2c/phy.h"
#include "trustx/cmd.h"
#include "trustx/transport.h"

#define OID_DATA TRUSTX_OID_CERT2     /* empty on a new chip, 1728 bytes at most */
#define OBJECT_MAX 1728
#define READ_CAP 1553

/* One command exchange as the decorator saw it; times on the virtual clock. */
typedef struct exchange {
    uint8_t cmd, param;
    uint16_t oid;              /* first two bytes of InData, the OID for data commands */
    uint64_t sent_us;          /* end of the write of the command's last frame */
    uint64_t ack_read_us;      /* end of the read of the chip's control ACK; 0 if none */
    uint64_t poll_us;          /* start of the first response poll (its I2C_STATE write) */
} exchange;

#define EXCHANGES_MAX 32

typedef struct observer {
    trustx_transport *inner;
    uint8_t selected;          /* register of the last write */
    uint8_t header[6];         /* APDU header and OID of the command being sent */
    int awaiting_ack;          /* the last command frame is not acknowledged yet */
    int awaiting_poll;         /* ACK read, response poll not yet started */
    exchange log[EXCHANGES_MAX];
    size_t count;
    uint64_t startup_us;       /* nonzero: NACK everything this long after a soft reset */
    uint64_t nack_until_us;
    uint64_t reset_us;         /* end of the last SOFT_RESET write */
    uint64_t first_ack_us;     /* start of the first acknowledged transaction after it */
    unsigned nacks;
} observer;

static observer obs;

/* Data frame written to DATA: 80 FCTR LEN(2) PCTR APDU... */
static int is_data_frame(const uint8_t *buf, size_t len)
{
    return len > 6 && buf[0] == TRUSTX_REG_DATA && (buf[1] & 0x80) == 0;
}

static void on_command_frame(observer *o, const uint8_t *buf, size_t len)
{
    unsigned chain = buf[4] & 0x07;
    exchange *e;

    if ((chain == 0x00 || chain == 0x01) && len >= 5 + sizeof(o->header))
        memcpy(o->header, buf + 5, sizeof(o->header));
    if ((chain != 0x00 && chain != 0x04) || o->count == EXCHANGES_MAX)
        return;

    e = &o->log[o->count++];
    memset(e, 0, sizeof(*e));
    e->cmd = o->header[0];
    e->param = o->header[1];
    e->oid = (uint16_t)(o->header[4] << 8 | o->header[5]);
    e->sent_us = trustx_transport_now_us(o->inner);
    o->awaiting_ack = 1;
    o->awaiting_poll = 0;
}

/*
 * Emulates a chip that needs o->startup_us after a soft reset (an NVM write
 * was pending): it NACKs its address until then. Returns nonzero to NACK.
 */
static int in_long_startup(observer *o)
{
    uint64_t now = trustx_transport_now_us(o->inner);

    if (now < o->nack_until_us) {
        o->nacks++;
        return 1;
    }
    if (o->reset_us != 0 && o->first_ack_us == 0)
        o->first_ack_us = now;
    return 0;
}

static trustx_rc observe_write(void *ctx, uint8_t addr, const uint8_t *buf, size_t len)
{
    observer *o = ctx;
    uint64_t start = trustx_transport_now_us(o->inner);
    trustx_rc rc;

    if (in_long_startup(o))
        return trustx_fail(TRUSTX_LAYER_TRANSPORT, TRUSTX_E_NACK, "starting up");
    rc = o->inner->ops->write(o->inner->ctx, addr, buf, len);
    if (rc != TRUSTX_OK)
        return rc;
    if (len > 0)
        o->selected = buf[0];
    if (len == 3 && buf[0] == TRUSTX_REG_SOFT_RESET && o->startup_us != 0) {
        o->reset_us = trustx_transport_now_us(o->inner);
        o->nack_until_us = o->reset_us + o->startup_us;
        o->first_ack_us = 0;
    }
    if (is_data_frame(buf, len)) {
        on_command_frame(o, buf, len);
    } else if (len == 1 && buf[0] == TRUSTX_REG_I2C_STATE && o->awaiting_poll) {
        o->log[o->count - 1].poll_us = start;
        o->awaiting_poll = 0;
    }
    return rc;
}

static trustx_rc observe_read(void *ctx, uint8_t addr, uint8_t *buf, size_t len)
{
    observer *o = ctx;
    trustx_rc rc;

    if (in_long_startup(o))
        return trustx_fail(TRUSTX_LAYER_TRANSPORT, TRUSTX_E_NACK, "starting up");
    rc = o->inner->ops->read(o->inner->ctx, addr, buf, len);

    /* A 5-byte control ACK read from DATA while the command awaits it. */
    if (rc == TRUSTX_OK && o->selected == TRUSTX_REG_DATA && o->awaiting_ack && len == 5 &&
        (buf[0] & 0xE0) == 0x80) {
        o->awaiting_ack = 0;
        o->awaiting_poll = 1;
        o->log[o->count - 1].ack_read_us = trustx_transport_now_us(o->inner);
    }
    return rc;
}

static trustx_rc observe_set_speed(void *ctx, unsigned khz)
{
    observer *o = ctx;

    return trustx_transport_set_speed(o->inner, khz);
}

static uint64_t observe_now(void *ctx)
{
    observer *o = ctx;

    return trustx_transport_now_us(o->inner);
}

static void observe_sleep(void *ctx, uint32_t us)
{
    observer *o = ctx;

    trustx_transport_sleep_us(o->inner, us);
}

static void observe_close(void *ctx)
{
    observer *o = ctx;

    if (o != NULL)
        trustx_transport_close(o->inner);
}

static const trustx_transport_ops observer_ops = {
    .name = "observe",
    .description = "records the first response poll of each command",
    .write = observe_write,
    .read = observe_read,
    .set_speed = observe_set_speed,
    .now_us = observe_now,
    .sleep_us = observe_sleep,
    .close = observe_close,
};

typedef struct fixture {
    char dir[64];
    char device[128];
    trustx_chip *chip;
} fixture;

static trustx_chip *open_observed_startup(fixture *fx, uint64_t startup_us)
{
    trustx_transport *inner = NULL;
    trustx_transport *t = NULL;
    trustx_chip *chip = NULL;

    assert_int_equal(trustx_transport_open(fx->device, &inner), TRUSTX_OK);
    memset(&obs, 0, sizeof(obs));
    obs.inner = inner;
    obs.startup_us = startup_us;
    assert_int_equal(trustx_transport_new(&observer_ops, &obs, &t), TRUSTX_OK);
    t->inner = inner;
    t->addr = inner->addr;
    t->speed_khz = inner->speed_khz;
    assert_int_equal(trustx_chip_open_transport(t, NULL, &chip), TRUSTX_OK);
    return chip;
}

static trustx_chip *open_observed(fixture *fx)
{
    return open_observed_startup(fx, 0);
}

static int setup(void **state)
{
    fixture *fx = calloc(1, sizeof(*fx));

    assert_non_null(fx);
    snprintf(fx->dir, sizeof(fx->dir), "/tmp/trustx-hints-XXXXXX");
    assert_non_null(mkdtemp(fx->dir));
    snprintf(fx->device, sizeof(fx->device), "sim:%s/chip.json", fx->dir);
    fx->chip = open_observed(fx);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    fixture *fx = *state;
    DIR *dir;
    struct dirent *entry;

    trustx_chip_close(fx->chip);
    dir = opendir(fx->dir);
    while (dir != NULL && (entry = readdir(dir)) != NULL) {
        char path[384];

        if (strcmp(entry->d_name, ".") == 0 || strcmp(entry->d_name, "..") == 0)
            continue;
        snprintf(path, sizeof(path), "%s/%s", fx->dir, entry->d_name);
        unlink(path);
    }
    if (dir != NULL)
        closedir(dir);
    rmdir(fx->dir);
    free(fx);
    return 0;
}

static void clear_log(void)
{
    obs.count = 0;
}

/* Returns the first logged exchange of cmd (and param) on oid. */
static const exchange *find_exchange(uint8_t cmd, uint8_t param, uint16_t oid)
{
    for (size_t i = 0; i < obs.count; i++)
        if (obs.log[i].cmd == cmd && obs.log[i].param == param && obs.log[i].oid == oid)
            return &obs.log[i];
    fail_msg("no exchange of command 0x%02X on 0x%04X in the last %zu", cmd, oid, obs.count);
    return NULL;
}

/* Returns the delay from the command write to the first response poll. */
static uint64_t first_poll_delay(const exchange *e)
{
    assert_true(e->poll_us != 0);
    return e->poll_us - e->sent_us;
}

/* The first poll follows the ACK read after the guard time only: no sleep for the hint. */
static void assert_polled_after_ack(const exchange *e)
{
    assert_true(e->ack_read_us != 0);
    assert_true(e->poll_us != 0);
    assert_int_equal(e->poll_us, e->ack_read_us + IFXI2C_GUARD_US);
}

static const exchange *last_read(void)
{
    const exchange *found = NULL;

    for (size_t i = 0; i < obs.count; i++)
        if (obs.log[i].cmd == TRUSTX_CMD_GET_DATA_OBJECT && obs.log[i].param == 0 &&
            obs.log[i].oid == OID_DATA)
            found = &obs.log[i];
    assert_non_null(found);
    return found;
}

static void fill(uint8_t *buf, size_t len, unsigned seed)
{
    for (size_t i = 0; i < len; i++)
        buf[i] = (uint8_t)(seed + 7 * i);
}

static void read_expect(trustx_chip *chip, uint16_t offset, const uint8_t *want, size_t len)
{
    uint8_t got[READ_CAP];
    size_t got_len = 0;

    assert_int_equal(trustx_get_data(chip, OID_DATA, offset, got, sizeof(got), &got_len),
                     TRUSTX_OK);
    assert_int_equal(got_len, len);
    assert_memory_equal(got, want, len);
}

static void write_object(trustx_chip *chip, uint16_t offset, const uint8_t *data, size_t len,
                         int erase)
{
    assert_int_equal(trustx_set_data(chip, OID_DATA, offset, data, len, erase), TRUSTX_OK);
}

static void hint_fixed_size_objects(void **state)
{
    fixture *fx = *state;
    uint8_t buf[64];
    size_t len = 0;

    clear_log();
    assert_int_equal(trustx_get_data(fx->chip, TRUSTX_OID_UID, 0, buf, sizeof(buf), &len),
                     TRUSTX_OK);
    assert_int_equal(len, 27);
    assert_int_equal(first_poll_delay(find_exchange(TRUSTX_CMD_GET_DATA_OBJECT, 0,
                                                    TRUSTX_OID_UID)),
                     cmd_get_data_hint_us(27));

    clear_log();
    assert_int_equal(trustx_get_data(fx->chip, TRUSTX_OID_MAX_COMMS, 0, buf, sizeof(buf), &len),
                     TRUSTX_OK);
    assert_int_equal(len, 2);
    assert_int_equal(first_poll_delay(find_exchange(TRUSTX_CMD_GET_DATA_OBJECT, 0,
                                                    TRUSTX_OID_MAX_COMMS)),
                     cmd_get_data_hint_us(2));
}

static void hint_empty_slot_polls_early(void **state)
{
    fixture *fx = *state;
    uint8_t buf[READ_CAP];
    size_t len = 1;

    clear_log();
    assert_int_equal(trustx_get_data(fx->chip, OID_DATA, 0, buf, sizeof(buf), &len), TRUSTX_OK);
    assert_int_equal(len, 0);
    assert_polled_after_ack(last_read());

    /* The chip reported the end of the object; the last-error read has a fixed size. */
    assert_int_equal(first_poll_delay(find_exchange(TRUSTX_CMD_GET_DATA_OBJECT, 0,
                                                    TRUSTX_OID_LAST_ERROR)),
                     cmd_get_data_hint_us(1));

    /* Now known to be empty: the second read polls early too. */
    clear_log();
    assert_int_equal(trustx_get_data(fx->chip, OID_DATA, 0, buf, sizeof(buf), &len), TRUSTX_OK);
    assert_int_equal(len, 0);
    assert_polled_after_ack(last_read());
}

static void hint_write_then_read_back(void **state)
{
    fixture *fx = *state;
    uint8_t data[300];

    fill(data, sizeof(data), 1);
    clear_log();
    write_object(fx->chip, 0, data, sizeof(data), 1);
    assert_int_equal(first_poll_delay(find_exchange(TRUSTX_CMD_SET_DATA_OBJECT, 0x40,
                                                    OID_DATA)),
                     cmd_set_data_hint_us(sizeof(data)));

    clear_log();
    read_expect(fx->chip, 0, data, sizeof(data));
    assert_int_equal(first_poll_delay(last_read()), cmd_get_data_hint_us(sizeof(data)));

    clear_log();
    read_expect(fx->chip, 100, data + 100, sizeof(data) - 100);
    assert_int_equal(first_poll_delay(last_read()), cmd_get_data_hint_us(sizeof(data) - 100));
}

static void hint_plain_write_extends(void **state)
{
    fixture *fx = *state;
    uint8_t data[350];

    fill(data, sizeof(data), 2);
    write_object(fx->chip, 0, data, 300, 1);
    write_object(fx->chip, 300, data + 300, 50, 0);

    clear_log();
    read_expect(fx->chip, 0, data, sizeof(data));
    assert_int_equal(first_poll_delay(last_read()), cmd_get_data_hint_us(sizeof(data)));
}

static void hint_plain_write_inside_keeps_size(void **state)
{
    fixture *fx = *state;
    uint8_t data[300];

    fill(data, sizeof(data), 3);
    write_object(fx->chip, 0, data, sizeof(data), 1);
    fill(data + 10, 20, 9);
    write_object(fx->chip, 10, data + 10, 20, 0);

    clear_log();
    read_expect(fx->chip, 0, data, sizeof(data));
    assert_int_equal(first_poll_delay(last_read()), cmd_get_data_hint_us(sizeof(data)));
}

static void hint_erase_shrinks(void **state)
{
    fixture *fx = *state;
    uint8_t data[300];

    fill(data, sizeof(data), 4);
    write_object(fx->chip, 0, data, sizeof(data), 1);
    write_object(fx->chip, 0, data, 40, 1);

    clear_log();
    read_expect(fx->chip, 0, data, 40);
    assert_int_equal(first_poll_delay(last_read()), cmd_get_data_hint_us(40));
}

static void hint_unknown_size_new_session(void **state)
{
    fixture *fx = *state;
    uint8_t data[200];

    fill(data, sizeof(data), 5);
    write_object(fx->chip, 0, data, sizeof(data), 1);
    trustx_chip_close(fx->chip);
    fx->chip = open_observed(fx);

    /* A new session has not learned the size: poll early, back off, same data. */
    clear_log();
    read_expect(fx->chip, 0, data, sizeof(data));
    assert_polled_after_ack(last_read());

    /* That read reached the end, so the size is known now. */
    clear_log();
    read_expect(fx->chip, 0, data, sizeof(data));
    assert_int_equal(first_poll_delay(last_read()), cmd_get_data_hint_us(sizeof(data)));
}

static void hint_size_from_metadata(void **state)
{
    fixture *fx = *state;
    uint8_t data[120];
    uint8_t raw[64];
    size_t raw_len = 0;
    trustx_metadata md;

    fill(data, sizeof(data), 6);
    write_object(fx->chip, 0, data, sizeof(data), 1);
    trustx_chip_close(fx->chip);
    fx->chip = open_observed(fx);

    assert_int_equal(trustx_get_metadata(fx->chip, OID_DATA, raw, sizeof(raw), &raw_len),
                     TRUSTX_OK);
    assert_int_equal(trustx_metadata_decode(raw, raw_len, &md), TRUSTX_OK);
    assert_int_equal(md.used_size, (int)sizeof(data));

    clear_log();
    read_expect(fx->chip, 0, data, sizeof(data));
    assert_int_equal(first_poll_delay(last_read()), cmd_get_data_hint_us(sizeof(data)));
}

static void hint_failed_write_forgets_size(void **state)
{
    fixture *fx = *state;
    uint8_t data[100];

    fill(data, sizeof(data), 7);
    write_object(fx->chip, 0, data, sizeof(data), 1);

    /* Past the object's maximum size: the chip rejects the write. */
    assert_int_equal(trustx_set_data(fx->chip, OID_DATA, OBJECT_MAX - 10, data, sizeof(data), 0),
                     TRUSTX_E_DEVICE);

    clear_log();
    read_expect(fx->chip, 0, data, sizeof(data));
    assert_polled_after_ack(last_read());
}

static void hint_read_past_known_end(void **state)
{
    fixture *fx = *state;
    uint8_t data[64];
    uint8_t buf[16];
    size_t len = 0;

    fill(data, sizeof(data), 8);
    write_object(fx->chip, 0, data, sizeof(data), 1);

    /* At an offset past the used size the chip answers "out of bounds" at once. */
    clear_log();
    assert_int_equal(trustx_get_data(fx->chip, OID_DATA, 100, buf, sizeof(buf), &len),
                     TRUSTX_E_DEVICE);
    assert_int_equal(trustx_error_last()->device_code, TRUSTX_DEV_OUT_OF_BOUNDS);
    assert_polled_after_ack(last_read());
}

static void startup_nvm_pending_retries(void **state)
{
    fixture *fx = *state;
    const trustx_ifxi2c_stats *st;
    uint8_t uid[64];
    size_t len = 0;

    /* The host waits the 10 ms start-up, then the NACK retries cover the rest of 12 ms. */
    trustx_chip_close(fx->chip);
    fx->chip = open_observed_startup(fx, 12000);
    st = trustx_ifxi2c_get_stats(trustx_chip_stack(fx->chip));

    assert_int_equal(st->reset_wait_us, 10000);
    assert_true(obs.nacks > 0);
    assert_int_equal(st->nacks, obs.nacks);
    assert_true(obs.first_ack_us >= obs.reset_us + 12000);
    assert_true(obs.first_ack_us < obs.reset_us + 12000 + IFXI2C_NACK_RETRY_US);
    assert_int_equal(trustx_get_data(fx->chip, TRUSTX_OID_UID, 0, uid, sizeof(uid), &len),
                     TRUSTX_OK);
    assert_int_equal(len, 27);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(hint_fixed_size_objects, setup, teardown),
        cmocka_unit_test_setup_teardown(hint_empty_slot_polls_early, setup, teardown),
        cmocka_unit_test_setup_teardown(hint_write_then_read_back, setup, teardown),
        cmocka_unit_test_setup_teardown(hint_plain_write_extends, setup, teardown),
        cmocka_unit_test_setup_teardown(hint_plain_write_inside_keeps_size, setup, teardown),
        cmocka_unit_test_setup_teardown(hint_erase_shrinks, setup, teardown),
        cmocka_unit_test_setup_teardown(hint_unknown_size_new_session, setup, teardown),
        cmocka_unit_test_setup_teardown(hint_size_from_metadata, setup, teardown),
        cmocka_unit_test_setup_teardown(hint_failed_write_forgets_size, setup, teardown),
        cmocka_unit_test_setup_teardown(hint_read_past_known_end, setup, teardown),
        cmocka_unit_test_setup_teardown(startup_nvm_pending_retries, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

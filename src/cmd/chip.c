/* SPDX-License-Identifier: MIT */
/*
 * The chip session: transport, protocol stack and application state, plus
 * the APDU exchange that turns a failed status into the chip's last-error
 * code (read from 0xF1C2) and reports it by name.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd_internal.h"
#include "trustx/log.h"

static const uint8_t application_id[16] = {0xD2, 0x76, 0x00, 0x00, 0x04, 'G', 'e', 'n',
                                           'A',  'u',  't',  'h',  'A',  'p',  'p', 'l'};

trustx_rc cmd_exchange_raw(trustx_chip *chip, const uint8_t *apdu, size_t len, uint8_t *resp,
                           size_t cap, size_t *resp_len, uint32_t exec_hint_us)
{
    trustx_rc rc;

    rc = trustx_ifxi2c_transceive(chip->stack, apdu, len, resp, cap, resp_len, exec_hint_us);
    if (rc != TRUSTX_OK)
        return rc;

    if (*resp_len < 4)
        return trustx_fail(TRUSTX_LAYER_COMMAND, TRUSTX_E_PROTOCOL,
                           "response APDU of %zu bytes is shorter than its 4-byte header",
                           *resp_len);
    if (((size_t)resp[2] << 8 | resp[3]) != *resp_len - 4)
        return trustx_fail(TRUSTX_LAYER_COMMAND, TRUSTX_E_PROTOCOL,
                           "response APDU length field %u does not match %zu data bytes",
                           (unsigned)resp[2] << 8 | resp[3], *resp_len - 4);
    return TRUSTX_OK;
}

/*
 * Reads 0xF1C2 after a failed status into *code (-1 when the chip returns no
 * valid code). A transport or protocol failure of the read is returned as it is.
 */
static trustx_rc read_last_error(trustx_chip *chip, int *code)
{
    uint8_t apdu[] = {TRUSTX_CMD_GET_DATA_OBJECT, 0x00, 0x00, 0x02, 0xF1, 0xC2};
    uint8_t resp[16];
    size_t resp_len = 0;
    trustx_rc rc = cmd_exchange_raw(chip, apdu, sizeof(apdu), resp, sizeof(resp), &resp_len,
                                    cmd_get_data_hint_us(1));

    *code = (rc == TRUSTX_OK && resp[0] == 0x00 && resp_len == 5) ? resp[4] : -1;
    return rc;
}

trustx_rc cmd_exchange(trustx_chip *chip, const char *what, const uint8_t *apdu, size_t len,
                       uint8_t *resp, size_t cap, size_t *resp_len, uint32_t exec_hint_us)
{
    trustx_rc rc = cmd_exchange_raw(chip, apdu, len, resp, cap, resp_len, exec_hint_us);
    int code;

    if (rc != TRUSTX_OK) {
        trustx_error_prefix("%s", what);
        return rc;
    }
    if (resp[0] == 0x00)
        return TRUSTX_OK;

    rc = read_last_error(chip, &code);
    if (rc != TRUSTX_OK) {
        trustx_error_prefix("%s: chip returned status 0x%02X, then reading its last error code "
                            "(0xF1C2) failed",
                            what, resp[0]);
        return rc;
    }
    if (code < 0)
        rc = trustx_fail(TRUSTX_LAYER_COMMAND, TRUSTX_E_DEVICE,
                         "%s: chip returned status 0x%02X and its last error code (0xF1C2) "
                         "could not be read",
                         what, resp[0]);
    else
        rc = trustx_fail(TRUSTX_LAYER_COMMAND, TRUSTX_E_DEVICE, "%s: chip error 0x%02X: %s",
                         what, code, trustx_device_error_name(code));
    trustx_error_set_device_code(code);
    return rc;
}

trustx_rc trustx_open_application(trustx_chip *chip)
{
    uint8_t apdu[4 + sizeof(application_id)] = {
        TRUSTX_CMD_OPEN_APPLICATION | TRUSTX_CMD_FLUSH_LAST_ERROR, 0x00, 0x00,
        sizeof(application_id)};
    uint8_t resp[16];
    uint8_t comms[2];
    size_t resp_len = 0;
    size_t got = 0;
    trustx_rc rc;

    memcpy(apdu + 4, application_id, sizeof(application_id));
    rc = cmd_exchange(chip, "OpenApplication", apdu, sizeof(apdu), resp, sizeof(resp), &resp_len,
                      CMD_EXEC_OPEN_APP_US);
    if (rc != TRUSTX_OK)
        return rc;

    /* Chunk sizes follow the chip's own maximum; 0xE0C6 holds exactly 2 bytes. */
    chip->max_apdu = CMD_DEFAULT_MAX_APDU;
    rc = trustx_get_data(chip, TRUSTX_OID_MAX_COMMS, 0, comms, sizeof(comms), &got);
    if (rc != TRUSTX_OK) {
        trustx_error_prefix("reading the max comms buffer size (0xE0C6)");
        return rc;
    }
    if (got != 2)
        return trustx_fail(TRUSTX_LAYER_COMMAND, TRUSTX_E_PROTOCOL,
                           "max comms buffer size 0xE0C6 has %zu bytes; expected 2", got);
    if (((unsigned)comms[0] << 8 | comms[1]) < CMD_MIN_MAX_APDU)
        return trustx_fail(TRUSTX_LAYER_COMMAND, TRUSTX_E_PROTOCOL,
                           "max comms buffer size 0xE0C6 is %u bytes; at least %u expected",
                           (unsigned)comms[0] << 8 | comms[1], (unsigned)CMD_MIN_MAX_APDU);

    chip->max_apdu = (unsigned)comms[0] << 8 | comms[1];
    if (chip->max_apdu > TRUSTX_APDU_MAX - 4)
        chip->max_apdu = TRUSTX_APDU_MAX - 4;
    trustx_log(TRUSTX_LOG_DEBUG, "cmd", "application open, max comms buffer %u bytes",
               chip->max_apdu);
    return TRUSTX_OK;
}

trustx_rc trustx_chip_open_transport(trustx_transport *t, const trustx_chip_options *opts,
                                     trustx_chip **out)
{
    trustx_chip *chip = calloc(1, sizeof(*chip));
    trustx_rc rc;

    if (chip == NULL) {
        trustx_transport_close(t);
        return trustx_fail(TRUSTX_LAYER_COMMAND, TRUSTX_E_NOMEM, "out of memory");
    }
    chip->transport = t;
    chip->max_apdu = CMD_DEFAULT_MAX_APDU;

    rc = trustx_ifxi2c_open(t, opts ? &opts->stack : NULL, &chip->stack);
    if (rc == TRUSTX_OK)
        rc = trustx_open_application(chip);
    if (rc != TRUSTX_OK) {
        trustx_chip_close(chip);
        return rc;
    }
    *out = chip;
    return TRUSTX_OK;
}

trustx_rc trustx_chip_open(const char *device, const trustx_chip_options *opts,
                           trustx_chip **out)
{
    trustx_transport *t = NULL;
    trustx_rc rc = trustx_transport_open(device, &t);

    if (rc != TRUSTX_OK)
        return rc;
    return trustx_chip_open_transport(t, opts, out);
}

void trustx_chip_close(trustx_chip *chip)
{
    if (chip == NULL)
        return;
    trustx_ifxi2c_close(chip->stack);
    trustx_transport_close(chip->transport);
    free(chip);
}

unsigned trustx_chip_max_apdu(const trustx_chip *chip)
{
    return chip->max_apdu;
}

trustx_ifxi2c *trustx_chip_stack(trustx_chip *chip)
{
    return chip->stack;
}

trustx_transport *trustx_chip_transport(trustx_chip *chip)
{
    return chip->transport;
}

trustx_rc trustx_apdu(trustx_chip *chip, const uint8_t *apdu, size_t len, uint8_t *resp,
                      size_t cap, size_t *resp_len)
{
    return cmd_exchange_raw(chip, apdu, len, resp, cap, resp_len, 0);
}

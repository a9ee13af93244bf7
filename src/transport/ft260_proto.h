/* SPDX-License-Identifier: MIT */
/*
 * Internal: the FT260 HID report protocol for I2C (FTDI AN_394), as pure
 * encoders and decoders without I/O, so the report layouts are unit-tested
 * on their own. Multi-byte fields inside FT260 reports are little-endian.
 */
#ifndef TRUSTX_TRANSPORT_FT260_PROTO_H
#define TRUSTX_TRANSPORT_FT260_PROTO_H

#include <stddef.h>
#include <stdint.h>

#define FT260_USB_VID 0x0403
#define FT260_USB_PID 0x6030
#define FT260_I2C_INTERFACE 0      /* interface 0 is I2C (or UART only when DCNF selects it) */

#define FT260_REPORT_MAX 64        /* bytes in the largest report, report ID included */

/* Report IDs. */
#define FT260_REPORT_CHIP_VERSION 0xA0
#define FT260_REPORT_SYSTEM_SETTINGS 0xA1
#define FT260_REPORT_I2C_STATUS 0xC0
#define FT260_REPORT_I2C_READ_REQUEST 0xC2
#define FT260_REPORT_I2C_DATA_FIRST 0xD0 /* 4 payload bytes; each next ID carries 4 more */
#define FT260_REPORT_I2C_DATA_LAST 0xDE  /* 60 payload bytes */

/* Requests (second byte) of a SET_FEATURE on FT260_REPORT_SYSTEM_SETTINGS. */
#define FT260_REQUEST_SET_I2C_MODE 0x02
#define FT260_REQUEST_I2C_RESET 0x20
#define FT260_REQUEST_SET_I2C_CLOCK 0x22

/* Bus conditions in the flags byte of write and read requests. */
#define FT260_I2C_NONE 0x00
#define FT260_I2C_START 0x02
#define FT260_I2C_REPEATED_START 0x03
#define FT260_I2C_STOP 0x04
#define FT260_I2C_START_AND_STOP 0x06

/* Bits of the bus status byte in the FT260_REPORT_I2C_STATUS feature report. */
#define FT260_STATUS_CONTROLLER_BUSY 0x01
#define FT260_STATUS_ERROR 0x02    /* set together with any of the next three */
#define FT260_STATUS_ADDRESS_NACK 0x04
#define FT260_STATUS_DATA_NACK 0x08
#define FT260_STATUS_ARBITRATION_LOST 0x10
#define FT260_STATUS_CONTROLLER_IDLE 0x20
#define FT260_STATUS_BUS_BUSY 0x40

#define FT260_STATUS_ERRORS                                                                     \
    (FT260_STATUS_ERROR | FT260_STATUS_ADDRESS_NACK | FT260_STATUS_DATA_NACK |                  \
     FT260_STATUS_ARBITRATION_LOST)

#define FT260_WRITE_HEADER_LEN 4   /* report ID, address, flags, length */
#define FT260_WRITE_PAYLOAD_MAX 60 /* data bytes in one write report (ID 0xDE) */
#define FT260_READ_REQUEST_LEN 5   /* report ID, address, flags, length (2) */
#define FT260_READ_LEN_MAX 0xFFFF  /* the read request's length field is 16 bits */
#define FT260_INPUT_HEADER_LEN 2   /* report ID, length */
#define FT260_STATUS_REPORT_LEN 5  /* report ID, bus status, clock kHz (2), reserved */
#define FT260_STATUS_REPORT_MIN 4  /* without the reserved byte */
#define FT260_SETTINGS_REPORT_MIN 6 /* report ID .. i2c_enable, of the 25-byte report */

/* Fields of the FT260_REPORT_SYSTEM_SETTINGS feature report (GET). */
#define FT260_SETTINGS_CHIP_MODE 1  /* DCNF1:DCNF0 pins: 0 and 3 both, 1 I2C, 2 UART */
#define FT260_SETTINGS_I2C_ENABLE 5
#define FT260_CHIP_MODE_UART_ONLY 2

#define FT260_CLOCK_MIN_KHZ 60     /* range of the I2C clock request */
#define FT260_CLOCK_MAX_KHZ 3400

/* The decoded FT260_REPORT_I2C_STATUS feature report. */
typedef struct ft260_status {
    uint8_t bus;                   /* FT260_STATUS_* bits */
    unsigned clock_khz;            /* the current I2C clock */
} ft260_status;

/* What a status report means for a transfer that is in progress. */
typedef enum ft260_outcome {
    FT260_OUTCOME_PENDING = 0,     /* the controller is still working: poll again */
    FT260_OUTCOME_DONE,            /* finished without error */
    FT260_OUTCOME_NACK,            /* the address was not acknowledged */
    FT260_OUTCOME_FAILED           /* data NACK, arbitration lost or another bus error */
} ft260_outcome;

/* Returns the number of write reports needed to send len bytes (at least 1). */
size_t transport_ft260_write_report_count(size_t len);

/*
 * Encodes report number index (0-based) of an I2C write of len bytes to the
 * 7-bit address addr into report, which MUST hold FT260_REPORT_MAX bytes.
 * The first report carries START and the last STOP, so that all of them
 * form one bus transaction. A write of 1..60 bytes is one report with
 * START_AND_STOP. The report ID is the smallest that fits the payload and
 * the report is zero-padded to that ID's size. Returns the report length,
 * or 0 when len is 0 or index is out of range.
 */
size_t transport_ft260_encode_write(uint8_t addr, const uint8_t *data, size_t len, size_t index,
                                    uint8_t *report);

/*
 * Encodes an I2C read request for len (1..0xFFFF) bytes from addr with the
 * given FT260_I2C_* flags into report (at least FT260_READ_REQUEST_LEN
 * bytes). Returns FT260_READ_REQUEST_LEN, or 0 when len is out of range.
 */
size_t transport_ft260_encode_read_request(uint8_t addr, size_t len, uint8_t flags,
                                           uint8_t *report);

/*
 * Checks an input report of n bytes. On success stores the payload offset
 * and length and returns 0. Returns -1 when it is not an I2C data report
 * (wrong report ID) and -2 when its length field exceeds the report.
 */
int transport_ft260_decode_input(const uint8_t *report, size_t n, size_t *offset,
                                 size_t *len);

/* Decodes a status feature report of n bytes. Returns 0, or -1 when it is not one. */
int transport_ft260_decode_status(const uint8_t *report, size_t n, ft260_status *out);

/*
 * Classifies a bus status byte. last is nonzero after the report that
 * carried STOP: only then must the bus itself be free again.
 */
ft260_outcome transport_ft260_classify(uint8_t bus, int last);

/*
 * Writes the set bits of a bus status byte as words, such as
 * "controller busy, error, address not acknowledged", into buf (cap bytes,
 * always terminated). A byte with no bits set gives "no status bits".
 * Returns buf.
 */
const char *transport_ft260_status_words(uint8_t bus, char *buf, size_t cap);

/* Encodes the feature report that sets the I2C clock to khz. Returns its length (4). */
size_t transport_ft260_encode_set_clock(unsigned khz, uint8_t *report);

/* Encodes the feature report that resets the I2C controller. Returns its length (2). */
size_t transport_ft260_encode_i2c_reset(uint8_t *report);

/* Encodes the feature report that enables the I2C function. Returns its length (3). */
size_t transport_ft260_encode_enable_i2c(uint8_t *report);

/*
 * Returns the time len bytes plus the address byte take on the bus at khz
 * (9 bit times per byte), rounded up, in microseconds.
 */
uint32_t transport_ft260_bus_time_us(size_t len, unsigned khz);

#endif

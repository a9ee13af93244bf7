/* SPDX-License-Identifier: MIT */
/*
 * Chip commands (APDUs) of the OPTIGA Trust X: open a chip by device string,
 * read and write data objects and metadata in chunks the chip accepts,
 * generate key pairs, sign and verify, get random bytes. After a failed
 * status the layer reads the last-error object 0xF1C2 and reports the code by
 * name (trustx_error.device_code holds it).
 */
#ifndef TRUSTX_CMD_H
#define TRUSTX_CMD_H

#include <stddef.h>
#include <stdint.h>

#include "trustx/error.h"
#include "trustx/ifxi2c.h"
#include "trustx/transport.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Data object identifiers. */
#define TRUSTX_OID_LCSG          0xE0C0
#define TRUSTX_OID_SECSTATUS     0xE0C1
#define TRUSTX_OID_UID           0xE0C2
#define TRUSTX_OID_SLEEP_DELAY   0xE0C3
#define TRUSTX_OID_CURRENT_LIMIT 0xE0C4
#define TRUSTX_OID_SEC           0xE0C5
#define TRUSTX_OID_MAX_COMMS     0xE0C6
#define TRUSTX_OID_DEVICE_CERT   0xE0E0
#define TRUSTX_OID_CERT1         0xE0E1
#define TRUSTX_OID_CERT2         0xE0E2
#define TRUSTX_OID_CERT3         0xE0E3
#define TRUSTX_OID_TRUST_ANCHOR1 0xE0E8
#define TRUSTX_OID_TRUST_ANCHOR8 0xE0EF
#define TRUSTX_OID_DEVICE_KEY    0xE0F0
#define TRUSTX_OID_KEY1          0xE0F1
#define TRUSTX_OID_KEY2          0xE0F2
#define TRUSTX_OID_KEY3          0xE0F3
#define TRUSTX_OID_LCSA          0xF1C0
#define TRUSTX_OID_APP_SECSTATUS 0xF1C1
#define TRUSTX_OID_LAST_ERROR    0xF1C2

/* Command codes (bit 7 set = flush the last error first). */
#define TRUSTX_CMD_GET_DATA_OBJECT  0x01
#define TRUSTX_CMD_SET_DATA_OBJECT  0x02
#define TRUSTX_CMD_GET_RANDOM       0x0C
#define TRUSTX_CMD_CALC_HASH        0x30
#define TRUSTX_CMD_CALC_SIGN        0x31
#define TRUSTX_CMD_VERIFY_SIGN      0x32
#define TRUSTX_CMD_GEN_KEY_PAIR     0x38
#define TRUSTX_CMD_OPEN_APPLICATION 0x70
#define TRUSTX_CMD_FLUSH_LAST_ERROR 0x80

/* Device error codes read from 0xF1C2. */
#define TRUSTX_DEV_INVALID_OID        0x01
#define TRUSTX_DEV_INVALID_PARAM      0x03
#define TRUSTX_DEV_INVALID_LENGTH     0x04
#define TRUSTX_DEV_INVALID_INDATA     0x05
#define TRUSTX_DEV_INTERNAL           0x06
#define TRUSTX_DEV_ACCESS_DENIED      0x07
#define TRUSTX_DEV_OUT_OF_BOUNDS      0x08
#define TRUSTX_DEV_INVALID_COMMAND    0x0A
#define TRUSTX_DEV_OUT_OF_SEQUENCE    0x0B
#define TRUSTX_DEV_NOT_AVAILABLE      0x0C
#define TRUSTX_DEV_SIGNATURE_FAILURE  0x2C

/* Returns a lowercase name for a device error code, such as "access conditions not satisfied". */
const char *trustx_device_error_name(int code);

typedef enum trustx_curve {
    TRUSTX_CURVE_P256 = 0x03,
    TRUSTX_CURVE_P384 = 0x04
} trustx_curve;

/* Key usage flags for GenKeyPair (metadata tag 0xE1). */
#define TRUSTX_KEY_USAGE_AUTH       0x01
#define TRUSTX_KEY_USAGE_ENC        0x02
#define TRUSTX_KEY_USAGE_HOST_FW    0x04
#define TRUSTX_KEY_USAGE_DEV_MGMT   0x08
#define TRUSTX_KEY_USAGE_SIGN       0x10
#define TRUSTX_KEY_USAGE_KEY_AGREE  0x20

/* Sizes of the curves' values in bytes (field element and uncompressed point). */
#define TRUSTX_P256_BYTES 32
#define TRUSTX_P384_BYTES 48
#define TRUSTX_PUBKEY_MAX (1 + 2 * TRUSTX_P384_BYTES)
#define TRUSTX_SIG_DER_MAX 110   /* SEQUENCE of two INTEGERs for P-384, with room */

/*
 * Parses an object identifier written as "E0F1", "0xe0f1" or "0XE0F1".
 * Returns TRUSTX_E_INVALID_ARG (naming text) for anything else.
 */
trustx_rc trustx_oid_parse(const char *text, uint16_t *oid);

typedef struct trustx_chip trustx_chip;

typedef struct trustx_chip_options {
    trustx_ifxi2c_config stack;   /* zero for the defaults */
} trustx_chip_options;

/*
 * Opens the transport named by device, the protocol stack, and the chip's
 * application (OpenApplication, then the max comms buffer from 0xE0C6).
 * opts may be NULL.
 */
trustx_rc trustx_chip_open(const char *device, const trustx_chip_options *opts,
                           trustx_chip **out);

/* Same, on a transport the caller opened; the chip takes ownership of t. */
trustx_rc trustx_chip_open_transport(trustx_transport *t, const trustx_chip_options *opts,
                                     trustx_chip **out);

/* Closes the chip, the stack and the transport. Accepts NULL. */
void trustx_chip_close(trustx_chip *chip);

/* Sends OpenApplication (with the flush bit) and reads 0xE0C6. */
trustx_rc trustx_open_application(trustx_chip *chip);

/* Returns the max comms buffer (APDU size) read from 0xE0C6. */
unsigned trustx_chip_max_apdu(const trustx_chip *chip);

/* Returns the protocol stack, for its counters. */
trustx_ifxi2c *trustx_chip_stack(trustx_chip *chip);

/* Returns the transport the chip was opened on (still owned by the chip). */
trustx_transport *trustx_chip_transport(trustx_chip *chip);

/*
 * Reads object oid from offset to its end (or cap bytes, whichever is less),
 * in chunks of (max comms buffer - 4) bytes. An empty object gives *len 0.
 */
trustx_rc trustx_get_data(trustx_chip *chip, uint16_t oid, uint16_t offset, uint8_t *buf,
                          size_t cap, size_t *len);

/* Reads the metadata TLV of oid (starting with tag 0x20). */
trustx_rc trustx_get_metadata(trustx_chip *chip, uint16_t oid, uint8_t *buf, size_t cap,
                              size_t *len);

/*
 * Writes len bytes at offset in chunks of (max comms buffer - 8) bytes.
 * erase != 0 uses erase & write for the first chunk, so the object ends
 * after the data.
 */
trustx_rc trustx_set_data(trustx_chip *chip, uint16_t oid, uint16_t offset, const uint8_t *data,
                          size_t len, int erase);

/* Writes (merges) a metadata TLV (starting with tag 0x20) into oid. */
trustx_rc trustx_set_metadata(trustx_chip *chip, uint16_t oid, const uint8_t *tlv, size_t len);

/* Fills buf with len random bytes from the chip's TRNG (8 <= len <= 256 per command). */
trustx_rc trustx_get_random(trustx_chip *chip, uint8_t *buf, size_t len);

/*
 * Generates a key pair in key slot key_oid. pub receives the uncompressed
 * point 04||X||Y (65 bytes for P-256, 97 for P-384).
 */
trustx_rc trustx_gen_keypair(trustx_chip *chip, uint16_t key_oid, trustx_curve curve,
                             uint8_t key_usage, uint8_t *pub, size_t cap, size_t *pub_len);

/*
 * Signs digest with the key in key_oid (ECDSA without hashing). sig receives
 * a DER ECDSA-Sig-Value (SEQUENCE of r and s), as X.509 and CSRs carry it.
 */
trustx_rc trustx_calc_sign(trustx_chip *chip, uint16_t key_oid, const uint8_t *digest,
                           size_t digest_len, uint8_t *sig, size_t cap, size_t *sig_len);

/*
 * Verifies a DER ECDSA-Sig-Value over digest with the public key pub
 * (uncompressed point) on the chip. TRUSTX_E_VERIFY when it does not verify.
 */
trustx_rc trustx_verify_sign(trustx_chip *chip, trustx_curve curve, const uint8_t *pub,
                             size_t pub_len, const uint8_t *digest, size_t digest_len,
                             const uint8_t *sig, size_t sig_len);

/* Sends an APDU as it is and returns the raw response (for tools and tests). */
trustx_rc trustx_apdu(trustx_chip *chip, const uint8_t *apdu, size_t len, uint8_t *resp,
                      size_t cap, size_t *resp_len);

/* ---- Coprocessor UID (0xE0C2) ---- */

typedef struct trustx_uid {
    uint8_t raw[27];
    uint8_t cim_id, platform_id, model_id;
    uint16_t rom_mask_id;
    uint8_t chip_type[6];
    uint8_t batch[6];
    uint16_t wafer_x, wafer_y;
    uint32_t firmware_id;
    uint16_t build;            /* ESW build number as BCD, such as 0x1118 */
} trustx_uid;

/* Decodes the 27-byte UID layout. */
trustx_rc trustx_uid_decode(const uint8_t *buf, size_t len, trustx_uid *uid);

/* ---- Metadata (tag 0x20 container) ---- */

#define TRUSTX_AC_MAX 16

typedef struct trustx_ac {
    int present;               /* 0: tag absent (the chip treats it as NEV) */
    uint8_t len;
    uint8_t bytes[TRUSTX_AC_MAX];
} trustx_ac;

typedef struct trustx_metadata {
    int lcso;                  /* -1 if absent */
    int max_size;              /* -1 if absent */
    int used_size;             /* -1 if absent */
    trustx_ac change, read, execute, del;
    int algorithm;             /* tag 0xE0, -1 if absent */
    int key_usage;             /* tag 0xE1, -1 if absent */
    int object_type;           /* tag 0xE8, -1 if absent */
} trustx_metadata;

/* Initialises md with every field absent. */
void trustx_metadata_init(trustx_metadata *md);

/* Reads and decodes the metadata of oid into md. */
trustx_rc trustx_read_metadata(trustx_chip *chip, uint16_t oid, trustx_metadata *md);

/* Decodes a metadata TLV; unknown tags are rejected with their value named. */
trustx_rc trustx_metadata_decode(const uint8_t *buf, size_t len, trustx_metadata *md);

/* Encodes the present fields as a 0x20 TLV, in the order C0 C4 C5 D0 D1 D2 D3 E0 E1 E8. */
trustx_rc trustx_metadata_encode(const trustx_metadata *md, uint8_t *buf, size_t cap,
                                 size_t *len);

/*
 * Formats an access condition as text: "ALW", "NEV", "LcsO<op",
 * "LcsO>in||LcsG<0x04", and so on. Returns snprintf's count.
 */
int trustx_ac_format(const trustx_ac *ac, char *buf, size_t cap);

/* Parses the text form written by trustx_ac_format(). */
trustx_rc trustx_ac_parse(const char *text, trustx_ac *ac);

/* Returns "creation", "initialization", "operational", "termination" or "unknown". */
const char *trustx_lcs_name(int lcs);

#ifdef __cplusplus
}
#endif

#endif

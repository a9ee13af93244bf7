/* SPDX-License-Identifier: MIT */
/*
 * Internal to the application model: the chip state and the helpers that the
 * sim_app*.c and sim_*.c files share (object table, metadata and access
 * conditions, keys, factory state, persistence, command handlers).
 */
#ifndef TRUSTX_SIM_APP_INTERNAL_H
#define TRUSTX_SIM_APP_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "sim_app.h"
#include "trustx/error.h"

/* Device error codes, as stored in 0xF1C2. */
enum {
    SIM_ERR_NONE = 0x00,
    SIM_ERR_INVALID_OID = 0x01,
    SIM_ERR_INVALID_PARAM = 0x03,
    SIM_ERR_INVALID_LENGTH = 0x04,
    SIM_ERR_INVALID_INDATA = 0x05,
    SIM_ERR_INTERNAL = 0x06,
    SIM_ERR_ACCESS = 0x07,
    SIM_ERR_BOUNDARY = 0x08,
    SIM_ERR_METADATA_TRUNCATION = 0x09,
    SIM_ERR_INVALID_CMD = 0x0A,
    SIM_ERR_SEQUENCE = 0x0B,
    SIM_ERR_NOT_AVAILABLE = 0x0C,
    SIM_ERR_UNSUPPORTED = 0x24,
    SIM_ERR_CERT_FORMAT = 0x29,
    SIM_ERR_SIGNATURE = 0x2C
};

/* Command codes with bit 7 (flush last error) cleared. */
enum {
    SIM_CMD_GET_DATA_OBJECT = 0x01,
    SIM_CMD_SET_DATA_OBJECT = 0x02,
    SIM_CMD_GET_RANDOM = 0x0C,
    SIM_CMD_CALC_HASH = 0x30,
    SIM_CMD_CALC_SIGN = 0x31,
    SIM_CMD_VERIFY_SIGN = 0x32,
    SIM_CMD_GEN_KEY_PAIR = 0x38,
    SIM_CMD_OPEN_APPLICATION = 0x70
};

#define SIM_CMD_FLUSH_BIT 0x80

/* Lifecycle states (LcsG, LcsA, LcsO). */
#define SIM_LCS_CREATION 0x01
#define SIM_LCS_INITIALIZATION 0x03
#define SIM_LCS_OPERATIONAL 0x07
#define SIM_LCS_TERMINATION 0x0F

/* Curve identifiers used by GenKeyPair (Param) and metadata tag 0xE0. */
#define SIM_CURVE_P256 0x03
#define SIM_CURVE_P384 0x04

/* Metadata tags. */
#define SIM_TAG_CONTAINER 0x20
#define SIM_TAG_LCSO 0xC0
#define SIM_TAG_MAX_SIZE 0xC4
#define SIM_TAG_USED_SIZE 0xC5
#define SIM_TAG_CHANGE 0xD0
#define SIM_TAG_READ 0xD1
#define SIM_TAG_EXECUTE 0xD3
#define SIM_TAG_ALGORITHM 0xE0
#define SIM_TAG_KEY_USAGE 0xE1

/* Key usage flags (metadata tag 0xE1, GenKeyPair tag 0x02). */
#define SIM_KEY_USAGE_AUTH 0x01
#define SIM_KEY_USAGE_SIGN 0x10
#define SIM_KEY_USAGE_ALL 0x3F

#define SIM_UID_LEN 27
#define SIM_OBJ_DATA_MAX 1728   /* largest data object: the certificate slots */
#define SIM_META_MAX 44         /* bytes of tags inside the 0x20 container */
#define SIM_APDU_HEADER_LEN 4

typedef enum sim_obj_kind {
    SIM_OBJ_SYSTEM,   /* fixed-size setting or status; no LcsO, used size = max size */
    SIM_OBJ_DATA,     /* certificate, trust anchor or arbitrary data; used size tracked */
    SIM_OBJ_KEY,      /* persistent private key; never readable */
    SIM_OBJ_SESSION   /* volatile session context holding a key; lost on reset */
} sim_obj_kind;

/* One row of the object table: an object as a delivered chip has it. */
typedef struct sim_obj_def {
    uint16_t oid;
    sim_obj_kind kind;
    uint16_t max_size;            /* data bytes; 0 for keys and sessions */
    const char *name;
    const uint8_t *metadata;      /* default metadata tags, without the 0x20 container */
    size_t metadata_len;
    const uint8_t *value;         /* default content; NULL = empty (used size 0) */
    size_t value_len;
} sim_obj_def;

typedef struct sim_object {
    const sim_obj_def *def;
    uint16_t used;                /* used size; bytes from used to max_size are zero */
    uint8_t *data;                /* max_size bytes, NULL for keys and sessions */
    uint8_t metadata[SIM_META_MAX];
    size_t metadata_len;
    uint64_t writes;              /* NVM writes so far: data, metadata, key generation */
    EVP_PKEY *key;                /* private key of a key or session object, or NULL */
    uint8_t curve;                /* SIM_CURVE_* of key, 0 without a key */
    char *key_pem;                /* PKCS#8 PEM of key, kept for the state file */
} sim_object;

/*
 * The data object write that the chip is still executing in virtual time.
 * It is kept until the next command, a reset, or a tick past done_us. A power
 * loss before then tears the object (see sim_app_power_loss()).
 */
typedef struct sim_pending_write {
    int active;
    uint16_t oid;
    uint16_t start;               /* first byte the write programs */
    uint16_t len;                 /* number of bytes it programs */
    uint64_t done_us;             /* virtual time at which the write completes */
    uint8_t before[SIM_OBJ_DATA_MAX]; /* object content before the write */
} sim_pending_write;

#define SIM_OBJECT_COUNT 42

struct sim_app {
    /* persistence */
    char *path;                   /* state file, NULL for a volatile chip */
    char *lock_path;
    int lock_fd;

    /* non-volatile chip state */
    sim_object objects[SIM_OBJECT_COUNT];
    uint8_t uid[SIM_UID_LEN];
    uint8_t sec;                  /* security event counter, 0xE0C5 */
    char *ca_cert_pem;            /* simulated vendor CA that issued 0xE0E0 */
    char *ca_key_pem;

    /* volatile chip state */
    int app_open;                 /* OpenApplication done since the last reset */
    uint8_t last_error;           /* 0xF1C2 */
    EVP_MD_CTX *hash;             /* running CalcHash, NULL if none */
    uint64_t now_us;              /* virtual time from sim_app_tick() */
    uint64_t sec_decay_base_us;   /* virtual time of the last SEC decay step */
    sim_pending_write pending;
};

/* One command APDU, split. */
typedef struct sim_apdu {
    uint8_t cmd;                  /* command code, flush bit cleared */
    uint8_t param;
    const uint8_t *in;
    size_t in_len;
} sim_apdu;

/* What a command handler produces besides its error code. */
typedef struct sim_reply {
    uint8_t *out;                 /* OutData area */
    size_t cap;                   /* bytes available at out */
    size_t len;                   /* OutData bytes written */
    uint32_t exec_us;             /* chip execution time, SEC delay included */
    int changed;                  /* non-volatile state changed: save it */
} sim_reply;

/* One TLV of command InData: Tag(1) Len(2, big-endian) Value. */
typedef struct sim_tlv {
    uint8_t tag;
    uint16_t len;
    const uint8_t *value;
} sim_tlv;

/* Lifecycle states an access condition is evaluated against. */
typedef struct sim_lcs {
    uint8_t lcsg;
    uint8_t lcsa;
    uint8_t lcso;
} sim_lcs;

/* ---- object table (sim_objects.c) ---- */

/* Returns the object table row at index i (0 <= i < SIM_OBJECT_COUNT). */
const sim_obj_def *sim_objects_def(size_t i);

/* Allocates data buffers and loads the delivered content and metadata. */
trustx_rc sim_objects_init(sim_app *app);

/* Frees data buffers and keys of every object. */
void sim_objects_free(sim_app *app);

/* Returns the object with that OID, or NULL if a Trust X has no such object. */
sim_object *sim_object_find(sim_app *app, uint16_t oid);
const sim_object *sim_object_find_const(const sim_app *app, uint16_t oid);

/* Sets the used size and keeps metadata tag 0xC5 in step with it. */
void sim_object_set_used(sim_object *obj, uint16_t used);

/* Returns the object's LcsO; objects without tag 0xC0 are operational. */
uint8_t sim_object_lcso(const sim_object *obj);

/* Returns nonzero when the access condition under tag (0xD0, 0xD1, 0xD3) is met. */
int sim_object_ac_allows(const sim_app *app, const sim_object *obj, uint8_t tag);

/* Empties a session object: no key, delivered metadata. */
void sim_object_clear_session(sim_object *obj);

/* Replaces the key of a key or session object (takes ownership of key, which may be NULL). */
trustx_rc sim_object_set_key(sim_object *obj, EVP_PKEY *key, uint8_t curve);

/* ---- metadata and access conditions (sim_metadata.c) ---- */

/* Finds tag in a metadata tag list; returns nonzero and sets value/len when present. */
int sim_meta_find(const uint8_t *meta, size_t meta_len, uint8_t tag, const uint8_t **value,
                  size_t *value_len);

/*
 * Replaces tag's value in place, or inserts the tag at its place in the order
 * C0 C1 C4 C5 D0 D1 D3 E0 E1 E8. Returns 0, or -1 when the list would exceed
 * SIM_META_MAX bytes (the list is then unchanged).
 */
int sim_meta_set(uint8_t *meta, size_t *meta_len, uint8_t tag, const uint8_t *value,
                 size_t value_len);

/* Returns nonzero when ac is a valid access condition expression. */
int sim_ac_valid(const uint8_t *ac, size_t len);

/*
 * Evaluates an access condition expression; a NULL or empty expression is NEV.
 * Groups joined by && bind tighter than ||, and both are evaluated left to right.
 */
int sim_ac_eval(const uint8_t *ac, size_t len, const sim_lcs *lcs);

/* Writes a readable form such as "LcsO<op" into buf; returns the length needed. */
size_t sim_ac_format(const uint8_t *ac, size_t len, char *buf, size_t cap);

/* Returns "cr", "in", "op", "te" or NULL for another value. */
const char *sim_lcs_name(uint8_t lcs);

/*
 * Merges a metadata write (the 0x20 container as sent) into obj following the
 * chip's update rules. Returns 0 or the device error code; obj is unchanged on
 * error.
 */
uint8_t sim_meta_write(sim_object *obj, const uint8_t *container, size_t len);

/* ---- keys (sim_keys.c) ---- */

/* Generates a key on SIM_CURVE_P256 or SIM_CURVE_P384; NULL on failure. */
EVP_PKEY *sim_key_generate(uint8_t curve);

/* Returns SIM_CURVE_* of an EC key, or 0 for any other key. */
uint8_t sim_key_curve(const EVP_PKEY *key);

/* Returns the size in bytes of a coordinate of the curve (32 or 48), 0 if unknown. */
size_t sim_curve_bytes(uint8_t curve);

/* Writes the public key as a DER BIT STRING 03 LL 00 04 X Y; returns its length or 0. */
size_t sim_key_public_bitstring(const EVP_PKEY *key, uint8_t *out, size_t cap);

/* Writes the private key as a DER OCTET STRING 04 LL d; returns its length or 0. */
size_t sim_key_private_octets(const EVP_PKEY *key, uint8_t *out, size_t cap);

/* Builds a public key from a BIT STRING in sim_key_public_bitstring() form; NULL if invalid. */
EVP_PKEY *sim_key_from_bitstring(uint8_t curve, const uint8_t *bits, size_t len);

/*
 * Signs a digest with ECDSA and writes r and s as two minimal DER INTEGERs
 * without a SEQUENCE header. Returns their length, or 0 on failure.
 */
size_t sim_key_sign(EVP_PKEY *key, const uint8_t *digest, size_t digest_len, uint8_t *out,
                    size_t cap);

/* Verifies r||s as two DER INTEGERs: 1 valid, 0 wrong signature, -1 malformed signature. */
int sim_key_verify(EVP_PKEY *key, const uint8_t *digest, size_t digest_len,
                   const uint8_t *sig, size_t sig_len);

/* Returns the key as PKCS#8 PEM (caller frees with free()), NULL on failure. */
char *sim_key_to_pem(EVP_PKEY *key);

/* Parses a PEM private key; NULL on failure. */
EVP_PKEY *sim_key_from_pem(const char *pem);

/* ---- factory state (sim_factory.c) ---- */

/* Creates a delivered chip: UID, defaults, vendor CA, E0F0 key and E0E0 certificate. */
trustx_rc sim_factory_init(sim_app *app);

/* ---- persistence (sim_state.c) ---- */

/* Takes the exclusive lock on app->lock_path, waiting up to wait_ms. */
trustx_rc sim_state_lock(sim_app *app, uint32_t wait_ms);

/* Releases the lock taken by sim_state_lock(); does nothing without one. */
void sim_state_unlock(sim_app *app);

/* Loads app->path into app; TRUSTX_E_NOT_FOUND when the file does not exist. */
trustx_rc sim_state_load(sim_app *app);

/* Writes app to app->path atomically (temporary file, fsync, rename). */
trustx_rc sim_state_save(sim_app *app);

/* ---- commands (sim_app_data.c, sim_app_crypt.c) ---- */

/*
 * Splits InData into TLVs (Tag(1) Len(2) Value). Returns 0, or -1 when a TLV
 * runs past the end, a tag repeats, or there are more than max TLVs.
 */
int sim_tlv_parse(const uint8_t *in, size_t len, sim_tlv *out, size_t max, size_t *count);

/* Returns the TLV with tag, or NULL. */
const sim_tlv *sim_tlv_find(const sim_tlv *tlvs, size_t count, uint8_t tag);

/* Counts one private-key use: raises the SEC and adds its delay to reply. */
void sim_app_security_event(sim_app *app, sim_reply *reply);

/* Ends the pending write as completed. */
void sim_app_pending_clear(sim_app *app);

/* Records that a data write to obj is in progress; before is the content prior to it. */
void sim_app_pending_start(sim_app *app, const sim_object *obj, const uint8_t *before,
                           uint16_t start, uint16_t len, uint32_t exec_us);

uint8_t sim_cmd_open_application(sim_app *app, const sim_apdu *apdu, sim_reply *reply);
uint8_t sim_cmd_get_data_object(sim_app *app, const sim_apdu *apdu, sim_reply *reply);
uint8_t sim_cmd_set_data_object(sim_app *app, const sim_apdu *apdu, sim_reply *reply);
uint8_t sim_cmd_get_random(sim_app *app, const sim_apdu *apdu, sim_reply *reply);
uint8_t sim_cmd_gen_key_pair(sim_app *app, const sim_apdu *apdu, sim_reply *reply);
uint8_t sim_cmd_calc_sign(sim_app *app, const sim_apdu *apdu, sim_reply *reply);
uint8_t sim_cmd_verify_sign(sim_app *app, const sim_apdu *apdu, sim_reply *reply);
uint8_t sim_cmd_calc_hash(sim_app *app, const sim_apdu *apdu, sim_reply *reply);

/* Big-endian helpers. */
static inline uint16_t sim_be16(const uint8_t *p)
{
    return (uint16_t)((p[0] << 8) | p[1]);
}

static inline void sim_put_be16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

#endif

/* SPDX-License-Identifier: MIT */
/*
 * The personalization workflow: key in the chip, CSR signed by the chip,
 * certificate from a CA, written back and proven to match, optional cloud
 * registration and lock. Each finished step is recorded in a SQLite journal
 * keyed by the chip's UID and key slot, so an interrupted run resumes where
 * it stopped and never generates a second key for the same job.
 */
#ifndef TRUSTX_PROVISION_H
#define TRUSTX_PROVISION_H

#include <stddef.h>
#include <stdint.h>

#include "trustx/cmd.h"
#include "trustx/error.h"
#include "trustx/pki.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Steps in the order they run; a record stores the last one finished. */
typedef enum trustx_step {
    TRUSTX_STEP_NONE = 0,
    TRUSTX_STEP_KEYGEN,        /* key pair generated; public key recorded */
    TRUSTX_STEP_CSR,           /* CSR built, signed by the chip, checked, saved */
    TRUSTX_STEP_CERT,          /* certificate issued and checked against the key */
    TRUSTX_STEP_WRITE,         /* certificate written into the paired slot and read back */
    TRUSTX_STEP_VERIFY,        /* chip signed a fresh challenge; the certificate's key verified it */
    TRUSTX_STEP_REGISTER,      /* cloud registration finished (AWS IoT) */
    TRUSTX_STEP_LOCK,          /* slots locked (LcsO operational) */
    TRUSTX_STEP_DONE
} trustx_step;

/* Returns "keygen", "csr", ... for a step. */
const char *trustx_step_name(trustx_step step);

/* What a journal holds for one (UID, key slot). */
typedef struct trustx_record {
    char uid[55];              /* hex of the 27-byte UID */
    uint16_t key_slot;
    trustx_step step;
    int curve;                 /* trustx_curve */
    uint8_t pubkey[TRUSTX_PUBKEY_MAX];
    size_t pubkey_len;
    char *csr_pem;             /* owned, may be NULL */
    char *cert_pem;            /* owned, may be NULL */
    char *cloud_json;          /* owned, may be NULL: registration result */
    char *job_json;            /* owned, may be NULL: the options the job was started with */
    uint64_t keygen_count;     /* key generations that finished for the slot */
    int keygen_pending;        /* a key generation was sent but its result never saved;
                                  pubkey then holds the key the slot had before, if any */
} trustx_record;

typedef struct trustx_journal trustx_journal;

/* Opens (creating when missing) the journal database at path. */
trustx_rc trustx_journal_open(const char *path, trustx_journal **out);

void trustx_journal_close(trustx_journal *j);

/*
 * Loads the record for (uid, key_slot). A missing record gives step
 * TRUSTX_STEP_NONE and TRUSTX_OK. Free with trustx_record_clear().
 */
trustx_rc trustx_journal_load(trustx_journal *j, const char *uid, uint16_t key_slot,
                              trustx_record *rec);

/* Stores rec as the state after rec->step, atomically (one transaction). */
trustx_rc trustx_journal_save(trustx_journal *j, const trustx_record *rec);

/*
 * Records that a key generation is about to be sent, before it is sent, so
 * that a crash between the chip's key generation and the next save is seen
 * on the next run. Everything derived from an earlier key is dropped, and
 * job_json (may be NULL) is stored as the options of the new job. old_pub
 * (may be NULL) is the slot's public key before the generation. The record
 * keeps it so that a recovery can tell an old key from a new one.
 */
trustx_rc trustx_journal_mark_keygen(trustx_journal *j, const char *uid, uint16_t key_slot,
                                     const char *job_json, const uint8_t *old_pub,
                                     size_t old_pub_len);

/* Returns nonzero when a key generation was marked but its public key never saved. */
int trustx_record_keygen_pending(const trustx_record *rec);

/* Deletes the record for (uid, key_slot), to start that job over. */
trustx_rc trustx_journal_forget(trustx_journal *j, const char *uid, uint16_t key_slot);

/* Frees the strings of rec and resets it. */
void trustx_record_clear(trustx_record *rec);

/* ---- Single steps, each safe on its own ---- */

/* Returns the certificate slot paired with a key slot (0xE0F1 -> 0xE0E1), 0 if none. */
uint16_t trustx_paired_cert_slot(uint16_t key_slot);

/* Checks that key_slot is one of 0xE0F0..0xE0F3 (TRUSTX_E_INVALID_ARG naming it otherwise). */
trustx_rc trustx_check_key_slot(uint16_t key_slot);

/* Checks that cert_slot is one of 0xE0E0..0xE0E3 (TRUSTX_E_INVALID_ARG naming it otherwise). */
trustx_rc trustx_check_cert_slot(uint16_t cert_slot);

/*
 * Reads cert_slot and reports whether it contains a certificate in *present.
 * desc (cap bytes, may be NULL) receives a one-line description.
 */
trustx_rc trustx_slot_certificate(trustx_chip *chip, uint16_t cert_slot, int *present,
                                  char *desc, size_t cap);

/*
 * Generates a key pair in key_slot (key usage Sign | Auth). When the paired
 * certificate slot holds a certificate, fails with TRUSTX_E_STATE unless
 * force is set, because the new key would orphan that certificate. A chip
 * refusal (for example 0xE0F0, whose change access condition is NEV) is
 * reported with the slot's lifecycle and change access condition.
 */
trustx_rc trustx_keygen(trustx_chip *chip, uint16_t key_slot, trustx_curve curve, int force,
                        uint8_t *pub, size_t cap, size_t *pub_len);

/*
 * Fails with TRUSTX_E_STATE when oid's metadata shows that a write cannot
 * succeed: change condition NEV, or a lifecycle comparison that fails. what
 * names the write in the message ("writing a certificate into"). Conditions
 * the host cannot evaluate pass, and the chip decides.
 */
trustx_rc trustx_check_writable(trustx_chip *chip, uint16_t oid, const char *what);

/* The guards of trustx_keygen() alone: they read the chip and change nothing. */
trustx_rc trustx_keygen_check(trustx_chip *chip, uint16_t key_slot, int force);

/* The key generation of trustx_keygen() without its guards; call trustx_keygen_check() first. */
trustx_rc trustx_keygen_unchecked(trustx_chip *chip, uint16_t key_slot, trustx_curve curve,
                                  uint8_t *pub, size_t cap, size_t *pub_len);

/*
 * Recovers the public key of the key in key_slot from two signatures over
 * fresh random digests (the chip does not export it). *curve receives the
 * curve from the slot's metadata.
 */
trustx_rc trustx_slot_public_key(trustx_chip *chip, uint16_t key_slot, trustx_curve *curve,
                                 uint8_t *pub, size_t cap, size_t *pub_len);

/*
 * Builds a CSR for the key in key_slot, signed by the chip, and checks its
 * self-signature and that its key is pub. *der is malloc'd.
 */
trustx_rc trustx_make_csr(trustx_chip *chip, uint16_t key_slot, trustx_curve curve,
                          const uint8_t *pub, size_t pub_len, const trustx_pki_subject *subject,
                          uint8_t **der, size_t *der_len);

/*
 * Proves that the key in key_slot belongs to cert: the chip signs a digest
 * of fresh random bytes and the certificate's public key verifies it.
 * TRUSTX_E_VERIFY when it does not.
 */
trustx_rc trustx_prove_pairing(trustx_chip *chip, uint16_t key_slot, const trustx_pki_cert *cert);

/* What trustx_install_certificate did. */
typedef struct trustx_install_result {
    size_t bytes;              /* size of the slot object written (or found) */
    int unchanged;             /* the slot already held these exact bytes; nothing written */
} trustx_install_result;

/*
 * Writes chain (leaf first) into cert_slot in format, after checking that it
 * fits the slot and that the leaf's key is the one in key_slot (proved by a
 * chip signature; TRUSTX_E_VERIFY otherwise, and nothing is written). When
 * the slot already holds identical bytes nothing is written. After a write
 * the slot is read back and compared (TRUSTX_E_VERIFY when it differs).
 */
trustx_rc trustx_install_certificate(trustx_chip *chip, uint16_t cert_slot, uint16_t key_slot,
                                     const trustx_pki_chain *chain,
                                     trustx_pki_slot_format format,
                                     trustx_install_result *result);

/* The metadata that locks a slot: LcsO = operational (20 03 C0 01 07). */
extern const uint8_t trustx_lock_metadata[5];

/*
 * Sets *locked when key_slot and its paired certificate slot both have
 * lifecycle operational or higher, as read from the chip's metadata.
 */
trustx_rc trustx_slots_locked(trustx_chip *chip, uint16_t key_slot, int *locked);

/* Locks key_slot and its paired certificate slot for good. */
trustx_rc trustx_lock_slots(trustx_chip *chip, uint16_t key_slot);

/* ---- The whole job ---- */

/* Installs a certificate (PEM, leaf first) in the chip and verifies it; given to issuers. */
typedef trustx_rc (*trustx_install_fn)(void *install_ctx, const char *cert_pem);

/*
 * A certificate source. run() obtains a certificate for the CSR, calls
 * install() exactly once with it (which writes it and proves the pairing),
 * finishes whatever registration it does, and may return a JSON text
 * describing the result in *result_json (malloc'd). run() MUST NOT make a
 * certificate usable (for example ACTIVE in a cloud) before install()
 * returned TRUSTX_OK.
 */
typedef struct trustx_issuer {
    const char *name;          /* "own CA", "AWS IoT" */
    trustx_rc (*run)(void *issuer_ctx, const char *csr_pem, trustx_curve curve,
                     const uint8_t *pub, size_t pub_len, trustx_install_fn install,
                     void *install_ctx, char **result_json);
    void *ctx;
    int registers;             /* nonzero: run() registers in a cloud (journal step register) */
} trustx_issuer;

/*
 * An issuer that signs with a local CA (the CA stays owned by the caller).
 * NOTE: the context lives in a per-thread static, so each thread has at most
 * one local-CA issuer in use at a time. trustx_issuer_aws() has the same limit.
 */
void trustx_issuer_local_ca(trustx_issuer *issuer, const trustx_pki_ca *ca, unsigned days);

struct trustx_aws_client;

/*
 * An issuer that registers the device in AWS IoT as thing (policy NULL: the
 * default least-privilege policy). client and the strings stay owned by the
 * caller and MUST outlive the issuer's use. allow_other_active lets a thing
 * that already has an ACTIVE certificate for another key get this one too.
 */
void trustx_issuer_aws(trustx_issuer *issuer, struct trustx_aws_client *client,
                       const char *thing, const char *policy, int allow_other_active);

typedef void (*trustx_progress_fn)(void *user, trustx_step step, const char *message);

typedef struct trustx_personalize_opts {
    uint16_t key_slot;                   /* 0xE0F1..0xE0F3 */
    const char *uid;                     /* the chip's UID in hex if already read, or NULL */
    /*
     * The options that define the job, as text (subject, curve, issuer and
     * its target). A resumed job whose text differs fails with
     * TRUSTX_E_INVALID_ARG instead of silently finishing the old job.
     */
    const char *job;
    trustx_curve curve;                  /* for a new key */
    const trustx_pki_subject *subject;   /* CSR subject */
    const trustx_issuer *issuer;
    trustx_pki_slot_format format;       /* identity (0xC0) or plain DER */
    int force;                           /* replace a key whose slot pair holds a certificate */
    int lock;                            /* lock both slots after verification */
    trustx_journal *journal;
    trustx_progress_fn progress;         /* called after each step is saved; may be NULL */
    void *progress_user;
} trustx_personalize_opts;

typedef struct trustx_personalize_result {
    char uid[55];
    uint16_t key_slot;
    uint16_t cert_slot;
    trustx_curve curve;
    uint8_t pubkey[TRUSTX_PUBKEY_MAX];
    size_t pubkey_len;
    trustx_step resumed_after;           /* last step an earlier run had finished */
    trustx_step finished;                /* last step finished when this run ended */
    int keygen_pending;                  /* a key generation's outcome is still unknown */
    unsigned keys_generated;             /* key generations in this run */
    uint64_t keygen_total;               /* key generations the journal has seen for this job */
    int cert_unchanged;                  /* the slot already held the certificate */
    int locked;                          /* both slots are locked (read from the chip) */
    char *csr_pem;                       /* malloc'd, NULL if not reached */
    char *cert_pem;
    char *cloud_json;
} trustx_personalize_result;

/* Reads the chip's UID as hex (55 bytes with the NUL). */
trustx_rc trustx_chip_uid_hex(trustx_chip *chip, char uid[55]);

/*
 * Runs or resumes the whole job. Every step is recorded in opts->journal
 * before the next begins; a finished step is not repeated, and a key
 * generation interrupted before its result was saved is recovered from the
 * chip instead of being repeated. result is filled as far as the run got,
 * also on failure; free it with trustx_personalize_result_clear().
 */
trustx_rc trustx_personalize(trustx_chip *chip, const trustx_personalize_opts *opts,
                             trustx_personalize_result *result);

void trustx_personalize_result_clear(trustx_personalize_result *result);

#ifdef __cplusplus
}
#endif

#endif

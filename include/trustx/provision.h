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
    uint64_t keygen_count;     /* key generations this journal has seen for the slot */
    int keygen_pending;        /* a key generation was sent but its result never saved */
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
 * on the next run.
 */
trustx_rc trustx_journal_mark_keygen(trustx_journal *j, const char *uid, uint16_t key_slot);

/* Returns nonzero when a key generation was marked but its public key never saved. */
int trustx_record_keygen_pending(const trustx_record *rec);

/* Deletes the record for (uid, key_slot), to start that job over. */
trustx_rc trustx_journal_forget(trustx_journal *j, const char *uid, uint16_t key_slot);

/* Frees the strings of rec and resets it. */
void trustx_record_clear(trustx_record *rec);

#ifdef __cplusplus
}
#endif

#endif

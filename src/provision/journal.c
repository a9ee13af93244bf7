/* SPDX-License-Identifier: MIT */
/*
 * The personalization journal in SQLite: one row per (UID, key slot) with
 * the last finished step and what it produced, plus an append-only event
 * table. WAL mode with synchronous=FULL makes every save durable before the
 * next chip operation starts; busy_timeout lets stations share one file.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "trustx/provision.h"

#define JOURNAL_BUSY_TIMEOUT_MS 10000

struct trustx_journal {
    sqlite3 *db;
    char path[512];
};

static const char schema[] =
    "PRAGMA journal_mode=WAL;"
    "PRAGMA synchronous=FULL;"
    "CREATE TABLE IF NOT EXISTS jobs ("
    "  uid TEXT NOT NULL, key_slot INTEGER NOT NULL, step INTEGER NOT NULL,"
    "  curve INTEGER NOT NULL DEFAULT 0, pubkey BLOB, csr_pem TEXT, cert_pem TEXT,"
    "  cloud_json TEXT, job_json TEXT, keygen_pending INTEGER NOT NULL DEFAULT 0,"
    "  keygen_count INTEGER NOT NULL DEFAULT 0, updated TEXT NOT NULL,"
    "  PRIMARY KEY (uid, key_slot));"
    "CREATE TABLE IF NOT EXISTS events ("
    "  id INTEGER PRIMARY KEY, uid TEXT NOT NULL, key_slot INTEGER NOT NULL,"
    "  step TEXT NOT NULL, at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ','now')));";

const char *trustx_step_name(trustx_step step)
{
    static const char *const names[] = {"none",   "keygen",   "csr",  "cert", "write",
                                        "verify", "register", "lock", "done"};

    return (unsigned)step <= TRUSTX_STEP_DONE ? names[step] : "unknown";
}

static trustx_rc db_fail(trustx_journal *j, const char *what)
{
    return trustx_fail(TRUSTX_LAYER_PROVISION, TRUSTX_E_IO, "journal %s: %s failed: %s", j->path,
                       what, sqlite3_errmsg(j->db));
}

trustx_rc trustx_journal_open(const char *path, trustx_journal **out)
{
    trustx_journal *j = calloc(1, sizeof(*j));
    char *msg = NULL;

    if (j == NULL)
        return trustx_fail(TRUSTX_LAYER_PROVISION, TRUSTX_E_NOMEM, "out of memory");
    snprintf(j->path, sizeof(j->path), "%s", path);

    if (sqlite3_open_v2(path, &j->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) !=
        SQLITE_OK) {
        trustx_rc rc = trustx_fail(TRUSTX_LAYER_PROVISION, TRUSTX_E_IO,
                                   "cannot open journal %s: %s", path,
                                   j->db ? sqlite3_errmsg(j->db) : "out of memory");
        trustx_journal_close(j);
        return rc;
    }
    sqlite3_busy_timeout(j->db, JOURNAL_BUSY_TIMEOUT_MS);

    if (sqlite3_exec(j->db, schema, NULL, NULL, &msg) != SQLITE_OK) {
        trustx_rc rc = trustx_fail(TRUSTX_LAYER_PROVISION, TRUSTX_E_IO,
                                   "journal %s is not usable: %s", path, msg ? msg : "?");
        sqlite3_free(msg);
        trustx_journal_close(j);
        return rc;
    }
    *out = j;
    return TRUSTX_OK;
}

void trustx_journal_close(trustx_journal *j)
{
    if (j == NULL)
        return;
    sqlite3_close(j->db);
    free(j);
}

static char *column_strdup(sqlite3_stmt *st, int col)
{
    const unsigned char *text = sqlite3_column_text(st, col);

    return text ? strdup((const char *)text) : NULL;
}

trustx_rc trustx_journal_load(trustx_journal *j, const char *uid, uint16_t key_slot,
                              trustx_record *rec)
{
    static const char sql[] =
        "SELECT step, curve, pubkey, csr_pem, cert_pem, cloud_json, keygen_pending, "
        "keygen_count, job_json FROM jobs WHERE uid = ?1 AND key_slot = ?2";
    sqlite3_stmt *st = NULL;
    int step_rc;

    memset(rec, 0, sizeof(*rec));
    snprintf(rec->uid, sizeof(rec->uid), "%s", uid);
    rec->key_slot = key_slot;

    if (sqlite3_prepare_v2(j->db, sql, -1, &st, NULL) != SQLITE_OK)
        return db_fail(j, "load");
    sqlite3_bind_text(st, 1, uid, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 2, key_slot);

    step_rc = sqlite3_step(st);
    if (step_rc == SQLITE_ROW) {
        const void *blob = sqlite3_column_blob(st, 2);
        size_t blob_len = (size_t)sqlite3_column_bytes(st, 2);

        rec->step = (trustx_step)sqlite3_column_int(st, 0);
        rec->curve = sqlite3_column_int(st, 1);
        if (blob != NULL && blob_len <= sizeof(rec->pubkey)) {
            memcpy(rec->pubkey, blob, blob_len);
            rec->pubkey_len = blob_len;
        }
        rec->csr_pem = column_strdup(st, 3);
        rec->cert_pem = column_strdup(st, 4);
        rec->cloud_json = column_strdup(st, 5);
        rec->keygen_pending = sqlite3_column_int(st, 6);
        rec->keygen_count = (uint64_t)sqlite3_column_int64(st, 7);
        rec->job_json = column_strdup(st, 8);
    }
    sqlite3_finalize(st);
    if (step_rc != SQLITE_ROW && step_rc != SQLITE_DONE)
        return db_fail(j, "load");
    return TRUSTX_OK;
}

static trustx_rc add_event(trustx_journal *j, const char *uid, uint16_t key_slot,
                           const char *step)
{
    static const char sql[] = "INSERT INTO events (uid, key_slot, step) VALUES (?1, ?2, ?3)";
    sqlite3_stmt *st = NULL;
    int rc;

    if (sqlite3_prepare_v2(j->db, sql, -1, &st, NULL) != SQLITE_OK)
        return db_fail(j, "event");
    sqlite3_bind_text(st, 1, uid, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 2, key_slot);
    sqlite3_bind_text(st, 3, step, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? TRUSTX_OK : db_fail(j, "event");
}

static trustx_rc run(trustx_journal *j, const char *sql, const char *what)
{
    return sqlite3_exec(j->db, sql, NULL, NULL, NULL) == SQLITE_OK ? TRUSTX_OK
                                                                  : db_fail(j, what);
}

trustx_rc trustx_journal_save(trustx_journal *j, const trustx_record *rec)
{
    static const char sql[] =
        "INSERT INTO jobs (uid, key_slot, step, curve, pubkey, csr_pem, cert_pem, cloud_json,"
        " keygen_pending, keygen_count, job_json, updated)"
        " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11,"
        " strftime('%Y-%m-%dT%H:%M:%SZ','now'))"
        " ON CONFLICT (uid, key_slot) DO UPDATE SET step = excluded.step,"
        " curve = excluded.curve, pubkey = excluded.pubkey, csr_pem = excluded.csr_pem,"
        " cert_pem = excluded.cert_pem, cloud_json = excluded.cloud_json,"
        " keygen_pending = excluded.keygen_pending, keygen_count = excluded.keygen_count,"
        " job_json = excluded.job_json, updated = excluded.updated";
    sqlite3_stmt *st = NULL;
    trustx_rc rc = run(j, "BEGIN IMMEDIATE", "begin");
    int step_rc;

    if (rc != TRUSTX_OK)
        return rc;
    if (sqlite3_prepare_v2(j->db, sql, -1, &st, NULL) != SQLITE_OK) {
        rc = db_fail(j, "save");
        run(j, "ROLLBACK", "rollback");
        return rc;
    }
    sqlite3_bind_text(st, 1, rec->uid, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 2, rec->key_slot);
    sqlite3_bind_int(st, 3, (int)rec->step);
    sqlite3_bind_int(st, 4, rec->curve);
    sqlite3_bind_blob(st, 5, rec->pubkey, (int)rec->pubkey_len, SQLITE_STATIC);
    sqlite3_bind_text(st, 6, rec->csr_pem, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 7, rec->cert_pem, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 8, rec->cloud_json, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 9, rec->keygen_pending);
    sqlite3_bind_int64(st, 10, (sqlite3_int64)rec->keygen_count);
    sqlite3_bind_text(st, 11, rec->job_json, -1, SQLITE_STATIC);
    step_rc = sqlite3_step(st);
    sqlite3_finalize(st);

    rc = step_rc == SQLITE_DONE ? TRUSTX_OK : db_fail(j, "save");
    if (rc == TRUSTX_OK)
        rc = add_event(j, rec->uid, rec->key_slot, trustx_step_name(rec->step));
    if (rc == TRUSTX_OK)
        rc = run(j, "COMMIT", "commit");
    if (rc != TRUSTX_OK) {
        trustx_error saved = *trustx_error_last();

        /* A failed COMMIT leaves the transaction open; the next BEGIN would fail. */
        run(j, "ROLLBACK", "rollback");
        trustx_fail(saved.layer, saved.rc, "%s", saved.message);
    }
    return rc;
}

trustx_rc trustx_journal_mark_keygen(trustx_journal *j, const char *uid, uint16_t key_slot,
                                     const char *job_json, const uint8_t *old_pub,
                                     size_t old_pub_len)
{
    trustx_record rec;
    trustx_rc rc = trustx_journal_load(j, uid, key_slot, &rec);

    if (rc != TRUSTX_OK)
        return rc;
    /* A new key starts the job over: everything derived from the old key is dropped. */
    free(rec.csr_pem);
    free(rec.cert_pem);
    free(rec.cloud_json);
    free(rec.job_json);
    rec.csr_pem = rec.cert_pem = rec.cloud_json = NULL;
    rec.job_json = job_json ? strdup(job_json) : NULL;
    rec.pubkey_len = 0;
    if (old_pub != NULL && old_pub_len <= sizeof(rec.pubkey)) {
        memcpy(rec.pubkey, old_pub, old_pub_len);
        rec.pubkey_len = old_pub_len;
    }
    rec.step = TRUSTX_STEP_NONE;
    rec.keygen_pending = 1;
    rc = trustx_journal_save(j, &rec);
    trustx_record_clear(&rec);
    return rc;
}

int trustx_record_keygen_pending(const trustx_record *rec)
{
    return rec->keygen_pending;
}

trustx_rc trustx_journal_forget(trustx_journal *j, const char *uid, uint16_t key_slot)
{
    static const char sql[] = "DELETE FROM jobs WHERE uid = ?1 AND key_slot = ?2";
    sqlite3_stmt *st = NULL;
    int rc;

    if (sqlite3_prepare_v2(j->db, sql, -1, &st, NULL) != SQLITE_OK)
        return db_fail(j, "forget");
    sqlite3_bind_text(st, 1, uid, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 2, key_slot);
    rc = sqlite3_step(st);
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? add_event(j, uid, key_slot, "forget") : db_fail(j, "forget");
}

void trustx_record_clear(trustx_record *rec)
{
    free(rec->csr_pem);
    free(rec->cert_pem);
    free(rec->cloud_json);
    free(rec->job_json);
    memset(rec, 0, sizeof(*rec));
}

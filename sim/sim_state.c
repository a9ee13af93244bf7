/* SPDX-License-Identifier: MIT */
/*
 * Persistence of the simulated chip: a JSON state file written atomically
 * (temporary file, fsync, rename) and guarded by an exclusive flock() on
 * PATH.lock for as long as a sim_app has it open.
 *
 * File layout: {"format": "trustx-sim-state", "version": 1, "state": {...},
 * "sha256": hex of SHA-256 over the unformatted "state" member}. The state
 * contains the UID, the security event counter and the vendor CA (certificate
 * and key as PEM). Each non-volatile object has one entry with its OID, data
 * (hex of the used bytes), metadata (hex of the tags without the 0x20
 * container) and NVM write count. Key objects add the curve and the PKCS#8
 * PEM private key.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "sim_app_internal.h"
#include "trustx/log.h"

#define STATE_FORMAT "trustx-sim-state"
#define STATE_VERSION 1
#define STATE_FILE_MAX (1024 * 1024)   /* a full chip is about 20 kB */
#define LOCK_POLL_MS 10                /* interval between lock attempts */
#define SHA256_LEN 32

/* ---- lock ---- */

static uint64_t monotonic_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {0, (long)ms * 1000000L};

    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

trustx_rc sim_state_lock(sim_app *app, uint32_t wait_ms)
{
    uint64_t start = monotonic_ms();
    int warned = 0;
    int fd = open(app->lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);

    if (fd < 0)
        return trustx_fail_errno(TRUSTX_LAYER_SIM, TRUSTX_E_IO, errno,
                                 "failed to open lock file %s: %s; check that its directory "
                                 "exists and is writable",
                                 app->lock_path, strerror(errno));

    while (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        int err = errno;

        if (err != EWOULDBLOCK && err != EINTR) {
            close(fd);
            return trustx_fail_errno(TRUSTX_LAYER_SIM, TRUSTX_E_IO, err,
                                     "failed to lock %s: %s", app->lock_path, strerror(err));
        }
        if (!warned) {
            trustx_log(TRUSTX_LOG_WARN, "sim", "%s is in use by another process; waiting up to "
                       "%u ms for it", app->path, (unsigned)wait_ms);
            warned = 1;
        }
        if (monotonic_ms() - start >= wait_ms) {
            close(fd);
            return trustx_fail(TRUSTX_LAYER_SIM, TRUSTX_E_BUSY,
                               "state file %s is in use by another simulator (lock %s still "
                               "held after %u ms); stop the other process or wait longer",
                               app->path, app->lock_path, (unsigned)wait_ms);
        }
        sleep_ms(LOCK_POLL_MS);
    }
    app->lock_fd = fd;
    return TRUSTX_OK;
}

/* The lock file itself stays: removing it would let two openers lock different inodes. */
void sim_state_unlock(sim_app *app)
{
    if (app->lock_fd >= 0) {
        flock(app->lock_fd, LOCK_UN);
        close(app->lock_fd);
        app->lock_fd = -1;
    }
}

/* ---- hex and hashing ---- */

static char *hex_encode(const uint8_t *data, size_t len)
{
    static const char digits[] = "0123456789ABCDEF";
    char *text = malloc(2 * len + 1);

    if (text == NULL)
        return NULL;
    for (size_t i = 0; i < len; i++) {
        text[2 * i] = digits[data[i] >> 4];
        text[2 * i + 1] = digits[data[i] & 0x0F];
    }
    text[2 * len] = '\0';
    return text;
}

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* Decodes hex text into out; returns the byte count or -1 if invalid or longer than cap. */
static long hex_decode(const char *text, uint8_t *out, size_t cap)
{
    size_t len = strlen(text);

    if (len % 2 != 0 || len / 2 > cap)
        return -1;
    for (size_t i = 0; i < len / 2; i++) {
        int high = hex_digit(text[2 * i]);
        int low = hex_digit(text[2 * i + 1]);

        if (high < 0 || low < 0)
            return -1;
        out[i] = (uint8_t)(high << 4 | low);
    }
    return (long)(len / 2);
}

/* Returns the hex SHA-256 of the unformatted JSON of state (caller frees), NULL on failure. */
static char *state_digest(const cJSON *state)
{
    uint8_t md[SHA256_LEN];
    unsigned md_len = 0;
    char *text = cJSON_PrintUnformatted(state);
    char *hex = NULL;

    if (text != NULL &&
        EVP_Digest(text, strlen(text), md, &md_len, EVP_sha256(), NULL) == 1 &&
        md_len == SHA256_LEN)
        hex = hex_encode(md, md_len);
    free(text);
    return hex;
}

/* ---- save ---- */

static const char *curve_name(uint8_t curve)
{
    return curve == SIM_CURVE_P384 ? "P-384" : "P-256";
}

static int add_hex(cJSON *parent, const char *name, const uint8_t *data, size_t len)
{
    char *hex = hex_encode(data, len);
    int ok = hex != NULL && cJSON_AddStringToObject(parent, name, hex) != NULL;

    free(hex);
    return ok;
}

static cJSON *object_to_json(const sim_object *obj)
{
    cJSON *entry = cJSON_CreateObject();
    char oid[8];
    int ok;

    snprintf(oid, sizeof(oid), "%04X", obj->def->oid);
    ok = entry != NULL && cJSON_AddStringToObject(entry, "oid", oid) != NULL;
    if (ok && obj->data != NULL)
        ok = add_hex(entry, "data", obj->data, obj->used);
    ok = ok && add_hex(entry, "metadata", obj->metadata, obj->metadata_len) &&
         cJSON_AddNumberToObject(entry, "writes", (double)obj->writes) != NULL;
    if (ok && obj->key_pem != NULL) {
        cJSON *key = cJSON_AddObjectToObject(entry, "key");

        ok = key != NULL && cJSON_AddStringToObject(key, "curve", curve_name(obj->curve)) &&
             cJSON_AddStringToObject(key, "private_key", obj->key_pem) != NULL;
    }
    if (!ok) {
        cJSON_Delete(entry);
        return NULL;
    }
    return entry;
}

static cJSON *state_to_json(const sim_app *app)
{
    cJSON *state = cJSON_CreateObject();
    cJSON *ca = NULL;
    cJSON *objects = NULL;
    int ok = state != NULL && add_hex(state, "uid", app->uid, SIM_UID_LEN) &&
             cJSON_AddNumberToObject(state, "security_event_counter", app->sec) != NULL;

    if (ok) {
        ca = cJSON_AddObjectToObject(state, "vendor_ca");
        objects = cJSON_AddArrayToObject(state, "objects");
        ok = ca != NULL && objects != NULL &&
             cJSON_AddStringToObject(ca, "certificate", app->ca_cert_pem) != NULL &&
             cJSON_AddStringToObject(ca, "private_key", app->ca_key_pem) != NULL;
    }

    for (size_t i = 0; ok && i < SIM_OBJECT_COUNT; i++) {
        const sim_object *obj = &app->objects[i];
        cJSON *entry;

        if (obj->def->kind == SIM_OBJ_SESSION)
            continue; /* volatile */
        entry = object_to_json(obj);
        ok = entry != NULL && cJSON_AddItemToArray(objects, entry);
    }
    if (!ok) {
        cJSON_Delete(state);
        return NULL;
    }
    return state;
}

/* Serializes app into the file text (caller wipes and frees), NULL when out of memory. */
static char *state_text(const sim_app *app)
{
    cJSON *root = cJSON_CreateObject();
    cJSON *state = state_to_json(app);
    char *digest = state != NULL ? state_digest(state) : NULL;
    char *text = NULL;

    if (root != NULL && state != NULL && digest != NULL &&
        cJSON_AddStringToObject(root, "format", STATE_FORMAT) != NULL &&
        cJSON_AddNumberToObject(root, "version", STATE_VERSION) != NULL) {
        cJSON_AddItemToObject(root, "state", state);
        state = NULL; /* owned by root */
        if (cJSON_AddStringToObject(root, "sha256", digest) != NULL)
            text = cJSON_Print(root);
    }
    free(digest);
    cJSON_Delete(state);
    cJSON_Delete(root);
    return text;
}

static trustx_rc write_all(int fd, const char *path, const char *text, size_t len)
{
    size_t done = 0;

    while (done < len) {
        ssize_t n = write(fd, text + done, len - done);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return trustx_fail_errno(TRUSTX_LAYER_SIM, TRUSTX_E_IO, errno,
                                     "failed to write %s: %s", path, strerror(errno));
        done += (size_t)n;
    }
    return TRUSTX_OK;
}

/* Makes the rename durable; file systems that cannot sync a directory are accepted. */
static void sync_parent_dir(const char *path)
{
    char *copy = strdup(path);
    char *slash = copy != NULL ? strrchr(copy, '/') : NULL;
    const char *dir = ".";
    int fd;

    if (slash == copy)
        dir = "/";
    else if (slash != NULL) {
        *slash = '\0';
        dir = copy;
    }
    fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
    free(copy);
}

static trustx_rc write_file_atomic(const char *path, const char *text)
{
    size_t path_len = strlen(path);
    char *tmp = malloc(path_len + 5);
    trustx_rc rc;
    int fd;

    if (tmp == NULL)
        return trustx_fail(TRUSTX_LAYER_SIM, TRUSTX_E_NOMEM, "out of memory saving %s", path);
    memcpy(tmp, path, path_len);
    memcpy(tmp + path_len, ".tmp", 5);

    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        rc = trustx_fail_errno(TRUSTX_LAYER_SIM, TRUSTX_E_IO, errno,
                               "failed to create %s: %s; check that its directory is writable",
                               tmp, strerror(errno));
        free(tmp);
        return rc;
    }
    rc = write_all(fd, tmp, text, strlen(text));
    if (rc == TRUSTX_OK && fsync(fd) != 0)
        rc = trustx_fail_errno(TRUSTX_LAYER_SIM, TRUSTX_E_IO, errno, "failed to sync %s: %s", tmp,
                               strerror(errno));
    if (close(fd) != 0 && rc == TRUSTX_OK)
        rc = trustx_fail_errno(TRUSTX_LAYER_SIM, TRUSTX_E_IO, errno, "failed to close %s: %s",
                               tmp, strerror(errno));
    if (rc == TRUSTX_OK && rename(tmp, path) != 0)
        rc = trustx_fail_errno(TRUSTX_LAYER_SIM, TRUSTX_E_IO, errno,
                               "failed to rename %s to %s: %s", tmp, path, strerror(errno));
    if (rc == TRUSTX_OK)
        sync_parent_dir(path);
    else
        unlink(tmp);
    free(tmp);
    return rc;
}

trustx_rc sim_state_save(sim_app *app)
{
    char *text;
    trustx_rc rc;

    if (app->path == NULL)
        return TRUSTX_OK;
    text = state_text(app);
    if (text == NULL)
        return trustx_fail(TRUSTX_LAYER_SIM, TRUSTX_E_NOMEM, "out of memory saving %s",
                           app->path);
    rc = write_file_atomic(app->path, text);
    OPENSSL_cleanse(text, strlen(text));
    free(text);
    return rc;
}

/* ---- load ---- */

static trustx_rc corrupt(const sim_app *app, const char *what)
{
    return trustx_fail(TRUSTX_LAYER_SIM, TRUSTX_E_INVALID_ARG,
                       "state file %s is corrupt: %s; restore it from a backup, or remove it "
                       "to start a new simulated chip",
                       app->path, what);
}

/* Reads the whole file (caller wipes and frees); TRUSTX_E_NOT_FOUND when it does not exist. */
static trustx_rc read_file(const sim_app *app, char **out, size_t *out_len)
{
    struct stat st;
    char *text;
    size_t done = 0;
    int fd = open(app->path, O_RDONLY | O_CLOEXEC);

    if (fd < 0 && errno == ENOENT)
        return trustx_fail(TRUSTX_LAYER_SIM, TRUSTX_E_NOT_FOUND, "state file %s does not exist",
                           app->path);
    if (fd < 0 || fstat(fd, &st) != 0) {
        int err = errno;

        if (fd >= 0)
            close(fd);
        return trustx_fail_errno(TRUSTX_LAYER_SIM, TRUSTX_E_IO, err, "failed to read %s: %s",
                                 app->path, strerror(err));
    }
    if (st.st_size <= 0 || st.st_size > STATE_FILE_MAX) {
        close(fd);
        return corrupt(app, st.st_size <= 0 ? "the file is empty" : "the file is too large");
    }

    text = malloc((size_t)st.st_size + 1);
    while (text != NULL && done < (size_t)st.st_size) {
        ssize_t n = read(fd, text + done, (size_t)st.st_size - done);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        done += (size_t)n;
    }
    close(fd);
    if (text == NULL || done != (size_t)st.st_size) {
        free(text);
        return trustx_fail(TRUSTX_LAYER_SIM, TRUSTX_E_IO, "failed to read %s completely",
                           app->path);
    }
    text[done] = '\0';
    *out = text;
    *out_len = done;
    return TRUSTX_OK;
}

static const char *get_string(const cJSON *parent, const char *name)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(parent, name);

    return cJSON_IsString(item) ? item->valuestring : NULL;
}

/* Reads a non-negative integer member no larger than max; returns 0 if missing or invalid. */
static int get_uint(const cJSON *parent, const char *name, double max, uint64_t *out)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(parent, name);
    double value;

    if (!cJSON_IsNumber(item))
        return 0;
    value = item->valuedouble;
    if (!(value >= 0 && value <= max) || (double)(uint64_t)value != value)
        return 0;
    *out = (uint64_t)value;
    return 1;
}

static int pem_cert_valid(const char *pem)
{
    BIO *bio = BIO_new_mem_buf(pem, -1);
    X509 *cert = bio != NULL ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
    int ok = cert != NULL;

    X509_free(cert);
    BIO_free(bio);
    return ok;
}

/* Checks that metadata is a well-formed tag list whose C4 and C5 match the object. */
static int metadata_consistent(const sim_object *obj, const uint8_t *meta, size_t len,
                               uint16_t used)
{
    const uint8_t *value;
    size_t value_len;
    size_t pos = 0;

    while (pos < len) {
        if (pos + 2 > len || pos + 2 + (size_t)meta[pos + 1] > len)
            return 0;
        pos += 2 + (size_t)meta[pos + 1];
    }
    if (obj->def->kind != SIM_OBJ_DATA)
        return !sim_meta_find(meta, len, SIM_TAG_USED_SIZE, NULL, NULL);
    if (!sim_meta_find(meta, len, SIM_TAG_USED_SIZE, &value, &value_len))
        return 0;
    if (value_len == 1)
        return value[0] == used;
    return value_len == 2 && sim_be16(value) == used;
}

static trustx_rc load_key(sim_app *app, sim_object *obj, const cJSON *key_json, char *what,
                          size_t what_cap)
{
    const char *curve = get_string(key_json, "curve");
    const char *pem = get_string(key_json, "private_key");
    uint8_t expected = 0;
    EVP_PKEY *key;

    if (curve != NULL && strcmp(curve, "P-256") == 0)
        expected = SIM_CURVE_P256;
    else if (curve != NULL && strcmp(curve, "P-384") == 0)
        expected = SIM_CURVE_P384;
    key = pem != NULL ? sim_key_from_pem(pem) : NULL;
    if (expected == 0 || key == NULL || sim_key_curve(key) != expected) {
        EVP_PKEY_free(key);
        snprintf(what, what_cap, "the key of object %04X is invalid", obj->def->oid);
        return corrupt(app, what);
    }
    return sim_object_set_key(obj, key, expected);
}

static trustx_rc load_object(sim_app *app, const cJSON *entry, uint8_t *seen)
{
    char what[96];
    uint8_t data[SIM_OBJ_DATA_MAX];
    uint8_t meta[SIM_META_MAX];
    const char *oid_text = get_string(entry, "oid");
    const char *data_hex = get_string(entry, "data");
    const char *meta_hex = get_string(entry, "metadata");
    const cJSON *key_json = cJSON_GetObjectItemCaseSensitive(entry, "key");
    sim_object *obj = NULL;
    uint64_t writes = 0;
    long data_len = 0;
    long meta_len;
    size_t index;
    uint8_t oid_bytes[2];

    if (oid_text != NULL && hex_decode(oid_text, oid_bytes, 2) == 2)
        obj = sim_object_find(app, sim_be16(oid_bytes));
    if (obj == NULL || obj->def->kind == SIM_OBJ_SESSION)
        return corrupt(app, "an object entry has a missing or unknown OID");
    index = (size_t)(obj - app->objects);
    snprintf(what, sizeof(what), "object %04X is listed twice or has invalid fields",
             obj->def->oid);
    if (seen[index]++)
        return corrupt(app, what);

    if (obj->data != NULL) {
        data_len = data_hex != NULL ? hex_decode(data_hex, data, obj->def->max_size) : -1;
        if (data_len < 0 ||
            (obj->def->kind == SIM_OBJ_SYSTEM && data_len != (long)obj->def->max_size))
            return corrupt(app, what);
    } else if (data_hex != NULL) {
        return corrupt(app, what);
    }
    meta_len = meta_hex != NULL ? hex_decode(meta_hex, meta, sizeof(meta)) : -1;
    if (meta_len < 0 || !metadata_consistent(obj, meta, (size_t)meta_len, (uint16_t)data_len) ||
        !get_uint(entry, "writes", 9007199254740992.0, &writes))
        return corrupt(app, what);
    if (key_json != NULL && obj->def->kind != SIM_OBJ_KEY)
        return corrupt(app, what);

    if (obj->data != NULL) {
        memset(obj->data, 0, obj->def->max_size);
        memcpy(obj->data, data, (size_t)data_len);
        obj->used = (uint16_t)data_len;
    }
    memcpy(obj->metadata, meta, (size_t)meta_len);
    obj->metadata_len = (size_t)meta_len;
    obj->writes = writes;
    if (key_json != NULL)
        return load_key(app, obj, key_json, what, sizeof(what));
    return TRUSTX_OK;
}

static trustx_rc load_objects(sim_app *app, const cJSON *objects)
{
    uint8_t seen[SIM_OBJECT_COUNT] = {0};
    const cJSON *entry;
    char what[64];

    if (!cJSON_IsArray(objects))
        return corrupt(app, "the object list is missing");
    cJSON_ArrayForEach(entry, objects) {
        trustx_rc rc = load_object(app, entry, seen);

        if (rc != TRUSTX_OK)
            return rc;
    }
    for (size_t i = 0; i < SIM_OBJECT_COUNT; i++) {
        if (!seen[i] && app->objects[i].def->kind != SIM_OBJ_SESSION) {
            snprintf(what, sizeof(what), "object %04X is missing", app->objects[i].def->oid);
            return corrupt(app, what);
        }
    }
    return TRUSTX_OK;
}

static trustx_rc load_state(sim_app *app, const cJSON *state)
{
    const cJSON *ca = cJSON_GetObjectItemCaseSensitive(state, "vendor_ca");
    const char *uid_hex = get_string(state, "uid");
    const char *ca_cert = get_string(ca, "certificate");
    const char *ca_key = get_string(ca, "private_key");
    EVP_PKEY *key = ca_key != NULL ? sim_key_from_pem(ca_key) : NULL;
    int ca_key_valid = key != NULL;
    uint64_t sec = 0;
    trustx_rc rc;

    EVP_PKEY_free(key);
    if (uid_hex == NULL || hex_decode(uid_hex, app->uid, SIM_UID_LEN) != SIM_UID_LEN)
        return corrupt(app, "the UID is missing or invalid");
    if (!get_uint(state, "security_event_counter", 255, &sec))
        return corrupt(app, "the security event counter is missing or invalid");
    if (ca_cert == NULL || !ca_key_valid || !pem_cert_valid(ca_cert))
        return corrupt(app, "the vendor CA is missing or invalid");

    app->sec = (uint8_t)sec;
    app->ca_cert_pem = strdup(ca_cert);
    app->ca_key_pem = strdup(ca_key);
    if (app->ca_cert_pem == NULL || app->ca_key_pem == NULL)
        return trustx_fail(TRUSTX_LAYER_SIM, TRUSTX_E_NOMEM, "out of memory loading %s",
                           app->path);
    rc = load_objects(app, cJSON_GetObjectItemCaseSensitive(state, "objects"));
    if (rc == TRUSTX_OK && memcmp(sim_object_find(app, 0xE0C2)->data, app->uid, SIM_UID_LEN))
        return corrupt(app, "object E0C2 differs from the UID");
    return rc;
}

static trustx_rc load_root(sim_app *app, const cJSON *root)
{
    const cJSON *state = cJSON_GetObjectItemCaseSensitive(root, "state");
    const char *format = get_string(root, "format");
    const char *stored_digest = get_string(root, "sha256");
    uint64_t version = 0;
    char *digest;
    int match;

    if (format == NULL || strcmp(format, STATE_FORMAT) != 0)
        return corrupt(app, "it is not a trustx-sim state file (\"format\" differs)");
    if (!get_uint(root, "version", 1e9, &version) || version != STATE_VERSION)
        return corrupt(app, "its format version is not 1");
    if (!cJSON_IsObject(state) || stored_digest == NULL)
        return corrupt(app, "the state or its checksum is missing");

    digest = state_digest(state);
    if (digest == NULL)
        return trustx_fail(TRUSTX_LAYER_SIM, TRUSTX_E_NOMEM, "out of memory loading %s",
                           app->path);
    match = strcmp(digest, stored_digest) == 0;
    free(digest);
    if (!match)
        return corrupt(app, "the checksum does not match (the file was damaged or edited)");
    return load_state(app, state);
}

trustx_rc sim_state_load(sim_app *app)
{
    char *text = NULL;
    size_t len = 0;
    cJSON *root;
    trustx_rc rc = read_file(app, &text, &len);

    if (rc != TRUSTX_OK)
        return rc;
    root = cJSON_ParseWithLength(text, len);
    OPENSSL_cleanse(text, len);
    free(text);
    if (root == NULL)
        return corrupt(app, "it is not valid JSON (truncated or damaged)");

    rc = load_root(app, root);
    cJSON_Delete(root);
    return rc;
}

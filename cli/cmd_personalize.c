/* SPDX-License-Identifier: MIT */
/*
 * trustx personalize: key, CSR, certificate, write, verify, optional AWS IoT
 * registration and lock, resumable from its journal.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "commands.h"
#include "opts.h"
#include "trustx/aws.h"
#include "trustx/sim_transport.h"

#define PATH_MAX_LEN 1024

static void usage(FILE *out)
{
    fprintf(out,
            "Usage: trustx [-d DEVICE] [--json] personalize [--slot OID]\n"
            "          (--config FILE | --subject DN) [--curve p256|p384]\n"
            "          (--ca-cert FILE --ca-key FILE [--days N] | --aws --thing NAME\n"
            "           [--policy NAME] [--endpoint-url URL] [--region R] [--profile P])\n"
            "          [--out-dir DIR] [--journal FILE] [--cert-format identity|der]\n"
            "          [--force] [--lock --yes] [--restart] [--dry-run]\n"
            "\n"
            "Does the whole job: generates a key pair in key slot OID (default 0xE0F1), builds\n"
            "a CSR signed by the chip, has a certificate issued (by your CA, or by AWS IoT),\n"
            "writes it into the paired certificate slot (0xE0E1), reads it back, and proves\n"
            "with a fresh chip signature that it matches the key. With --aws it also creates\n"
            "the Thing, attaches a least-privilege policy, and activates the certificate\n"
            "only after the chip holds it. With --lock it then locks both slots for good.\n"
            "\n"
            "It prints its plan first and records each finished step in a journal, so a run\n"
            "that is interrupted at any point resumes where it stopped when run again,\n"
            "without generating a second key.\n"
            "\n"
            "  --out-dir DIR     CSR, certificate and JSON summary go here (default trustx-out)\n"
            "  --journal FILE    the journal (default DIR/journal.sqlite)\n"
            "  --days N          validity of a certificate from --ca-cert (default 7305)\n"
            "  --cert-format F   identity (0xC0 header, default) or der\n"
            "  --force           replace a key whose certificate slot holds a certificate;\n"
            "                    with --aws, also register on a thing that already has an\n"
            "                    ACTIVE certificate for another key\n"
            "  --lock --yes      lock the key and certificate slots (cannot be undone)\n"
            "  --restart         forget this chip's journal record and start over\n"
            "  --dry-run         print the plan and change nothing\n");
}

typedef struct perso_args {
    uint16_t slot;
    trustx_curve curve;
    const char *config, *dn;
    const char *ca_cert, *ca_key;
    unsigned days;
    int aws;
    const char *thing, *policy;
    trustx_aws_options aws_opts;
    const char *out_dir, *journal;
    trustx_pki_slot_format format;
    int force, lock, yes, restart, dry_run;
    int days_given;
} perso_args;

typedef struct perso_run {
    cli_ctx *ctx;
    const perso_args *args;
    trustx_pki_subject subject;
    int have_subject;
    trustx_pki_ca *ca;
    trustx_aws_client *aws;
    trustx_issuer issuer;
    trustx_journal *journal;           /* NULL in a dry run without a journal file */
    char journal_path[PATH_MAX_LEN];
    char *job;                          /* the options that define the job, as JSON */
} perso_run;

/* Test hook: TRUSTX_TEST_CRASH_AFTER=STEP kills the process right after STEP is saved. */
static void progress(void *user, trustx_step step, const char *message)
{
    perso_run *run = user;
    const char *crash = getenv("TRUSTX_TEST_CRASH_AFTER");

    cli_note(run->ctx, "[%s] %s", trustx_step_name(step), message);
    if (crash != NULL && strcmp(crash, trustx_step_name(step)) == 0)
        raise(SIGKILL);
}

static trustx_rc make_dir(const char *path)
{
    struct stat st;

    if (mkdir(path, 0755) != 0 && errno != EEXIST)
        return trustx_fail_errno(TRUSTX_LAYER_APP, TRUSTX_E_INVALID_ARG, errno,
                                 "cannot create output folder %s: %s", path, strerror(errno));
    if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode))
        return trustx_fail(TRUSTX_LAYER_APP, TRUSTX_E_INVALID_ARG,
                           "--out-dir %s exists and is not a folder; give a folder", path);
    if (access(path, W_OK) != 0)
        return trustx_fail_errno(TRUSTX_LAYER_APP, TRUSTX_E_INVALID_ARG, errno,
                                 "output folder %s is not writable: %s", path, strerror(errno));
    return TRUSTX_OK;
}

/* Writes the options that define the job, for the journal's same-job check. */
static void describe_job(perso_run *run)
{
    const perso_args *a = run->args;
    cJSON *o = cJSON_CreateObject();
    static char text[8192];   /* 16 attributes of up to 512 bytes each, with their names */

    if (run->have_subject && trustx_pki_subject_format(&run->subject, text, sizeof(text)) ==
                                 TRUSTX_OK)
        cJSON_AddStringToObject(o, "subject", text);
    cJSON_AddStringToObject(o, "curve", trustx_pki_curve_name(a->curve));
    if (a->aws) {
        snprintf(text, sizeof(text), "AWS IoT thing %s", a->thing);
    } else {
        char full[2048] = "";

        trustx_pki_cert_describe(trustx_pki_ca_cert(run->ca), full, sizeof(full));
        snprintf(text, sizeof(text), "CA %.*s", (int)strcspn(full, "\n"), full);
    }
    cJSON_AddStringToObject(o, "issuer", text);
    run->job = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
}

/* Everything that can be checked without the chip is checked here, before it is opened. */
static trustx_rc prepare(perso_run *run)
{
    const perso_args *a = run->args;
    trustx_rc rc = TRUSTX_OK;

    if (a->config != NULL || a->dn != NULL) {
        rc = opt_subject(a->config, a->dn, &run->subject);
        run->have_subject = rc == TRUSTX_OK;
    }
    if (rc == TRUSTX_OK && a->aws == (a->ca_cert != NULL))
        rc = trustx_fail(TRUSTX_LAYER_APP, TRUSTX_E_INVALID_ARG,
                         a->aws ? "--aws and --ca-cert exclude each other; choose one issuer"
                                : "no certificate issuer given; use --ca-cert FILE --ca-key FILE "
                                  "(your CA) or --aws --thing NAME (AWS IoT)");
    if (rc == TRUSTX_OK && a->ca_cert != NULL && a->ca_key == NULL)
        rc = trustx_fail(TRUSTX_LAYER_APP, TRUSTX_E_INVALID_ARG, "--ca-cert needs --ca-key");
    if (rc == TRUSTX_OK && a->aws && (a->thing == NULL || a->thing[0] == '\0'))
        rc = trustx_fail(TRUSTX_LAYER_APP, TRUSTX_E_INVALID_ARG,
                         "--aws needs --thing NAME, the AWS IoT thing to register");
    if (rc == TRUSTX_OK && a->aws)
        rc = trustx_aws_check_thing_name(a->thing);
    if (rc == TRUSTX_OK && a->aws && a->policy != NULL)
        rc = trustx_aws_check_policy_name(a->policy);
    if (rc == TRUSTX_OK && !a->aws && (a->thing != NULL || a->policy != NULL))
        rc = trustx_fail(TRUSTX_LAYER_APP, TRUSTX_E_INVALID_ARG,
                         "--thing and --policy apply to --aws only");
    if (rc == TRUSTX_OK && a->aws && a->days_given)
        rc = trustx_fail(TRUSTX_LAYER_APP, TRUSTX_E_INVALID_ARG,
                         "--days applies to --ca-cert only; AWS IoT sets the validity itself");
    if (rc == TRUSTX_OK && a->lock && !a->yes && !a->dry_run)
        rc = trustx_fail(TRUSTX_LAYER_APP, TRUSTX_E_INVALID_ARG,
                         "--lock makes 0x%04X and 0x%04X permanent by writing metadata "
                         "20 03 C0 01 07 (lifecycle operational); this cannot be undone. Add "
                         "--yes to confirm",
                         a->slot, trustx_paired_cert_slot(a->slot));
    if (rc == TRUSTX_OK && a->ca_cert != NULL)
        rc = trustx_pki_ca_load(a->ca_cert, a->ca_key, &run->ca);
    if (rc == TRUSTX_OK && a->aws)
        rc = trustx_aws_client_new(&a->aws_opts, &run->aws);

    /*
     * One signed request before the chip is touched proves the credentials,
     * the clock and the endpoint, so that a cloud failure cannot strand a new
     * key in the chip.
     */
    if (rc == TRUSTX_OK && a->aws && !a->dry_run) {
        char endpoint[256];

        rc = trustx_aws_describe_endpoint(run->aws, "iot:Data-ATS", endpoint, sizeof(endpoint));
        if (rc != TRUSTX_OK)
            trustx_error_prefix("checking AWS IoT access before touching the chip");
    }

    /* An existing policy that the registration would refuse is refused now. */
    if (rc == TRUSTX_OK && a->aws && a->policy != NULL) {
        char *document = NULL;
        int found = 0;

        rc = trustx_aws_get_policy(run->aws, a->policy, &found, &document);
        if (rc == TRUSTX_OK && found)
            rc = trustx_aws_policy_check(document);
        if (rc != TRUSTX_OK)
            trustx_error_prefix("policy %s", a->policy);
        free(document);
    }
    /* A dry run creates nothing: no folder, and no journal where none exists yet. */
    if (rc == TRUSTX_OK && !a->dry_run)
        rc = make_dir(a->out_dir);
    if (rc != TRUSTX_OK)
        return rc;

    if (a->journal != NULL)
        snprintf(run->journal_path, sizeof(run->journal_path), "%s", a->journal);
    else
        snprintf(run->journal_path, sizeof(run->journal_path), "%s/journal.sqlite", a->out_dir);
    if (!a->dry_run || access(run->journal_path, F_OK) == 0) {
        rc = trustx_journal_open(run->journal_path, &run->journal);
        if (rc != TRUSTX_OK)
            return trustx_fail(TRUSTX_LAYER_APP, TRUSTX_E_INVALID_ARG,
                               "%s; check --journal or --out-dir", trustx_error_last()->message);
    }

    if (rc == TRUSTX_OK && run->ca != NULL)
        trustx_issuer_local_ca(&run->issuer, run->ca, a->days);
    else if (rc == TRUSTX_OK)
        trustx_issuer_aws(&run->issuer, run->aws, a->thing, a->policy, a->force);
    if (rc == TRUSTX_OK)
        describe_job(run);
    return rc;
}

static const char *step_state(const trustx_record *rec, trustx_step step)
{
    if (step == TRUSTX_STEP_LOCK)
        return rec->step == TRUSTX_STEP_LOCK ? "done" : "to do";
    if (rec->step >= step)
        return "done";
    if (step == TRUSTX_STEP_KEYGEN && rec->keygen_pending)
        return "interrupted: recover the key from the chip";
    return "to do";
}

static void print_plan(perso_run *run, const char *uid, const trustx_record *rec, int locked)
{
    const perso_args *a = run->args;
    char subject[512] = "(from the journal)";
    FILE *out = run->ctx->json ? stderr : stdout;

    if (run->have_subject)
        trustx_pki_subject_format(&run->subject, subject, sizeof(subject));

    fprintf(out, "Plan for chip %s:\n", uid);
    fprintf(out, "  key slot 0x%04X, certificate slot 0x%04X, %s, %s format\n", a->slot,
            trustx_paired_cert_slot(a->slot), trustx_pki_curve_name(a->curve),
            a->format == TRUSTX_PKI_SLOT_IDENTITY ? "identity" : "DER");
    fprintf(out, "  subject %s\n", subject);
    fprintf(out, "  issuer  %s%s%s\n", run->issuer.name, a->aws ? ", thing " : "",
            a->aws ? a->thing : "");
    fprintf(out, "  journal %s\n", run->journal_path);
    fprintf(out, "  1. generate key pair in the chip            %s\n",
            step_state(rec, TRUSTX_STEP_KEYGEN));
    fprintf(out, "  2. CSR signed by the chip, checked          %s\n",
            step_state(rec, TRUSTX_STEP_CSR));
    fprintf(out, "  3. certificate issued, matched to the key   %s\n",
            step_state(rec, TRUSTX_STEP_CERT));
    fprintf(out, "  4. write, read back, prove the key pairing  %s\n",
            step_state(rec, TRUSTX_STEP_VERIFY));
    if (a->aws)
        fprintf(out, "  5. register: thing, policy, activate        %s\n",
                step_state(rec, TRUSTX_STEP_REGISTER));
    if (a->lock)
        fprintf(out, "  %d. lock: write 20 03 C0 01 07 to 0x%04X and 0x%04X  %s\n",
                a->aws ? 6 : 5, trustx_paired_cert_slot(a->slot), a->slot,
                locked ? "done" : "to do");
}

static trustx_rc write_outputs(perso_run *run, const trustx_personalize_result *r,
                               const char *summary)
{
    char path[PATH_MAX_LEN];
    trustx_rc rc = TRUSTX_OK;

    if (r->csr_pem != NULL) {
        snprintf(path, sizeof(path), "%s/%s-%04X.csr.pem", run->args->out_dir, r->uid,
                 r->key_slot);
        rc = cli_write_file(path, (const uint8_t *)r->csr_pem, strlen(r->csr_pem));
    }
    if (rc == TRUSTX_OK && r->cert_pem != NULL) {
        snprintf(path, sizeof(path), "%s/%s-%04X.cert.pem", run->args->out_dir, r->uid,
                 r->cert_slot);
        rc = cli_write_file(path, (const uint8_t *)r->cert_pem, strlen(r->cert_pem));
    }
    if (rc == TRUSTX_OK && summary != NULL) {
        snprintf(path, sizeof(path), "%s/%s-%04X.summary.json", run->args->out_dir, r->uid,
                 r->key_slot);
        rc = cli_write_file(path, (const uint8_t *)summary, strlen(summary));
    }
    return rc;
}

static void add_timing(cJSON *root, trustx_chip *chip)
{
    trustx_sim_timing t;
    const trustx_ifxi2c_stats *s = trustx_ifxi2c_get_stats(trustx_chip_stack(chip));
    cJSON *stack = cJSON_AddObjectToObject(root, "protocol");

    cJSON_AddNumberToObject(stack, "speed_khz", trustx_ifxi2c_speed_khz(trustx_chip_stack(chip)));
    cJSON_AddNumberToObject(stack, "frame_size", trustx_ifxi2c_frame_size(trustx_chip_stack(chip)));
    cJSON_AddNumberToObject(stack, "transactions", (double)s->transactions);
    cJSON_AddNumberToObject(stack, "state_polls", (double)s->state_polls);
    cJSON_AddNumberToObject(stack, "empty_polls", (double)s->empty_polls);
    cJSON_AddNumberToObject(stack, "frames_sent", (double)s->frames_sent);
    cJSON_AddNumberToObject(stack, "frames_resent", (double)s->frames_resent);
    cJSON_AddNumberToObject(stack, "bytes_written", (double)s->bytes_written);
    cJSON_AddNumberToObject(stack, "bytes_read", (double)s->bytes_read);

    if (trustx_sim_transport_stats(trustx_chip_transport(chip), &t) != TRUSTX_OK) {
        trustx_error_clear();
        return;
    }
    {
        cJSON *m = cJSON_AddObjectToObject(root, "modeled_time_us");

        cJSON_AddNumberToObject(m, "total", (double)t.now_us);
        cJSON_AddNumberToObject(m, "chip", (double)t.exec_us);
        cJSON_AddNumberToObject(m, "bus", (double)t.bus_us);
        cJSON_AddNumberToObject(m, "guard", (double)t.guard_us);
        cJSON_AddNumberToObject(m, "wait", (double)t.wait_us);
        cJSON_AddNumberToObject(m, "commands", (double)t.commands);
        cJSON_AddNumberToObject(m, "bus_bytes", (double)t.bytes);
    }
}

static char *summary_json(perso_run *run, trustx_chip *chip, const trustx_personalize_result *r,
                          trustx_rc rc)
{
    cJSON *root = cJSON_CreateObject();
    char text[1024];
    char *out;

    cJSON_AddStringToObject(root, "status", rc == TRUSTX_OK ? "ok" : "failed");
    if (rc != TRUSTX_OK)
        cJSON_AddStringToObject(root, "error", trustx_error_last()->message);
    cJSON_AddStringToObject(root, "uid", r->uid);
    snprintf(text, sizeof(text), "0x%04X", r->key_slot);
    cJSON_AddStringToObject(root, "key_slot", text);
    snprintf(text, sizeof(text), "0x%04X", r->cert_slot);
    cJSON_AddStringToObject(root, "cert_slot", text);
    cJSON_AddStringToObject(root, "curve", trustx_pki_curve_name(r->curve));
    for (size_t i = 0; i < r->pubkey_len && 2 * i + 2 < sizeof(text); i++)
        snprintf(text + 2 * i, 3, "%02x", r->pubkey[i]);
    cJSON_AddStringToObject(root, "public_key", r->pubkey_len ? text : "");
    cJSON_AddStringToObject(root, "issuer", run->issuer.name);
    cJSON_AddStringToObject(root, "resumed_after", trustx_step_name(r->resumed_after));
    cJSON_AddNumberToObject(root, "keys_generated", r->keys_generated);
    cJSON_AddNumberToObject(root, "keys_generated_for_job", (double)r->keygen_total);
    cJSON_AddBoolToObject(root, "certificate_already_in_slot", r->cert_unchanged);
    cJSON_AddBoolToObject(root, "locked", r->locked);
    cJSON_AddStringToObject(root, "journal", run->journal_path);
    if (r->csr_pem != NULL)
        cJSON_AddStringToObject(root, "csr_pem", r->csr_pem);
    if (r->cert_pem != NULL)
        cJSON_AddStringToObject(root, "certificate_pem", r->cert_pem);
    if (r->cloud_json != NULL) {
        cJSON *cloud = cJSON_Parse(r->cloud_json);

        if (cloud != NULL)
            cJSON_AddItemToObject(root, "cloud", cloud);
    }
    if (chip != NULL)
        add_timing(root, chip);

    out = cJSON_Print(root);
    cJSON_Delete(root);
    return out;
}

static int execute(perso_run *run)
{
    const perso_args *a = run->args;
    trustx_personalize_opts opts;
    trustx_personalize_result result;
    trustx_record rec;
    trustx_chip *chip = NULL;
    char uid[55] = "";
    char *summary = NULL;
    int locked = 0;
    trustx_rc rc;

    memset(&result, 0, sizeof(result));
    memset(&rec, 0, sizeof(rec));
    if (a->restart && !run->have_subject)
        return cli_report(run->ctx,
                          trustx_fail(TRUSTX_LAYER_APP, TRUSTX_E_INVALID_ARG,
                                      "--restart starts a new job, which needs a subject; add "
                                      "--config FILE or --subject DN"));

    rc = cli_open_chip(run->ctx, &chip);
    if (rc == TRUSTX_OK)
        rc = trustx_chip_uid_hex(chip, uid);
    if (rc == TRUSTX_OK && a->restart && !a->dry_run)
        rc = trustx_journal_forget(run->journal, uid, a->slot);
    if (rc == TRUSTX_OK && run->journal != NULL && !(a->restart && a->dry_run))
        rc = trustx_journal_load(run->journal, uid, a->slot, &rec);
    if (rc == TRUSTX_OK)
        rc = trustx_slots_locked(chip, a->slot, &locked);
    if (rc != TRUSTX_OK) {
        trustx_chip_close(chip);
        return cli_report(run->ctx, rc);
    }

    /*
     * A fresh job has no key yet, so any ACTIVE certificate on the thing is
     * another device's: found now, before a key is generated for nothing.
     */
    if (a->aws && !a->force && rec.step == TRUSTX_STEP_NONE && !rec.keygen_pending) {
        char other[80] = "";
        int in_use = 0;

        rc = trustx_aws_thing_active_certificate(run->aws, a->thing, other, sizeof(other),
                                                 &in_use);
        if (rc == TRUSTX_OK && in_use)
            rc = trustx_fail(TRUSTX_LAYER_APP, TRUSTX_E_CLOUD,
                             "thing %s already has ACTIVE certificate %s, so another device "
                             "uses it; give this device its own --thing (or add --force to "
                             "attach a second certificate)",
                             a->thing, other);
        if (rc != TRUSTX_OK) {
            trustx_record_clear(&rec);
            trustx_chip_close(chip);
            return cli_report(run->ctx, rc);
        }
    }
    if (!run->have_subject && rec.step < TRUSTX_STEP_CSR) {
        trustx_record_clear(&rec);
        trustx_chip_close(chip);
        return cli_report(run->ctx,
                          trustx_fail(TRUSTX_LAYER_APP, TRUSTX_E_INVALID_ARG,
                                      "no subject given; use --config FILE (config.jsn format) "
                                      "or --subject \"/CN=device-1/O=Example\""));
    }
    print_plan(run, uid, &rec, locked);
    if (a->dry_run && run->ctx->json)
        printf("{\"status\": \"planned\", \"uid\": \"%s\", \"done_through\": \"%s\", "
               "\"locked\": %s}\n",
               uid, trustx_step_name(rec.step), locked ? "true" : "false");
    trustx_record_clear(&rec);
    if (a->dry_run) {
        trustx_chip_close(chip);
        return 0;
    }

    memset(&opts, 0, sizeof(opts));
    opts.key_slot = a->slot;
    opts.uid = uid;
    opts.job = run->job;
    opts.curve = a->curve;
    opts.subject = run->have_subject ? &run->subject : NULL;
    opts.issuer = &run->issuer;
    opts.format = a->format;
    opts.force = a->force;
    opts.lock = a->lock;
    opts.journal = run->journal;
    opts.progress = progress;
    opts.progress_user = run;

    rc = trustx_personalize(chip, &opts, &result);
    {
        /* The summary and the files are written after a failure too; the failure is kept. */
        trustx_error saved = *trustx_error_last();
        trustx_rc out_rc;

        summary = summary_json(run, chip, &result, rc);
        trustx_chip_close(chip);
        out_rc = write_outputs(run, &result, summary);
        if (rc == TRUSTX_OK) {
            rc = out_rc;
        } else {
            trustx_fail(saved.layer, saved.rc, "%s", saved.message);
            trustx_error_set_device_code(saved.device_code);
        }
    }

    /* With --json the summary goes to stdout on failure too, with status "failed". */
    if (run->ctx->json && summary != NULL)
        printf("%s\n", summary);
    if (rc == TRUSTX_OK && !run->ctx->json)
        printf("Personalized chip %s: key 0x%04X, certificate 0x%04X%s; files in %s\n",
               result.uid, result.key_slot, result.cert_slot, result.locked ? ", locked" : "",
               a->out_dir);
    free(summary);
    if (rc != TRUSTX_OK) {
        int status = cli_report(run->ctx, rc);

        /*
         * A key without a matching certificate in the chip is never left
         * unmentioned, but the note is not given when this run refused to go
         * on with the recorded job (changed options, replaced key).
         */
        int job_refused = (rc == TRUSTX_E_INVALID_ARG || rc == TRUSTX_E_VERIFY) &&
                          result.finished == result.resumed_after;

        if (!job_refused && (result.keygen_pending || (result.finished >= TRUSTX_STEP_KEYGEN &&
                                                       result.finished < TRUSTX_STEP_VERIFY)))
            fprintf(stderr,
                    "trustx: note: 0x%04X may hold a new key that no certificate in the chip "
                    "matches yet; the journal %s has recorded it, so running the same command "
                    "again finishes the job without another key\n",
                    a->slot, run->journal_path);
        trustx_personalize_result_clear(&result);
        return status;
    }
    trustx_personalize_result_clear(&result);
    return 0;
}

enum {
    OPT_SLOT = 256, OPT_CONFIG, OPT_SUBJECT, OPT_CURVE, OPT_CA_CERT, OPT_CA_KEY, OPT_DAYS,
    OPT_AWS, OPT_THING, OPT_POLICY, OPT_ENDPOINT, OPT_REGION, OPT_PROFILE, OPT_OUT_DIR,
    OPT_JOURNAL, OPT_FORMAT, OPT_FORCE, OPT_LOCK, OPT_YES, OPT_RESTART, OPT_DRY_RUN, OPT_JSON
};

static trustx_rc parse_days(const char *text, unsigned *days)
{
    char *end;
    unsigned long value = strtoul(text, &end, 10);

    if (end == text || *end != '\0' || value == 0 || value > TRUSTX_PKI_DAYS_MAX)
        return trustx_fail(TRUSTX_LAYER_APP, TRUSTX_E_INVALID_ARG,
                           "invalid --days '%s'; use 1..%d", text, TRUSTX_PKI_DAYS_MAX);
    *days = (unsigned)value;
    return TRUSTX_OK;
}

static trustx_rc take_option(cli_ctx *ctx, perso_args *a, int opt)
{
    switch (opt) {
    case OPT_SLOT: return opt_key_slot(optarg, 0, &a->slot);
    case OPT_CONFIG: a->config = optarg; return TRUSTX_OK;
    case OPT_SUBJECT: a->dn = optarg; return TRUSTX_OK;
    case OPT_CURVE: return opt_curve(optarg, &a->curve);
    case OPT_CA_CERT: a->ca_cert = optarg; return TRUSTX_OK;
    case OPT_CA_KEY: a->ca_key = optarg; return TRUSTX_OK;
    case OPT_DAYS: a->days_given = 1; return parse_days(optarg, &a->days);
    case OPT_AWS: a->aws = 1; return TRUSTX_OK;
    case OPT_THING: a->thing = optarg; return TRUSTX_OK;
    case OPT_POLICY: a->policy = optarg; return TRUSTX_OK;
    case OPT_ENDPOINT: a->aws_opts.endpoint_url = optarg; return TRUSTX_OK;
    case OPT_REGION: a->aws_opts.region = optarg; return TRUSTX_OK;
    case OPT_PROFILE: a->aws_opts.profile = optarg; return TRUSTX_OK;
    case OPT_OUT_DIR: a->out_dir = optarg; return TRUSTX_OK;
    case OPT_JOURNAL: a->journal = optarg; return TRUSTX_OK;
    case OPT_FORMAT: return opt_cert_format(optarg, &a->format);
    case OPT_FORCE: a->force = 1; return TRUSTX_OK;
    case OPT_LOCK: a->lock = 1; return TRUSTX_OK;
    case OPT_YES: a->yes = 1; return TRUSTX_OK;
    case OPT_RESTART: a->restart = 1; return TRUSTX_OK;
    case OPT_DRY_RUN: a->dry_run = 1; return TRUSTX_OK;
    case OPT_JSON: ctx->json = 1; return TRUSTX_OK;
    default:
        return trustx_fail(TRUSTX_LAYER_APP, TRUSTX_E_INVALID_ARG,
                           "invalid option; see 'trustx personalize --help'");
    }
}

static void release(perso_run *run)
{
    cJSON_free(run->job);
    trustx_journal_close(run->journal);
    trustx_pki_ca_free(run->ca);
    trustx_aws_client_free(run->aws);
}

int cmd_personalize(cli_ctx *ctx, int argc, char **argv)
{
    static const struct option options[] = {
        {"slot", required_argument, NULL, OPT_SLOT},
        {"config", required_argument, NULL, OPT_CONFIG},
        {"subject", required_argument, NULL, OPT_SUBJECT},
        {"curve", required_argument, NULL, OPT_CURVE},
        {"ca-cert", required_argument, NULL, OPT_CA_CERT},
        {"ca-key", required_argument, NULL, OPT_CA_KEY},
        {"days", required_argument, NULL, OPT_DAYS},
        {"aws", no_argument, NULL, OPT_AWS},
        {"thing", required_argument, NULL, OPT_THING},
        {"policy", required_argument, NULL, OPT_POLICY},
        {"endpoint-url", required_argument, NULL, OPT_ENDPOINT},
        {"region", required_argument, NULL, OPT_REGION},
        {"profile", required_argument, NULL, OPT_PROFILE},
        {"out-dir", required_argument, NULL, OPT_OUT_DIR},
        {"journal", required_argument, NULL, OPT_JOURNAL},
        {"cert-format", required_argument, NULL, OPT_FORMAT},
        {"force", no_argument, NULL, OPT_FORCE},
        {"lock", no_argument, NULL, OPT_LOCK},
        {"yes", no_argument, NULL, OPT_YES},
        {"restart", no_argument, NULL, OPT_RESTART},
        {"dry-run", no_argument, NULL, OPT_DRY_RUN},
        {"json", no_argument, NULL, OPT_JSON},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    perso_args a;
    perso_run run;
    trustx_rc rc = TRUSTX_OK;
    int opt, status;

    memset(&a, 0, sizeof(a));
    a.slot = TRUSTX_OID_KEY1;
    a.curve = TRUSTX_CURVE_P256;
    a.days = TRUSTX_PKI_LEAF_DAYS_DEFAULT;
    a.out_dir = "trustx-out";
    a.format = TRUSTX_PKI_SLOT_IDENTITY;

    while ((opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        if (opt == 'h') {
            usage(stdout);
            return 0;
        }
        if (opt == '?') {
            usage(stderr);
            return 1;
        }
        rc = take_option(ctx, &a, opt);
        if (rc != TRUSTX_OK)
            return cli_report(ctx, rc);
    }
    if (optind != argc)
        return cli_usage_error(ctx, "personalize: unexpected argument '%s'", argv[optind]);

    memset(&run, 0, sizeof(run));
    run.ctx = ctx;
    run.args = &a;
    rc = prepare(&run);
    status = rc == TRUSTX_OK ? execute(&run) : cli_report(ctx, rc);
    release(&run);
    return status;
}

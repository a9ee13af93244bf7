/* SPDX-License-Identifier: MIT */
/*
 * trustx aws: single AWS IoT steps for users who run them one at a time:
 * certificate from a CSR, attachments, the data endpoint and the device
 * policy. The whole registration runs inside 'trustx personalize'.
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cli.h"
#include "commands.h"
#include "trustx/aws.h"

#define CSR_FILE_MAX 4096         /* AWS accepts CSRs of at most 4096 characters */
#define POLICY_TEXT_MAX 4096

/* Options every aws subcommand accepts. */
typedef struct aws_common {
    trustx_aws_options opt;
} aws_common;

enum {
    OPT_ENDPOINT = 1000, OPT_REGION, OPT_PROFILE, OPT_JSON, OPT_CSR, OPT_ACTIVE, OPT_CERT_OUT,
    OPT_ARN_OUT, OPT_ID_OUT, OPT_THING, OPT_CERT_ARN, OPT_POLICY, OPT_TYPE, OPT_ACCOUNT
};

#define COMMON_OPTIONS                                                                  \
    {"endpoint-url", required_argument, NULL, OPT_ENDPOINT},                              \
    {"region", required_argument, NULL, OPT_REGION},                                    \
    {"profile", required_argument, NULL, OPT_PROFILE},                                  \
    {"json", no_argument, NULL, OPT_JSON}, {"help", no_argument, NULL, 'h'}

static const char common_help[] =
    "  --endpoint-url URL  AWS IoT control-plane endpoint (default: AWS_ENDPOINT_URL_IOT,\n"
    "                      AWS_ENDPOINT_URL, the profile's endpoint_url, then the region's)\n"
    "  --region REGION     AWS region (default: AWS_REGION, AWS_DEFAULT_REGION, profile)\n"
    "  --profile NAME      profile in ~/.aws/credentials and ~/.aws/config\n"
    "  --json              print the result as JSON on stdout\n"
    "  -h, --help          this help\n";

static void usage(FILE *out)
{
    fprintf(out,
            "Usage: trustx aws SUBCOMMAND [OPTIONS]\n"
            "\n"
            "Single AWS IoT steps; 'trustx personalize' runs the whole registration.\n"
            "\n"
            "Subcommands:\n"
            "  register-csr  have AWS IoT issue a certificate for a CSR (inactive by default)\n"
            "  attach        attach a certificate to a thing and a policy to the certificate\n"
            "  endpoint      print the account's device data endpoint (iot:Data-ATS)\n"
            "  policy        print the least-privilege device policy\n"
            "\n"
            "Credentials come from AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY (and\n"
            "AWS_SESSION_TOKEN) or the profile's static keys. 'trustx aws SUBCOMMAND --help'\n"
            "lists the options. Exit status: 0 success, 1 invalid usage, 4 verification\n"
            "failed, 5 AWS failure.\n");
}

/* Handles an option shared by all subcommands; returns 1 when it was one. */
static int take_common(cli_ctx *ctx, aws_common *common, int opt)
{
    switch (opt) {
    case OPT_ENDPOINT: common->opt.endpoint_url = optarg; return 1;
    case OPT_REGION: common->opt.region = optarg; return 1;
    case OPT_PROFILE: common->opt.profile = optarg; return 1;
    case OPT_JSON: ctx->json = 1; return 1;
    default: return 0;
    }
}

static int open_client(cli_ctx *ctx, const aws_common *common, trustx_aws_client **client)
{
    trustx_rc rc = trustx_aws_client_new(&common->opt, client);

    if (rc != TRUSTX_OK)
        return cli_report(ctx, rc);
    return 0;
}

/* Prints a JSON object and frees it. */
static void print_json(cJSON *obj)
{
    char *text = cJSON_Print(obj);

    if (text != NULL)
        printf("%s\n", text);
    cJSON_free(text);
    cJSON_Delete(obj);
}

static trustx_rc write_text(const char *path, const char *text)
{
    return cli_write_file(path, (const uint8_t *)text, strlen(text));
}

/* ---- register-csr ---- */

static void usage_register(FILE *out)
{
    fprintf(out,
            "Usage: trustx aws register-csr --csr FILE [--active] [--cert-out FILE]\n"
            "                               [--arn-out FILE] [--id-out FILE] [OPTIONS]\n"
            "\n"
            "Calls CreateCertificateFromCsr. The certificate is refused (and revoked in AWS)\n"
            "unless its public key is the CSR's. It stays INACTIVE unless --active is given;\n"
            "activate it only after the chip holds it.\n"
            "\n"
            "  --csr FILE          PEM certificate request (at most 4096 bytes)\n"
            "  --active            create the certificate ACTIVE\n"
            "  --cert-out FILE     write the certificate PEM here ('-' for stdout)\n"
            "  --arn-out FILE      write the certificate ARN here\n"
            "  --id-out FILE       write the certificate id here\n");
    fputs(common_help, out);
}

static int run_register_csr(cli_ctx *ctx, int argc, char **argv)
{
    static const struct option options[] = {
        {"csr", required_argument, NULL, OPT_CSR}, {"active", no_argument, NULL, OPT_ACTIVE},
        {"cert-out", required_argument, NULL, OPT_CERT_OUT},
        {"arn-out", required_argument, NULL, OPT_ARN_OUT},
        {"id-out", required_argument, NULL, OPT_ID_OUT}, COMMON_OPTIONS, {NULL, 0, NULL, 0}};
    aws_common common = {{0}};
    const char *csr_path = NULL, *cert_out = NULL, *arn_out = NULL, *id_out = NULL;
    int active = 0;
    uint8_t *csr = NULL;
    size_t csr_len = 0;
    trustx_aws_client *client = NULL;
    trustx_aws_certificate cert;
    trustx_rc rc;
    int opt, status;

    while ((opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        if (take_common(ctx, &common, opt))
            continue;
        switch (opt) {
        case OPT_CSR: csr_path = optarg; break;
        case OPT_ACTIVE: active = 1; break;
        case OPT_CERT_OUT: cert_out = optarg; break;
        case OPT_ARN_OUT: arn_out = optarg; break;
        case OPT_ID_OUT: id_out = optarg; break;
        case 'h': usage_register(stdout); return 0;
        default: usage_register(stderr); return 1;
        }
    }
    if (csr_path == NULL || optind < argc)
        return cli_usage_error(ctx, "aws register-csr needs --csr FILE and no other arguments; "
                               "see 'trustx aws register-csr --help'");

    rc = cli_read_file(csr_path, CSR_FILE_MAX, &csr, &csr_len);
    if (rc != TRUSTX_OK)
        return cli_report(ctx, rc);
    if (memchr(csr, '\0', csr_len) != NULL || strstr((char *)csr, "CERTIFICATE REQUEST") == NULL) {
        free(csr);
        return cli_usage_error(ctx, "%s is not a PEM certificate request", csr_path);
    }
    status = open_client(ctx, &common, &client);
    if (status != 0) {
        free(csr);
        return status;
    }

    rc = trustx_aws_create_certificate_from_csr(client, (const char *)csr, active, &cert);
    free(csr);
    trustx_aws_client_free(client);
    if (rc == TRUSTX_OK && cert_out != NULL)
        rc = write_text(cert_out, cert.pem);
    if (rc == TRUSTX_OK && arn_out != NULL)
        rc = write_text(arn_out, cert.arn);
    if (rc == TRUSTX_OK && id_out != NULL)
        rc = write_text(id_out, cert.id);
    if (rc != TRUSTX_OK) {
        trustx_aws_certificate_clear(&cert);
        return cli_report(ctx, rc);
    }

    if (ctx->json) {
        cJSON *obj = cJSON_CreateObject();

        cJSON_AddStringToObject(obj, "certificateId", cert.id);
        cJSON_AddStringToObject(obj, "certificateArn", cert.arn);
        cJSON_AddStringToObject(obj, "status", cert.status);
        cJSON_AddStringToObject(obj, "certificatePem", cert.pem);
        print_json(obj);
    } else {
        printf("certificate id:  %s\ncertificate ARN: %s\nstatus:          %s\n", cert.id,
               cert.arn, cert.status);
    }
    trustx_aws_certificate_clear(&cert);
    return 0;
}

/* ---- attach ---- */

static void usage_attach(FILE *out)
{
    fprintf(out,
            "Usage: trustx aws attach --thing NAME --cert-arn ARN [--policy NAME] [OPTIONS]\n"
            "\n"
            "Attaches the certificate to the thing (AttachThingPrincipal) and the policy to\n"
            "the certificate (AttachPolicy). The policy is created with the least-privilege\n"
            "device document when it does not exist; an existing policy with wildcard\n"
            "actions or NotAction is refused. The thing must exist.\n"
            "\n"
            "  --thing NAME        thing name\n"
            "  --cert-arn ARN      certificate ARN (arn:aws:iot:REGION:ACCOUNT:cert/ID)\n"
            "  --policy NAME       policy name (default: %s)\n", TRUSTX_AWS_DEFAULT_POLICY);
    fputs(common_help, out);
}

/* Creates policy from the device template unless it exists; refuses a broad existing one. */
static trustx_rc ensure_policy(trustx_aws_client *client, const char *policy,
                               const char *cert_arn, int *created)
{
    char region[TRUSTX_AWS_REGION_MAX] = "";
    char account[16] = "";
    char document[POLICY_TEXT_MAX];
    char *existing = NULL;
    int found = 0;
    trustx_rc rc;

    *created = 0;
    rc = trustx_aws_get_policy(client, policy, &found, &existing);
    if (rc != TRUSTX_OK)
        return rc;
    if (found) {
        rc = trustx_aws_policy_check(existing);
        free(existing);
        if (rc != TRUSTX_OK)
            trustx_error_prefix("policy %s", policy);
        return rc;
    }

    if (sscanf(cert_arn, "arn:%*[^:]:iot:%63[^:]:%15[^:]:cert/", region, account) != 2)
        return trustx_fail(TRUSTX_LAYER_APP, TRUSTX_E_INVALID_ARG,
                           "certificate ARN '%s' is invalid; expected "
                           "arn:aws:iot:REGION:ACCOUNT:cert/ID", cert_arn);
    rc = trustx_aws_policy_document(region, account, NULL, document, sizeof(document));
    if (rc == TRUSTX_OK)
        rc = trustx_aws_create_policy(client, policy, document);
    if (rc == TRUSTX_OK)
        *created = 1;
    return rc;
}

static int run_attach(cli_ctx *ctx, int argc, char **argv)
{
    static const struct option options[] = {
        {"thing", required_argument, NULL, OPT_THING},
        {"cert-arn", required_argument, NULL, OPT_CERT_ARN},
        {"policy", required_argument, NULL, OPT_POLICY}, COMMON_OPTIONS, {NULL, 0, NULL, 0}};
    aws_common common = {{0}};
    const char *thing = NULL, *cert_arn = NULL, *policy = TRUSTX_AWS_DEFAULT_POLICY;
    trustx_aws_client *client = NULL;
    int created = 0;
    trustx_rc rc;
    int opt, status;

    while ((opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        if (take_common(ctx, &common, opt))
            continue;
        switch (opt) {
        case OPT_THING: thing = optarg; break;
        case OPT_CERT_ARN: cert_arn = optarg; break;
        case OPT_POLICY: policy = optarg; break;
        case 'h': usage_attach(stdout); return 0;
        default: usage_attach(stderr); return 1;
        }
    }
    if (thing == NULL || cert_arn == NULL || optind < argc)
        return cli_usage_error(ctx, "aws attach needs --thing NAME and --cert-arn ARN; see "
                               "'trustx aws attach --help'");
    if (trustx_aws_check_thing_name(thing) != TRUSTX_OK ||
        trustx_aws_check_policy_name(policy) != TRUSTX_OK)
        return cli_report(ctx, trustx_error_last()->rc);
    if (strncmp(cert_arn, "arn:", 4) != 0 || strstr(cert_arn, ":iot:") == NULL ||
        strstr(cert_arn, ":cert/") == NULL)
        return cli_usage_error(ctx, "certificate ARN '%s' is invalid; expected "
                               "arn:aws:iot:REGION:ACCOUNT:cert/ID", cert_arn);
    status = open_client(ctx, &common, &client);
    if (status != 0)
        return status;

    rc = trustx_aws_attach_thing_principal(client, thing, cert_arn);
    if (rc == TRUSTX_OK)
        rc = ensure_policy(client, policy, cert_arn, &created);
    if (rc == TRUSTX_OK)
        rc = trustx_aws_attach_policy(client, policy, cert_arn);
    trustx_aws_client_free(client);
    if (rc != TRUSTX_OK)
        return cli_report(ctx, rc);

    if (ctx->json) {
        cJSON *obj = cJSON_CreateObject();

        cJSON_AddStringToObject(obj, "thingName", thing);
        cJSON_AddStringToObject(obj, "certificateArn", cert_arn);
        cJSON_AddStringToObject(obj, "policyName", policy);
        cJSON_AddBoolToObject(obj, "policyCreated", created);
        print_json(obj);
    } else {
        printf("attached %s to thing %s and policy %s%s\n", cert_arn, thing, policy,
               created ? " (policy created)" : "");
    }
    return 0;
}

/* ---- endpoint ---- */

static void usage_endpoint(FILE *out)
{
    fprintf(out,
            "Usage: trustx aws endpoint [--type TYPE] [OPTIONS]\n"
            "\n"
            "Prints the host name devices connect to (DescribeEndpoint).\n"
            "\n"
            "  --type TYPE         iot:Data-ATS (default), iot:CredentialProvider or iot:Jobs\n");
    fputs(common_help, out);
}

static int run_endpoint(cli_ctx *ctx, int argc, char **argv)
{
    static const struct option options[] = {
        {"type", required_argument, NULL, OPT_TYPE}, COMMON_OPTIONS, {NULL, 0, NULL, 0}};
    aws_common common = {{0}};
    const char *type = "iot:Data-ATS";
    char address[TRUSTX_AWS_URL_MAX];
    trustx_aws_client *client = NULL;
    trustx_rc rc;
    int opt, status;

    while ((opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        if (take_common(ctx, &common, opt))
            continue;
        switch (opt) {
        case OPT_TYPE: type = optarg; break;
        case 'h': usage_endpoint(stdout); return 0;
        default: usage_endpoint(stderr); return 1;
        }
    }
    if (optind < argc)
        return cli_usage_error(ctx, "unexpected argument '%s'", argv[optind]);
    if (strcmp(type, "iot:Data-ATS") != 0 && strcmp(type, "iot:Data") != 0 &&
        strcmp(type, "iot:CredentialProvider") != 0 && strcmp(type, "iot:Jobs") != 0)
        return cli_usage_error(ctx, "endpoint type '%s' is invalid; use iot:Data-ATS, "
                               "iot:CredentialProvider or iot:Jobs",
                               type);
    status = open_client(ctx, &common, &client);
    if (status != 0)
        return status;
    rc = trustx_aws_describe_endpoint(client, type, address, sizeof(address));
    trustx_aws_client_free(client);
    if (rc != TRUSTX_OK)
        return cli_report(ctx, rc);

    if (ctx->json) {
        cJSON *obj = cJSON_CreateObject();

        cJSON_AddStringToObject(obj, "endpointType", type);
        cJSON_AddStringToObject(obj, "endpointAddress", address);
        print_json(obj);
    } else {
        printf("%s\n", address);
    }
    return 0;
}

/* ---- policy ---- */

static void usage_policy(FILE *out)
{
    fprintf(out,
            "Usage: trustx aws policy [--thing NAME] [--account ID] [OPTIONS]\n"
            "\n"
            "Prints the least-privilege device policy: connect only with client id = thing\n"
            "name and the certificate attached to that thing; publish, subscribe and\n"
            "receive only under things/<thing>/ and $aws/things/<thing>/shadow/. Without\n"
            "--thing the document uses ${iot:Connection.Thing.ThingName}, so one policy\n"
            "serves the whole fleet. Without --account the account comes from the thing's\n"
            "ARN (DescribeThing), which needs --thing and credentials.\n"
            "\n"
            "  --thing NAME        write this thing name into the document\n"
            "  --account ID        12-digit AWS account id (no AWS call needed)\n");
    fputs(common_help, out);
}

/* Region for an offline policy: --region, AWS_REGION or AWS_DEFAULT_REGION. */
static const char *offline_region(const aws_common *common)
{
    const char *region = common->opt.region;

    if (region == NULL || region[0] == '\0')
        region = getenv("AWS_REGION");
    if (region == NULL || region[0] == '\0')
        region = getenv("AWS_DEFAULT_REGION");
    return region && region[0] ? region : NULL;
}

/* Finds region and account through DescribeThing. */
static int account_from_thing(cli_ctx *ctx, const aws_common *common, const char *thing,
                              char *region, char *account)
{
    char arn[TRUSTX_AWS_ARN_MAX];
    trustx_aws_client *client = NULL;
    int found = 0;
    trustx_rc rc;
    int status = open_client(ctx, common, &client);

    if (status != 0)
        return status;
    rc = trustx_aws_describe_thing(client, thing, &found, arn, sizeof(arn));
    trustx_aws_client_free(client);
    if (rc != TRUSTX_OK)
        return cli_report(ctx, rc);
    if (!found)
        return cli_report(ctx, trustx_fail(TRUSTX_LAYER_APP, TRUSTX_E_CLOUD,
                                           "thing %s does not exist; create it first or pass "
                                           "--account", thing));
    if (sscanf(arn, "arn:%*[^:]:iot:%63[^:]:%15[^:]:", region, account) != 2)
        return cli_report(ctx, trustx_fail(TRUSTX_LAYER_APP, TRUSTX_E_CLOUD,
                                           "thing ARN '%s' has no region and account", arn));
    return 0;
}

static int run_policy(cli_ctx *ctx, int argc, char **argv)
{
    static const struct option options[] = {
        {"thing", required_argument, NULL, OPT_THING},
        {"account", required_argument, NULL, OPT_ACCOUNT}, COMMON_OPTIONS, {NULL, 0, NULL, 0}};
    aws_common common = {{0}};
    const char *thing = NULL;
    char region[TRUSTX_AWS_REGION_MAX] = "";
    char account[16] = "";
    char document[POLICY_TEXT_MAX];
    trustx_rc rc;
    int opt, status;

    while ((opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        if (take_common(ctx, &common, opt))
            continue;
        switch (opt) {
        case OPT_THING: thing = optarg; break;
        case OPT_ACCOUNT: snprintf(account, sizeof(account), "%s", optarg); break;
        case 'h': usage_policy(stdout); return 0;
        default: usage_policy(stderr); return 1;
        }
    }
    if (optind < argc)
        return cli_usage_error(ctx, "unexpected argument '%s'", argv[optind]);
    /* The thing name goes into resource ARNs, where a '*' would be a wildcard. */
    if (thing != NULL && trustx_aws_check_thing_name(thing) != TRUSTX_OK)
        return cli_report(ctx, trustx_error_last()->rc);

    if (account[0] != '\0') {
        const char *r = offline_region(&common);

        if (r == NULL)
            return cli_usage_error(ctx, "aws policy --account needs a region: give --region or "
                                   "set AWS_REGION");
        snprintf(region, sizeof(region), "%s", r);
    } else if (thing != NULL) {
        status = account_from_thing(ctx, &common, thing, region, account);
        if (status != 0)
            return status;
    } else {
        return cli_usage_error(ctx, "aws policy needs --account ID or --thing NAME; see "
                               "'trustx aws policy --help'");
    }

    rc = trustx_aws_policy_document(region, account, thing, document, sizeof(document));
    if (rc != TRUSTX_OK)
        return cli_report(ctx, rc);
    /* The document is JSON already, so --json prints it unchanged. */
    printf("%s\n", document);
    return 0;
}

/* ---- dispatch ---- */

int cmd_aws(cli_ctx *ctx, int argc, char **argv)
{
    static const struct {
        const char *name;
        int (*run)(cli_ctx *ctx, int argc, char **argv);
    } subcommands[] = {
        {"register-csr", run_register_csr},
        {"attach", run_attach},
        {"endpoint", run_endpoint},
        {"policy", run_policy},
    };

    if (argc < 2) {
        usage(stderr);
        return 1;
    }
    if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
        usage(stdout);
        return 0;
    }
    for (size_t i = 0; i < sizeof(subcommands) / sizeof(subcommands[0]); i++) {
        if (strcmp(argv[1], subcommands[i].name) == 0) {
            optind = 0;
            return subcommands[i].run(ctx, argc - 1, argv + 1);
        }
    }
    return cli_usage_error(ctx, "unknown aws subcommand '%s'; see 'trustx aws --help'", argv[1]);
}

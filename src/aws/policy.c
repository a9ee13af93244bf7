/* SPDX-License-Identifier: MIT */
/*
 * The least-privilege AWS IoT policy for a device and a check that refuses
 * policies granting every action. A device may connect only with its own
 * thing name as client id and may use only topics under that name.
 */
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "aws/aws_internal.h"

#define THING_VARIABLE "${iot:Connection.Thing.ThingName}"

/* Topic roots a device may use, relative to ".../topic/" or ".../topicfilter/". */
static const char *const topic_roots[] = {"things/%s/*", "$aws/things/%s/shadow/*"};

static int valid_account(const char *account)
{
    size_t n = strlen(account);

    if (n != 12)
        return 0;
    for (size_t i = 0; i < n; i++) {
        if (account[i] < '0' || account[i] > '9')
            return 0;
    }
    return 1;
}

/* ARN partition of a region: aws-cn for China, aws-us-gov for GovCloud, else aws. */
static const char *partition_of(const char *region)
{
    if (strncmp(region, "cn-", 3) == 0)
        return "aws-cn";
    if (strncmp(region, "us-gov-", 7) == 0)
        return "aws-us-gov";
    return "aws";
}

static cJSON *resources(const char *prefix, const char *kind, const char *subject)
{
    cJSON *list = cJSON_CreateArray();
    char topic[TRUSTX_AWS_NAME_MAX + 64];
    char arn[TRUSTX_AWS_ARN_MAX];

    for (size_t i = 0; list != NULL && i < sizeof(topic_roots) / sizeof(topic_roots[0]); i++) {
        /* The roots are constants with one %s; the compiler cannot see that through the table. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
        snprintf(topic, sizeof(topic), topic_roots[i], subject);
#pragma GCC diagnostic pop
        snprintf(arn, sizeof(arn), "%s:%s/%s", prefix, kind, topic);
        cJSON_AddItemToArray(list, cJSON_CreateString(arn));
    }
    return list;
}

static cJSON *statement(const char *action, cJSON *resource)
{
    cJSON *st = cJSON_CreateObject();

    cJSON_AddStringToObject(st, "Effect", "Allow");
    cJSON_AddStringToObject(st, "Action", action);
    cJSON_AddItemToObject(st, "Resource", resource);
    return st;
}

trustx_rc trustx_aws_policy_document(const char *region, const char *account,
                                     const char *thing, char *out, size_t cap)
{
    char prefix[TRUSTX_AWS_REGION_MAX + 64];
    char client[TRUSTX_AWS_ARN_MAX];
    const char *subject = thing ? thing : THING_VARIABLE;
    cJSON *doc, *list, *connect, *cond, *bool_cond;
    char *text;
    size_t n;

    if (region == NULL || region[0] == '\0' || account == NULL || !valid_account(account))
        return trustx_fail(TRUSTX_LAYER_AWS, TRUSTX_E_INVALID_ARG,
                           "policy needs a region and a 12-digit account id, got '%s' and '%s'",
                           region ? region : "", account ? account : "");
    snprintf(prefix, sizeof(prefix), "arn:%s:iot:%s:%s", partition_of(region), region, account);
    snprintf(client, sizeof(client), "%s:client/%s", prefix, subject);

    doc = cJSON_CreateObject();
    cJSON_AddStringToObject(doc, "Version", "2012-10-17");
    list = cJSON_AddArrayToObject(doc, "Statement");

    connect = statement("iot:Connect", cJSON_CreateString(client));
    cond = cJSON_AddObjectToObject(connect, "Condition");
    bool_cond = cJSON_AddObjectToObject(cond, "Bool");
    cJSON_AddStringToObject(bool_cond, "iot:Connection.Thing.IsAttached", "true");
    cJSON_AddItemToArray(list, connect);
    cJSON_AddItemToArray(list, statement("iot:Publish", resources(prefix, "topic", subject)));
    cJSON_AddItemToArray(list,
                         statement("iot:Subscribe", resources(prefix, "topicfilter", subject)));
    cJSON_AddItemToArray(list, statement("iot:Receive", resources(prefix, "topic", subject)));

    text = cJSON_Print(doc);
    cJSON_Delete(doc);
    if (text == NULL)
        return trustx_fail(TRUSTX_LAYER_AWS, TRUSTX_E_NOMEM, "out of memory for the policy");
    n = strlen(text);
    if (n >= cap) {
        cJSON_free(text);
        return trustx_fail(TRUSTX_LAYER_AWS, TRUSTX_E_OVERFLOW,
                           "policy document of %zu bytes does not fit %zu", n, cap);
    }
    memcpy(out, text, n + 1);
    cJSON_free(text);
    return TRUSTX_OK;
}

/*
 * Action names are case-insensitive in IAM and a '*' anywhere in one is a
 * wildcard ("iot:*", "*:*", "iot:Pub*"), so any '*' counts as a wildcard.
 */
static int has_wildcard(const cJSON *action)
{
    const cJSON *item;

    if (cJSON_IsString(action))
        return strchr(action->valuestring, '*') != NULL;
    cJSON_ArrayForEach(item, action) {
        if (has_wildcard(item))
            return 1;
    }
    return 0;
}

static trustx_rc check_statement(const cJSON *st)
{
    const cJSON *effect = cJSON_GetObjectItemCaseSensitive(st, "Effect");
    const cJSON *action = cJSON_GetObjectItemCaseSensitive(st, "Action");
    const cJSON *not_action = cJSON_GetObjectItemCaseSensitive(st, "NotAction");

    if (!cJSON_IsString(effect) || strcmp(effect->valuestring, "Allow") != 0)
        return TRUSTX_OK;
    if (not_action != NULL)
        return trustx_fail(TRUSTX_LAYER_AWS, TRUSTX_E_CLOUD,
                           "policy allows actions through NotAction, which grants everything "
                           "not listed; a device policy lists the actions it allows");
    if (has_wildcard(action))
        return trustx_fail(TRUSTX_LAYER_AWS, TRUSTX_E_CLOUD,
                           "policy allows actions by wildcard (a '*' in an action); a device "
                           "policy lists actions such as iot:Connect and iot:Publish by name");
    return TRUSTX_OK;
}

trustx_rc trustx_aws_policy_check(const char *document)
{
    cJSON *doc = document ? cJSON_Parse(document) : NULL;
    const cJSON *statements = cJSON_GetObjectItemCaseSensitive(doc, "Statement");
    const cJSON *st;
    trustx_rc rc = TRUSTX_OK;

    if (doc == NULL || !(cJSON_IsObject(statements) || cJSON_IsArray(statements))) {
        cJSON_Delete(doc);
        return trustx_fail(TRUSTX_LAYER_AWS, TRUSTX_E_INVALID_ARG,
                           "policy document is not JSON with a Statement member");
    }
    if (cJSON_IsObject(statements)) {
        rc = check_statement(statements);
    } else {
        cJSON_ArrayForEach(st, statements) {
            if (rc == TRUSTX_OK)
                rc = check_statement(st);
        }
    }
    cJSON_Delete(doc);
    return rc;
}

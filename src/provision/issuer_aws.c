/* SPDX-License-Identifier: MIT */
/*
 * The AWS IoT issuer: CreateCertificateFromCsr and registration through
 * trustx_aws_register(), which activates the certificate only after the
 * install callback has written and verified it in the chip.
 */
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "trustx/aws.h"
#include "trustx/provision.h"

typedef struct aws_issuer {
    trustx_aws_client *client;
    const char *thing;
    const char *policy;
    int allow_other_active;
} aws_issuer;

static char *result_to_json(const trustx_aws_register_result *r)
{
    cJSON *o = cJSON_CreateObject();
    cJSON *steps = cJSON_AddObjectToObject(o, "steps");
    char *text;

    cJSON_AddStringToObject(o, "service", "aws-iot");
    cJSON_AddStringToObject(o, "thing_arn", r->thing_arn);
    cJSON_AddStringToObject(o, "account", r->account);
    cJSON_AddStringToObject(o, "certificate_id", r->certificate_id);
    cJSON_AddStringToObject(o, "certificate_arn", r->certificate_arn);
    cJSON_AddStringToObject(o, "policy", r->policy_name);
    cJSON_AddStringToObject(o, "endpoint", r->endpoint);
    cJSON_AddStringToObject(steps, "thing", trustx_aws_step_name(r->thing));
    cJSON_AddStringToObject(steps, "certificate", trustx_aws_step_name(r->certificate));
    cJSON_AddStringToObject(steps, "thing_attach", trustx_aws_step_name(r->thing_attach));
    cJSON_AddStringToObject(steps, "install", trustx_aws_step_name(r->install));
    cJSON_AddStringToObject(steps, "activation", trustx_aws_step_name(r->activation));
    cJSON_AddStringToObject(steps, "policy", trustx_aws_step_name(r->policy));
    cJSON_AddStringToObject(steps, "policy_attach", trustx_aws_step_name(r->policy_attach));
    text = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return text;
}

static trustx_rc register_with_aws(void *issuer_ctx, const char *csr_pem, trustx_curve curve,
                                   const uint8_t *pub, size_t pub_len, trustx_install_fn install,
                                   void *install_ctx, char **result_json)
{
    const aws_issuer *ai = issuer_ctx;
    trustx_aws_register_req req;
    trustx_aws_register_result res;
    trustx_rc rc;

    memset(&req, 0, sizeof(req));
    memset(&res, 0, sizeof(res));
    req.thing_name = ai->thing;
    req.policy_name = ai->policy;
    req.csr_pem = csr_pem;
    req.curve = curve;
    req.public_key = pub;
    req.public_key_len = pub_len;
    req.allow_other_active = ai->allow_other_active;

    rc = trustx_aws_register(ai->client, &req, install, install_ctx, &res);
    *result_json = rc == TRUSTX_OK ? result_to_json(&res) : NULL;
    if (rc == TRUSTX_OK && *result_json == NULL)
        rc = trustx_fail(TRUSTX_LAYER_PROVISION, TRUSTX_E_NOMEM, "out of memory");
    trustx_aws_register_result_clear(&res);
    return rc;
}

void trustx_issuer_aws(trustx_issuer *issuer, trustx_aws_client *client, const char *thing,
                       const char *policy, int allow_other_active)
{
    static _Thread_local aws_issuer ctx;

    ctx.client = client;
    ctx.thing = thing;
    ctx.policy = policy;
    ctx.allow_other_active = allow_other_active;
    issuer->name = "AWS IoT";
    issuer->run = register_with_aws;
    issuer->ctx = &ctx;
    issuer->registers = 1;
}

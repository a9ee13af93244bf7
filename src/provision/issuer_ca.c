/* SPDX-License-Identifier: MIT */
/* The local CA issuer: signs the CSR with a CA whose certificate and key are files. */
#include <stdlib.h>
#include <string.h>

#include "trustx/provision.h"

typedef struct local_ca {
    const trustx_pki_ca *ca;
    unsigned days;
} local_ca;

static trustx_rc issue_locally(void *issuer_ctx, const char *csr_pem, trustx_curve curve,
                               const uint8_t *pub, size_t pub_len, trustx_install_fn install,
                               void *install_ctx, char **result_json)
{
    const local_ca *lc = issuer_ctx;
    trustx_pki_issue_options issue = {lc->days, 0};
    trustx_pki_cert *cert = NULL;
    const uint8_t *der;
    size_t der_len = 0;
    char *pem = NULL;
    size_t pem_len = 0;
    trustx_rc rc;

    *result_json = NULL;
    rc = trustx_pki_ca_issue(lc->ca, (const uint8_t *)csr_pem, strlen(csr_pem), &issue, &cert);
    if (rc == TRUSTX_E_CRYPTO)
        rc = trustx_fail(TRUSTX_LAYER_PROVISION, TRUSTX_E_CLOUD, "the CA failed to sign: %s",
                         trustx_error_last()->message);
    if (rc == TRUSTX_OK)
        rc = trustx_pki_cert_match_key(cert, curve, pub, pub_len);
    if (rc == TRUSTX_OK) {
        der = trustx_pki_cert_der(cert, &der_len);
        rc = trustx_pki_pem_encode(TRUSTX_PKI_PEM_CERT, der, der_len, &pem, &pem_len);
    }
    if (rc == TRUSTX_OK)
        rc = install(install_ctx, pem);

    free(pem);
    trustx_pki_cert_free(cert);
    return rc;
}

void trustx_issuer_local_ca(trustx_issuer *issuer, const trustx_pki_ca *ca, unsigned days)
{
    /* One static context per process is enough: a run personalizes one chip at a time. */
    static _Thread_local local_ca ctx;

    ctx.ca = ca;
    ctx.days = days;
    issuer->name = "own CA";
    issuer->run = issue_locally;
    issuer->ctx = &ctx;
    issuer->registers = 0;
}

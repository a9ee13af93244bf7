/* SPDX-License-Identifier: MIT */
/* Fault list parsing and the seeded random generator behind fault injection. */
#include "sim_faults.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sim_chip.h"

#define FAULT_KEYS "flip=RATE, nackburst=N, nackevery=K, lose=N, neverready, resetcmd=N, seed=S"

/* Maximum length of a fault list, far above the few dozen characters a real one has. */
#define FAULT_SPEC_MAX 512

void sim_rng_seed(sim_rng *rng, uint64_t seed)
{
    rng->state = seed;
}

uint64_t sim_rng_next(sim_rng *rng)
{
    uint64_t z;

    rng->state += 0x9E3779B97F4A7C15u;
    z = rng->state;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9u;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBu;
    return z ^ (z >> 31);
}

int sim_rng_chance(sim_rng *rng, double rate)
{
    /* 53 random bits give a uniform double in [0, 1). */
    double draw;

    if (rate <= 0.0)
        return 0;
    draw = (double)(sim_rng_next(rng) >> 11) / 9007199254740992.0;
    return draw < rate;
}

void sim_rng_flip_bit(sim_rng *rng, uint8_t *buf, size_t len)
{
    uint64_t bit;

    if (len == 0)
        return;
    bit = sim_rng_next(rng) % ((uint64_t)len * 8u);
    buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
}

static trustx_rc parse_u64(const char *key, const char *value, uint64_t max, uint64_t *out)
{
    char *end = NULL;
    unsigned long long parsed;

    if (value == NULL || *value == '\0' || *value == '-' || *value == '+')
        return trustx_fail(TRUSTX_LAYER_SIM, TRUSTX_E_INVALID_ARG,
                           "fault '%s' needs a non-negative integer value, as in %s=3", key, key);

    errno = 0;
    parsed = strtoull(value, &end, 0);
    if (errno != 0 || *end != '\0' || parsed > max)
        return trustx_fail(TRUSTX_LAYER_SIM, TRUSTX_E_INVALID_ARG,
                           "invalid value '%s' for fault '%s': expected an integer 0..%llu",
                           value, key, (unsigned long long)max);
    *out = parsed;
    return TRUSTX_OK;
}

static trustx_rc parse_unsigned(const char *key, const char *value, unsigned *out)
{
    uint64_t parsed;
    trustx_rc rc = parse_u64(key, value, UINT_MAX, &parsed);

    if (rc == TRUSTX_OK)
        *out = (unsigned)parsed;
    return rc;
}

static trustx_rc parse_rate(const char *value, double *out)
{
    char *end = NULL;
    double rate;

    if (value == NULL || *value == '\0')
        return trustx_fail(TRUSTX_LAYER_SIM, TRUSTX_E_INVALID_ARG,
                           "fault 'flip' needs a probability, as in flip=0.01");

    errno = 0;
    rate = strtod(value, &end);
    if (errno != 0 || *end != '\0' || !isfinite(rate) || rate < 0.0 || rate > 1.0)
        return trustx_fail(TRUSTX_LAYER_SIM, TRUSTX_E_INVALID_ARG,
                           "invalid flip rate '%s': expected a probability from 0 to 1", value);
    *out = rate;
    return TRUSTX_OK;
}

static trustx_rc parse_item(char *item, sim_faults *out)
{
    char *value = strchr(item, '=');

    if (value != NULL)
        *value++ = '\0';

    if (strcmp(item, "flip") == 0)
        return parse_rate(value, &out->flip_rate);
    if (strcmp(item, "nackburst") == 0)
        return parse_unsigned(item, value, &out->nack_burst);
    if (strcmp(item, "nackevery") == 0)
        return parse_unsigned(item, value, &out->nack_every);
    if (strcmp(item, "lose") == 0)
        return parse_unsigned(item, value, &out->lose_response);
    if (strcmp(item, "resetcmd") == 0)
        return parse_unsigned(item, value, &out->reset_in_command);
    if (strcmp(item, "seed") == 0)
        return parse_u64(item, value, UINT64_MAX, &out->seed);
    if (strcmp(item, "neverready") == 0) {
        if (value != NULL)
            return trustx_fail(TRUSTX_LAYER_SIM, TRUSTX_E_INVALID_ARG,
                               "fault 'neverready' takes no value; write just neverready");
        out->never_ready = 1;
        return TRUSTX_OK;
    }
    return trustx_fail(TRUSTX_LAYER_SIM, TRUSTX_E_INVALID_ARG,
                       "unknown fault '%s'; valid faults: " FAULT_KEYS, item);
}

static trustx_rc check_nack_burst(sim_faults *faults)
{
    if (faults->nack_burst > 0 && faults->nack_every == 0)
        return trustx_fail(TRUSTX_LAYER_SIM, TRUSTX_E_INVALID_ARG,
                           "fault nackburst=%u needs nackevery=K to say how often a burst starts",
                           faults->nack_burst);

    if (faults->nack_every > 0 && faults->nack_burst == 0)
        faults->nack_burst = 1;

    if (faults->nack_every > 0 && faults->nack_burst >= faults->nack_every)
        return trustx_fail(TRUSTX_LAYER_SIM, TRUSTX_E_INVALID_ARG,
                           "fault nackburst=%u must be smaller than nackevery=%u, or the chip "
                           "never acknowledges",
                           faults->nack_burst, faults->nack_every);
    return TRUSTX_OK;
}

trustx_rc sim_faults_parse(const char *spec, sim_faults *out)
{
    char copy[FAULT_SPEC_MAX];
    char *item;
    char *rest;
    sim_faults parsed;
    trustx_rc rc;

    memset(&parsed, 0, sizeof(parsed));
    parsed.seed = SIM_FAULTS_DEFAULT_SEED;
    if (spec == NULL || *spec == '\0') {
        *out = parsed;
        return TRUSTX_OK;
    }

    if (strlen(spec) >= sizeof(copy))
        return trustx_fail(TRUSTX_LAYER_SIM, TRUSTX_E_INVALID_ARG,
                           "fault list is longer than %d characters", FAULT_SPEC_MAX - 1);
    memcpy(copy, spec, strlen(spec) + 1);

    rest = copy;
    while (rest != NULL) {
        item = rest;
        rest = strchr(rest, ',');
        if (rest != NULL)
            *rest++ = '\0';
        if (*item == '\0')
            return trustx_fail(TRUSTX_LAYER_SIM, TRUSTX_E_INVALID_ARG,
                               "empty item in fault list '%s'; separate faults with single commas",
                               spec);
        rc = parse_item(item, &parsed);
        if (rc != TRUSTX_OK)
            return rc;
    }

    rc = check_nack_burst(&parsed);
    if (rc != TRUSTX_OK)
        return rc;
    *out = parsed;
    return TRUSTX_OK;
}

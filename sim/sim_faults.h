/* SPDX-License-Identifier: MIT */
/*
 * Internal helpers of the simulator's fault injection: a small seeded
 * random generator, so that a run with the same seed and the same bus
 * traffic injects the same faults. sim_faults_parse() is in sim_chip.h.
 */
#ifndef TRUSTX_SIM_FAULTS_H
#define TRUSTX_SIM_FAULTS_H

#include <stddef.h>
#include <stdint.h>

/* Seed used when a fault list gives none. */
#define SIM_FAULTS_DEFAULT_SEED 1u

typedef struct sim_rng {
    uint64_t state;
} sim_rng;

/* Starts the generator at seed (any value, 0 included). */
void sim_rng_seed(sim_rng *rng, uint64_t seed);

/* Returns the next 64 random bits (SplitMix64). */
uint64_t sim_rng_next(sim_rng *rng);

/* Returns nonzero with probability rate (0..1). */
int sim_rng_chance(sim_rng *rng, double rate);

/* Flips one random bit in buf[0..len); does nothing when len is 0. */
void sim_rng_flip_bit(sim_rng *rng, uint8_t *buf, size_t len);

#endif

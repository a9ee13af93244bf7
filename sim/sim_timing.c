/* SPDX-License-Identifier: MIT */
/* The simulator's virtual clock and its split of elapsed time by cause. */
#include "sim_timing.h"

static uint64_t overlap_ns(uint64_t from, uint64_t until, uint64_t window_from,
                           uint64_t window_until)
{
    uint64_t lo = from > window_from ? from : window_from;
    uint64_t hi = until < window_until ? until : window_until;

    return hi > lo ? hi - lo : 0;
}

void sim_clock_spend(sim_clock *clock, uint64_t ns, sim_time_kind kind)
{
    uint64_t chip = overlap_ns(clock->now_ns, clock->now_ns + ns, clock->chip_from_ns,
                               clock->chip_until_ns);
    uint64_t rest = ns - chip;

    clock->chip_ns += chip;
    switch (kind) {
    case SIM_TIME_BUS:
        clock->bus_ns += rest;
        break;
    case SIM_TIME_GUARD:
        clock->guard_ns += rest;
        break;
    case SIM_TIME_WAIT:
        clock->wait_ns += rest;
        break;
    }
    clock->now_ns += ns;
}

void sim_clock_set_chip_window(sim_clock *clock, uint64_t from_ns, uint64_t until_ns)
{
    clock->chip_from_ns = from_ns;
    clock->chip_until_ns = until_ns;
}

uint64_t sim_clock_byte_ns(unsigned khz)
{
    /* One bit lasts 1e6 / khz ns; multiplying first keeps 400 kHz exact (22500 ns). */
    return (uint64_t)SIM_BITS_PER_BYTE * 1000000u / khz;
}

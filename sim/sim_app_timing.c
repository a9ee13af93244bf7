/* SPDX-License-Identifier: MIT */
/*
 * The timing table of the application model. Datasheet rows come from the
 * OPTIGA Trust X datasheet v2.70, table 15 (400 kHz I2C, 25 degrees C, 3.3 V);
 * those figures are measured at the I2C interface, so for the data commands
 * they include some bus time that the bus model also charges.
 */
#include "sim_app_timing.h"

static const sim_app_timing timing_table[SIM_APP_OP_COUNT] = {
    {SIM_APP_OP_ERROR, "failed command", 300, 0, "estimate"},
    {SIM_APP_OP_OPEN_APPLICATION, "OpenApplication", 1000, 0, "estimate"},
    /* 1 ms + 80 us/B gives the datasheet's 9 ms for 100 B; the split is an estimate. */
    {SIM_APP_OP_GET_DATA, "GetDataObject", 1000, 80, "datasheet (9 ms per 100 B)"},
    {SIM_APP_OP_GET_METADATA, "GetDataObject metadata", 1500, 0, "estimate"},
    /* 1 ms + 140 us/B gives the datasheet's 15 ms for 100 B; the split is an estimate. */
    {SIM_APP_OP_SET_DATA, "SetDataObject", 1000, 140, "datasheet (15 ms per 100 B)"},
    {SIM_APP_OP_SET_METADATA, "SetDataObject metadata", 8000, 0, "estimate"},
    /* 5.5 ms + 30 us/B gives about 6 ms for 16 B (datasheet 5-7 ms). */
    {SIM_APP_OP_GET_RANDOM, "GetRandom", 5500, 30, "datasheet (5-7 ms per 16 B)"},
    /* 200 us/B is the datasheet's 5 kB/s for SHA-256 in 500-byte blocks. */
    {SIM_APP_OP_CALC_HASH, "CalcHash SHA-256", 500, 200, "datasheet (5 kB/s)"},
    {SIM_APP_OP_GEN_KEY_P256, "GenKeyPair P-256", 80000, 0, "datasheet"},
    /* NOTE: no Trust X source gives P-384 times; the P-384 rows are estimates (2.5 x P-256). */
    {SIM_APP_OP_GEN_KEY_P384, "GenKeyPair P-384", 200000, 0, "estimate"},
    {SIM_APP_OP_SIGN_P256, "CalcSign ECDSA P-256", 60000, 0, "datasheet"},
    {SIM_APP_OP_SIGN_P384, "CalcSign ECDSA P-384", 150000, 0, "estimate"},
    {SIM_APP_OP_VERIFY_P256, "VerifySign ECDSA P-256", 85000, 0, "datasheet"},
    {SIM_APP_OP_VERIFY_P384, "VerifySign ECDSA P-384", 210000, 0, "estimate"},
};

const sim_app_timing *sim_app_timing_table(size_t *count)
{
    if (count != NULL)
        *count = SIM_APP_OP_COUNT;
    return timing_table;
}

uint32_t sim_app_timing_us(sim_app_op op, size_t bytes)
{
    const sim_app_timing *row;

    if (op < 0 || op >= SIM_APP_OP_COUNT)
        op = SIM_APP_OP_ERROR;
    row = &timing_table[op];
    return row->base_us + (uint32_t)(row->per_byte_us * bytes);
}

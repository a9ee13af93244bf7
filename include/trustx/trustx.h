/* SPDX-License-Identifier: MIT */
/* Umbrella header: includes every public header of libtrustx. */
#ifndef TRUSTX_TRUSTX_H
#define TRUSTX_TRUSTX_H

#include "trustx/error.h"
#include "trustx/log.h"
#include "trustx/transport.h"
#include "trustx/ifxi2c.h"
#include "trustx/cmd.h"
#include "trustx/pki.h"

#define TRUSTX_VERSION "0.1.0"

#endif

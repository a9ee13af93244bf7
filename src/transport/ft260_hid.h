/* SPDX-License-Identifier: MIT */
/*
 * Internal: a small HID device interface under the FT260 transport, so the
 * same bridge code runs on Linux hidraw, on hidapi (macOS, Windows) and on
 * the test emulator reached over a unix socket.
 */
#ifndef TRUSTX_TRANSPORT_FT260_HID_H
#define TRUSTX_TRANSPORT_FT260_HID_H

#include <stddef.h>
#include <stdint.h>

#include "backends.h"
#include "trustx/error.h"

#define FT260_HID_PATH_MAX 256     /* a device path from hidapi or the user */
#define FT260_HID_NAME_MAX 384     /* "ft260:serial=S (PATH)" and such */

/*
 * Operations on one open HID interface. Every report buffer starts with the
 * report ID. Failures are recorded with trustx_fail() and name the device.
 */
typedef struct ft260_hid_ops {
    const char *name;          /* "hidraw", "hidapi" or "emulator" */

    /* Sends one output report of len bytes. */
    trustx_rc (*write_output)(void *dev, const uint8_t *report, size_t len);

    /*
     * Waits up to timeout_ms for one input report and stores it in report
     * (cap bytes) and its length in *len. Returns TRUSTX_E_TIMEOUT, without
     * recording an error, when no report arrived in time.
     */
    trustx_rc (*read_input)(void *dev, uint8_t *report, size_t cap, size_t *len,
                            unsigned timeout_ms);

    /* Reads feature report id into buf (cap bytes); *len receives its length. */
    trustx_rc (*get_feature)(void *dev, uint8_t id, uint8_t *buf, size_t cap, size_t *len);

    /* Sends a feature report of len bytes. */
    trustx_rc (*set_feature)(void *dev, const uint8_t *report, size_t len);

    /* Closes the device and frees dev. MUST accept NULL. */
    void (*close)(void *dev);
} ft260_hid_ops;

/* An open HID interface and the name that messages use for it. */
typedef struct ft260_hid {
    const ft260_hid_ops *ops;
    void *dev;
    char name[FT260_HID_NAME_MAX]; /* such as "ft260:/dev/hidraw3" */
} ft260_hid;

/* The facts sysfs gives about one hidraw node. */
typedef struct ft260_hidraw_info {
    unsigned vid;
    unsigned pid;
    int interface;             /* USB interface number, -1 when unknown */
    char serial[64];           /* HID_UNIQ, empty when the device has none */
    char driver[32];           /* the HID driver bound to the device */
} ft260_hidraw_info;

/*
 * Reads SYSFS/class/hidraw/NODE/device/uevent (sysfs_root is "/sys" outside
 * tests). Returns 0 on success and -1 when the node or its uevent is missing.
 */
int transport_ft260_sysfs_identify(const char *sysfs_root, const char *node,
                                   ft260_hidraw_info *out);

/*
 * Finds the FT260 I2C interface (USB 0403:6030, interface 0) with the lowest
 * hidraw number, or the one whose serial number is serial when serial is not
 * NULL, and copies its node name ("hidraw3") into node (cap bytes).
 * Returns TRUSTX_E_IO with a message that names what to check when none is
 * found, including the case that the hid-ft260 kernel driver owns the bridge.
 */
trustx_rc transport_ft260_sysfs_find(const char *sysfs_root, const char *serial, char *node,
                                     size_t cap);

/*
 * Opens an FT260 through Linux hidraw: the node at path, or else the one
 * with serial number serial, or else the first one found. The node must be
 * an FT260's interface 0 and not be locked by another trustx process.
 * Returns TRUSTX_E_UNSUPPORTED on hosts without hidraw.
 */
trustx_rc transport_ft260_hidraw_open(const char *path, const char *serial, ft260_hid *out);

/*
 * Opens an FT260 through hidapi, chosen like transport_ft260_hidraw_open().
 * Returns TRUSTX_E_UNSUPPORTED when the library was built without hidapi.
 */
trustx_rc transport_ft260_hidapi_open(const char *path, const char *serial, ft260_hid *out);

/*
 * Connects to the FT260 emulator (tests/ft260emu/ft260emu.py) listening on
 * the unix socket socket_path. Returns TRUSTX_E_BUSY when another client is
 * connected to it and TRUSTX_E_IO when nothing listens there.
 */
trustx_rc transport_ft260_emu_open(const char *socket_path, ft260_hid *out);

/*
 * Starts the bridge on an open HID interface and wraps it in a transport:
 * checks that I2C is enabled (enables it when off), resets the I2C
 * controller while the bus reads busy (a bounded number of times), and sets
 * the clock to opts->speed_khz. Takes ownership of hid, also on failure.
 * Tests call this with a scripted HID device.
 */
trustx_rc transport_ft260_open_hid(ft260_hid *hid, const transport_bus_options *opts,
                                   trustx_transport **out);

#endif

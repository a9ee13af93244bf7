/* SPDX-License-Identifier: MIT */
/*
 * FT260 over hidapi, for hosts without Linux hidraw (macOS, Windows with
 * MSYS2) and as "hid=hidapi" on Linux. Built when TRUSTX_HAVE_HIDAPI is
 * defined; otherwise opening returns TRUSTX_E_UNSUPPORTED.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ft260_hid.h"
#include "ft260_proto.h"

#ifdef TRUSTX_HAVE_HIDAPI

#include <hidapi.h>
#include <pthread.h>
#include <wchar.h>

#define HIDAPI_SERIAL_MAX 64
#define HIDAPI_MESSAGE_MAX 160

typedef struct hidapi_dev {
    hid_device *handle;
    char name[FT260_HID_NAME_MAX];
} hidapi_dev;

static pthread_once_t hidapi_once = PTHREAD_ONCE_INIT;
static int hidapi_init_result;

static void hidapi_init(void)
{
    hidapi_init_result = hid_init();
}

/* Copies a wide string as ASCII; other characters become '?'. */
static void narrow(const wchar_t *in, char *out, size_t cap)
{
    size_t i = 0;

    for (; in != NULL && in[i] != L'\0' && i + 1 < cap; i++)
        out[i] = in[i] > 0 && in[i] < 0x7F ? (char)in[i] : '?';
    out[i] = '\0';
}

/* hidapi's own text for the last failure on handle (or of the library when NULL). */
static const char *hidapi_message(hid_device *handle, char *buf, size_t cap)
{
    const wchar_t *w = hid_error(handle);

    narrow(w, buf, cap);
    if (buf[0] == '\0')
        snprintf(buf, cap, "unknown hidapi error");
    return buf;
}

static trustx_rc hidapi_fail(const hidapi_dev *d, const char *what)
{
    char msg[HIDAPI_MESSAGE_MAX];

    return trustx_fail(TRUSTX_LAYER_TRANSPORT, TRUSTX_E_IO, "%s: %s failed: %s", d->name, what,
                       hidapi_message(d->handle, msg, sizeof(msg)));
}

static trustx_rc hidapi_write_output(void *dev, const uint8_t *report, size_t len)
{
    hidapi_dev *d = dev;
    int n = hid_write(d->handle, report, len);

    if (n < 0)
        return hidapi_fail(d, "HID output report write");
    /* Windows pads every output report to the longest one, so n may exceed len. */
    if ((size_t)n < len)
        return trustx_fail(TRUSTX_LAYER_TRANSPORT, TRUSTX_E_IO,
                           "%s: short HID output report write (%d of %zu bytes)", d->name, n,
                           len);
    return TRUSTX_OK;
}

static trustx_rc hidapi_read_input(void *dev, uint8_t *report, size_t cap, size_t *len,
                                   unsigned timeout_ms)
{
    hidapi_dev *d = dev;
    int n = hid_read_timeout(d->handle, report, cap, (int)timeout_ms);

    if (n < 0)
        return hidapi_fail(d, "HID input report read");
    if (n == 0)
        return TRUSTX_E_TIMEOUT;
    /* NOTE: assumes the report ID leads the data, as for numbered reports on hidraw. */
    *len = (size_t)n;
    return TRUSTX_OK;
}

static trustx_rc hidapi_get_feature(void *dev, uint8_t id, uint8_t *buf, size_t cap, size_t *len)
{
    hidapi_dev *d = dev;
    int n;

    memset(buf, 0, cap);
    buf[0] = id;
    n = hid_get_feature_report(d->handle, buf, cap);
    if (n < 0)
        return hidapi_fail(d, "HID get feature report");
    *len = (size_t)n;
    return TRUSTX_OK;
}

static trustx_rc hidapi_set_feature(void *dev, const uint8_t *report, size_t len)
{
    hidapi_dev *d = dev;

    if (hid_send_feature_report(d->handle, report, len) < 0)
        return hidapi_fail(d, "HID set feature report");
    return TRUSTX_OK;
}

static void hidapi_close(void *dev)
{
    hidapi_dev *d = dev;

    if (d == NULL)
        return;
    if (d->handle != NULL)
        hid_close(d->handle);
    free(d);
}

static const ft260_hid_ops hidapi_ops = {
    .name = "hidapi",
    .write_output = hidapi_write_output,
    .read_input = hidapi_read_input,
    .get_feature = hidapi_get_feature,
    .set_feature = hidapi_set_feature,
    .close = hidapi_close,
};

/*
 * Picks the FT260 I2C interface (interface 0) with the given serial number,
 * or the first one, and copies its platform path into path (cap bytes).
 */
static trustx_rc find_path(const char *serial, char *path, size_t cap)
{
    struct hid_device_info *list = hid_enumerate(FT260_USB_VID, FT260_USB_PID);
    struct hid_device_info *i;
    int found = 0;

    for (i = list; i != NULL && !found; i = i->next) {
        char s[HIDAPI_SERIAL_MAX];

        /* NOTE: some hidapi backends report -1 when the interface is unknown; those are skipped. */
        if (i->interface_number != FT260_I2C_INTERFACE)
            continue;
        narrow(i->serial_number, s, sizeof(s));
        if (serial != NULL && strcmp(serial, s) != 0)
            continue;
        snprintf(path, cap, "%s", i->path);
        found = 1;
    }
    hid_free_enumeration(list);

    if (found)
        return TRUSTX_OK;
    if (serial != NULL)
        return trustx_fail(TRUSTX_LAYER_TRANSPORT, TRUSTX_E_IO,
                           "ft260:serial=%s: no FT260 with serial number '%s' found (USB "
                           "0403:6030, hidapi); check the cable and permissions, see "
                           "docs/hardware.md",
                           serial, serial);
    return trustx_fail(TRUSTX_LAYER_TRANSPORT, TRUSTX_E_IO,
                       "ft260: no FT260 found (USB 0403:6030, hidapi); check the cable and "
                       "permissions, see docs/hardware.md");
}

trustx_rc transport_ft260_hidapi_open(const char *path, const char *serial, ft260_hid *out)
{
    char found_path[FT260_HID_PATH_MAX];
    char msg[HIDAPI_MESSAGE_MAX];
    hidapi_dev *d;
    trustx_rc rc;

    pthread_once(&hidapi_once, hidapi_init);
    if (hidapi_init_result != 0)
        return trustx_fail(TRUSTX_LAYER_TRANSPORT, TRUSTX_E_IO, "ft260: hidapi init failed: %s",
                           hidapi_message(NULL, msg, sizeof(msg)));

    if (path == NULL) {
        rc = find_path(serial, found_path, sizeof(found_path));
        if (rc != TRUSTX_OK)
            return rc;
        path = found_path;
    }

    d = calloc(1, sizeof(*d));
    if (d == NULL)
        return trustx_fail(TRUSTX_LAYER_TRANSPORT, TRUSTX_E_NOMEM, "out of memory");
    if (serial != NULL)
        snprintf(d->name, sizeof(d->name), "ft260:serial=%s (%s)", serial, path);
    else
        snprintf(d->name, sizeof(d->name), "ft260:%s", path);

    /* NOTE: hidapi does not tell "in use" apart from other open failures. */
    d->handle = hid_open_path(path);
    if (d->handle == NULL) {
        rc = trustx_fail(TRUSTX_LAYER_TRANSPORT, TRUSTX_E_IO,
                         "cannot open %s: %s; check the path, the permissions (docs/hardware.md) "
                         "and that no other program has the bridge open",
                         d->name, hidapi_message(NULL, msg, sizeof(msg)));
        free(d);
        return rc;
    }

    out->ops = &hidapi_ops;
    out->dev = d;
    snprintf(out->name, sizeof(out->name), "%s", d->name);
    return TRUSTX_OK;
}

#else

trustx_rc transport_ft260_hidapi_open(const char *path, const char *serial, ft260_hid *out)
{
    (void)serial;
    (void)out;
    return trustx_fail(TRUSTX_LAYER_TRANSPORT, TRUSTX_E_UNSUPPORTED,
                       "ft260:%s: this build has no hidapi support; install hidapi and rebuild",
                       path ? path : "");
}

#endif

/* SPDX-License-Identifier: MIT */
/*
 * FT260 over Linux hidraw: finds the bridge through sysfs (HID_ID 0403:6030,
 * HID_UNIQ = serial number, interface 0 only) and moves reports with read(),
 * write() and the HIDIOCGFEATURE / HIDIOCSFEATURE ioctls. The sysfs lookup
 * only reads files, so it builds everywhere and tests run it on a fake
 * tree. The device part builds only on Linux.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ft260_hid.h"
#include "ft260_proto.h"

#define SYSFS_PATH_MAX 512
#define UEVENT_LINE_MAX 256
#define HIDRAW_SCAN_MAX 256        /* hidraw nodes looked at, bounds the scan */
#define SERIAL_LIST_MAX 160        /* bytes of "serials found" in a message */

/* Copies the value of a "KEY=value" line when it starts with key. */
static int uevent_value(const char *line, const char *key, char *out, size_t cap)
{
    size_t key_len = strlen(key);
    size_t len;

    if (strncmp(line, key, key_len) != 0 || line[key_len] != '=')
        return 0;
    line += key_len + 1;
    len = strcspn(line, "\r\n");
    if (len >= cap)
        len = cap - 1;
    memcpy(out, line, len);
    out[len] = '\0';
    return 1;
}

/* Interface number from HID_PHYS, such as "usb-0000:00:14.0-1/input0". */
static int interface_from_phys(const char *phys)
{
    const char *p = strrchr(phys, '/');
    char *end;
    long n;

    if (p == NULL || strncmp(p, "/input", 6) != 0)
        return -1;
    n = strtol(p + 6, &end, 10);
    if (end == p + 6 || *end != '\0' || n < 0 || n > 255)
        return -1;
    return (int)n;
}

/* Interface number from the USB interface directory above the HID device. */
static int interface_from_usb(const char *sysfs_root, const char *node)
{
    char path[SYSFS_PATH_MAX];
    FILE *f;
    unsigned n;
    int found;

    snprintf(path, sizeof(path), "%s/class/hidraw/%s/device/../bInterfaceNumber", sysfs_root,
             node);
    f = fopen(path, "r");
    if (f == NULL)
        return -1;
    found = fscanf(f, "%x", &n) == 1;
    fclose(f);
    return found && n <= 255 ? (int)n : -1;
}

int transport_ft260_sysfs_identify(const char *sysfs_root, const char *node,
                                   ft260_hidraw_info *out)
{
    char path[SYSFS_PATH_MAX];
    char line[UEVENT_LINE_MAX];
    char value[UEVENT_LINE_MAX];
    unsigned bus;
    FILE *f;

    memset(out, 0, sizeof(*out));
    out->interface = -1;

    snprintf(path, sizeof(path), "%s/class/hidraw/%s/device/uevent", sysfs_root, node);
    f = fopen(path, "r");
    if (f == NULL)
        return -1;

    while (fgets(line, sizeof(line), f) != NULL) {
        /* Each call copies only when the line contains its key. */
        uevent_value(line, "HID_UNIQ", out->serial, sizeof(out->serial));
        uevent_value(line, "DRIVER", out->driver, sizeof(out->driver));
        if (uevent_value(line, "HID_ID", value, sizeof(value)))
            sscanf(value, "%x:%x:%x", &bus, &out->vid, &out->pid);
        if (uevent_value(line, "HID_PHYS", value, sizeof(value)))
            out->interface = interface_from_phys(value);
    }
    fclose(f);

    if (out->interface < 0)
        out->interface = interface_from_usb(sysfs_root, node);
    return 0;
}

/* Parses "hidrawN"; returns N or -1. */
static long hidraw_number(const char *name)
{
    char *end;
    long n;

    if (strncmp(name, "hidraw", 6) != 0)
        return -1;
    n = strtol(name + 6, &end, 10);
    if (end == name + 6 || *end != '\0' || n < 0)
        return -1;
    return n;
}

static void append_serial(char *list, size_t cap, const char *serial)
{
    size_t used = strlen(list);

    snprintf(list + used, cap - used, "%s'%s'", used > 0 ? ", " : "",
             serial[0] != '\0' ? serial : "(none)");
}

/*
 * Looks for an FT260 bound to the hid-ft260 kernel driver, which hides its
 * hidraw node and registers an I2C adapter instead, and names that adapter.
 */
static int find_kernel_driven(const char *sysfs_root, char *adapter, size_t cap)
{
    char path[SYSFS_PATH_MAX];
    char line[UEVENT_LINE_MAX];
    char value[UEVENT_LINE_MAX];
    DIR *devices;
    struct dirent *e;
    int found = 0;

    snprintf(path, sizeof(path), "%s/bus/hid/devices", sysfs_root);
    devices = opendir(path);
    if (devices == NULL)
        return 0;

    while (!found && (e = readdir(devices)) != NULL) {
        unsigned bus, vid = 0, pid = 0;
        int driver_ft260 = 0;
        FILE *f;
        DIR *sub;
        struct dirent *s;

        if (e->d_name[0] == '.')
            continue;
        snprintf(path, sizeof(path), "%s/bus/hid/devices/%s/uevent", sysfs_root, e->d_name);
        f = fopen(path, "r");
        if (f == NULL)
            continue;
        while (fgets(line, sizeof(line), f) != NULL) {
            if (uevent_value(line, "HID_ID", value, sizeof(value)))
                sscanf(value, "%x:%x:%x", &bus, &vid, &pid);
            else if (uevent_value(line, "DRIVER", value, sizeof(value)))
                driver_ft260 = strcmp(value, "ft260") == 0;
        }
        fclose(f);
        if (!driver_ft260 || vid != FT260_USB_VID || pid != FT260_USB_PID)
            continue;

        snprintf(adapter, cap, "i2c-N");
        found = 1;
        snprintf(path, sizeof(path), "%s/bus/hid/devices/%s", sysfs_root, e->d_name);
        sub = opendir(path);
        while (sub != NULL && (s = readdir(sub)) != NULL) {
            if (strncmp(s->d_name, "i2c-", 4) == 0) {
                snprintf(adapter, cap, "%s", s->d_name);
                break;
            }
        }
        if (sub != NULL)
            closedir(sub);
    }
    closedir(devices);
    return found;
}

static trustx_rc not_found(const char *sysfs_root, const char *serial, const char *serials)
{
    char adapter[64];

    if (find_kernel_driven(sysfs_root, adapter, sizeof(adapter)))
        return trustx_fail(TRUSTX_LAYER_TRANSPORT, TRUSTX_E_IO,
                           "ft260: the FT260 (USB 0403:6030) is driven by the hid-ft260 kernel "
                           "driver, which offers it as /dev/%s and hides the hidraw node; use "
                           "-d i2c:/dev/%s, or unbind the driver to use ft260:",
                           adapter, adapter);
    if (serial != NULL && serials[0] != '\0')
        return trustx_fail(TRUSTX_LAYER_TRANSPORT, TRUSTX_E_IO,
                           "ft260:serial=%s: no FT260 with serial number '%s' found (found: %s); "
                           "the serial numbers are the HID_UNIQ lines of "
                           "/sys/class/hidraw/*/device/uevent",
                           serial, serial, serials);
    if (serial != NULL)
        return trustx_fail(TRUSTX_LAYER_TRANSPORT, TRUSTX_E_IO,
                           "ft260:serial=%s: no FT260 found (USB 0403:6030); check the cable and "
                           "permissions, see docs/hardware.md",
                           serial);
    return trustx_fail(TRUSTX_LAYER_TRANSPORT, TRUSTX_E_IO,
                       "ft260: no FT260 found (USB 0403:6030); check the cable and permissions, "
                       "see docs/hardware.md");
}

trustx_rc transport_ft260_sysfs_find(const char *sysfs_root, const char *serial, char *node,
                                     size_t cap)
{
    char path[SYSFS_PATH_MAX];
    char serials[SERIAL_LIST_MAX] = "";
    long best = -1;
    unsigned scanned = 0;
    DIR *dir;
    struct dirent *e;

    snprintf(path, sizeof(path), "%s/class/hidraw", sysfs_root);
    dir = opendir(path);
    if (dir == NULL)
        return not_found(sysfs_root, serial, serials);

    while ((e = readdir(dir)) != NULL && scanned < HIDRAW_SCAN_MAX) {
        long n = hidraw_number(e->d_name);
        ft260_hidraw_info info;

        if (n < 0)
            continue;
        scanned++;
        if (transport_ft260_sysfs_identify(sysfs_root, e->d_name, &info) != 0)
            continue;
        if (info.vid != FT260_USB_VID || info.pid != FT260_USB_PID ||
            info.interface != FT260_I2C_INTERFACE)
            continue;
        if (serial != NULL && strcmp(serial, info.serial) != 0) {
            append_serial(serials, sizeof(serials), info.serial);
            continue;
        }
        if (best < 0 || n < best)
            best = n;
    }
    closedir(dir);

    if (best < 0)
        return not_found(sysfs_root, serial, serials);
    snprintf(node, cap, "hidraw%ld", best);
    return TRUSTX_OK;
}

#ifdef __linux__

#include <fcntl.h>
#include <linux/hidraw.h>
#include <poll.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <unistd.h>

#define HIDRAW_SYSFS_ROOT "/sys"
#define HIDRAW_NODE_MAX 64

typedef struct hidraw_dev {
    int fd;
    char name[FT260_HID_NAME_MAX];
} hidraw_dev;

/*
 * An unplugged bridge shows as ENODEV or EIO, and a path that is no hidraw
 * node as ENOTTY, so the message suggests those causes.
 */
static trustx_rc hid_errno(const hidraw_dev *d, const char *what, int err)
{
    const char *hint = "";

    if (err == ENODEV || err == EIO)
        hint = " (was the bridge unplugged?)";
    else if (err == ENOTTY || err == EINVAL)
        hint = " (is this the hidraw node of an FT260?)";
    return trustx_fail_errno(TRUSTX_LAYER_TRANSPORT, TRUSTX_E_IO, err, "%s: %s failed: %s%s",
                             d->name, what, strerror(err), hint);
}

static trustx_rc hidraw_write_output(void *dev, const uint8_t *report, size_t len)
{
    hidraw_dev *d = dev;
    ssize_t n;

    do
        n = write(d->fd, report, len);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        return hid_errno(d, "HID output report write", errno);
    if ((size_t)n != len)
        return trustx_fail(TRUSTX_LAYER_TRANSPORT, TRUSTX_E_IO,
                           "%s: short HID output report write (%zd of %zu bytes)", d->name, n,
                           len);
    return TRUSTX_OK;
}

static trustx_rc hidraw_read_input(void *dev, uint8_t *report, size_t cap, size_t *len,
                                   unsigned timeout_ms)
{
    hidraw_dev *d = dev;
    struct pollfd p = {d->fd, POLLIN, 0};
    ssize_t n;
    int ready;

    do
        ready = poll(&p, 1, (int)timeout_ms);
    while (ready < 0 && errno == EINTR);
    if (ready < 0)
        return hid_errno(d, "waiting for a HID input report", errno);
    if (ready == 0)
        return TRUSTX_E_TIMEOUT;

    do
        n = read(d->fd, report, cap);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        return hid_errno(d, "HID input report read", errno);
    *len = (size_t)n;
    return TRUSTX_OK;
}

static trustx_rc hidraw_get_feature(void *dev, uint8_t id, uint8_t *buf, size_t cap, size_t *len)
{
    hidraw_dev *d = dev;
    int n;

    memset(buf, 0, cap);
    buf[0] = id;
    n = ioctl(d->fd, HIDIOCGFEATURE(cap), buf);
    if (n < 0)
        return hid_errno(d, "HID get feature report", errno);
    *len = (size_t)n;
    return TRUSTX_OK;
}

static trustx_rc hidraw_set_feature(void *dev, const uint8_t *report, size_t len)
{
    hidraw_dev *d = dev;
    uint8_t buf[FT260_REPORT_MAX];

    if (len > sizeof(buf))
        return trustx_fail(TRUSTX_LAYER_TRANSPORT, TRUSTX_E_INVALID_ARG,
                           "%s: feature report of %zu bytes is too long", d->name, len);
    memcpy(buf, report, len);
    if (ioctl(d->fd, HIDIOCSFEATURE(len), buf) < 0)
        return hid_errno(d, "HID set feature report", errno);
    return TRUSTX_OK;
}

static void hidraw_close(void *dev)
{
    hidraw_dev *d = dev;

    if (d == NULL)
        return;
    if (d->fd >= 0)
        close(d->fd);
    free(d);
}

static const ft260_hid_ops hidraw_ops = {
    .name = "hidraw",
    .write_output = hidraw_write_output,
    .read_input = hidraw_read_input,
    .get_feature = hidraw_get_feature,
    .set_feature = hidraw_set_feature,
    .close = hidraw_close,
};

static trustx_rc open_failed(const char *name, int err)
{
    const char *hint = "";

    if (err == ENOENT)
        hint = "; list the bridges with 'ls /sys/class/hidraw' or use ft260: for the first one";
    else if (err == EACCES || err == EPERM)
        hint = "; install the udev rule for 0403:6030 from docs/hardware.md";
    else if (err == EBUSY)
        hint = "; another program has the bridge open";
    return trustx_fail_errno(TRUSTX_LAYER_TRANSPORT, err == EBUSY ? TRUSTX_E_BUSY : TRUSTX_E_IO,
                             err, "cannot open %s: %s%s", name, strerror(err), hint);
}

/* Rejects a node that sysfs shows to be another device or the UART interface. */
static trustx_rc check_node(const hidraw_dev *d, const char *node)
{
    ft260_hidraw_info info;

    if (transport_ft260_sysfs_identify(HIDRAW_SYSFS_ROOT, node, &info) != 0)
        return TRUSTX_OK; /* NOTE: no sysfs entry (unusual /dev layout); trust the user. */

    if (info.vid != FT260_USB_VID || info.pid != FT260_USB_PID)
        return trustx_fail(TRUSTX_LAYER_TRANSPORT, TRUSTX_E_IO,
                           "%s is not an FT260 (USB %04x:%04x, expected 0403:6030); use "
                           "ft260: to find the bridge",
                           d->name, info.vid, info.pid);
    if (info.interface > FT260_I2C_INTERFACE)
        return trustx_fail(TRUSTX_LAYER_TRANSPORT, TRUSTX_E_IO,
                           "%s is interface %d of the FT260, its UART; use interface 0 (ft260: "
                           "finds it)",
                           d->name, info.interface);
    return TRUSTX_OK;
}

trustx_rc transport_ft260_hidraw_open(const char *path, const char *serial, ft260_hid *out)
{
    char node[HIDRAW_NODE_MAX];
    char dev_path[HIDRAW_NODE_MAX + 8];
    hidraw_dev *d;
    const char *base;
    trustx_rc rc;

    if (path == NULL) {
        rc = transport_ft260_sysfs_find(HIDRAW_SYSFS_ROOT, serial, node, sizeof(node));
        if (rc != TRUSTX_OK)
            return rc;
        snprintf(dev_path, sizeof(dev_path), "/dev/%s", node);
        path = dev_path;
    }

    d = calloc(1, sizeof(*d));
    if (d == NULL)
        return trustx_fail(TRUSTX_LAYER_TRANSPORT, TRUSTX_E_NOMEM, "out of memory");
    if (serial != NULL)
        snprintf(d->name, sizeof(d->name), "ft260:serial=%s (%s)", serial, path);
    else
        snprintf(d->name, sizeof(d->name), "ft260:%s", path);

    d->fd = open(path, O_RDWR | O_CLOEXEC);
    if (d->fd < 0) {
        rc = open_failed(d->name, errno);
        free(d);
        return rc;
    }

    /* Two trustx processes on one bridge would interleave reports; the second one stops here. */
    if (flock(d->fd, LOCK_EX | LOCK_NB) < 0) {
        int err = errno;

        rc = trustx_fail_errno(TRUSTX_LAYER_TRANSPORT,
                               err == EWOULDBLOCK ? TRUSTX_E_BUSY : TRUSTX_E_IO, err,
                               "%s is in use by another trustx process; wait for it to finish",
                               d->name);
        hidraw_close(d);
        return rc;
    }

    base = strrchr(path, '/');
    base = base != NULL ? base + 1 : path;
    rc = check_node(d, base);
    if (rc != TRUSTX_OK) {
        hidraw_close(d);
        return rc;
    }

    out->ops = &hidraw_ops;
    out->dev = d;
    snprintf(out->name, sizeof(out->name), "%s", d->name);
    return TRUSTX_OK;
}

#else

trustx_rc transport_ft260_hidraw_open(const char *path, const char *serial, ft260_hid *out)
{
    (void)serial;
    (void)out;
    return trustx_fail(TRUSTX_LAYER_TRANSPORT, TRUSTX_E_UNSUPPORTED,
                       "ft260:%s: this host has no hidraw; use hid=hidapi", path ? path : "");
}

#endif

/* SPDX-License-Identifier: MIT */
/*
 * Finding the FT260 through sysfs, on a fake sysfs tree built in a temporary
 * folder: vendor and product IDs, interface 0 only, serial numbers, numeric
 * order of hidraw nodes, and the hint when the hid-ft260 kernel driver owns
 * the bridge.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "transport/ft260_hid.h"

#define PATH_CAP 512

typedef struct fake_sysfs {
    char root[64];
} fake_sysfs;

static void make_dirs(const char *path)
{
    char copy[PATH_CAP];

    snprintf(copy, sizeof(copy), "%s", path);
    for (char *p = copy + 1; *p != '\0'; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        mkdir(copy, 0755);
        *p = '/';
    }
    mkdir(copy, 0755);
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");

    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* Adds SYSFS/class/hidraw/NODE/device/uevent with the given HID_ID, serial and phys. */
static void add_node(const fake_sysfs *fs, const char *node, const char *hid_id, const char *serial,
                     const char *phys)
{
    char path[PATH_CAP];
    char text[PATH_CAP];

    snprintf(path, sizeof(path), "%s/class/hidraw/%s/device", fs->root, node);
    make_dirs(path);
    snprintf(text, sizeof(text),
             "DRIVER=hid-generic\nHID_ID=%s\nHID_NAME=FTDI FT260\nHID_PHYS=%s\nHID_UNIQ=%s\n"
             "MODALIAS=hid:b0003g0001v00000403p00006030\n",
             hid_id, phys, serial);
    snprintf(path, sizeof(path), "%s/class/hidraw/%s/device/uevent", fs->root, node);
    write_file(path, text);
}

static int setup(void **state)
{
    fake_sysfs *fs = calloc(1, sizeof(*fs));

    snprintf(fs->root, sizeof(fs->root), "/tmp/trustx-ft260-sysfs-XXXXXX");
    if (mkdtemp(fs->root) == NULL)
        return -1;
    *state = fs;
    return 0;
}

static int teardown(void **state)
{
    fake_sysfs *fs = *state;
    char command[PATH_CAP];

    snprintf(command, sizeof(command), "rm -rf '%s'", fs->root);
    if (system(command) != 0)
        return -1;
    free(fs);
    return 0;
}

#define FT260_ID "0003:00000403:00006030"

/* Other devices, the UART interface, and two bridges whose numbers sort differently as text. */
static void add_population(const fake_sysfs *fs)
{
    add_node(fs, "hidraw0", "0003:0000046D:0000C52B", "", "usb-0000:00:14.0-2/input0");
    add_node(fs, "hidraw1", FT260_ID, "FT-A", "usb-0000:00:14.0-1/input1");
    add_node(fs, "hidraw10", FT260_ID, "FT-B", "usb-0000:00:14.0-3/input0");
    add_node(fs, "hidraw2", FT260_ID, "FT-A", "usb-0000:00:14.0-1/input0");
    add_node(fs, "hidraw3", FT260_ID, "FT-B", "usb-0000:00:14.0-3/input1");
}

static void assert_message_has(const char *text)
{
    const char *message = trustx_error_last()->message;

    if (strstr(message, text) == NULL)
        fail_msg("message '%s' lacks '%s'", message, text);
}

static void identify_reads_uevent(void **state)
{
    fake_sysfs *fs = *state;
    ft260_hidraw_info info;

    add_population(fs);
    assert_int_equal(transport_ft260_sysfs_identify(fs->root, "hidraw10", &info), 0);
    assert_int_equal(info.vid, 0x0403);
    assert_int_equal(info.pid, 0x6030);
    assert_int_equal(info.interface, 0);
    assert_string_equal(info.serial, "FT-B");
    assert_string_equal(info.driver, "hid-generic");

    assert_int_equal(transport_ft260_sysfs_identify(fs->root, "hidraw1", &info), 0);
    assert_int_equal(info.interface, 1);

    assert_int_equal(transport_ft260_sysfs_identify(fs->root, "hidraw9", &info), -1);
}

static void identify_interface_from_usb(void **state)
{
    fake_sysfs *fs = *state;
    char path[PATH_CAP];
    ft260_hidraw_info info;

    /* Without "/inputN" in HID_PHYS, the number comes from the USB interface folder. */
    snprintf(path, sizeof(path), "%s/devices/1-1:1.0/0003:0403:6030.0001", fs->root);
    make_dirs(path);
    snprintf(path, sizeof(path), "%s/devices/1-1:1.0/bInterfaceNumber", fs->root);
    write_file(path, "00\n");
    snprintf(path, sizeof(path), "%s/devices/1-1:1.0/0003:0403:6030.0001/uevent", fs->root);
    write_file(path, "HID_ID=" FT260_ID "\nHID_PHYS=usb-1\nHID_UNIQ=FT-C\n");
    snprintf(path, sizeof(path), "%s/class/hidraw/hidraw5", fs->root);
    make_dirs(path);
    snprintf(path, sizeof(path), "%s/class/hidraw/hidraw5/device", fs->root);
    assert_int_equal(symlink("../../../devices/1-1:1.0/0003:0403:6030.0001", path), 0);

    assert_int_equal(transport_ft260_sysfs_identify(fs->root, "hidraw5", &info), 0);
    assert_int_equal(info.interface, 0);
    assert_string_equal(info.serial, "FT-C");
}

static void find_first_in_numeric_order(void **state)
{
    fake_sysfs *fs = *state;
    char node[32];

    add_population(fs);
    assert_int_equal(transport_ft260_sysfs_find(fs->root, NULL, node, sizeof(node)), TRUSTX_OK);
    assert_string_equal(node, "hidraw2");
}

static void find_by_serial(void **state)
{
    fake_sysfs *fs = *state;
    char node[32];

    add_population(fs);
    assert_int_equal(transport_ft260_sysfs_find(fs->root, "FT-B", node, sizeof(node)), TRUSTX_OK);
    assert_string_equal(node, "hidraw10");
    assert_int_equal(transport_ft260_sysfs_find(fs->root, "FT-A", node, sizeof(node)), TRUSTX_OK);
    assert_string_equal(node, "hidraw2");
}

static void find_unknown_serial_lists_others(void **state)
{
    fake_sysfs *fs = *state;
    char node[32];

    add_population(fs);
    assert_int_equal(transport_ft260_sysfs_find(fs->root, "NOPE", node, sizeof(node)),
                     TRUSTX_E_IO);
    assert_message_has("ft260:serial=NOPE");
    assert_message_has("'FT-A'");
    assert_message_has("'FT-B'");
}

static void find_nothing(void **state)
{
    fake_sysfs *fs = *state;
    char node[32];

    add_node(fs, "hidraw0", "0003:0000046D:0000C52B", "", "usb-0000:00:14.0-2/input0");
    assert_int_equal(transport_ft260_sysfs_find(fs->root, NULL, node, sizeof(node)), TRUSTX_E_IO);
    assert_message_has("no FT260 found (USB 0403:6030)");
    assert_message_has("docs/hardware.md");
}

static void find_skips_uart_interface(void **state)
{
    fake_sysfs *fs = *state;
    char node[32];

    add_node(fs, "hidraw1", FT260_ID, "FT-A", "usb-0000:00:14.0-1/input1");
    assert_int_equal(transport_ft260_sysfs_find(fs->root, NULL, node, sizeof(node)), TRUSTX_E_IO);
    assert_message_has("no FT260 found");
}

static void find_names_kernel_driver(void **state)
{
    fake_sysfs *fs = *state;
    char path[PATH_CAP];
    char node[32];

    snprintf(path, sizeof(path), "%s/bus/hid/devices/0003:0403:6030.0004/i2c-7", fs->root);
    make_dirs(path);
    snprintf(path, sizeof(path), "%s/bus/hid/devices/0003:0403:6030.0004/uevent", fs->root);
    write_file(path, "DRIVER=ft260\nHID_ID=" FT260_ID "\nHID_UNIQ=FT-K\n");

    assert_int_equal(transport_ft260_sysfs_find(fs->root, NULL, node, sizeof(node)), TRUSTX_E_IO);
    assert_message_has("hid-ft260 kernel driver");
    assert_message_has("i2c:/dev/i2c-7");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(identify_reads_uevent, setup, teardown),
        cmocka_unit_test_setup_teardown(identify_interface_from_usb, setup, teardown),
        cmocka_unit_test_setup_teardown(find_first_in_numeric_order, setup, teardown),
        cmocka_unit_test_setup_teardown(find_by_serial, setup, teardown),
        cmocka_unit_test_setup_teardown(find_unknown_serial_lists_others, setup, teardown),
        cmocka_unit_test_setup_teardown(find_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(find_skips_uart_interface, setup, teardown),
        cmocka_unit_test_setup_teardown(find_names_kernel_driver, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

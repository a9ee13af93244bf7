/* SPDX-License-Identifier: MIT */
/* Bounded file reads and atomic writes used for requests, certificates and CA keys. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "test_pki_common.h"

static const char *tmpdir;

static int setup(void **state)
{
    tmpdir = test_tmpdir_create();
    return 0;
}

static int teardown(void **state)
{
    test_tmpdir_remove(tmpdir);
    return 0;
}

static void assert_file_is(const char *path, const char *text)
{
    uint8_t *data = NULL;
    size_t len = 0;

    assert_int_equal(trustx_pki_file_read(path, 1024, &data, &len), TRUSTX_OK);
    assert_int_equal(len, strlen(text));
    assert_string_equal((char *)data, text);
    free(data);
}

static int count_entries(const char *dir)
{
    int status = -1;
    char *out = test_capture(&status, "ls -A %s | wc -l", dir);
    int count = atoi(out);

    free(out);
    return count;
}

static void write_new_then_no_replace(void **state)
{
    const char *path = test_path(tmpdir, "a.pem");
    struct stat st;
    int before = count_entries(tmpdir);

    assert_int_equal(trustx_pki_file_write(path, "first\n", 6, 0644, 0), TRUSTX_OK);
    assert_file_is(path, "first\n");
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0644);

    assert_failed_with(trustx_pki_file_write(path, "second\n", 7, 0644, 0), TRUSTX_E_INVALID_ARG,
                       "already exists");
    assert_file_is(path, "first\n");

    assert_int_equal(trustx_pki_file_write(path, "third\n", 6, 0600, 1), TRUSTX_OK);
    assert_file_is(path, "third\n");
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);

    /* No temporary file is left behind. */
    assert_int_equal(count_entries(tmpdir), before + 1);
}

static void write_into_missing_folder(void **state)
{
    assert_failed_with(trustx_pki_file_write(test_path(tmpdir, "no/such/file"), "x", 1, 0644, 1),
                       TRUSTX_E_IO, "no/such/file");
    assert_int_not_equal(trustx_error_last()->os_errno, 0);
}

static void read_respects_max(void **state)
{
    const char *path = test_path(tmpdir, "big.bin");
    size_t big = 10000;
    uint8_t *content = malloc(big);
    uint8_t *data = NULL;
    size_t len = 0;

    for (size_t i = 0; i < big; i++)
        content[i] = (uint8_t)(i * 7);
    test_write_file(path, content, big);

    assert_int_equal(trustx_pki_file_read(path, big, &data, &len), TRUSTX_OK);
    assert_int_equal(len, big);
    assert_memory_equal(data, content, big);
    assert_int_equal(data[big], 0);
    free(data);
    data = NULL;

    assert_failed_with(trustx_pki_file_read(path, big - 1, &data, &len), TRUSTX_E_OVERFLOW,
                       "larger than 9999 bytes");
    assert_null(data);
    free(content);
}

static void read_empty_file(void **state)
{
    const char *path = test_path(tmpdir, "empty");
    uint8_t *data = NULL;
    size_t len = 1;

    test_write_file(path, "", 0);
    assert_int_equal(trustx_pki_file_read(path, 16, &data, &len), TRUSTX_OK);
    assert_int_equal(len, 0);
    assert_int_equal(data[0], 0);
    free(data);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(write_new_then_no_replace),
        cmocka_unit_test(write_into_missing_folder),
        cmocka_unit_test(read_respects_max),
        cmocka_unit_test(read_empty_file),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

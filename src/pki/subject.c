/* SPDX-License-Identifier: MIT */
/*
 * Subject names: the attribute table with its X.520 value rules, the
 * JSON config format, DN strings in OpenSSL and RFC 4514 form, and the
 * conversion to an OpenSSL X509_NAME.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>
#include <openssl/objects.h>

#include "pki/pki_internal.h"

typedef enum string_kind {
    KIND_UTF8,        /* UTF8String */
    KIND_PRINTABLE,   /* PrintableString */
    KIND_IA5,         /* IA5String (ASCII) */
    KIND_COUNTRY      /* PrintableString of two upper-case letters */
} string_kind;

typedef struct attr_rule {
    const char *name;        /* canonical name: config key and output */
    const char *long_name;   /* OpenSSL long name */
    const char *alias;       /* another OpenSSL short name, or NULL */
    int nid;
    size_t max_chars;
    string_kind kind;
} attr_rule;

/* Bounds marked X.520 are the ub-* values of RFC 5280 Appendix A. */
static const attr_rule rules[] = {
    {"CN", "commonName", NULL, NID_commonName, 64, KIND_UTF8},                    /* X.520 */
    {"O", "organizationName", NULL, NID_organizationName, 64, KIND_UTF8},         /* X.520 */
    {"OU", "organizationalUnitName", NULL, NID_organizationalUnitName, 64,
     KIND_UTF8},                                                                  /* X.520 */
    {"C", "countryName", NULL, NID_countryName, 2, KIND_COUNTRY},                 /* ISO 3166 */
    {"ST", "stateOrProvinceName", NULL, NID_stateOrProvinceName, 128, KIND_UTF8}, /* X.520 */
    {"L", "localityName", NULL, NID_localityName, 128, KIND_UTF8},                /* X.520 */
    {"serialNumber", "serialNumber", NULL, NID_serialNumber, 64, KIND_PRINTABLE}, /* X.520 */
    {"emailAddress", "emailAddress", "E", NID_pkcs9_emailAddress, 128, KIND_IA5},
    {"title", "title", NULL, NID_title, 64, KIND_UTF8},                           /* X.520 */
    {"givenName", "givenName", "GN", NID_givenName, 128, KIND_UTF8},
    {"surname", "surname", "SN", NID_surname, 128, KIND_UTF8},
    {"dnQualifier", "dnQualifier", NULL, NID_dnQualifier, 64, KIND_PRINTABLE},
    {"organizationIdentifier", "organizationIdentifier", NULL, NID_organizationIdentifier, 128,
     KIND_UTF8},
    {"DC", "domainComponent", NULL, NID_domainComponent, 63, KIND_IA5},           /* DNS label */
    {"UID", "userId", NULL, NID_userId, 128, KIND_UTF8},
};

#define RULE_COUNT (sizeof(rules) / sizeof(rules[0]))

/* Kept in the order of rules[]; a unit test checks that both agree. */
static const char rule_names[] =
    "CN, O, OU, C, ST, L, serialNumber, emailAddress, title, givenName, surname, dnQualifier, "
    "organizationIdentifier, DC, UID";

/* Maximum length of an attribute name in a DN string, in bytes. */
#define NAME_MAX_LEN 32

/* Bytes of a value shown in an error message before it is cut with "...". */
#define SHOWN_VALUE_MAX 48

const char *trustx_pki_subject_names(void)
{
    return rule_names;
}

static const attr_rule *find_rule(const char *name)
{
    for (size_t i = 0; i < RULE_COUNT; i++) {
        const attr_rule *r = &rules[i];

        if (strcasecmp(name, r->name) == 0 || strcasecmp(name, r->long_name) == 0 ||
            (r->alias != NULL && strcasecmp(name, r->alias) == 0))
            return r;
    }
    return NULL;
}

static const attr_rule *find_canonical(const char *name)
{
    for (size_t i = 0; i < RULE_COUNT; i++) {
        if (strcmp(name, rules[i].name) == 0)
            return &rules[i];
    }
    return NULL;
}

/*
 * Copies a value into buf for an error message: control bytes become '?'
 * and a long value is cut at a UTF-8 character boundary and ends in "...".
 */
static const char *show(const char *value, char *buf, size_t cap)
{
    size_t n = 0;
    size_t limit = cap - 4 < SHOWN_VALUE_MAX ? cap - 4 : SHOWN_VALUE_MAX;

    for (; value[n] != '\0' && n < limit; n++) {
        unsigned char c = (unsigned char)value[n];

        buf[n] = (c < 0x20 || c == 0x7F) ? '?' : (char)c;
    }
    if (value[n] != '\0') {
        while (n > 0 && ((unsigned char)value[n] & 0xC0) == 0x80)
            n--;
        memcpy(buf + n, "...", 4);
    } else {
        buf[n] = '\0';
    }
    return buf;
}

/*
 * Decodes one UTF-8 sequence at s. Returns its length in bytes and the code
 * point in *cp, or 0 for an invalid, overlong or surrogate sequence.
 */
static size_t utf8_next(const unsigned char *s, uint32_t *cp)
{
    static const uint32_t min_for_len[5] = {0, 0, 0x80, 0x800, 0x10000};
    size_t len;
    uint32_t value;

    if (s[0] < 0x80) {
        *cp = s[0];
        return 1;
    }
    if ((s[0] & 0xE0) == 0xC0) {
        len = 2;
        value = s[0] & 0x1F;
    } else if ((s[0] & 0xF0) == 0xE0) {
        len = 3;
        value = s[0] & 0x0F;
    } else if ((s[0] & 0xF8) == 0xF0) {
        len = 4;
        value = s[0] & 0x07;
    } else {
        return 0;
    }

    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        value = (value << 6) | (s[i] & 0x3F);
    }
    if (value < min_for_len[len] || value > 0x10FFFF || (value >= 0xD800 && value <= 0xDFFF))
        return 0;
    *cp = value;
    return len;
}

static int is_printable_string_char(uint32_t c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           (c != 0 && strchr(" '()+,-./:=?", (int)c) != NULL);
}

static int is_control(uint32_t c)
{
    return c < 0x20 || (c >= 0x7F && c <= 0x9F);
}

static trustx_rc check_country(const char *value)
{
    char shown[SHOWN_VALUE_MAX + 4];

    if (strlen(value) == 2 && value[0] >= 'A' && value[0] <= 'Z' && value[1] >= 'A' &&
        value[1] <= 'Z')
        return TRUSTX_OK;
    return trustx_fail(TRUSTX_LAYER_PKI, TRUSTX_E_INVALID_ARG,
                       "subject attribute C is \"%s\"; it must be a two-letter ISO 3166 "
                       "country code in upper case, such as DE or US",
                       show(value, shown, sizeof(shown)));
}

/* Checks the characters of value for rule r and counts them. */
static trustx_rc check_chars(const attr_rule *r, const char *value, size_t *chars)
{
    const unsigned char *p = (const unsigned char *)value;
    char shown[SHOWN_VALUE_MAX + 4];
    size_t count = 0;

    while (*p != '\0') {
        uint32_t cp = 0;
        size_t len = utf8_next(p, &cp);

        if (len == 0)
            return trustx_fail(TRUSTX_LAYER_PKI, TRUSTX_E_INVALID_ARG,
                               "subject attribute %s value \"%s\" is not valid UTF-8 (byte "
                               "0x%02x at offset %zu); save the text as UTF-8",
                               r->name, show(value, shown, sizeof(shown)), *p,
                               (size_t)(p - (const unsigned char *)value));
        if (is_control(cp))
            return trustx_fail(TRUSTX_LAYER_PKI, TRUSTX_E_INVALID_ARG,
                               "subject attribute %s value \"%s\" contains the control "
                               "character U+%04X; remove it",
                               r->name, show(value, shown, sizeof(shown)), (unsigned)cp);
        if (r->kind == KIND_PRINTABLE && !is_printable_string_char(cp))
            return trustx_fail(TRUSTX_LAYER_PKI, TRUSTX_E_INVALID_ARG,
                               "subject attribute %s value \"%s\" contains U+%04X, which a "
                               "PrintableString cannot hold; use letters, digits, blanks and "
                               "' ( ) + , - . / : = ?",
                               r->name, show(value, shown, sizeof(shown)), (unsigned)cp);
        if (r->kind == KIND_IA5 && cp > 0x7F)
            return trustx_fail(TRUSTX_LAYER_PKI, TRUSTX_E_INVALID_ARG,
                               "subject attribute %s value \"%s\" contains U+%04X, which an "
                               "IA5String cannot hold; use ASCII characters only",
                               r->name, show(value, shown, sizeof(shown)), (unsigned)cp);
        p += len;
        count++;
    }
    *chars = count;
    return TRUSTX_OK;
}

static trustx_rc check_value(const attr_rule *r, const char *value)
{
    char shown[SHOWN_VALUE_MAX + 4];
    size_t chars = 0;
    trustx_rc rc;

    if (value[0] == '\0')
        return trustx_fail(TRUSTX_LAYER_PKI, TRUSTX_E_INVALID_ARG,
                           "subject attribute %s is empty; give it a value or leave it out",
                           r->name);
    if (strlen(value) >= TRUSTX_PKI_VALUE_BYTES_MAX)
        return trustx_fail(TRUSTX_LAYER_PKI, TRUSTX_E_INVALID_ARG,
                           "subject attribute %s value \"%s\" is %zu bytes long, more than the "
                           "maximum of %zu characters; shorten it",
                           r->name, show(value, shown, sizeof(shown)), strlen(value),
                           r->max_chars);

    rc = check_chars(r, value, &chars);
    if (rc != TRUSTX_OK)
        return rc;
    if (r->kind == KIND_COUNTRY)
        return check_country(value);
    if (chars > r->max_chars)
        return trustx_fail(TRUSTX_LAYER_PKI, TRUSTX_E_INVALID_ARG,
                           "subject attribute %s value \"%s\" is %zu characters long, more "
                           "than the maximum of %zu; shorten it",
                           r->name, show(value, shown, sizeof(shown)), chars, r->max_chars);
    return TRUSTX_OK;
}

void trustx_pki_subject_init(trustx_pki_subject *s)
{
    memset(s, 0, sizeof(*s));
}

static trustx_rc add_checked(trustx_pki_subject *s, const attr_rule *r, const char *value)
{
    trustx_rc rc = check_value(r, value);

    if (rc != TRUSTX_OK)
        return rc;
    if (s->count >= TRUSTX_PKI_SUBJECT_MAX)
        return trustx_fail(TRUSTX_LAYER_PKI, TRUSTX_E_OVERFLOW,
                           "subject has more than %d attributes; %s is one too many",
                           TRUSTX_PKI_SUBJECT_MAX, r->name);

    s->attrs[s->count].name = r->name;
    memcpy(s->attrs[s->count].value, value, strlen(value) + 1);
    s->count++;
    return TRUSTX_OK;
}

trustx_rc trustx_pki_subject_add(trustx_pki_subject *s, const char *name, const char *value)
{
    char shown[SHOWN_VALUE_MAX + 4];
    const attr_rule *r = find_rule(name);

    if (r == NULL)
        return trustx_fail(TRUSTX_LAYER_PKI, TRUSTX_E_INVALID_ARG,
                           "unknown subject attribute \"%s\"; use one of %s",
                           show(name, shown, sizeof(shown)), rule_names);
    return add_checked(s, r, value);
}

const char *trustx_pki_subject_find(const trustx_pki_subject *s, const char *name)
{
    for (size_t i = 0; i < s->count; i++) {
        if (strcasecmp(s->attrs[i].name, name) == 0)
            return s->attrs[i].value;
    }
    return NULL;
}

static int has_attr(const trustx_pki_subject *s, const attr_rule *r)
{
    for (size_t i = 0; i < s->count; i++) {
        if (s->attrs[i].name == r->name)
            return 1;
    }
    return 0;
}

/* ---- JSON config ---- */

static const char *json_type_name(const cJSON *item)
{
    if (cJSON_IsNumber(item))
        return "number";
    if (cJSON_IsBool(item))
        return "boolean";
    if (cJSON_IsNull(item))
        return "null";
    if (cJSON_IsArray(item))
        return "array";
    if (cJSON_IsObject(item))
        return "object";
    return "string";
}

static size_t count_blanks(const char *p, size_t len)
{
    size_t n = 0;

    while (n < len && (p[n] == ' ' || p[n] == '\t' || p[n] == '\r' || p[n] == '\n'))
        n++;
    return n;
}

/*
 * Returns nonzero when the JSON text contains the escape \u0000. cJSON
 * decodes it into a NUL byte that would silently cut the value short.
 */
static int has_nul_escape(const char *json, size_t len)
{
    for (size_t i = 0; i + 1 < len; i++) {
        if (json[i] != '\\')
            continue;
        if (json[i + 1] == 'u' && i + 6 <= len && memcmp(json + i + 2, "0000", 4) == 0)
            return 1;
        i++;   /* skip the escaped character, which may be a backslash */
    }
    return 0;
}

static trustx_rc json_syntax_error(const char *source, const char *json, const char *at)
{
    size_t line = 1, column = 1;

    for (const char *p = json; p < at; p++) {
        if (*p == '\n') {
            line++;
            column = 1;
        } else {
            column++;
        }
    }
    return trustx_fail(TRUSTX_LAYER_PKI, TRUSTX_E_INVALID_ARG,
                       "%s: not valid JSON near line %zu, column %zu; the file must hold one "
                       "object such as {\"CN\": \"device-1\", \"O\": \"Acme\"}",
                       source, line, column);
}

static trustx_rc json_member(const char *source, const cJSON *item, trustx_pki_subject *s)
{
    char shown[SHOWN_VALUE_MAX + 4];
    const char *key = item->string;
    const attr_rule *r = find_canonical(key);
    trustx_rc rc;

    if (r == NULL) {
        const attr_rule *near = find_rule(key);

        if (near != NULL)
            return trustx_fail(TRUSTX_LAYER_PKI, TRUSTX_E_INVALID_ARG,
                               "%s: key \"%s\" is not accepted; write it as \"%s\"", source,
                               show(key, shown, sizeof(shown)), near->name);
        return trustx_fail(TRUSTX_LAYER_PKI, TRUSTX_E_INVALID_ARG,
                           "%s: unknown key \"%s\"; accepted keys are %s (CN is required)",
                           source, show(key, shown, sizeof(shown)), rule_names);
    }
    if (has_attr(s, r))
        return trustx_fail(TRUSTX_LAYER_PKI, TRUSTX_E_INVALID_ARG,
                           "%s: key \"%s\" appears more than once; keep one", source, r->name);
    if (!cJSON_IsString(item) || item->valuestring == NULL)
        return trustx_fail(TRUSTX_LAYER_PKI, TRUSTX_E_INVALID_ARG,
                           "%s: key \"%s\" has a %s value; write it as a string, such as "
                           "\"%s\": \"...\"",
                           source, r->name, json_type_name(item), r->name);

    rc = add_checked(s, r, item->valuestring);
    if (rc != TRUSTX_OK)
        trustx_error_prefix("%s: key \"%s\"", source, r->name);
    return rc;
}

static trustx_rc json_object(const char *source, const cJSON *root, trustx_pki_subject *s)
{
    const cJSON *item;

    if (!cJSON_IsObject(root))
        return trustx_fail(TRUSTX_LAYER_PKI, TRUSTX_E_INVALID_ARG,
                           "%s: the file holds a JSON %s, not an object; write "
                           "{\"CN\": \"device-1\", ...}",
                           source, json_type_name(root));

    cJSON_ArrayForEach(item, root) {
        trustx_rc rc = json_member(source, item, s);

        if (rc != TRUSTX_OK)
            return rc;
    }

    if (trustx_pki_subject_find(s, "CN") == NULL)
        return trustx_fail(TRUSTX_LAYER_PKI, TRUSTX_E_INVALID_ARG,
                           "%s: key \"CN\" is missing; add \"CN\": \"<device name>\"", source);
    return TRUSTX_OK;
}

trustx_rc trustx_pki_subject_from_json(const char *json, size_t len, const char *source,
                                       trustx_pki_subject *s)
{
    static const char bom[] = "\xEF\xBB\xBF";
    const char *end = NULL;
    size_t rest, blanks;
    cJSON *root;
    trustx_rc rc;

    trustx_pki_subject_init(s);
    if (len >= 3 && memcmp(json, bom, 3) == 0) {
        json += 3;
        len -= 3;
    }
    if (count_blanks(json, len) == len)
        return trustx_fail(TRUSTX_LAYER_PKI, TRUSTX_E_INVALID_ARG,
                           "%s: file is empty; it must hold a JSON object such as "
                           "{\"CN\": \"device-1\"}",
                           source);
    if (memchr(json, '\0', len) != NULL)
        return trustx_fail(TRUSTX_LAYER_PKI, TRUSTX_E_INVALID_ARG,
                           "%s: file contains a NUL byte; save it as UTF-8 text", source);
    if (has_nul_escape(json, len))
        return trustx_fail(TRUSTX_LAYER_PKI, TRUSTX_E_INVALID_ARG,
                           "%s: a value contains the escape \\u0000 (NUL), which no subject "
                           "attribute may contain; remove it",
                           source);

    /* NOTE: cJSON records a parse failure in a process-wide variable as well, which is not
     * thread-safe. Parse subject configs before starting worker threads. */

    root = cJSON_ParseWithLengthOpts(json, len, &end, 0);
    if (root == NULL)
        return json_syntax_error(source, json, end != NULL ? end : json);
    rest = (size_t)(json + len - end);
    blanks = count_blanks(end, rest);
    if (blanks < rest) {
        cJSON_Delete(root);
        return json_syntax_error(source, json, end + blanks);
    }

    rc = json_object(source, root, s);
    cJSON_Delete(root);
    return rc;
}

trustx_rc trustx_pki_subject_load(const char *path, trustx_pki_subject *s)
{
    uint8_t *data = NULL;
    size_t len = 0;
    trustx_rc rc;

    trustx_pki_subject_init(s);
    rc = trustx_pki_file_read(path, TRUSTX_PKI_CONFIG_MAX, &data, &len);
    if (rc != TRUSTX_OK)
        return rc;
    rc = trustx_pki_subject_from_json((const char *)data, len, path, s);
    free(data);
    return rc;
}

/* ---- DN strings ---- */

static trustx_rc dn_error(const char *text, size_t pos, const char *what)
{
    return trustx_fail(TRUSTX_LAYER_PKI, TRUSTX_E_INVALID_ARG,
                       "subject \"%.200s\": %s at character %zu; write it as /CN=name/O=org or "
                       "CN=name,O=org",
                       text, what, pos + 1);
}

static int is_name_char(char c)
{
    return isalnum((unsigned char)c) || c == '-' || c == '.';
}

/* Reads an attribute name at *pos (RFC 4514 keystring) into name. */
static trustx_rc dn_read_name(const char *text, size_t *pos, char *name)
{
    size_t n = 0;

    while (is_name_char(text[*pos])) {
        if (n + 1 >= NAME_MAX_LEN)
            return dn_error(text, *pos, "attribute name too long");
        name[n++] = text[(*pos)++];
    }
    name[n] = '\0';
    if (n == 0)
        return dn_error(text, *pos, "expected an attribute name such as CN");
    return TRUSTX_OK;
}

static trustx_rc dn_put(const char *text, size_t pos, char *value, size_t *n, char c)
{
    if (*n + 1 >= TRUSTX_PKI_VALUE_BYTES_MAX)
        return dn_error(text, pos, "value too long");
    value[(*n)++] = c;
    return TRUSTX_OK;
}

/* Reads an OpenSSL-form value up to the next unescaped '/' or the end. */
static trustx_rc slash_read_value(const char *text, size_t *pos, char *value)
{
    size_t n = 0;
    trustx_rc rc = TRUSTX_OK;

    while (rc == TRUSTX_OK && text[*pos] != '\0' && text[*pos] != '/') {
        if (text[*pos] == '\\') {
            if (text[*pos + 1] == '\0')
                return dn_error(text, *pos, "backslash at the end");
            (*pos)++;
        }
        rc = dn_put(text, *pos, value, &n, text[*pos]);
        (*pos)++;
    }
    value[n] = '\0';
    return rc;
}

static trustx_rc parse_slash_form(const char *text, size_t pos, trustx_pki_subject *s)
{
    char name[NAME_MAX_LEN];
    char value[TRUSTX_PKI_VALUE_BYTES_MAX];

    while (text[pos] == '/') {
        trustx_rc rc;

        pos++;
        rc = dn_read_name(text, &pos, name);
        if (rc != TRUSTX_OK)
            return rc;
        if (text[pos] != '=')
            return dn_error(text, pos, "expected '=' after the attribute name");
        pos++;
        rc = slash_read_value(text, &pos, value);
        if (rc == TRUSTX_OK)
            rc = trustx_pki_subject_add(s, name, value);
        if (rc != TRUSTX_OK)
            return rc;
    }
    if (text[pos] != '\0')
        return dn_error(text, pos, "expected '/'");
    return TRUSTX_OK;
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/*
 * Reads one RFC 4514 escape at text[*pos] == '\\' into value: a special
 * character or two hex digits.
 */
static trustx_rc rfc_read_escape(const char *text, size_t *pos, char *value, size_t *n)
{
    char next = text[*pos + 1];
    int hi = hex_value(next);
    int lo = hi >= 0 ? hex_value(text[*pos + 2]) : -1;

    if (hi >= 0 && lo >= 0) {
        if (hi == 0 && lo == 0)
            return dn_error(text, *pos, "a value cannot contain a NUL byte (\\00)");
        *pos += 3;
        return dn_put(text, *pos, value, n, (char)(hi * 16 + lo));
    }
    if (next != '\0' && strchr(" \"#+,;<=>\\", next) != NULL) {
        *pos += 2;
        return dn_put(text, *pos, value, n, next);
    }
    return dn_error(text, *pos, "invalid escape; use \\ before one of  \"#+,;<=>\\ or two hex "
                                "digits");
}

/* Reads an RFC 4514 value up to the next unescaped ',' or the end. */
static trustx_rc rfc_read_value(const char *text, size_t *pos, char *value)
{
    size_t n = 0, kept = 0;   /* kept: length without unescaped trailing blanks */
    trustx_rc rc = TRUSTX_OK;

    if (text[*pos] == '#')
        return dn_error(text, *pos, "hex-encoded (#) values are not supported");

    while (rc == TRUSTX_OK && text[*pos] != '\0' && text[*pos] != ',') {
        char c = text[*pos];

        if (c == '\\') {
            rc = rfc_read_escape(text, pos, value, &n);
            kept = n;
        } else if (c == '+') {
            return dn_error(text, *pos, "multi-valued RDNs are not supported; escape a "
                                        "literal plus as \\+");
        } else if (strchr("\";<>", c) != NULL) {
            return dn_error(text, *pos, "this character must be escaped with a backslash");
        } else {
            rc = dn_put(text, *pos, value, &n, c);
            (*pos)++;
            if (c != ' ')
                kept = n;
        }
    }
    value[kept] = '\0';
    return rc;
}

static void reverse_attrs(trustx_pki_subject *s)
{
    for (size_t i = 0; i < s->count / 2; i++) {
        trustx_pki_attr tmp = s->attrs[i];

        s->attrs[i] = s->attrs[s->count - 1 - i];
        s->attrs[s->count - 1 - i] = tmp;
    }
}

static trustx_rc parse_rfc4514_form(const char *text, size_t pos, trustx_pki_subject *s)
{
    char name[NAME_MAX_LEN];
    char value[TRUSTX_PKI_VALUE_BYTES_MAX];

    for (;;) {
        trustx_rc rc;

        pos += strspn(text + pos, " ");
        rc = dn_read_name(text, &pos, name);
        if (rc != TRUSTX_OK)
            return rc;
        pos += strspn(text + pos, " ");
        if (text[pos] != '=')
            return dn_error(text, pos, "expected '=' after the attribute name");
        pos++;
        pos += strspn(text + pos, " ");
        rc = rfc_read_value(text, &pos, value);
        if (rc == TRUSTX_OK)
            rc = trustx_pki_subject_add(s, name, value);
        if (rc != TRUSTX_OK)
            return rc;
        if (text[pos] == '\0')
            break;
        pos++;   /* the ',' */
    }

    reverse_attrs(s);
    return TRUSTX_OK;
}

trustx_rc trustx_pki_subject_parse(const char *text, trustx_pki_subject *s)
{
    size_t pos = strspn(text, " \t");
    trustx_rc rc;

    trustx_pki_subject_init(s);
    if (text[pos] == '\0')
        return trustx_fail(TRUSTX_LAYER_PKI, TRUSTX_E_INVALID_ARG,
                           "subject is empty; give one such as /CN=device-1/O=Acme");
    if (text[pos] == '/')
        rc = parse_slash_form(text, pos, s);
    else
        rc = parse_rfc4514_form(text, pos, s);
    if (rc != TRUSTX_OK)
        return rc;

    if (trustx_pki_subject_find(s, "CN") == NULL)
        return trustx_fail(TRUSTX_LAYER_PKI, TRUSTX_E_INVALID_ARG,
                           "subject \"%.200s\" has no CN; add CN=<device name>", text);
    return TRUSTX_OK;
}

trustx_rc trustx_pki_subject_format(const trustx_pki_subject *s, char *buf, size_t cap)
{
    size_t n = 0;

    for (size_t i = 0; i < s->count; i++) {
        const char *name = s->attrs[i].name;
        const char *v = s->attrs[i].value;
        size_t need = 2 + strlen(name);

        if (n + need >= cap)
            goto overflow;
        n += (size_t)snprintf(buf + n, cap - n, "/%s=", name);
        for (; *v != '\0'; v++) {
            if (n + 2 >= cap)
                goto overflow;
            if (*v == '/' || *v == '\\')
                buf[n++] = '\\';
            buf[n++] = *v;
        }
    }
    if (n >= cap)
        goto overflow;
    buf[n] = '\0';
    return TRUSTX_OK;

overflow:
    if (cap > 0)
        buf[0] = '\0';
    return trustx_fail(TRUSTX_LAYER_PKI, TRUSTX_E_OVERFLOW,
                       "subject does not fit the %zu-byte buffer", cap);
}

/* ---- X509_NAME ---- */

static int asn1_string_type(string_kind kind)
{
    switch (kind) {
    case KIND_PRINTABLE:
    case KIND_COUNTRY:
        return V_ASN1_PRINTABLESTRING;
    case KIND_IA5:
        return V_ASN1_IA5STRING;
    case KIND_UTF8:
        break;
    }
    return V_ASN1_UTF8STRING;
}

trustx_rc pki_subject_to_name(const trustx_pki_subject *s, X509_NAME **out)
{
    X509_NAME *name = X509_NAME_new();

    if (name == NULL)
        return pki_fail_ossl(TRUSTX_E_NOMEM, "cannot allocate a subject name");

    for (size_t i = 0; i < s->count; i++) {
        const attr_rule *r = find_canonical(s->attrs[i].name);

        if (r == NULL) {
            X509_NAME_free(name);
            return trustx_fail(TRUSTX_LAYER_PKI, TRUSTX_E_INVALID_ARG,
                               "subject attribute %zu has no known name; build subjects with "
                               "trustx_pki_subject_add()",
                               i);
        }
        /* A plain V_ASN1_* type stores the bytes as they are, without conversion. */
        if (X509_NAME_add_entry_by_NID(name, r->nid, asn1_string_type(r->kind),
                                       (const unsigned char *)s->attrs[i].value, -1, -1,
                                       0) != 1) {
            X509_NAME_free(name);
            return pki_fail_ossl(TRUSTX_E_CRYPTO, "cannot add %s to the subject name",
                                 r->name);
        }
    }
    *out = name;
    return TRUSTX_OK;
}

/* Timestamps: ISO 8601 strings or numbers of seconds, to unix seconds. A
 * timestamp only orders and dates samples, so an unreadable one is 0, not
 * a reason to refuse the record. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ingest/ingest.h"

/* Numbers at or above this are milliseconds: as seconds they would fall
 * after the year 5000. */
#define WF_MS_THRESHOLD 100000000000.0

/* Days since 1970-01-01 of a proleptic Gregorian date (eras of 400 years,
 * years starting in March so the leap day comes last). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static int days_in_month(int64_t y, int m)
{
    static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return days[m - 1] + (m == 2 && leap);
}

/* Reads exactly `digits` decimal digits at *s; -1 when they are not there. */
static int read_num(const char **s, const char *end, int digits)
{
    int v = 0;
    for (int i = 0; i < digits; i++, (*s)++) {
        if (*s >= end || **s < '0' || **s > '9')
            return -1;
        v = v * 10 + (**s - '0');
    }
    return v;
}

static int expect(const char **s, const char *end, char c)
{
    if (*s < end && **s == c) {
        (*s)++;
        return 1;
    }
    return 0;
}

/* "Z", "+HH", "+HHMM", "+HH:MM" or nothing (read as UTC); seconds east of
 * UTC in *off, or -1 on a malformed zone. */
static int read_zone(const char **s, const char *end, int *off)
{
    *off = 0;
    if (*s == end)
        return 0;
    if (expect(s, end, 'Z') || expect(s, end, 'z'))
        return *s == end ? 0 : -1;
    int sign = **s == '+' ? 1 : **s == '-' ? -1 : 0;
    if (!sign)
        return -1;
    (*s)++;
    int hh = read_num(s, end, 2), mm = 0;
    if (hh < 0 || hh > 23)
        return -1;
    if (*s < end) {
        expect(s, end, ':');
        mm = read_num(s, end, 2);
    }
    if (mm < 0 || mm > 59 || *s != end)
        return -1;
    *off = sign * (hh * 3600 + mm * 60);
    return 0;
}

/* The time of day after the date: "THH:MM[:SS[.frac]]", 'T' also ' '. */
static int64_t read_time(const char **s, const char *end)
{
    if (*s == end || (**s != 'T' && **s != 't' && **s != ' '))
        return 0;
    (*s)++;
    int hh = read_num(s, end, 2);
    int mm = expect(s, end, ':') ? read_num(s, end, 2) : -1;
    int ss = 0;
    if (expect(s, end, ':')) {
        ss = read_num(s, end, 2);
        if (expect(s, end, '.') || expect(s, end, ','))
            while (*s < end && **s >= '0' && **s <= '9')
                (*s)++;
    }
    if (hh < 0 || hh > 23 || mm < 0 || mm > 59 || ss < 0 || ss > 60)
        return -1;
    return hh * 3600 + mm * 60 + (ss == 60 ? 59 : ss);
}

int64_t wf_timestamp_parse(const char *s, size_t n)
{
    const char *end = s + n;
    int y = read_num(&s, end, 4);
    int m = expect(&s, end, '-') ? read_num(&s, end, 2) : -1;
    int d = expect(&s, end, '-') ? read_num(&s, end, 2) : -1;
    if (y < 0 || m < 1 || m > 12 || d < 1 || d > days_in_month(y, m))
        return 0;
    int64_t tod = read_time(&s, end);
    int off;
    if (tod < 0 || read_zone(&s, end, &off) < 0)
        return 0;
    int64_t t = days_from_civil(y, m, d) * 86400 + tod - off;
    return t > 0 ? t : 0;
}

/* Seconds (or milliseconds) since the epoch; 0 when out of range. */
static int64_t epoch_value(double x)
{
    if (x >= WF_MS_THRESHOLD)
        x /= 1000.0;
    if (!(x > 0) || x >= 9.2e18 / 1000)
        return 0;
    return (int64_t)floor(x);
}

/* Some logs quote their epoch numbers: "1700000000". */
static int64_t string_value(const char *s, size_t n)
{
    int64_t t = wf_timestamp_parse(s, n);
    if (t > 0 || n == 0 || s[0] < '0' || s[0] > '9')
        return t;
    char *end;
    double x = strtod(s, &end);
    return end == s + n ? epoch_value(x) : 0;
}

int64_t wf_timestamp_value(const wf_jval *v)
{
    if (wf_json_is(v, WF_JSON_STRING))
        return string_value(v->u.s, v->n);
    return wf_json_is_number(v) ? epoch_value(wf_json_number(v)) : 0;
}

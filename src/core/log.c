#include "wildfeed/log.h"

#include <pthread.h>
#include <stdarg.h>
#include <string.h>
#include <time.h>

#include "wildfeed/strbuf.h"

static struct {
    pthread_mutex_t lock;
    int level;
    int format;
    FILE *stream; /* NULL means stderr */
} g_log = {PTHREAD_MUTEX_INITIALIZER, WF_LOG_INFO, WF_LOG_LOGFMT, NULL};

static const char *const level_names[] = {"debug", "info", "warn", "error"};

void wf_log_setup(int level, int format, FILE *stream)
{
    pthread_mutex_lock(&g_log.lock);
    g_log.level = level;
    g_log.format = format;
    g_log.stream = stream;
    pthread_mutex_unlock(&g_log.lock);
}

int wf_log_level_parse(const char *name)
{
    for (int i = 0; i < 4; i++)
        if (strcmp(name, level_names[i]) == 0)
            return i;
    return -1;
}

int wf_log_format_parse(const char *name)
{
    if (strcmp(name, "logfmt") == 0)
        return WF_LOG_LOGFMT;
    if (strcmp(name, "json") == 0)
        return WF_LOG_JSON;
    return -1;
}

int wf_log_enabled(int level)
{
    return level >= __atomic_load_n(&g_log.level, __ATOMIC_RELAXED);
}

/* logfmt values are quoted when they hold spaces, quotes or '=' */
static void logfmt_value(wf_strbuf *b, const char *v)
{
    if (*v && strpbrk(v, " \"=\t\n") == NULL) {
        wf_strbuf_puts(b, v);
        return;
    }
    wf_strbuf_json_string(b, v, strlen(v));
}

static void add_field(wf_strbuf *b, int format, const char *k, const char *v)
{
    if (format == WF_LOG_JSON) {
        wf_strbuf_putc(b, ',');
        wf_strbuf_json_string(b, k, strlen(k));
        wf_strbuf_putc(b, ':');
        wf_strbuf_json_string(b, v, strlen(v));
    } else {
        wf_strbuf_printf(b, " %s=", k);
        logfmt_value(b, v);
    }
}

void wf_log(int level, const char *msg, ...)
{
    if (!wf_log_enabled(level))
        return;
    char ts[40];
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    struct tm tm;
    gmtime_r(&now.tv_sec, &tm);
    size_t n = strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(ts + n, sizeof ts - n, ".%03ldZ", now.tv_nsec / 1000000);

    int format = __atomic_load_n(&g_log.format, __ATOMIC_RELAXED);
    wf_strbuf b;
    wf_strbuf_init(&b);
    if (format == WF_LOG_JSON) {
        wf_strbuf_printf(&b, "{\"ts\":\"%s\"", ts);
        add_field(&b, format, "level", level_names[level]);
        add_field(&b, format, "msg", msg);
    } else {
        wf_strbuf_printf(&b, "ts=%s level=%s msg=", ts, level_names[level]);
        logfmt_value(&b, msg);
    }
    va_list ap;
    va_start(ap, msg);
    for (const char *k; (k = va_arg(ap, const char *)) != NULL;) {
        const char *v = va_arg(ap, const char *);
        add_field(&b, format, k, v ? v : "");
    }
    va_end(ap);
    wf_strbuf_puts(&b, format == WF_LOG_JSON ? "}\n" : "\n");

    pthread_mutex_lock(&g_log.lock);
    FILE *out = g_log.stream ? g_log.stream : stderr;
    if (!b.oom)
        fwrite(b.data, 1, b.len, out);
    fflush(out);
    pthread_mutex_unlock(&g_log.lock);
    wf_strbuf_free(&b);
}

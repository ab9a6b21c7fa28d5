/* Structured logger: one line per event, logfmt or JSON lines, with levels.
 *
 * The logger is one of the two pieces of global state the project allows.
 * Fields are passed as NULL-terminated key/value string pairs:
 *   wf_log(WF_LOG_INFO, "consumer started", "topic", t, "group", g, NULL);
 * Message content from users must never be logged above WF_LOG_DEBUG. */
#ifndef WILDFEED_LOG_H
#define WILDFEED_LOG_H

#include <stdio.h>

enum wf_log_level { WF_LOG_DEBUG = 0, WF_LOG_INFO, WF_LOG_WARN, WF_LOG_ERROR };
enum wf_log_format { WF_LOG_LOGFMT = 0, WF_LOG_JSON };

/* Sets the minimum level, the format and the stream (stderr by default; the
 * stream is borrowed, not closed). Safe to call again (SIGHUP reload). */
void wf_log_setup(int level, int format, FILE *stream);

/* Parses "debug", "info", "warn", "error"; returns -1 when unknown. */
int wf_log_level_parse(const char *name);
/* Parses "logfmt" or "json"; returns -1 when unknown. */
int wf_log_format_parse(const char *name);

int wf_log_enabled(int level);

/* Writes one line: time, level, msg, then the key/value pairs. */
void wf_log(int level, const char *msg, ...) __attribute__((sentinel));

#endif

/* Script-and-stopword language guess, for logs that carry no language.
 * Returns a static name: "English", "Chinese", "Japanese", "Korean",
 * "Russian", "Arabic", or "Other". Cheap: one pass over at most the first
 * 2 KiB of text. */
#ifndef WF_FEEDBACK_LANGUAGE_H
#define WF_FEEDBACK_LANGUAGE_H

#include <stddef.h>

const char *wf_language_detect(const char *s, size_t n);

#endif

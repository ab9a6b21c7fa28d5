/* Personal data in user text (DESIGN §1 filters): e-mail addresses and phone
 * numbers. Hand-written scanners tuned against false positives on what chat
 * queries are full of: years, prices, decimals, version strings, IP
 * addresses, timestamps and lists of numbers. */
#ifndef WF_FEEDBACK_PII_H
#define WF_FEEDBACK_PII_H

#include <stddef.h>

/* 1 when s[0..n) contains local@domain.tld (at least one dot in the domain,
 * an alphabetic top-level label of 2+ letters). */
int wf_pii_has_email(const char *s, size_t n);

/* 1 when s[0..n) contains a phone number: 10 to 15 digits, either after a
 * '+', or in phone-shaped groups ("555-123-4567", "(555) 123 4567",
 * "010-12345678", "06 12 34 56 78", "555.123.4567"), or a bare Chinese mobile
 * number (1[3-9] and 9 more digits). A bare run of other digits is not
 * taken: it is far more often a number than a phone. */
int wf_pii_has_phone(const char *s, size_t n);

#endif

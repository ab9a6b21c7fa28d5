/* judge.llm.* configuration and the API key, which is read at start from an
 * environment variable or a file and never kept in the configuration. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wildfeed/judge_llm.h"

void wf_llm_options_default(wf_llm_options *o)
{
    memset(o, 0, sizeof *o);
    o->max_in_flight = 64;
    o->queue_cap = 1024;
    o->timeout_ms = 30000;
    o->deadline_ms = 120000;
    o->max_retries = 3;
    o->backoff_base_ms = 250;
    o->backoff_max_ms = 10000;
    o->max_chars = 4000;
    o->breaker_failures = 5;
    o->breaker_cooldown_ms = 30000;
    o->on_open = WF_LLM_OPEN_RULES;
    o->cache_entries = 10000;
    o->temperature = 0;
    o->max_tokens = 512;
}

int wf_llm_options_from_config(const wf_config *cfg, wf_llm_options *o, wf_error *err)
{
    wf_llm_options_default(o);
    o->base_url = wf_config_str(cfg, "judge.llm.base_url");
    o->model = wf_config_str(cfg, "judge.llm.model");
    o->max_in_flight = (size_t)wf_config_int(cfg, "judge.llm.max_in_flight");
    o->queue_cap = (size_t)wf_config_int(cfg, "judge.queue");
    o->timeout_ms = (long)wf_config_int(cfg, "judge.llm.timeout_ms");
    o->deadline_ms = (long)wf_config_int(cfg, "judge.llm.deadline_ms");
    o->max_retries = (int)wf_config_int(cfg, "judge.llm.max_retries");
    o->backoff_base_ms = (long)wf_config_int(cfg, "judge.llm.backoff_base_ms");
    o->backoff_max_ms = (long)wf_config_int(cfg, "judge.llm.backoff_max_ms");
    o->max_chars = (size_t)wf_config_int(cfg, "judge.llm.max_chars");
    o->breaker_failures = (int)wf_config_int(cfg, "judge.llm.breaker_failures");
    o->breaker_cooldown_ms = (long)wf_config_int(cfg, "judge.llm.breaker_cooldown_ms");
    const char *open = wf_config_str(cfg, "judge.llm.on_breaker_open");
    o->on_open = strcmp(open, "park") == 0 ? WF_LLM_OPEN_PARK : WF_LLM_OPEN_RULES;
    o->cache_entries = (size_t)wf_config_int(cfg, "judge.llm.cache_entries");
    o->temperature = wf_config_double(cfg, "judge.llm.temperature");
    o->max_tokens = (int)wf_config_int(cfg, "judge.llm.max_tokens");
    if (!*o->base_url)
        return wf_error_set(err, WF_EINVAL, "judge.llm.base_url: required by the llm judge");
    if (!*o->model)
        return wf_error_set(err, WF_EINVAL, "judge.llm.model: required by the llm judge");
    return 0;
}

static void copy_trimmed(char *buf, size_t cap, const char *s, size_t n)
{
    while (n > 0 && (*s == ' ' || *s == '\t'))
        s++, n--;
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' || s[n - 1] == '\n'))
        n--;
    if (n >= cap)
        n = cap - 1;
    memcpy(buf, s, n);
    buf[n] = '\0';
}

static int key_from_file(const char *path, char *buf, size_t cap, wf_error *err)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return wf_error_set(err, WF_EIO, "judge.llm.api_key_file: %s: %s", path, strerror(errno));
    char line[4096];
    int ok = fgets(line, sizeof line, f) != NULL;
    fclose(f);
    if (!ok)
        return wf_error_set(err, WF_EINVAL, "judge.llm.api_key_file: %s: empty", path);
    copy_trimmed(buf, cap, line, strlen(line));
    explicit_bzero(line, sizeof line);
    if (!*buf)
        return wf_error_set(err, WF_EINVAL, "judge.llm.api_key_file: %s: empty", path);
    return 0;
}

int wf_llm_read_api_key(const wf_config *cfg, char *buf, size_t cap, wf_error *err)
{
    buf[0] = '\0';
    const char *env = wf_config_str(cfg, "judge.llm.api_key_env");
    const char *file = wf_config_str(cfg, "judge.llm.api_key_file");
    const char *v = *env ? getenv(env) : NULL;
    if (v && *v) {
        if (strlen(v) >= cap)
            return wf_error_set(err, WF_EINVAL, "judge.llm.api_key_env: key too long");
        copy_trimmed(buf, cap, v, strlen(v));
        return 0;
    }
    if (*file)
        return key_from_file(file, buf, cap, err);
    if (*env)
        return wf_error_set(err, WF_EINVAL, "judge.llm.api_key_env: %s is not set", env);
    return 0;
}

wf_judge *wf_judge_llm_create(const wf_config *cfg, wf_error *err)
{
    if (!cfg) {
        wf_error_set(err, WF_EINVAL, "judge.llm.base_url: the llm judge needs a configuration");
        return NULL;
    }
    wf_llm_options o;
    if (wf_llm_options_from_config(cfg, &o, err) < 0)
        return NULL;
    char key[1024];
    if (wf_llm_read_api_key(cfg, key, sizeof key, err) < 0)
        return NULL;
    o.api_key = key;
    wf_judge *j = wf_judge_llm_new(&o, err);
    explicit_bzero(key, sizeof key);
    return j;
}

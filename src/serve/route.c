/* URL to endpoint. Versions in the activate path are limited to the
 * characters the registry writes, so a path can never name a file outside
 * the registry. */
#include <string.h>

#include "serve/serve.h"

static const struct {
    const char *path;
    wf_ep ep;
} fixed[] = {
    {"/get_reward", WF_EP_GET_REWARD},    {"/v1/score", WF_EP_SCORE},  {"/v1/models", WF_EP_MODELS},
    {"/v1/admin/retrain", WF_EP_RETRAIN}, {"/healthz", WF_EP_HEALTHZ}, {"/readyz", WF_EP_READYZ},
    {"/metrics", WF_EP_METRICS},
};

static int version_char(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           ch == '-' || ch == '_' || ch == '.';
}

/* "/v1/models/<version>/activate" */
static int activate_path(const char *url, wf_serve_req *r)
{
    static const char pre[] = "/v1/models/", post[] = "/activate";
    size_t n = strlen(url), lp = sizeof pre - 1, ls = sizeof post - 1;
    if (n <= lp + ls || strncmp(url, pre, lp) != 0 || strcmp(url + n - ls, post) != 0)
        return 0;
    size_t vlen = n - lp - ls;
    if (vlen >= sizeof r->version)
        return 0;
    for (size_t i = 0; i < vlen; i++)
        if (!version_char(url[lp + i]))
            return 0;
    memcpy(r->version, url + lp, vlen);
    r->version[vlen] = '\0';
    return strcmp(r->version, ".") != 0 && strcmp(r->version, "..") != 0;
}

wf_ep wf_serve_route(const char *url, wf_serve_req *r)
{
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
        if (strcmp(url, fixed[i].path) == 0)
            return fixed[i].ep;
    return activate_path(url, r) ? WF_EP_ACTIVATE : WF_EP_OTHER;
}

const char *wf_serve_allowed(wf_ep ep)
{
    switch (ep) {
    case WF_EP_GET_REWARD:
    case WF_EP_SCORE:
    case WF_EP_ACTIVATE:
    case WF_EP_RETRAIN: return "POST";
    case WF_EP_MODELS:
    case WF_EP_HEALTHZ:
    case WF_EP_READYZ:
    case WF_EP_METRICS: return "GET, HEAD";
    default: return "";
    }
}

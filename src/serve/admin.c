/* The registry endpoints and the bearer token that guards activate and
 * retrain. The token is read once at start; comparing it takes the same time
 * whatever the first differing byte, so a client cannot guess it piecewise. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "serve/serve.h"

#define TOKEN_MAX 4096

int wf_serve_load_token(wf_server *s, const char *path, wf_error *err)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return wf_error_set(err, WF_EIO, "server.admin_token_file: cannot open %s", path);
    char *buf = malloc(TOKEN_MAX + 1);
    size_t n = buf ? fread(buf, 1, TOKEN_MAX + 1, f) : 0;
    fclose(f);
    if (!buf)
        return wf_error_set(err, WF_ENOMEM, "server: out of memory");
    while (n > 0 &&
           (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' ' || buf[n - 1] == '\t'))
        n--;
    if (n == 0 || n > TOKEN_MAX || memchr(buf, '\0', n)) {
        free(buf);
        return wf_error_set(err, WF_EINVAL,
                            "server.admin_token_file: %s must hold one token of 1..%d bytes", path,
                            TOKEN_MAX);
    }
    buf[n] = '\0';
    s->token = buf;
    s->token_len = n;
    return 0;
}

/* Equal in time independent of where a and the token differ. */
static int token_equal(const wf_server *s, const char *a, size_t n)
{
    unsigned diff = n != s->token_len;
    for (size_t i = 0; i < n; i++)
        diff |= (unsigned char)a[i] ^ (unsigned char)s->token[i % s->token_len];
    return diff == 0;
}

unsigned wf_serve_check_token(const wf_server *s, struct MHD_Connection *c)
{
    const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
    if (!h || strncasecmp(h, "Bearer ", 7) != 0)
        return MHD_HTTP_UNAUTHORIZED;
    const char *t = h + 7;
    while (*t == ' ')
        t++;
    return token_equal(s, t, strlen(t)) ? 0 : MHD_HTTP_FORBIDDEN;
}

static unsigned hook_status(int rc)
{
    switch (rc) {
    case WF_ENOTFOUND: return MHD_HTTP_NOT_FOUND;
    case WF_EINVAL:
    case WF_EPARSE: return MHD_HTTP_BAD_REQUEST;
    case WF_ESTATE:
    case WF_EAGAIN: return MHD_HTTP_CONFLICT;
    default: return MHD_HTTP_INTERNAL_SERVER_ERROR;
    }
}

static enum MHD_Result list_models(wf_server *s, struct MHD_Connection *c, wf_serve_req *r)
{
    wf_strbuf out;
    wf_strbuf_init(&out);
    if (s->hooks.list_models(s->hooks.ctx, &out) < 0) {
        wf_strbuf_free(&out);
        return wf_serve_reply_error(s, c, r->ep, MHD_HTTP_INTERNAL_SERVER_ERROR,
                                    "cannot list the models");
    }
    return wf_serve_reply(s, c, r->ep, MHD_HTTP_OK, "application/json", &out);
}

enum MHD_Result wf_serve_admin(wf_server *s, struct MHD_Connection *c, wf_serve_req *r)
{
    if (r->ep == WF_EP_MODELS)
        return list_models(s, c, r);
    wf_error e = {0};
    int rc = r->ep == WF_EP_ACTIVATE ? s->hooks.activate(s->hooks.ctx, r->version, &e)
                                     : s->hooks.retrain(s->hooks.ctx, &e);
    if (rc < 0)
        return wf_serve_reply_error(s, c, r->ep, hook_status(rc),
                                    e.msg[0] ? e.msg : wf_err_name(rc));
    wf_strbuf out;
    wf_strbuf_init(&out);
    if (r->ep == WF_EP_ACTIVATE) {
        wf_strbuf_puts(&out, "{\"activated\":");
        wf_strbuf_json_string(&out, r->version, strlen(r->version));
        wf_strbuf_puts(&out, "}");
        return wf_serve_reply(s, c, r->ep, MHD_HTTP_OK, "application/json", &out);
    }
    wf_strbuf_puts(&out, "{\"retrain\":\"started\"}");
    return wf_serve_reply(s, c, r->ep, MHD_HTTP_ACCEPTED, "application/json", &out);
}

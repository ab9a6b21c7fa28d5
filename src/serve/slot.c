/* The hot-swap slot: a mutex guards only the pointer to the current entry
 * and the increment of its count, so acquire, release and publish each hold
 * it for a few instructions; loading and freeing models happen outside it.
 * The slot itself holds one reference on its current entry. */
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "wildfeed/slot.h"

typedef struct slot_entry {
    wf_model_ref ref; /* first: a ref pointer is an entry pointer */
    _Atomic size_t refs;
    wf_model *model;
    char *version;
} slot_entry;

struct wf_model_slot {
    pthread_mutex_t mu;
    slot_entry *cur;
};

wf_model_slot *wf_model_slot_new(void)
{
    wf_model_slot *s = calloc(1, sizeof *s);
    if (s && pthread_mutex_init(&s->mu, NULL) != 0) {
        free(s);
        return NULL;
    }
    return s;
}

static void entry_unref(slot_entry *e)
{
    if (atomic_fetch_sub_explicit(&e->refs, 1, memory_order_acq_rel) != 1)
        return;
    wf_model_free(e->model);
    free(e->version);
    free(e);
}

void wf_model_slot_free(wf_model_slot *s)
{
    if (!s)
        return;
    if (s->cur)
        entry_unref(s->cur);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

int wf_model_slot_publish(wf_model_slot *s, wf_model *m, const char *version, wf_error *err)
{
    if (!m || !version) {
        wf_model_free(m);
        return wf_error_set(err, WF_EINVAL, "slot: publish needs a model and a version");
    }
    slot_entry *e = calloc(1, sizeof *e);
    char *v = strdup(version);
    if (!e || !v) {
        free(e);
        free(v);
        wf_model_free(m);
        return wf_error_set(err, WF_ENOMEM, "slot: out of memory publishing %s", version);
    }
    e->model = m;
    e->version = v;
    e->ref.model = m;
    e->ref.version = v;
    atomic_init(&e->refs, 1);
    pthread_mutex_lock(&s->mu);
    slot_entry *old = s->cur;
    s->cur = e;
    pthread_mutex_unlock(&s->mu);
    /* Requests still holding the old model keep it alive; the last one frees. */
    if (old)
        entry_unref(old);
    return 0;
}

const wf_model_ref *wf_model_slot_acquire(wf_model_slot *s)
{
    pthread_mutex_lock(&s->mu);
    slot_entry *e = s->cur;
    if (e)
        atomic_fetch_add_explicit(&e->refs, 1, memory_order_relaxed);
    pthread_mutex_unlock(&s->mu);
    return e ? &e->ref : NULL;
}

void wf_model_slot_release(wf_model_slot *s, const wf_model_ref *r)
{
    (void)s;
    if (r)
        entry_unref((slot_entry *)(void *)r);
}

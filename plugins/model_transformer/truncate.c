/* Fitting history + query + response into max_len tokens. The response is
 * what is judged, so it is never cut; the query says what it answers, so it
 * goes only after the whole history; older history matters least. */
#include "model_transformer/transformer.h"

int wf_tf_truncate(size_t n_history, size_t n_query, size_t n_response, size_t max_len,
                   wf_tf_keep *keep, wf_error *err)
{
    if (n_response > max_len)
        return wf_error_set(err, WF_EINVAL, "response of %zu tokens exceeds the maximum length %zu",
                            n_response, max_len);
    size_t room = max_len - n_response;
    keep->query_from = n_query > room ? n_query - room : 0;
    room -= n_query - keep->query_from;
    keep->history_from = n_history > room ? n_history - room : 0;
    keep->total = (n_history - keep->history_from) + (n_query - keep->query_from) + n_response;
    return 0;
}

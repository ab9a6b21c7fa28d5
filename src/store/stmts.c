/* Every statement the store runs, prepared once at open. */
#include "internal.h"

/* A replay of an identical sample must not touch the row (its sequence
 * number would count it as new), so the update also requires a difference.
 * created_at stays as first stored: it dates the turn, whoever labels it.
 * The split stays too: a model may have trained on a train sample, and a
 * changed sample.eval_fraction must not move it into the eval split that
 * judges the next candidate against that model. */
#define SAMPLE_DIFFERS                                                                             \
    "(samples.conversation_id, samples.turn, samples.response_turn, samples.annotation,"           \
    " samples.label, samples.source, samples.rank, samples.user_id,"                               \
    " samples.language, samples.model, samples.reason, samples.history, samples.query,"            \
    " samples.response, samples.feedback, samples.text) IS NOT"                                    \
    " (excluded.conversation_id, excluded.turn, excluded.response_turn, excluded.annotation,"      \
    " excluded.label, excluded.source, excluded.rank, excluded.user_id,"                           \
    " excluded.language, excluded.model, excluded.reason, excluded.history, excluded.query,"       \
    " excluded.response, excluded.feedback, excluded.text)"

#define NEXT_SEQ "(SELECT coalesce(max(seq), 0) + 1 FROM samples)"

const char *const wf_store_sql[ST_COUNT] = {
    [ST_SAMPLE_OLD] = "SELECT split, label, source FROM samples WHERE id = ?1",
    [ST_SAMPLE_UPSERT] =
        "INSERT INTO samples (id, seq, conversation_id, turn, response_turn, annotation, label,"
        " source, rank, split, created_at, updated_at, user_id, language, model, reason, history,"
        " query, response, feedback, text) VALUES (?1, " NEXT_SEQ ", ?2, ?3, ?4, ?5, ?6, ?7, ?8,"
        " ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20)"
        " ON CONFLICT (id) DO UPDATE SET seq = " NEXT_SEQ ", conversation_id ="
        " excluded.conversation_id, turn = excluded.turn, response_turn = excluded.response_turn,"
        " annotation = excluded.annotation, label = excluded.label, source = excluded.source,"
        " rank = excluded.rank, updated_at = excluded.updated_at,"
        " user_id = excluded.user_id, language = excluded.language, model = excluded.model,"
        " reason = excluded.reason, history = excluded.history, query = excluded.query,"
        " response = excluded.response, feedback = excluded.feedback, text = excluded.text"
        " WHERE excluded.rank >= samples.rank AND " SAMPLE_DIFFERS,
    [ST_SAMPLE_GET] = "SELECT " WF_STORE_SAMPLE_COLS " FROM samples WHERE id = ?1",
    [ST_LAST_SEQ] = "SELECT coalesce(max(seq), 0) FROM samples",
    [ST_COUNT_SINCE] = "SELECT count(*) FROM samples WHERE seq > ?1",
    [ST_SAMPLES_BY_SEQ] = "SELECT " WF_STORE_SAMPLE_COLS " FROM samples"
                          " WHERE seq > ?1 AND seq <= ?2 ORDER BY seq LIMIT ?3",
    [ST_CURSOR_GET] = "SELECT seq FROM cursors WHERE name = ?1",
    [ST_CURSOR_PUT] = "INSERT INTO cursors (name, seq) VALUES (?1, ?2)"
                      " ON CONFLICT (name) DO UPDATE SET seq = excluded.seq",
    [ST_CONV_PUT] = "INSERT INTO conversations (conversation_id, last_seen, state)"
                    " VALUES (?1, ?2, ?3) ON CONFLICT (conversation_id) DO UPDATE SET"
                    " last_seen = excluded.last_seen, state = excluded.state",
    [ST_CONV_GET] = "SELECT state, last_seen FROM conversations WHERE conversation_id = ?1",
    [ST_CONV_DELETE] = "DELETE FROM conversations WHERE conversation_id = ?1",
    [ST_CONV_EXPIRE] = "DELETE FROM conversations WHERE last_seen < ?1",
    [ST_CONV_ALL] = "SELECT conversation_id, state, last_seen FROM conversations"
                    " ORDER BY last_seen, conversation_id",
    [ST_PENDING_PUT] = "INSERT INTO pending (sample_id, conversation_id, at, state)"
                       " VALUES (?1, ?2, ?3, ?4) ON CONFLICT (sample_id) DO UPDATE SET"
                       " conversation_id = excluded.conversation_id, at = excluded.at,"
                       " state = excluded.state",
    [ST_PENDING_GET] = "SELECT state FROM pending WHERE sample_id = ?1",
    [ST_PENDING_DELETE] = "DELETE FROM pending WHERE sample_id = ?1",
    [ST_PENDING_CONV] =
        "SELECT sample_id, state FROM pending WHERE conversation_id = ?1 ORDER BY rowid",
    [ST_PENDING_ALL] = "SELECT sample_id, state FROM pending ORDER BY rowid",
    [ST_PENDING_EXPIRE] = "DELETE FROM pending WHERE at < ?1",
    [ST_USER_INCR] = "INSERT INTO user_counts (user_id, day, count) VALUES (?1, ?2, 1)"
                     " ON CONFLICT (user_id, day) DO UPDATE SET count = count + 1"
                     " RETURNING count",
    [ST_USER_GET] = "SELECT count FROM user_counts WHERE user_id = ?1 AND day = ?2",
    [ST_USER_PRUNE] = "DELETE FROM user_counts WHERE day < ?1",
    [ST_MODEL_INSERT] = "INSERT INTO models (version, kind, parent, status, created_at, samples,"
                        " users, metrics) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    [ST_MODEL_UPDATE] = "UPDATE models SET kind = ?2, parent = ?3, status = ?4, created_at = ?5,"
                        " samples = ?6, users = ?7, metrics = ?8 WHERE version = ?1",
    [ST_MODEL_GET] = "SELECT " WF_STORE_MODEL_COLS " FROM models WHERE version = ?1",
    [ST_MODEL_LIST] = "SELECT " WF_STORE_MODEL_COLS " FROM models ORDER BY created_at, version",
    [ST_BEGIN] = "BEGIN IMMEDIATE",
    [ST_COMMIT] = "COMMIT",
    [ST_ROLLBACK] = "ROLLBACK",
};

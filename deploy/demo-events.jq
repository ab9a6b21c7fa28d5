# Turns conversation snapshots (data/demo/conversations.jsonl) into message
# events, one line per message: the conversation id (the Kafka key, so that a
# conversation's messages share a partition and stay in order), a tab, and the
# event as JSON. jq escapes tabs inside strings, so the first tab splits.
# Used by the one-shot producer of deploy/docker-compose.yml.
. as $c
| $c.conversation
| to_entries[]
| [
    $c.conversation_id,
    ({
      conversation_id: $c.conversation_id,
      turn: .key,
      role: .value.role,
      content: .value.content,
      user_id: $c.user_id,
      language: $c.language,
      model: $c.model
    } | tojson)
  ]
| join("\t")

#include "config/keys.h"

/* Phrase lists are matched by the filters against the lower-cased query, so
 * they are written in lower case. */
#define IMAGE_PHRASES                                                                                                    \
    "[\"generate an image\", \"generate a picture\", \"generate a photo\", \"create an image\", "                        \
    "\"create a picture\", \"draw a picture\", \"draw an image\", \"draw me\", "                                         \
    "\"paint a picture\", \"make an image\", \"make a picture\", \"text-to-image\", "                                    \
    "\"画一张\", \"画一幅\", \"画一个\", \"帮我画\", \"给我画\", \"生成图片\", \"生成一张图\", " \
    "\"生成图像\", \"做一张图\", \"绘制一张\"]"

#define WEB_PHRASES                                                                                             \
    "[\"search the web\", \"search online\", \"search the internet\", \"browse the web\", "                     \
    "\"browse the internet\", \"look it up online\", \"google it\", \"latest news\", "                          \
    "\"today's news\", \"current news\", \"搜索一下\", \"上网查\", \"联网搜索\", \"网上搜索\", " \
    "\"帮我搜\", \"帮我查一下最新\", \"最新新闻\", \"今天的新闻\"]"

#define IDENTITY_PHRASES                                                                                     \
    "[\"who are you\", \"what model are you\", \"which model are you\", \"are you chatgpt\", "               \
    "\"are you gpt\", \"what is your name\", \"what's your name\", \"who made you\", "                       \
    "\"who created you\", \"who developed you\", \"你是谁\", \"你是什么模型\", "                    \
    "\"你是哪个模型\", \"你叫什么\", \"你的名字\", \"谁开发了你\", \"谁创造了你\", " \
    "\"你是chatgpt\", \"你是gpt\"]"

#define UPLOAD_PHRASES                                                                               \
    "[\"uploaded\", \"attached file\", \"the attached\", \"attachment\", \"screenshot\", "           \
    "\"this image\", \"this picture\", \"this photo\", \"this pdf\", \"上传的\", \"上传了\", " \
    "\"截图\", \"附件\", \"这张图\", \"这个图片\", \"这张照片\", \"这个文件\"]"

#define AV_PHRASES                                                                                 \
    "[\"audio\", \"video\", \"voice message\", \"mp3\", \"mp4\", \"youtube video\", "              \
    "\"podcast\", \"recording\", \"音频\", \"视频\", \"语音\", \"录音\"]"

#define REFUSAL_MARKERS                                                                            \
    "[\"i cannot\", \"i can't\", \"i can not\", \"i'm unable\", \"i am unable\", \"i won't\", "    \
    "\"as an ai\", \"as a language model\", \"sorry\", \"i apologize\", "                          \
    "\"against my guidelines\", \"我无法\", \"我不能\", \"抱歉\", "                        \
    "\"对不起，我不能\", \"作为一个人工智能\", \"作为ai\"]"

const wf_config_key wf_keys_feedback[] = {
    WF_KEY_LIST("filter.languages", "[\"English\", \"Chinese\"]",
                "Languages kept (names as in WildChat); others are dropped."),
    WF_KEY_INT("filter.max_history_messages", "20", 0, WF_CFG_NO_MAX,
               "Candidates with more history messages before the query are dropped."),
    WF_KEY_INT("filter.min_response_words", "10", 0, WF_CFG_NO_MAX,
               "Responses with fewer words are dropped (non-CJK text)."),
    WF_KEY_INT("filter.min_response_cjk_chars", "10", 0, WF_CFG_NO_MAX,
               "Chinese or Japanese responses with fewer CJK characters are dropped."),
    WF_KEY_INT("filter.min_query_words", "5", 0, WF_CFG_NO_MAX,
               "Queries with fewer words are dropped (non-CJK text)."),
    WF_KEY_INT("filter.min_query_cjk_chars", "5", 0, WF_CFG_NO_MAX,
               "Chinese or Japanese queries with fewer CJK characters are dropped."),
    WF_KEY_INT("filter.max_text_words", "4096", 1, WF_CFG_NO_MAX,
               "Candidates whose history, query and response together exceed this many words "
               "(CJK characters count as words) are dropped."),
    WF_KEY_BOOL("filter.drop_urls", "true", "Drop queries that contain a URL."),
    WF_KEY_BOOL("filter.drop_pii", "true",
                "Drop queries that contain PII (e-mail addresses, phone numbers)."),
    WF_KEY_LIST("filter.image_generation", IMAGE_PHRASES,
                "Lower-case phrases marking a query as an image generation request (dropped)."),
    WF_KEY_LIST("filter.web_search", WEB_PHRASES,
                "Lower-case phrases marking a query as needing web search (dropped)."),
    WF_KEY_LIST("filter.identity", IDENTITY_PHRASES,
                "Lower-case phrases marking a query about the model's identity (dropped)."),
    WF_KEY_LIST("filter.uploaded_file", UPLOAD_PHRASES,
                "Lower-case phrases marking a query that refers to an uploaded file or "
                "screenshot (dropped)."),
    WF_KEY_LIST("filter.audio_video", AV_PHRASES,
                "Lower-case phrases marking a query about audio or video (dropped)."),
    WF_KEY_INT("hindsight.window", "2", 0, 10,
               "Later turns a neutral turn looks ahead for a positive label on the same topic; "
               "0 disables hindsight."),
    /* Default chosen on shared/data/arena.jsonl with bench_feedback_similarity
     * (n = 3): feedback messages 1-2 turns apart in one conversation against
     * pairs from two different conversations. At 0.25, 4.1% of the
     * different-conversation pairs pass (false topic matches) and 39.7% of the
     * same-conversation ones (median 0.185 vs 0.061); 0.20 lets 9% of the
     * former through, 0.30 keeps only 32% of the latter. Arena users often
     * change topic within a conversation, so the same-conversation rate is a
     * floor on the true same-topic recall. */
    WF_KEY_DOUBLE("hindsight.min_similarity", "0.25", 0, 1,
                  "Cosine similarity of the two feedback messages' n-gram vectors needed to "
                  "count them as the same topic."),
    WF_KEY_INT("hindsight.ngram", "3", 1, 8,
               "Character n-gram length of the hindsight similarity vectors."),
    WF_KEY_INT("refusal.max_chars", "300", 0, WF_CFG_NO_MAX,
               "Replies shorter than this many characters are checked for refusal markers."),
    WF_KEY_LIST("refusal.markers", REFUSAL_MARKERS,
                "Lower-case phrases marking a reply as a refusal, to be re-judged."),
    WF_KEY_INT("quota.per_user_per_day", "0", 0, WF_CFG_NO_MAX,
               "Samples kept per user per day at most; 0 means no quota."),
    WF_KEY_DOUBLE("sample.eval_fraction", "0.05", 0, 1,
                  "Fraction of samples put in the held-out eval split (by a hash of the id); a "
                  "stored sample keeps its split when this changes."),
    WF_KEY_STR("sample.template_file", "\"\"",
               "Template file for the model input text ({history}, {query}, {response}); "
               "empty means the built-in WildReward layout."),
    WF_KEY_STR("sample.topic", "\"\"",
               "Kafka topic every stored sample is also produced to (one JSON record keyed by "
               "the sample id, as `wildfeed export` writes it), for a fleet whose one trainer "
               "consumes it with input.shape sample; empty means none."),
    WF_KEY_END,
};

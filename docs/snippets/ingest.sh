#!/bin/sh
# Publish to Herald from a shell script: all it needs is the hub's Redis (REDIS_URL).
set -eu

# JSON shape: one "update" field holding what a JSON publish takes (an array = a batch).
redis-cli -u "$REDIS_URL" XADD herald:ingest '*' \
  update '{"topics":["https://example.com/jobs/42"],"type":"progress","data":{"done":3,"total":10}}'

# Form shape: the fields of a Mercure form publish (topic may repeat).
redis-cli -u "$REDIS_URL" XADD herald:ingest '*' \
  topic https://example.com/jobs/42 type progress data '{"done":10,"total":10}'

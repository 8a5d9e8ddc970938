#!/usr/bin/env bash
# The CDC poll source: a real PostgreSQL table changed while the generator
# polls it (inserts, updates, soft deletes, a restart in the middle, changes
# made while it is down), and a local HTTP endpoint (new, changed, deleted
# items, the endpoint down for a while).  Every change is published exactly
# once: the topic is read back and compared line by line.
source "$(dirname "$0")/../lib/common.sh"
new_db
start_mockkafka cdc_pg:2 cdc_http:2
dump() { "$TOOLS/kconsume" -b "$BOOTSTRAP" -t "$1" | cut -d' ' -f3- | sort; }
published() { grep -c 'event=change_published' "$1" 2>/dev/null || true; }
wait_published() {  # log, count
  local i
  for i in $(seq 1 100); do [ "$(published "$1")" -ge "$2" ] && return 0; sleep 0.1; done
  echo "  timed out waiting for $2 published changes (have $(published "$1"))"; return 1
}
poll_pg() {
  "$BIN/flinkpg-generator" -b "$BOOTSTRAP" --source postgres --topic cdc_pg --source-table customers \
    --source-cursor updated_at --source-soft-delete deleted --state-file "$T_TMP/pg.state" \
    --poll-interval-ms 100 2>>"$T_TMP/pg.log" &
  POLL_PID=$!
}

# ---- PostgreSQL ----
q "CREATE TABLE customers (id bigint PRIMARY KEY, name text, deleted boolean NOT NULL DEFAULT false,
   updated_at timestamptz NOT NULL DEFAULT clock_timestamp())"
q "INSERT INTO customers (id, name) VALUES (1, 'ann'), (2, 'ben')"
poll_pg
wait_published "$T_TMP/pg.log" 2
q "INSERT INTO customers (id, name) VALUES (3, 'cat')"
wait_published "$T_TMP/pg.log" 3
q "UPDATE customers SET name = 'ann2', updated_at = clock_timestamp() WHERE id = 1"
wait_published "$T_TMP/pg.log" 4
q "UPDATE customers SET deleted = true, updated_at = clock_timestamp() WHERE id = 2"
wait_published "$T_TMP/pg.log" 5
sleep 0.3  # a few idle polls: nothing is published again
kill -TERM $POLL_PID; wait $POLL_PID
check_eq "poll source exits 0 on SIGTERM" 0 $?
# while it is down
q "UPDATE customers SET name = 'cat2', updated_at = clock_timestamp() WHERE id = 3"
q "INSERT INTO customers (id, name) VALUES (4, 'dan')"
poll_pg
wait_published "$T_TMP/pg.log" 7
q "UPDATE customers SET deleted = true, updated_at = clock_timestamp() WHERE id = 4"
q "INSERT INTO customers (id, name) VALUES (5, 'eve')"
wait_published "$T_TMP/pg.log" 9
sleep 0.3
kill -TERM $POLL_PID; wait $POLL_PID
got=$(dump cdc_pg | sed -E 's/,"updated_at":"[^"]*"//')
want=$(sort <<'W'
{"id":1} {"id":1,"name":"ann","deleted":false}
{"id":2} {"id":2,"name":"ben","deleted":false}
{"id":3} {"id":3,"name":"cat","deleted":false}
{"id":1} {"id":1,"name":"ann2","deleted":false}
{"id":2} null
{"id":3} {"id":3,"name":"cat2","deleted":false}
{"id":4} {"id":4,"name":"dan","deleted":false}
{"id":4} null
{"id":5} {"id":5,"name":"eve","deleted":false}
W
)
check_eq "postgres: every change published exactly once, across the restart" "$want" "$got"
check_eq "postgres: per key, the changes are in order on one partition" \
  '{"id":1} {"id":1,"name":"ann","deleted":false}|{"id":1} {"id":1,"name":"ann2","deleted":false}' \
  "$("$TOOLS/kconsume" -b "$BOOTSTRAP" -t cdc_pg | grep ' {"id":1} ' | cut -d' ' -f3- | sed -E 's/,"updated_at":"[^"]*"//' | paste -sd'|')"
check "postgres: the cursor survives in the state file" jq -e '.cursor != null' "$T_TMP/pg.state"
check "postgres: the restart resumed from the stored cursor" grep -q 'event=poll_starting .*cursor=.*20' "$T_TMP/pg.log"

# the source database down: retried with backoff, reported, then it catches up
"$BIN/flinkpg-generator" -b "$BOOTSTRAP" --source postgres --topic cdc_pg --source-postgres "host=127.0.0.1 port=1 dbname=x" \
  --source-table customers --source-cursor updated_at --state-file "$T_TMP/down.state" --poll-interval-ms 100 2>"$T_TMP/down.log" &
pid=$!; sleep 1.5; kill -TERM $pid; wait $pid
check "postgres unreachable: each failed attempt reported with its backoff" grep -q 'event=source_unavailable source=postgres attempt=3 retry_in_ms=' "$T_TMP/down.log"

# ---- HTTP ----
"$TOOLS/httpfile" --file "$T_TMP/items.json" --port-file "$T_TMP/httpport" >/dev/null 2>&1 &
T_PIDS+=($!)
for _ in $(seq 1 100); do [ -s "$T_TMP/httpport" ] && break; sleep 0.05; done
URL=http://127.0.0.1:$(cat "$T_TMP/httpport")/items
poll_http() {
  "$BIN/flinkpg-generator" -b "$BOOTSTRAP" --source http --topic cdc_http --source-url "$URL" \
    --source-items data --source-key sku --state-file "$T_TMP/http.state" --poll-interval-ms 100 2>>"$T_TMP/http.log" &
  POLL_PID=$!
}
items() { echo "{\"data\":[$1]}" > "$T_TMP/items.json.new"; mv "$T_TMP/items.json.new" "$T_TMP/items.json"; }
items '{"sku":"a","price":1},{"sku":"b","price":2}'
poll_http
wait_published "$T_TMP/http.log" 2
items '{"sku":"a","price":1},{"sku":"b","price":3},{"sku":"c","price":4}'
wait_published "$T_TMP/http.log" 4
kill -TERM $POLL_PID; wait $POLL_PID
items '{"price":3,"sku":"b"},{"sku":"c","price":4}'   # a deleted while down; b reordered, same content
poll_http
wait_published "$T_TMP/http.log" 5
rm "$T_TMP/items.json"                                  # the endpoint answers 503
sleep 0.8
items '{"sku":"c","price":5}'
wait_published "$T_TMP/http.log" 7
sleep 0.3
kill -TERM $POLL_PID; wait $POLL_PID
want=$(sort <<'W'
{"sku":"a"} {"sku":"a","price":1}
{"sku":"b"} {"sku":"b","price":2}
{"sku":"b"} {"sku":"b","price":3}
{"sku":"c"} {"sku":"c","price":4}
{"sku":"a"} null
{"sku":"b"} null
{"sku":"c"} {"sku":"c","price":5}
W
)
check_eq "http: new, changed and deleted items published exactly once, across the restart" "$want" "$(dump cdc_http)"
check "http: a 503 is reported and retried" grep -q 'event=source_unavailable source=http attempt=1 .*HTTP 503' "$T_TMP/http.log"
check "http: recovery is reported" grep -q 'event=source_available source=http' "$T_TMP/http.log"
out=$("$BIN/flinkpg-generator" --source http --topic x --state-file "$T_TMP/x.state" --source-key id 2>&1); rc=$?
check "http without --source-url names the flag" test "$rc" = 2 -a -n "$(grep -- '--source-url' <<< "$out")"
echo 'not json' > "$T_TMP/bad.state"
out=$("$BIN/flinkpg-generator" -b "$BOOTSTRAP" --source http --topic x --source-url "$URL" --source-key id --state-file "$T_TMP/bad.state" 2>&1); rc=$?
check "a corrupt state file is refused, naming it" test "$rc" = 2 -a -n "$(grep -- 'bad.state is not a flinkpg poll state' <<< "$out")"

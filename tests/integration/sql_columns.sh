#!/usr/bin/env bash
# The demo's result has one column list, written in many places: the
# PostgreSQL table (sql/postgres/orders_shipments.sql, the reference), every
# Flink and Confluent result table, the join view, the JDBC reference, and the
# C side (DEMO_TABLE_COLUMNS, the generator's expected table).  Each must name
# the same 11 columns in the same order.
source "$(dirname "$0")/../lib/common.sh"
S=$ROOT/sql
# the columns of the first CREATE TABLE in a file that has order_updated_at
table_cols() {
  awk 'BEGIN { IGNORECASE = 1 }
       /^CREATE TABLE/ { buf = ""; intab = 1; next }
       intab && /^\)/ { if (buf ~ /order_updated_at/) { print buf; exit } intab = 0; next }
       intab && $1 !~ /^(PRIMARY|WATERMARK|--|CONSTRAINT)/ && NF { c = $1; sub(/,$/, "", c); buf = buf (buf ? " " : "") c }' "$1"
}
ref=$(table_cols "$S/postgres/orders_shipments.sql")
check_eq "reference: 11 columns in sql/postgres/orders_shipments.sql" 11 "$(wc -w <<< "$ref")"
for f in flink/append.sql flink/retract.sql flink/upsert.sql flink/jdbc.sql \
         confluent/append.sql confluent/retract.sql confluent/upsert.sql; do
  check_eq "sql/$f: the result table's columns" "$ref" "$(table_cols "$S/$f")"
done
# the join view: the names after AS (or the bare o./s. column)
view_cols() {
  awk '/^CREATE (TEMPORARY )?VIEW orders_shipments/ { v = 1; next }
       v && /^FROM/ { print buf; exit }
       v && /^SELECT/ { next }
       v { line = $0; sub(/,[ \t]*$/, "", line); n = split(line, w, /[ \t]+/); c = w[n]; sub(/^[a-z]+\./, "", c)
           buf = buf (buf ? " " : "") c }' "$1"
}
check_eq "sql/flink/sources.sql: the join view's columns" "$ref" "$(view_cols "$S/flink/sources.sql")"
# C: DEMO_TABLE_COLUMNS (the controller's sink table, the generator's expected table)
c_cols=$(awk '/#define DEMO_TABLE_COLUMNS/ { on = 1 } on { print; if ($0 !~ /\\$/) exit }' "$ROOT/common/validate.h" |
         grep -o '"[^"]*"' | tr -d '"\n' | sed 's/([^)]*)//g' | tr ',' '\n' | awk '{print $1}' | tr '\n' ' ' | sed 's/ $//')
check_eq "common/validate.h DEMO_TABLE_COLUMNS" "$ref" "$c_cols"
# the generator writes its expected table with these columns (a real table, read back)
new_db
"$BIN/flinkpg-generator" --progress never --dry-run --orders 3 --target-table cols 2>/dev/null
check_eq "flinkpg-generator's expected table, as PostgreSQL holds it" "$ref" \
  "$(q "SELECT string_agg(attname, ' ' ORDER BY attnum) FROM pg_attribute WHERE attrelid = 'expected_cols'::regclass AND attnum > 0 AND NOT attisdropped")"
# and psql's table from the reference file is what C creates: names and types
psql -X -q -v ON_ERROR_STOP=1 -v table=ref_cols -f "$S/postgres/orders_shipments.sql" >/dev/null
check_eq "types: the reference table equals the generator's expected table" \
  "$(q "SELECT string_agg(format_type(atttypid, atttypmod), ',' ORDER BY attnum) FROM pg_attribute WHERE attrelid = 'ref_cols'::regclass AND attnum > 0")" \
  "$(q "SELECT string_agg(format_type(atttypid, atttypmod), ',' ORDER BY attnum) FROM pg_attribute WHERE attrelid = 'expected_cols'::regclass AND attnum > 0 AND NOT attisdropped")"

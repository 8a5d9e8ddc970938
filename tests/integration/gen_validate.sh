#!/usr/bin/env bash
# The validation queries count each kind of damage exactly, and sql/validate.sql
# (psql) and common/validate.c (through flinkpg-generator --validate) agree on
# every number.
source "$(dirname "$0")/../lib/common.sh"
new_db
gen() { "$BIN/flinkpg-generator" --progress never "$@"; }
gen --dry-run --orders 40 --seed 5 --target-table t_ok 2>"$T_TMP/gen.log"
check_eq "expected table written" 0 $?
n=$(q "SELECT count(*) FROM expected_t_ok")
psql_validate() {  # target expected → "rows_expected|…|verdict"
  psql -X -A -t -q -v ON_ERROR_STOP=1 -v target="$1" -v expected="$2" -f "$ROOT/sql/validate.sql"
}
c_validate() {  # the same numbers from C, as "…|verdict"
  gen --validate --target-table "$1" --expected-table "$2" 2>/dev/null |
    sed -E 's/[a-z_]+=//g; s/ /|/g'
}
# a correct copy, and one table per damage kind
mk() { q "CREATE TABLE $1 (LIKE expected_t_ok)"; q "INSERT INTO $1 SELECT * FROM expected_t_ok"; }
mk t_ok
mk t_missing;    q "DELETE FROM t_missing WHERE (order_id, shipment_id) IN (SELECT order_id, shipment_id FROM t_missing ORDER BY 1, 2 LIMIT 2)"
mk t_extra;      q "INSERT INTO t_extra (order_id, shipment_id, customer) VALUES (9001, 0, 'ghost'), (9002, 5, 'ghost'), (9002, 5, 'ghost')"
mk t_wrong;      q "UPDATE t_wrong SET amount = amount + 1 WHERE (order_id, shipment_id) IN (SELECT order_id, shipment_id FROM t_wrong ORDER BY 1, 2 LIMIT 3)"
mk t_nullwrong;  q "UPDATE t_nullwrong SET carrier = NULL WHERE carrier IS NOT NULL AND (order_id, shipment_id) = (SELECT order_id, shipment_id FROM t_nullwrong WHERE carrier IS NOT NULL ORDER BY 1, 2 LIMIT 1)"
mk t_dup;        q "INSERT INTO t_dup SELECT * FROM expected_t_ok ORDER BY 1, 2 LIMIT 1"
                 q "INSERT INTO t_dup SELECT * FROM expected_t_ok ORDER BY 1, 2 LIMIT 1"
                 q "INSERT INTO t_dup SELECT order_id, shipment_id, 'stale', product, quantity, amount, order_status, carrier, shipment_status, order_updated_at, shipment_updated_at FROM expected_t_ok ORDER BY 1, 2 OFFSET 1 LIMIT 1"
# stale copy only: a key whose single row is wrong AND duplicated wrongly
mk t_dupwrong;   q "UPDATE t_dupwrong SET order_status = 'OLD' WHERE (order_id, shipment_id) = (SELECT order_id, shipment_id FROM t_dupwrong ORDER BY 1, 2 LIMIT 1)"
                 q "INSERT INTO t_dupwrong SELECT * FROM t_dupwrong ORDER BY 1, 2 LIMIT 1"
# numbers: rows_expected|rows_present|missing|unexpected|wrong_values|duplicate_keys|surplus_rows|verdict
declare -A want=(
  [t_ok]="$n|$n|0|0|0|0|0|PASS"
  [t_missing]="$n|$((n-2))|2|0|0|0|0|FAIL"
  [t_extra]="$n|$((n+3))|0|2|0|1|1|FAIL"
  [t_wrong]="$n|$n|0|0|3|0|0|FAIL"
  [t_nullwrong]="$n|$n|0|0|1|0|0|FAIL"
  [t_dup]="$n|$((n+3))|0|0|0|2|3|FAIL"
  [t_dupwrong]="$n|$((n+1))|0|0|1|1|1|FAIL"
)
for t in t_ok t_missing t_extra t_wrong t_nullwrong t_dup t_dupwrong; do
  check_eq "$t: sql/validate.sql" "${want[$t]}" "$(psql_validate "$t" expected_t_ok)"
  check_eq "$t: common/validate.c" "${want[$t]}" "$(c_validate "$t" expected_t_ok)"
done
gen --validate --target-table t_ok --expected-table expected_t_ok >/dev/null 2>&1
check_eq "--validate exits 0 on PASS" 0 $?
gen --validate --target-table t_wrong --expected-table expected_t_ok >/dev/null 2>&1
check_eq "--validate exits 1 on FAIL" 1 $?
gen --validate --target-table t_ok >/dev/null 2>&1
check_eq "--validate defaults the expected table to expected_<target>" 0 $?
out=$(gen --validate --target-table nosuch --expected-table expected_t_ok 2>&1); rc=$?
check_eq "--validate on a missing table exits 2" 2 "$rc"
check "--validate on a missing table says which, with PostgreSQL's message" \
  grep -q 'validating nosuch against expected_t_ok: ERROR:  relation \\"nosuch\\" does not exist' <<< "$out"
# psql without -v: the defaults the file names (orders_shipments, expected_<target>)
mk orders_shipments
q "CREATE TABLE expected_orders_shipments (LIKE expected_t_ok)"
q "INSERT INTO expected_orders_shipments SELECT * FROM expected_t_ok"
check_eq "sql/validate.sql without -v: orders_shipments against expected_orders_shipments" "$n|$n|0|0|0|0|0|PASS" \
  "$(psql -X -A -t -q -v ON_ERROR_STOP=1 -f "$ROOT/sql/validate.sql")"
check_eq "sql/validate.sql with only -v target=t_wrong: against expected_t_wrong" "$n|$n|0|0|0|0|0|PASS" \
  "$(q "CREATE TABLE expected_t_wrong AS SELECT * FROM t_wrong" &&
     psql -X -A -t -q -v ON_ERROR_STOP=1 -v target=t_wrong -f "$ROOT/sql/validate.sql")"

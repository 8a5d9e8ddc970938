# Deterministic orders/shipments test data for the end-to-end tests, and the
# table the demo's join (sql/flink/sources.sql, view orders_shipments) must
# end with.  A stand-in until flinkpg-generator lands; same wire format:
#   key {"order_id":N} / {"shipment_id":N}, value = the row as JSON or null.
#
#   awk -v n=200 -v phase=1 -f data.awk   phase 1: inserts          (kproduce JSON lines)
#   awk -v n=200 -v phase=2 -f data.awk   phase 2: updates, deletes (kproduce JSON lines)
#   awk -v n=200 -v phase=expected -f data.awk   expected rows, tab-separated (COPY)
#
# Output lines carry the topic first: "orders<TAB>{json}"; the caller splits.
# Rules (i = 1..n):
#   order i: customer c(i%17), product p(i%5), quantity i%4+1, amount i*7%100 + .5
#   shipments of order i: i%3 of them, ids 10000+3i+j, carriers dhl/ups/fedex
#   i%10==0: one shipment for the unknown order 100000+i (must produce nothing)
#   phase 2: i%4==0 order PAID, amount +1;  i%5==0 first shipment DELIVERED;
#            i%4==2 (with two shipments) second shipment deleted; i%7==0 order deleted
function ts(sec) { return sprintf("2024-05-01T%02d:%02d:%02dZ", int(sec / 3600) % 24, int(sec / 60) % 60, sec % 60) }
function order_json(i, status, amount, upd) {
  return sprintf("{\"order_id\":%d,\"customer\":\"c%d\",\"product\":\"p%d\",\"quantity\":%d,\"amount\":%.2f,\"status\":\"%s\",\"created_at\":\"%s\",\"updated_at\":\"%s\"}",
                 i, i % 17, i % 5, i % 4 + 1, amount, status, ts(i), ts(upd))
}
function ship_json(s, o, carrier, status, crt, upd) {
  return sprintf("{\"shipment_id\":%d,\"order_id\":%d,\"carrier\":\"%s\",\"status\":\"%s\",\"created_at\":\"%s\",\"updated_at\":\"%s\"}",
                 s, o, carrier, status, ts(crt), ts(upd))
}
BEGIN {
  split("dhl ups fedex", carrier, " ")
  for (i = 1; i <= n; i++) {
    amount = (i * 7) % 100 + 0.5
    if (phase == 1) {
      printf "orders\t{\"k\":{\"order_id\":%d},\"v\":%s}\n", i, order_json(i, "NEW", amount, i)
      for (j = 1; j <= i % 3; j++) {
        s = 10000 + 3 * i + j
        printf "shipments\t{\"k\":{\"shipment_id\":%d},\"v\":%s}\n", s, ship_json(s, i, carrier[j], "CREATED", 3600 + i, 3600 + i)
      }
      if (i % 10 == 0)
        printf "shipments\t{\"k\":{\"shipment_id\":%d},\"v\":%s}\n", 90000 + i, ship_json(90000 + i, 100000 + i, "dhl", "CREATED", 3600 + i, 3600 + i)
    } else if (phase == 2) {
      if (i % 4 == 0)
        printf "orders\t{\"k\":{\"order_id\":%d},\"v\":%s}\n", i, order_json(i, "PAID", amount + 1, 7200 + i)
      if (i % 5 == 0 && i % 3 >= 1)
        printf "shipments\t{\"k\":{\"shipment_id\":%d},\"v\":%s}\n", 10000 + 3 * i + 1, ship_json(10000 + 3 * i + 1, i, carrier[1], "DELIVERED", 3600 + i, 10800 + i)
      if (i % 4 == 2 && i % 3 == 2)
        printf "shipments\t{\"k\":{\"shipment_id\":%d},\"v\":null}\n", 10000 + 3 * i + 2
      if (i % 7 == 0)
        printf "orders\t{\"k\":{\"order_id\":%d},\"v\":null}\n", i
    } else {
      if (i % 7 == 0) continue
      status = i % 4 == 0 ? "PAID" : "NEW"
      oupd = i % 4 == 0 ? 7200 + i : i
      if (i % 4 == 0) amount += 1
      live = 0
      for (j = 1; j <= i % 3; j++) {
        if (j == 2 && i % 4 == 2) continue
        sst = (j == 1 && i % 5 == 0) ? "DELIVERED" : "CREATED"
        supd = (j == 1 && i % 5 == 0) ? 10800 + i : 3600 + i
        printf "%d\t%d\tc%d\tp%d\t%d\t%.2f\t%s\t%s\t%s\t%s\t%s\n", i, 10000 + 3 * i + j, i % 17, i % 5, i % 4 + 1, amount, status, carrier[j], sst, ts(oupd), ts(supd)
        live++
      }
      if (!live)
        printf "%d\t0\tc%d\tp%d\t%d\t%.2f\t%s\t\\N\t\\N\t%s\t\\N\n", i, i % 17, i % 5, i % 4 + 1, amount, status, ts(oupd)
    }
  }
}

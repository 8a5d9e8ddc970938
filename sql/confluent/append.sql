-- flinkpg: Confluent Cloud for Apache Flink — APPEND mode.  Submit after sources.sql.
--
-- Placeholders: ${orders_topic}, ${shipments_topic}, ${output_topic}
--
-- An append table accepts only inserts, so the join must be insert-only.  A LEFT JOIN,
-- or any join over the upsert tables of sources.sql, retracts rows, so this file declares
-- append-mode tables over the same two topics (every record an insert, tombstones
-- skipped) and INNER JOINs them: every version of an order meets every version of its
-- shipments, and each meeting is appended (the "every version piles up" result).
-- NOTE: 'kafka.topic' (a second table over an existing topic) is the one option here not
-- checked against a running Confluent Cloud; if your environment refuses it, point the
-- generator at separate *_log topics instead.
--
-- What lands on the topic ('changelog.mode' = 'append'): key = wire header +
-- {"order_id":…,"shipment_id":…}, value = wire header + the row; no header; never deleted.
-- Apply with: flinkpg-sink --encoding append --key-format registry --value-format registry

CREATE TABLE IF NOT EXISTS `${orders_topic}_log` (
  order_id    BIGINT,
  customer    STRING,
  product     STRING,
  quantity    INT,
  amount      DECIMAL(12, 2),
  status      STRING,
  created_at  TIMESTAMP_LTZ(3),
  updated_at  TIMESTAMP_LTZ(3)
) WITH (
  'changelog.mode' = 'append',
  'kafka.topic' = '${orders_topic}',
  'value.format' = 'json-registry',
  'scan.startup.mode' = 'earliest-offset'
);

CREATE TABLE IF NOT EXISTS `${shipments_topic}_log` (
  shipment_id BIGINT,
  order_id    BIGINT,
  carrier     STRING,
  status      STRING,
  created_at  TIMESTAMP_LTZ(3),
  updated_at  TIMESTAMP_LTZ(3)
) WITH (
  'changelog.mode' = 'append',
  'kafka.topic' = '${shipments_topic}',
  'value.format' = 'json-registry',
  'scan.startup.mode' = 'earliest-offset'
);

CREATE TABLE IF NOT EXISTS `${output_topic}` (
  order_id            BIGINT NOT NULL,
  shipment_id         BIGINT NOT NULL,
  customer            STRING,
  product             STRING,
  quantity            INT,
  amount              DECIMAL(12, 2),
  order_status        STRING,
  carrier             STRING,
  shipment_status     STRING,
  order_updated_at    TIMESTAMP_LTZ(3),
  shipment_updated_at TIMESTAMP_LTZ(3)
) DISTRIBUTED BY HASH(order_id, shipment_id) INTO 1 BUCKETS
WITH (
  'changelog.mode' = 'append',
  'key.format' = 'json-registry',
  'value.format' = 'json-registry',
  'value.fields-include' = 'all'
);

INSERT INTO `${output_topic}`
SELECT
  o.order_id, s.shipment_id, o.customer, o.product, o.quantity, o.amount,
  o.status AS order_status, s.carrier, s.status AS shipment_status,
  o.updated_at AS order_updated_at, s.updated_at AS shipment_updated_at
FROM `${orders_topic}_log` AS o
JOIN `${shipments_topic}_log` AS s
  ON o.order_id = s.order_id;

-- flinkpg: Confluent Cloud for Apache Flink — APPEND mode.  Submit after sources.sql.
--
-- Placeholders: ${orders_topic}, ${shipments_topic}, ${output_topic}
--
-- An append table accepts only inserts, so the join must be insert-only.  A LEFT JOIN,
-- or any join over the upsert tables of sources.sql, retracts rows.  In Confluent Cloud a
-- table owns the topic of its name (there is no option naming another topic: the
-- connector's topic option is internal), so this file reads the same two tables as
-- insert-only logs by switching their changelog mode -- a table option, which
-- ALTER TABLE ... SET changes (docs.confluent.io/cloud/current/flink/reference/
-- statements/alter-table.html, "SET (key1='value1' ...)"; the option: create-table.html,
-- "changelog.mode") -- and INNER JOINs them: every version of an order meets every
-- version of its shipments, and each meeting is appended (the "every version piles up"
-- result).  This changes the two tables for every later query, and deleting these
-- statements does not change them back: give an append run source topics of its own.
-- Checked only against the published docs and the stand-in; a tombstone read in append
-- mode is the part not seen on a running Confluent Cloud.
--
-- What lands on the topic ('changelog.mode' = 'append'): key = wire header +
-- {"order_id":…,"shipment_id":…}, value = wire header + the row; no header; never deleted.
-- Apply with: flinkpg-sink --encoding append --key-format registry --value-format registry

ALTER TABLE `${orders_topic}` SET ('changelog.mode' = 'append');

ALTER TABLE `${shipments_topic}` SET ('changelog.mode' = 'append');

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
FROM `${orders_topic}` AS o
JOIN `${shipments_topic}` AS s
  ON o.order_id = s.order_id;

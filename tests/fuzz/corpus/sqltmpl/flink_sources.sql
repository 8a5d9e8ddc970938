-- flinkpg: Apache Flink SQL — the demo's source tables and the join (run first, in the
-- same SQL Gateway session as one of the sink files: upsert.sql, retract.sql, jdbc.sql).
--
-- Placeholders (substituted as plain text before submission):
--   ${orders_topic}     Kafka topic with the orders events         (default: orders)
--   ${shipments_topic}  Kafka topic with the shipments events      (default: shipments)
--   ${bootstrap}        Kafka bootstrap servers, host:port[,...]   (e.g. 127.0.0.1:19092)
--   ${kafka_options}    extra Kafka client options for every Kafka table, each one
--                       followed by a comma, or empty for PLAINTEXT. For SASL/PLAIN:
--                         'properties.security.protocol' = 'SASL_PLAINTEXT',
--                         'properties.sasl.mechanism' = 'PLAIN',
--                         'properties.sasl.jaas.config' = 'org.apache.kafka.common.security.plain.PlainLoginModule required username="u" password="p";',
--                       (class name unshaded: the peer uses flink-connector-kafka, not the
--                       shaded flink-sql-connector-kafka bundle, whose name would be
--                       org.apache.flink.kafka.shaded.org.apache.kafka...PlainLoginModule)
--
-- Wire format the generator writes (and these tables read):
--   key   = JSON object with the id:  {"order_id":1}   /  {"shipment_id":7}
--   value = JSON object with every column (the id repeated), or null (tombstone = delete)
--   timestamps = ISO-8601 UTC with a Z, e.g. "2024-05-01T10:00:00Z" or "2024-05-01T10:00:00.123Z"
--   numbers: quantity integer, amount a JSON number (DECIMAL(12,2))
--
-- Why upsert-kafka sources: the topics are keyed changelogs (a later event for the same
-- key replaces the earlier one; a tombstone deletes the key). upsert-kafka reads exactly
-- that: "latest version of each key, deletions honoured". Out-of-order arrival across
-- topics (a shipment before its order) is handled by the join's state.
--
-- THE JOIN: view orders_shipments below is the definition of the demo's result table.
-- The generator's expected-table computation must implement exactly this meaning:
--   one row per (order, shipment of that order); an order without shipments gives one
--   row with shipment_id = 0 and NULL shipment columns (0 because a primary-key column
--   can hold no NULL, in Flink or in PostgreSQL); a deleted order removes its rows; a
--   deleted shipment removes its row (and the order falls back to the shipment_id = 0
--   row when it was the last one); shipments whose order is unknown produce nothing.
-- Result key: (order_id, shipment_id).
-- The generator's implementation of this meaning is generator/expected.c (it writes the
-- expected final table, expected_<target>, that sql/validate.sql compares against);
-- change the two together.

SET 'table.local-time-zone' = 'UTC';

CREATE TABLE orders (
  order_id    BIGINT,
  customer    STRING,
  product     STRING,
  quantity    INT,
  amount      DECIMAL(12, 2),
  status      STRING,
  created_at  TIMESTAMP_LTZ(3),
  updated_at  TIMESTAMP_LTZ(3),
  PRIMARY KEY (order_id) NOT ENFORCED
) WITH (
  'connector' = 'upsert-kafka',
  'topic' = '${orders_topic}',
  ${kafka_options}
  'properties.bootstrap.servers' = '${bootstrap}',
  'key.format' = 'json',
  'value.format' = 'json',
  'value.fields-include' = 'ALL',
  'value.json.timestamp-format.standard' = 'ISO-8601'
);

CREATE TABLE shipments (
  shipment_id BIGINT,
  order_id    BIGINT,
  carrier     STRING,
  status      STRING,
  created_at  TIMESTAMP_LTZ(3),
  updated_at  TIMESTAMP_LTZ(3),
  PRIMARY KEY (shipment_id) NOT ENFORCED
) WITH (
  'connector' = 'upsert-kafka',
  'topic' = '${shipments_topic}',
  ${kafka_options}
  'properties.bootstrap.servers' = '${bootstrap}',
  'key.format' = 'json',
  'value.format' = 'json',
  'value.fields-include' = 'ALL',
  'value.json.timestamp-format.standard' = 'ISO-8601'
);

CREATE TEMPORARY VIEW orders_shipments AS
SELECT
  o.order_id,
  COALESCE(s.shipment_id, CAST(0 AS BIGINT)) AS shipment_id,
  o.customer,
  o.product,
  o.quantity,
  o.amount,
  o.status       AS order_status,
  s.carrier,
  s.status       AS shipment_status,
  o.updated_at   AS order_updated_at,
  s.updated_at   AS shipment_updated_at
FROM orders AS o
LEFT JOIN shipments AS s
  ON o.order_id = s.order_id;

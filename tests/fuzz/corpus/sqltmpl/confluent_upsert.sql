-- flinkpg: Confluent Cloud for Apache Flink — UPSERT mode.  Submit after sources.sql.
--
-- Placeholders: ${orders_topic}, ${shipments_topic}, ${output_topic} (the result table/topic)
--
-- What lands on the topic ('changelog.mode' = 'upsert', Schema Registry JSON):
--   key   = magic byte 0 + 4-byte schema id + {"order_id":1,"shipment_id":0}
--   value = magic byte 0 + schema id + the row WITHOUT the key columns (Confluent's default
--           value.fields-include = except-key: the sink merges key and value);
--           a tombstone (null value) for a delete; update-before is never written.
-- Apply with: flinkpg-sink --encoding upsert --key-format registry --value-format registry

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
  shipment_updated_at TIMESTAMP_LTZ(3),
  PRIMARY KEY (order_id, shipment_id) NOT ENFORCED
) WITH (
  'changelog.mode' = 'upsert',
  'key.format' = 'json-registry',
  'value.format' = 'json-registry'
);

INSERT INTO `${output_topic}`
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
FROM `${orders_topic}` AS o
LEFT JOIN `${shipments_topic}` AS s
  ON o.order_id = s.order_id;

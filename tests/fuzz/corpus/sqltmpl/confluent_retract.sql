-- flinkpg: Confluent Cloud for Apache Flink — RETRACT mode.  Submit after sources.sql.
--
-- Placeholders: ${orders_topic}, ${shipments_topic}, ${output_topic} (the result table/topic)
--
-- What lands on the topic ('changelog.mode' = 'retract', Schema Registry JSON):
--   key   = wire header + {"order_id":1,"shipment_id":0}  (DISTRIBUTED BY: the Kafka key)
--   value = wire header + the FULL row, for every kind (-U and -D included)
--   header "op" = one byte: 0 = +I, 1 = -U, 2 = +U, 3 = -D (no header = +I)
-- Apply with: flinkpg-sink --encoding retract --key-format registry --value-format registry
-- (A retract table takes no PRIMARY KEY here: the key only distributes; the row kind
-- travels in the header.)

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
  'changelog.mode' = 'retract',
  'key.format' = 'json-registry',
  'value.format' = 'json-registry',
  'value.fields-include' = 'all'
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

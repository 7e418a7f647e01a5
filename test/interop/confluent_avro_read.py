"""Reads a topic written by @topicflow/avro with Confluent's own Python client and AvroDeserializer.

Interop check, run by hand (not part of npm test, it needs PyPI packages):
  python3 -m venv /tmp/pyenv && /tmp/pyenv/bin/pip install "confluent-kafka[avro]"
  /tmp/pyenv/bin/python test/interop/confluent_avro_read.py BOOTSTRAP REGISTRY_URL TOPIC EXPECTED_COUNT
Prints one JSON line: records read, decoded, schema ids seen, and a sample.
"""
import json
import sys

from confluent_kafka import Consumer, TopicPartition
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer
from confluent_kafka.serialization import MessageField, SerializationContext

bootstrap, registry_url, topic, expected = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
registry = SchemaRegistryClient({"url": registry_url})
values = AvroDeserializer(registry)
keys = AvroDeserializer(registry)
consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"{topic}-python", "auto.offset.reset": "earliest", "enable.auto.commit": False})
metadata = consumer.list_topics(topic, timeout=10)
consumer.assign([TopicPartition(topic, p, 0) for p in metadata.topics[topic].partitions])
decoded, ids, sample, empty_polls = [], set(), None, 0
while len(decoded) < expected and empty_polls < 20:
    message = consumer.poll(1.0)
    if message is None:
        empty_polls += 1
        continue
    if message.error():
        raise SystemExit(str(message.error()))
    ids.add(int.from_bytes(message.value()[1:5], "big"))
    order = values(message.value(), SerializationContext(topic, MessageField.VALUE))
    store = keys(message.key(), SerializationContext(topic, MessageField.KEY))
    assert store == order["storeId"], (store, order["storeId"])
    decoded.append(order)
    sample = sample or order
consumer.close()
unique = len({o["orderId"] for o in decoded})
print(json.dumps({"read": len(decoded), "uniqueOrderIds": unique, "schemaIds": sorted(ids), "sample": sample}, default=str))
sys.exit(0 if len(decoded) == expected == unique else 1)

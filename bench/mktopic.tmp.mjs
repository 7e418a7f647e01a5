import kafkajs from 'kafkajs'
const admin = new kafkajs.Kafka({ brokers: process.env.B.split(','), logLevel: 0 }).admin()
await admin.connect()
await admin.createTopics({ topics: [{ topic: process.argv[2], numPartitions: 6, replicationFactor: 3 }], waitForLeaders: true })
await admin.disconnect()

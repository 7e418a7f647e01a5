export { avroSerializer, AvroValidationError, type AvroSerializerOptions, type AvroSchemaSource, type SubjectNameStrategy } from './avroSerializer.js'
export { avroDeserializer, AvroDecodeError, type AvroDeserializerOptions } from './avroDeserializer.js'
export { RegistryClient, SchemaRegistryError, IncompatibleSchemaError, type RegistryConnection } from './registryClient.js'
export type { AvroType } from './avroType.js'

export {
  avroSerializer,
  AvroValidationError,
  SchemaRegistryError,
  IncompatibleSchemaError,
  type AvroSerializerOptions,
  type AvroSchemaSource,
  type SubjectNameStrategy,
  type RegistryConnection,
} from './avroSerializer.js'

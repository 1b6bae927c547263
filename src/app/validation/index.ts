// Typed validation and OpenAPI: schemas (any Standard Schema validator) for a route's inputs and its
// response, the 422 problem+json answer, the compiled response serializer, and the OpenAPI 3.1 document
// built from the rules and the schemas, with its docs page.
//
// A feature layer: imports the wrappers, the routing layer, the request context and the files layer
// (to send the docs page's assets); the Phial class only as a type.

export { type JsonSchema, type JsonSchemaConverter, jsonSchemaOf } from "./json-schema.ts";
export {
  type OpenAPIDocument,
  type OpenAPIOptions,
  openAPIOptionsOf,
  openapiDocument,
  type ServeOpenAPIOptions,
  serveOpenAPI,
} from "./openapi.ts";
export {
  MAX_LISTED_ISSUES,
  ValidationError,
  type ValidationIssue,
  type ValidationProblem,
} from "./problem.ts";
export { hasSchemas, validatedHandler } from "./route.ts";
export { compileSerializer, type Serializer } from "./serialize.ts";
export type {
  InputName,
  RouteDocs,
  RouteSchemas,
  Schema,
  StandardSchemaV1,
  TypedResult,
  ValidOf,
} from "./types.ts";

// Typed validation and OpenAPI: schemas (any Standard Schema validator) for a route's inputs and its
// response, the 422 problem+json answer, the compiled response serializer, and the OpenAPI 3.1 document
// built from the rules and the schemas, with its docs page.
//
// May import the wrappers, the routing layer (rule types), the request context (async validation runs
// the handler inside it) and the files layer (to send the docs page's assets); nothing from dispatch or
// app (the Phial type only). app.ts wraps a route's handler here when its options have schemas.

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

package api

import _ "embed"

// openAPIDocument is the OpenAPI 3 description of the API, served at /api/v1/openapi.json.
// TestOpenAPIMatchesRoutes keeps it and routes in step.
//
//go:embed openapi.json
var openAPIDocument []byte

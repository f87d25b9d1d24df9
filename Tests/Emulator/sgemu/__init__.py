"""southgate emulator: a local implementation of the server side of the Insights Hub
Agent Management API, as described in docs/protocol.md.

Modules, one concern each:
  jose       base64url, JWT signing/verification, JWK <-> RSA keys
  tls        the emulator's CA and server certificate
  state      settings, agents and their credentials, persistence
  issuer     the tokens the emulator mints (IAT, RAT, access token)
  errors     the two error-body families (IAM and management)
  auth       Bearer parsing, access-token and admin-token checks
  register   POST /register and PUT /register/{id}
  token      POST /oauth/token, GET /oauth/token_key(s)
  dsc        GET|PUT /agents/{id}/dataSourceConfiguration
  boarding   /agents/{id}/boarding/{status,offboard,configuration}
  mindconnect  POST /api/mindconnect/v3/exchange (items stored or dropped), /dataPointMappings
  multipart  strict multipart/mixed + multipart/related parsing (both framings)
  datastore  what the exchange stored; exchange records, activations, recoverable records
  diagnostics  /diagnosticActivations, /recoverableRecords
  faults     fault injection table
  requestlog the log of requests tests assert on
  admin      the /_admin/ API
  routes     path -> handler table
  messages   Request / Response values
  app        what a handler can reach: state, settings, faults, request log
  server     HTTP/1.1 + TLS server, dispatch, fault application
  files      atomic file writes
"""

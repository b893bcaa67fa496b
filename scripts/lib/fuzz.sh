# Sourced by scripts/test: runs schemathesis against the server's OpenAPI document
# (scripts/fuzz-api), after the cargo tests have built the binary.

justiam_fuzz_api() {
  ./scripts/fuzz-api
}

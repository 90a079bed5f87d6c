// The OpenAPI document of the scoring endpoint, served at GET /v1/openapi.json. The same text
// is api/openapi.json in the repository; a test checks that the two are equal and that the
// document names exactly the fields the handlers write.
enum ScoringDocument {
    static let json = #"""
{
  "openapi": "3.1.0",
  "info": {
    "title": "Vigil synchronous scoring",
    "version": "1",
    "description": "Scores one card transaction with the same models and per-card state as the stream, writes the decision to the audit trail and answers with it (docs/api.md). A repeated event_id returns the stored decision, byte for byte, and writes nothing."
  },
  "paths": {
    "/v1/score": {
      "post": {
        "operationId": "score",
        "summary": "Decide one event",
        "requestBody": {
          "required": true,
          "content": {
            "application/json": {
              "schema": {
                "$ref": "#/components/schemas/Event"
              }
            }
          }
        },
        "responses": {
          "200": {
            "description": "The decision (stored before the answer with commit=durable).",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Decision"
                }
              }
            }
          },
          "400": {
            "description": "Not an event of the contract; `error` is the dead-letter reason code.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          },
          "429": {
            "description": "api.max_in_flight requests are already waiting.",
            "headers": {
              "Retry-After": {
                "description": "Seconds to wait before retrying.",
                "schema": {
                  "type": "integer",
                  "minimum": 0
                }
              }
            },
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          },
          "503": {
            "description": "Not ready (no model yet, partition not owned by this member, state rebuilding, stopping, database unreachable) or no answer within api.request_timeout_ms.",
            "headers": {
              "Retry-After": {
                "description": "Seconds to wait before retrying.",
                "schema": {
                  "type": "integer",
                  "minimum": 0
                }
              }
            },
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          }
        }
      }
    },
    "/v1/score/batch": {
      "post": {
        "operationId": "scoreBatch",
        "summary": "Decide up to api.max_batch_events events, one JSON object per line",
        "requestBody": {
          "required": true,
          "content": {
            "application/x-ndjson": {
              "schema": {
                "type": "string"
              }
            }
          }
        },
        "responses": {
          "200": {
            "description": "One result per line, in order.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/BatchResults"
                }
              }
            }
          },
          "400": {
            "description": "The batch is empty, too long or too large.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          }
        }
      }
    },
    "/v1/openapi.json": {
      "get": {
        "operationId": "openapi",
        "summary": "This document",
        "responses": {
          "200": {
            "description": "OpenAPI 3.1",
            "content": {
              "application/json": {
                "schema": {
                  "type": "object"
                }
              }
            }
          }
        }
      }
    }
  },
  "components": {
    "schemas": {
      "Event": {
        "type": "object",
        "description": "The event contract of the transactions topic (docs/features.md); unknown fields are ignored.",
        "required": [
          "event_id",
          "ts",
          "card_id",
          "merchant_id",
          "amount",
          "currency"
        ],
        "properties": {
          "event_id": {
            "type": "string"
          },
          "ts": {
            "oneOf": [
              {
                "type": "string",
                "format": "date-time"
              },
              {
                "type": "integer",
                "description": "epoch milliseconds"
              }
            ]
          },
          "card_id": {
            "type": "string"
          },
          "merchant_id": {
            "type": "string"
          },
          "amount": {
            "type": "number",
            "minimum": 0
          },
          "currency": {
            "type": "string"
          },
          "mcc": {
            "type": "string"
          },
          "country": {
            "type": "string"
          },
          "channel": {
            "type": "string"
          },
          "terminal_id": {
            "type": "string"
          },
          "customer_id": {
            "type": "string"
          },
          "features": {
            "type": "object",
            "additionalProperties": {
              "type": "number"
            }
          }
        }
      },
      "Decision": {
        "type": "object",
        "additionalProperties": false,
        "required": [
          "event_id",
          "decision",
          "risk",
          "anomaly_score",
          "fraud_probability",
          "model_version",
          "reasons",
          "decided_at"
        ],
        "properties": {
          "event_id": {
            "type": "string"
          },
          "decision": {
            "type": "string",
            "enum": [
              "allow",
              "review",
              "block"
            ]
          },
          "risk": {
            "type": "number",
            "minimum": 0,
            "maximum": 1
          },
          "anomaly_score": {
            "type": [
              "number",
              "null"
            ],
            "description": "Standardised reconstruction error of the autoencoder."
          },
          "fraud_probability": {
            "type": [
              "number",
              "null"
            ],
            "description": "The classifier's calibrated probability."
          },
          "model_version": {
            "type": "integer"
          },
          "reasons": {
            "type": "array",
            "items": {
              "$ref": "#/components/schemas/Reason"
            }
          },
          "decided_at": {
            "type": "string",
            "format": "date-time",
            "description": "decisions.decided_at, microseconds, UTC."
          }
        }
      },
      "Reason": {
        "type": "object",
        "additionalProperties": false,
        "required": [
          "kind",
          "name",
          "weight"
        ],
        "properties": {
          "kind": {
            "type": "string",
            "enum": [
              "reconstruction",
              "classifier",
              "rule",
              "shadow_rule"
            ]
          },
          "name": {
            "type": "string"
          },
          "weight": {
            "type": [
              "number",
              "null"
            ]
          }
        }
      },
      "Error": {
        "type": "object",
        "additionalProperties": false,
        "required": [
          "error",
          "message"
        ],
        "properties": {
          "error": {
            "type": "string",
            "description": "A dead-letter reason code (400), or overloaded, not_owner, not_ready, state_rebuilding, partition_halted, database_unavailable, not_committed, stopping, timeout.",
            "examples": [
              "payload_too_large",
              "invalid_utf8",
              "malformed_json",
              "nesting_too_deep",
              "duplicate_field",
              "missing_field",
              "wrong_type",
              "non_finite_number",
              "negative_amount",
              "invalid_timestamp",
              "invalid_value",
              "nul_character",
              "timestamp_out_of_range",
              "key_too_large",
              "invalid_key_utf8",
              "invalid_batch"
            ]
          },
          "message": {
            "type": "string"
          }
        }
      },
      "BatchResults": {
        "type": "object",
        "required": [
          "results"
        ],
        "properties": {
          "results": {
            "type": "array",
            "items": {
              "type": "object",
              "required": [
                "status"
              ],
              "properties": {
                "status": {
                  "type": "integer"
                },
                "decision": {
                  "$ref": "#/components/schemas/Decision"
                },
                "error": {
                  "type": "string"
                },
                "message": {
                  "type": "string"
                }
              }
            }
          }
        }
      }
    }
  }
}
"""#
}

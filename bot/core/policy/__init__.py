"""The policy language: models, loader with positioned errors, schema, evaluation."""

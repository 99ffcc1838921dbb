"""The GraphQL audit API at /graphql (architecture.md s3): the read models, with evidence."""

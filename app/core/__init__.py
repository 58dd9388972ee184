"""Domain-free building blocks: the model base, errors, schemas, auth, scope, jobs, time."""

"""HTTP routes, one module per resource. Thin: validate, check permission, run a store function."""

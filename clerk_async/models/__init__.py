"""attrs models (responses) and params (requests), one module per resource."""

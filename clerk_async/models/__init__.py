"""attrs models (responses) and params (requests), one module per resource.

Params are frozen: validated once when built, they cannot drift afterwards, and one object
can be sent, retried and reported safely. Response models are plain ``attrs.define``
classes: frozen ones cost about twice as much to build (every field goes through
``object.__setattr__``), which on a ``machines.update`` was 2-3 % of the client's CPU.
"""

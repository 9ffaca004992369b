"""The built-in datasets, one module each (:mod:`tdd.data.registry` lists them): each defines a
:class:`~tdd.data.registry.Source` and registers it."""

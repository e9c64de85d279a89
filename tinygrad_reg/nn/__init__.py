"""Neural-network building blocks: modules, layers, initialisers, and the functional face
(:mod:`tinygrad_reg.nn.functional`)."""

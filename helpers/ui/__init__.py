"""What a learner sees and touches: figures, widgets and a drawing canvas, thin wiring over plain functions.
The top layer: it may import from every other."""

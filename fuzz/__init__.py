"""emu's fuzzing campaigns (`make fuzz`): hostile inputs tried against emu, classed by outcome."""

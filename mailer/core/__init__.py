"""The pure core: no I/O, no clock. Everything here takes `now` as an argument."""

"""capture: run Seed jobs under Scale's input/output contract and capture their products."""

"""Dev-only scripts that extract `geodata/source/` from upstream packages (not used at runtime)."""

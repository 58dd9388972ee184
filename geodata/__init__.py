"""Chongqing administrative hierarchy: real district/township/village data plus synthetic tiling.

`geodata.build` turns the two committed files in `geodata/source/` into district, township,
village and grid GeoJSON layers; `geodata.extract` holds the dev-only scripts that made those
source files from their upstream packages.
"""

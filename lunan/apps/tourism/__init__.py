"""Tourism 同城化 (FACTS.md: 17 key scenic areas, 67 attractions, 6 red tourism routes).

registry.py   the scenic areas, attractions with full and local prices, red routes; pricing
residents.py  a synthetic resident registry per city (示例数据) and its CSV format
"""

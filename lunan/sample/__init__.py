"""The demo's sample data, written through each city's own API as its users would.

Facts from the source (FACTS.md) are kept exactly; everything invented is labelled 示例数据.
"""

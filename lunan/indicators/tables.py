"""Projection tables of the indicators: figure sets and their figures, as the events left them.

Numbers are decimal text (see lunan.indicators.events). Keyed by object id: a set is
`indicators/<city>/<year>` (a city's own) or `alliance-figures/<chair>/<year>` (the alliance's).
"""

from __future__ import annotations

from sqlalchemy import Column, Integer, Table, Text

from lunan.events.tables import projection

# One row per published figure set: a city's year, or the alliance's year.
p_indicators_sets = Table(
    "p_indicators_sets",
    projection,
    Column("id", Text, primary_key=True),
    Column("scope", Text, nullable=False),  # city | alliance
    Column("city", Text),  # the city the figures are of; NULL for the alliance's
    Column("year", Integer, nullable=False),
    Column("note", Text, nullable=False),  # on the year as a whole
    Column("source", Text, nullable=False),  # of the note
    Column("published_time", Text, nullable=False),
    Column("revised_time", Text),
)

# One row per indicator a set has anything for; value and growth are canonical decimal text.
p_indicators_figures = Table(
    "p_indicators_figures",
    projection,
    Column("set_id", Text, primary_key=True),
    Column("indicator", Text, primary_key=True),
    Column("value", Text),
    Column("growth", Text),  # per cent
    Column("rank", Text, nullable=False),
    Column("note", Text, nullable=False),
    Column("source", Text, nullable=False),
)

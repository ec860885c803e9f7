"""What ``circfin --help`` shows, recorded from the app by `python -m circfin.cli.fast_help
--write` (tests/test_startup.py checks it is current). Drawn by ``fast_help``."""

# ruff: noqa: E501
USAGE_ARGS = '[OPTIONS] COMMAND [ARGS]...'
HELP = 'Find and measure circular financing in the AI build-out.'
# (long option, type shown, help, env var shown, default shown)
OPTIONS: tuple[tuple[str, str | None, str, str | None, str | None], ...] = (
    ('--store', '<str>', "'embedded' (default), a Neo4j URI (bolt://, neo4j://, neo4j+s://) or a FalkorDB URI.", 'CIRCFIN_STORE', None),
    ('--home', '<path>', 'Where the embedded database keeps its files.', 'CIRCFIN_HOME', None),
    ('--debug', None, 'Show tracebacks.', None, None),
    ('--help', None, 'Show this message and exit.', None, None),
)
COMMANDS: tuple[tuple[str, str], ...] = (
    ('ingest', 'Load deals and entities; every row is checked before anything is written.'),
    ('delete', 'Delete deals (all named, or none if any id is unknown); they stop counting at once.'),
    ('seed', 'Load the curated seed dataset of the AI financing web (idempotent).'),
    ('loops', 'Circular-financing loops: simple directed cycles of payers and payees.'),
    ('concentration', 'Customer and supplier concentration (top counterparty share, HHI) and self-funded demand.'),
    ('hubs', 'The hubs of the web: deals, counterparties and disclosed amounts in and out.'),
    ('pairs', 'Reciprocal pairs: one side funds the other, which buys back from its funder.'),
    ('export', 'The deal graph as GraphML or GEXF, with loop counts, for Gephi or Cytoscape.'),
    ('demo', 'Load the seed dataset into the embedded database, write a report and show its brief.'),
    ('report', 'Report the loops that are new, grew, shrank or broke since the last report.'),
    ('graph', 'Write an interactive graph page: one HTML file that works offline.'),
    ('browser', "Write a Neo4j Browser kit (style, favourites, guide) and print Browser's URL for the store."),
    ('score', 'Score the loops from named parts (size, bottleneck, round trip, confidence, recency, types) and flag insider patterns.'),
    ('significance', 'How unusual the loops are: counts by length and per entity against degree-preserving null models.'),
    ('shock', 'Shock one entity and follow the losses through the deals, with and without its loops.'),
    ('audit', 'Where the data is thin or suspect: each finding with the deal or entity ids it concerns.'),
    ('deals', 'The deals: who pays whom, how much, their status, members, sources and events.'),
    ('entities', 'The entities: kind, country, parent, aliases, deals in and out, latest financials.'),
    ('show', "One entity's page: who it is, its financials over time, its deals in and out, the syndicates it sits in, the loops through it and its biggest exposures."),
    ('exposure', 'How deep each bank and fund is in the AI web: its equity, warrants, loans, credit lines, bonds, SPV financing, backstops and guarantees, against its equity; totals per country.'),
    ('circularity', "How circular the web is: Finn's cycling index (FCI), the share of all money passing through entities that comes back to where it passed, through chains of deals of any length; and each entity's return share (of each dollar passing through it, the share that comes back to it) and throughflow."),
    ('timeline', 'The web over time: at each quarter (month, year) end, the web as --as-of that day sees it.'),
    ('brief', 'One screen: the headline numbers and their change over the last quarter, the top loops in plain words, the most self-funded entities, and what changed since the last report.'),
    ('stress', 'Run a scenario: price shocks, partial payers and stablecoin redemptions, followed through credit, fire sales and margin calls round by round; losses per entity by channel, totals by kind and country, who ends with negative equity, and what the loops add.'),
    ('db', 'Start, stop and inspect the embedded database.'),
    ('review', 'Review deal candidates found in filings: accept into deals or reject.'),
    ('sec', 'Ingest from SEC EDGAR: dated financials from XBRL company facts, 13F holdings, deal candidates from 8-Ks.'),
)

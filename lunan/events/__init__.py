"""Events and projections (DESIGN §3.1–3.2).

Every change a node makes is an event appended to its own log; the tables pages and the API
read are projections, a deterministic fold of the events of all member logs:

    envelope.py  the event envelope: parse, check, encode (canonical JSON)
    registry.py  event types: body schema, object kind, scope, apply function
    tables.py    the projection tables every alliance has (positions, events, objects, chairs)
    context.py   what an apply function may read and write, and how it rejects
    engine.py    the fold: catch up on every member log, rebuild, dump, state hash
    core.py      the core event types: a node's genesis, the chair's handover and acceptance
    writer.py    the one append path: build, append, project, report the outcome
"""

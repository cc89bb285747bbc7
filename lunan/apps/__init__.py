"""Applications of the alliance (DESIGN §4 `apps/`): pure building blocks first.

- `ids`: resident ID numbers (GB 11643-1999) and unified social credit codes (GB 32100-2015).
- `divisions`: GB/T 2260 division codes of the four member cities.
- `tourism`: the 同城化 registry of scenic areas, attractions and red tourism routes, and a
  synthetic resident registry (示例数据) for the exchange's 是/否 check.

Nothing here touches a database or the network; later work wires these into events and the
exchange.
"""

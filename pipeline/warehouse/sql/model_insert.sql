-- Rebuilt rows into a model's table (or its shadow, in a full refresh). Identifiers: {table}, {columns}, {rows}.
insert into {table} ({columns})
select {columns}
from {rows}

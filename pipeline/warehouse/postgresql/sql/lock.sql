-- PostgreSQL: serialize writers of these tables (merges of the same raw table, transforms of the models)
-- until commit. EXCLUSIVE mode conflicts with every writer but not with readers (ACCESS SHARE), so
-- dashboards and exports keep reading the committed rows meanwhile.
lock table {tables} in exclusive mode;

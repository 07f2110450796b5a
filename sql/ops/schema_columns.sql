-- The columns the pipeline made (or found matching their declaration) in the warehouse, for
-- pipeline.warehouse.schema to tell a column dropped by hand from one newly declared. No parameters.
select sc.table_name, sc.column_name
from ops.schema_columns as sc;

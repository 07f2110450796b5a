-- The model's old rows of the touched keys, for a kind without DELETE ... USING: a correlated EXISTS. Identifiers:
-- {table}, {touched}, {name} (the table's name unqualified), {matches} (key equality of {name} and {touched}).
-- Parameters: region.
delete from {table}
where {name}.region = %(region)s
  and exists (
    select 1
    from {touched}
    where {matches}
  )

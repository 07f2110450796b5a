-- The keys an upstream model's rebuild moved (a conversation changing day), added to a model's touched keys after
-- its upstream models were rebuilt. Identifiers: {touched}; {keys} is the model's touched query.
insert into {touched}
select * from (
{keys}
) as moved
except
select * from {touched}

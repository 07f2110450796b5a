"""Which loaded keys reconcile takes for deleted: only those MongoDB has in none of their forms."""

import datetime as dt

from bson import ObjectId

from pipeline.catalog import catalog
from pipeline.reconcile import missing_keys, windows_holding
from pipeline.windows import Window

AT = dt.datetime(2026, 11, 20, 10)


def test_each_loaded_key_is_looked_up_as_the_value_it_stands_for():
    kept, as_string, upper, gone, string_gone = (str(ObjectId()) for _ in range(5))
    # _id values as MongoDB holds them: an ObjectId, a string of hex, an upper-case string of hex; the string
    # twin of `gone` is there, but a string is not the ObjectId the warehouse row stands for.
    mongo = {ObjectId(kept), as_string, upper.upper(), gone, ObjectId(string_gone)}
    asked = []

    def lookup(collection: str, values: list) -> set:
        asked.append(collection)
        return {value for value in values if value in mongo}

    loaded = [(key, AT) for key in (kept, f"str:{as_string}", f"str:{upper.upper()}", gone, f"str:{string_gone}")]
    assert missing_keys(catalog().source("messages"), loaded, lookup) == [(gone, AT), (f"str:{string_gone}", AT)]
    assert asked == ["messages"]  # one query per batch


def test_the_windows_to_transform_again_are_those_holding_a_deleted_cursor():
    day = dt.datetime(2026, 11, 20)
    transformed = [(day, day + dt.timedelta(days=1)), (day + dt.timedelta(days=1), day + dt.timedelta(days=2))]
    assert windows_holding(transformed, [AT]) == [Window(day, day + dt.timedelta(days=1))]

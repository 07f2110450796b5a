-- Redshift: serialize writers of these tables until commit (Redshift's LOCK has no modes).
lock {tables};

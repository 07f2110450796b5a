-- PostgreSQL: the part files are streamed through this process (gzip CSV, \N for NULL).
copy {table} ({columns}) from stdin with (format csv, null '\N');

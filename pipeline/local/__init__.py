"""The local development stack: embedded services, demo data and the demo. Production code never imports
this package; the `pipeline` CLI loads it for its demo, demo-data and services commands."""

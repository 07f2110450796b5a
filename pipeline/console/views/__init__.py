"""The console's pages, one blueprint per concern: log-in, subscriptions, preview and downloads, admin."""

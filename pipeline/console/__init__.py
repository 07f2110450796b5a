"""`pipeline console`: customer success runs its own exports (report templates, subscriptions, previews,
deliveries, audit log) and clients pull their own data (`/api/v1/`). State: pipeline.statedb."""

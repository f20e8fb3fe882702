"""Media service: uploads to S3-compatible storage, processing, galleries, moderation."""

"""Files: uploads attached to messages (service), where they are kept (storage: a
folder or S3-compatible object storage), their type read from their bytes (sniff) and
images' thumbnails (thumbs)."""

"""Input resolution, readers (one datatrove step per format), rejects and the Parquet writer."""

"""The five actors of the pipeline."""

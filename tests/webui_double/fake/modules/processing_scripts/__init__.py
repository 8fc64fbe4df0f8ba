"""Built-in processing scripts (A1111 v1.10.1 modules/processing_scripts/), loaded as script files."""

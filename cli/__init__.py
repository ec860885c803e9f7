"""circfin's command line (typer + rich)."""

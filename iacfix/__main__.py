"""`python -m iacfix` runs the command line."""

from iacfix.cli import main

main()

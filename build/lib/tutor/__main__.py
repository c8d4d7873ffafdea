"""`python -m tutor` runs the same command as the `tutor` console script."""

from tutor.cli import main

raise SystemExit(main())

import sys

from venn.cli import main

sys.exit(main())

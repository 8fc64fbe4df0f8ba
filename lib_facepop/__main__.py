import sys

from lib_facepop.cli import main

sys.exit(main())

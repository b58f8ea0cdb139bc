import sys

from oci_runtime.cli import main

sys.exit(main())

import sys

from ipclab_py import cli

sys.exit(cli.main(sys.argv[1:]))

"""Allow ``python -m datacraft``."""

from datacraft.cli import main

if __name__ == "__main__":
    main(prog_name="datacraft")

"""``datacraft verify OUT``: re-check a finished output (markers, sizes, checksums, schema, ledger, card)."""

from __future__ import annotations

import click


@click.command()
@click.argument("output", type=click.Path(file_okay=False))
def verify(output: str) -> None:
    """Re-check a finished output of run, apply or dedup.

    \b
    Every file listed in the completion markers must be present with its size and checksum, the
    Parquet files of data/ (and rejected/) must share one schema, the ledger must balance against
    the rows in the files, no other file may sit in data/, rejected/, quarantine/, stats/, _done/,
    and README.md (the dataset card `datasets.load_dataset(OUT)` reads) must be the one the run writes.
    Exit codes: 0 sound, 1 problems found (listed), 2 usage error.

    \b
    Examples:
      datacraft verify out/demo              after a run: exit 0 when the output is sound
      datacraft verify out/demo-dedup        a dedup output is checked the same way
    """
    from datacraft.pipeline.verify import VerificationError, format_report, verify_output

    report = verify_output(output)
    if not report.ok:
        raise VerificationError(format_report(report))
    click.echo(format_report(report))
